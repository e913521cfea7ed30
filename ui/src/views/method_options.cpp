// SPDX-License-Identifier: MIT
#include "method_options.h"

#include "bridge/qt_convert.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QLabel>
#include <QSpinBox>

#include <algorithm>
#include <limits>

namespace ftw::ui {
namespace {

QSpinBox* intBox(QWidget* parent, const char* name, int minimum, int maximum)
{
    auto* box = new QSpinBox(parent);
    box->setObjectName(QString::fromLatin1(name));
    box->setRange(minimum, maximum);
    box->setMinimumWidth(120);
    return box;
}

QDoubleSpinBox* realBox(QWidget* parent, const char* name, double minimum, double maximum,
                        int decimals, double step)
{
    auto* box = new QDoubleSpinBox(parent);
    box->setObjectName(QString::fromLatin1(name));
    box->setDecimals(decimals);
    box->setRange(minimum, maximum);
    box->setSingleStep(step);
    box->setMinimumWidth(120);
    return box;
}

/// Selects `text`, adding it first when the list lacks it (an imported value is kept as it is;
/// validation says what is wrong with it).
void selectOrAdd(QComboBox* box, const QString& text)
{
    if (box->findText(text) < 0) {
        box->addItem(text);
    }
    box->setCurrentText(text);
}

QString methodDescription(AdapterMethod method)
{
    switch (method) {
    case AdapterMethod::Lora:
        return MethodOptions::tr("Learns a low-rank update B·A of rank r for each target weight; B "
                                 "starts at zero, so training starts from the base model.");
    case AdapterMethod::Pissa:
        return MethodOptions::tr("LoRA initialised from the top r singular directions of each "
                                 "weight; the residual weight stays frozen.");
    case AdapterMethod::Olora:
        return MethodOptions::tr("LoRA initialised from a QR decomposition of each weight.");
    case AdapterMethod::LoraGa:
        return MethodOptions::tr("LoRA initialised from the gradients of a few batches, so that "
                                 "the first steps follow full fine-tuning.");
    case AdapterMethod::Dora:
        return MethodOptions::tr("LoRA on the direction of each weight, plus a trained magnitude "
                                 "per output.");
    case AdapterMethod::Vera:
        return MethodOptions::tr("Frozen random projections shared by all layers; only two "
                                 "scaling vectors per module are trained (very few parameters).");
    case AdapterMethod::Bone:
        return MethodOptions::tr("A block of r rows per weight, shared across its input blocks "
                                 "(PEFT's MiSS); no alpha, no scaling.");
    case AdapterMethod::Bat:
        return MethodOptions::tr("Bone's weight-guided variant: r x r blocks that transform the "
                                 "weight; r must divide its dimensions.");
    case AdapterMethod::AdaLora:
        return MethodOptions::tr("Starts at rank init_r and prunes the least important directions "
                                 "to an average rank target_r during training.");
    case AdapterMethod::HeteroLora:
        return MethodOptions::tr("LoRA on a share of the target modules chosen by a zero-cost "
                                 "proxy (GRAD-NORM by default) and re-chosen during training.");
    case AdapterMethod::Clover:
        return MethodOptions::tr("CLOVER: orthonormal factors of each attention head (QR, or the "
                                 "SVD of V-O) stay frozen; a full d x d core per head is "
                                 "trained. No rank to choose.");
    case AdapterMethod::Full:
        return MethodOptions::tr("Trains every weight of the model; no adapter settings. Needs "
                                 "memory for gradients and optimiser state of the whole model.");
    }
    return {};
}

} // namespace

std::vector<std::string_view> adapterFieldsOf(AdapterMethod method)
{
    std::vector<std::string_view> loraFamily = {"r", "lora_alpha", "lora_dropout", "use_rslora",
                                                "loraplus_lr_ratio"};
    switch (method) {
    case AdapterMethod::Lora:
        loraFamily.push_back("init_gaussian");
        return loraFamily;
    case AdapterMethod::Pissa:
        loraFamily.push_back("pissa_niter");
        return loraFamily;
    case AdapterMethod::Olora:
    case AdapterMethod::Dora:
    case AdapterMethod::HeteroLora:
        return loraFamily;
    case AdapterMethod::LoraGa:
        loraFamily.insert(loraFamily.end(), {"lora_ga_direction", "lora_ga_scale", "lora_ga_gamma",
                                             "lora_ga_batches"});
        return loraFamily;
    case AdapterMethod::Vera:
        return {"r", "lora_dropout", "d_initial", "projection_prng_key", "save_projection"};
    case AdapterMethod::Bone:
        return {"r", "lora_dropout"};
    case AdapterMethod::Bat:
        return {"r"}; // Bat rebuilds the weight: no dropout
    case AdapterMethod::AdaLora:
        return {"lora_alpha", "lora_dropout", "init_r", "target_r", "tinit",
                "tfinal",     "deltaT",       "beta1",  "beta2",    "orth_reg_weight"};
    case AdapterMethod::Clover:
        return {"lora_dropout"};
    case AdapterMethod::Full:
        return {};
    }
    return {};
}

MethodOptions::MethodOptions(QWidget* parent) : QWidget(parent)
{
    const AdapterConfig defaults;
    m_method = new QComboBox(this);
    m_method->setObjectName(QStringLiteral("method"));
    for (const AdapterMethod method : allAdapterMethods()) {
        m_method->addItem(toQString(adapterMethodName(method)),
                          QVariant::fromValue(static_cast<int>(method)));
    }
    m_method->setMinimumWidth(140);
    m_method->setToolTip(tr("The adapter method; each shows only the settings it uses."));
    m_description = new QLabel(this);
    m_description->setObjectName(QStringLiteral("methodDescription"));
    m_description->setWordWrap(true);
    QPalette muted = m_description->palette();
    muted.setColor(QPalette::WindowText, muted.color(QPalette::PlaceholderText));
    m_description->setPalette(muted);

    m_form = new QFormLayout(this);
    m_form->setContentsMargins(0, 0, 0, 0);
    m_form->setFieldGrowthPolicy(QFormLayout::FieldsStayAtSizeHint);
    m_form->addRow(tr("Method:"), m_method);
    m_form->addRow(m_description);

    m_rank = intBox(this, "rank", 0, 65536);
    addField("r", tr("Rank (r):"), m_rank,
             tr("The rank of the update (LoRA family, VeRA) or the block size (Bone, Bat). More "
                "means more trainable parameters. 0 takes the method's default."));
    m_alpha = realBox(this, "alpha", 0.0, 100000.0, 2, 1.0);
    addField("lora_alpha", tr("Alpha:"), m_alpha,
             tr("lora_alpha: the update is scaled by alpha / r (alpha / sqrt(r) with rsLoRA); "
                "must be above 0."));
    m_dropout = realBox(this, "dropout", 0.0, 0.99, 3, 0.05);
    addField("lora_dropout", tr("Dropout:"), m_dropout,
             tr("Dropout on the adapter's input while training, in [0, 1); 0 turns it off."));
    m_rslora = new QCheckBox(tr("scale by alpha / sqrt(r)"), this);
    m_rslora->setObjectName(QStringLiteral("useRslora"));
    addField("use_rslora", tr("rsLoRA:"), m_rslora,
             tr("Rank-stabilised LoRA: scaling alpha / sqrt(r) instead of alpha / r, which keeps "
                "high ranks learning."));
    m_loraPlusRatio = realBox(this, "loraPlusRatio", 0.0, 1000.0, 2, 1.0);
    m_loraPlusRatio->setSpecialValueText(tr("off"));
    addField("loraplus_lr_ratio", tr("LoRA+ ratio:"), m_loraPlusRatio,
             tr("LoRA+: B learns this many times faster than A (16 is typical); 0 is off."));
    m_gaussianInit = new QCheckBox(tr("A ~ N(0, 1/r)"), this);
    m_gaussianInit->setObjectName(QStringLiteral("gaussianInit"));
    addField("init_gaussian", tr("Gaussian init:"), m_gaussianInit,
             tr("Initialise A from a Gaussian (PEFT's init_lora_weights=\"gaussian\") instead of "
                "Kaiming-uniform."));
    m_pissaNiter = intBox(this, "pissaNiter", 0, 1000);
    m_pissaNiter->setSpecialValueText(tr("exact SVD"));
    addField("pissa_niter", tr("SVD iterations:"), m_pissaNiter,
             tr("0: an exact SVD of each weight; N > 0: a fast randomised SVD with N power "
                "iterations (PiSSA's pissa_niter_N)."));
    m_loraGaDirection = new QComboBox(this);
    m_loraGaDirection->setObjectName(QStringLiteral("loraGaDirection"));
    m_loraGaDirection->addItems({QStringLiteral("ArBr"), QStringLiteral("A2rBr"),
                                 QStringLiteral("ArB2r"), QStringLiteral("random")});
    addField("lora_ga_direction", tr("GA direction:"), m_loraGaDirection,
             tr("Which singular vectors of the estimated gradient initialise A and B."));
    m_loraGaScale = new QComboBox(this);
    m_loraGaScale->setObjectName(QStringLiteral("loraGaScale"));
    m_loraGaScale->addItems({QStringLiteral("stable"), QStringLiteral("weight_svd"),
                             QStringLiteral("gd_scale"), QStringLiteral("unit")});
    addField("lora_ga_scale", tr("GA scale:"), m_loraGaScale,
             tr("How the initial A and B are scaled (stable divides by gamma)."));
    m_loraGaGamma = realBox(this, "loraGaGamma", 0.0, 100000.0, 2, 1.0);
    addField("lora_ga_gamma", tr("GA gamma:"), m_loraGaGamma,
             tr("The stable scale's gamma; above 0."));
    m_loraGaBatches = intBox(this, "loraGaBatches", 1, 100000);
    addField("lora_ga_batches", tr("GA batches:"), m_loraGaBatches,
             tr("Batches whose gradients are averaged to initialise the adapter."));
    m_dInitial = realBox(this, "dInitial", 0.0, 100.0, 4, 0.01);
    addField("d_initial", tr("d initial:"), m_dInitial,
             tr("Initial value of VeRA's scaling vector d; above 0 (0.1 is PEFT's default)."));
    m_projectionPrngKey = intBox(this, "projectionPrngKey", 0, std::numeric_limits<int>::max());
    addField("projection_prng_key", tr("Projection seed:"), m_projectionPrngKey,
             tr("projection_prng_key: seeds VeRA's shared random projections A and B."));
    m_saveProjection = new QCheckBox(tr("store A and B in the adapter file"), this);
    m_saveProjection->setObjectName(QStringLiteral("saveProjection"));
    addField("save_projection", tr("Save projections:"), m_saveProjection,
             tr("Save the frozen projections with the adapter (larger file, loads anywhere); "
                "otherwise they are regenerated from the seed."));
    m_initR = intBox(this, "initR", 1, 65536);
    addField("init_r", tr("Initial rank:"), m_initR, tr("init_r: every module's starting rank."));
    m_targetR = intBox(this, "targetR", 1, 65536);
    addField("target_r", tr("Target rank:"), m_targetR,
             tr("target_r: the average rank left after pruning; between 1 and the initial rank."));
    m_tinit = intBox(this, "tinit", 0, 10'000'000);
    addField("tinit", tr("Warm-up (tinit):"), m_tinit,
             tr("Steps trained at the initial rank before pruning starts."));
    m_tfinal = intBox(this, "tfinal", 0, 10'000'000);
    addField("tfinal", tr("Final (tfinal):"), m_tfinal,
             tr("Steps at the end trained with the final ranks fixed; tinit + tfinal must be "
                "below the number of steps."));
    m_deltaT = intBox(this, "deltaT", 1, 1'000'000);
    addField("deltaT", tr("Interval (deltaT):"), m_deltaT,
             tr("Steps between two rank re-allocations."));
    m_beta1 = realBox(this, "beta1", 0.0, 0.9999, 4, 0.01);
    addField("beta1", tr("beta1:"), m_beta1,
             tr("EMA coefficient of the importance (sensitivity) scores, in [0, 1)."));
    m_beta2 = realBox(this, "beta2", 0.0, 0.9999, 4, 0.01);
    addField("beta2", tr("beta2:"), m_beta2,
             tr("EMA coefficient of the scores' uncertainty, in [0, 1)."));
    m_orthRegWeight = realBox(this, "orthRegWeight", 0.0, 1000.0, 3, 0.1);
    addField("orth_reg_weight", tr("Orthogonality:"), m_orthRegWeight,
             tr("orth_reg_weight: weight of the loss that keeps P and Q orthogonal."));

    connect(m_method, &QComboBox::currentIndexChanged, this, [this] {
        showFieldsOfMethod();
        emitChanged();
    });
    for (QSpinBox* box : findChildren<QSpinBox*>()) {
        connect(box, &QSpinBox::valueChanged, this, &MethodOptions::emitChanged);
    }
    for (QDoubleSpinBox* box : findChildren<QDoubleSpinBox*>()) {
        connect(box, &QDoubleSpinBox::valueChanged, this, &MethodOptions::emitChanged);
    }
    for (QCheckBox* box : findChildren<QCheckBox*>()) {
        connect(box, &QCheckBox::toggled, this, &MethodOptions::emitChanged);
    }
    for (QComboBox* box : {m_loraGaDirection, m_loraGaScale}) {
        connect(box, &QComboBox::currentIndexChanged, this, &MethodOptions::emitChanged);
    }
    setConfig(defaults);
}

void MethodOptions::addField(const char* key, const QString& label, QWidget* editor,
                             const QString& toolTip)
{
    editor->setToolTip(toolTip);
    m_form->addRow(label, editor);
    if (QWidget* labelWidget = m_form->labelForField(editor)) {
        labelWidget->setToolTip(toolTip);
    }
    m_fields.emplace(key, editor);
}

AdapterMethod MethodOptions::method() const
{
    return static_cast<AdapterMethod>(m_method->currentData().toInt());
}

void MethodOptions::setConfig(const AdapterConfig& c)
{
    m_isUpdating = true;
    m_method->setCurrentIndex(m_method->findData(QVariant::fromValue(static_cast<int>(c.method))));
    m_rank->setValue(static_cast<int>(c.r));
    m_alpha->setValue(c.alpha);
    m_dropout->setValue(c.dropout);
    m_rslora->setChecked(c.useRslora);
    m_loraPlusRatio->setValue(c.loraPlusRatio);
    m_gaussianInit->setChecked(c.gaussianInit);
    m_pissaNiter->setValue(c.pissaNiter);
    selectOrAdd(m_loraGaDirection, toQString(c.loraGaDirection));
    selectOrAdd(m_loraGaScale, toQString(c.loraGaScale));
    m_loraGaGamma->setValue(c.loraGaGamma);
    m_loraGaBatches->setValue(c.loraGaBatches);
    m_dInitial->setValue(c.dInitial);
    m_projectionPrngKey->setValue(static_cast<int>(std::min<std::uint64_t>(
        c.projectionPrngKey, static_cast<std::uint64_t>(std::numeric_limits<int>::max()))));
    m_saveProjection->setChecked(c.saveProjection);
    m_initR->setValue(static_cast<int>(c.initR));
    m_targetR->setValue(static_cast<int>(c.targetR));
    m_tinit->setValue(static_cast<int>(c.tinit));
    m_tfinal->setValue(static_cast<int>(c.tfinal));
    m_deltaT->setValue(static_cast<int>(c.deltaT));
    m_beta1->setValue(c.beta1);
    m_beta2->setValue(c.beta2);
    m_orthRegWeight->setValue(c.orthRegWeight);
    m_isUpdating = false;
    showFieldsOfMethod();
    Q_EMIT changed();
}

void MethodOptions::applyTo(AdapterConfig& c) const
{
    c.method = method();
    c.r = c.method == AdapterMethod::AdaLora ? 0 : m_rank->value();
    c.alpha = m_alpha->value();
    c.dropout = m_dropout->value();
    c.useRslora = m_rslora->isChecked();
    c.loraPlusRatio = m_loraPlusRatio->value();
    c.gaussianInit = m_gaussianInit->isChecked();
    c.pissaNiter = m_pissaNiter->value();
    c.loraGaDirection = toStdString(m_loraGaDirection->currentText());
    c.loraGaScale = toStdString(m_loraGaScale->currentText());
    c.loraGaGamma = m_loraGaGamma->value();
    c.loraGaBatches = m_loraGaBatches->value();
    c.dInitial = m_dInitial->value();
    c.projectionPrngKey = static_cast<std::uint64_t>(m_projectionPrngKey->value());
    c.saveProjection = m_saveProjection->isChecked();
    c.initR = m_initR->value();
    c.targetR = m_targetR->value();
    c.tinit = m_tinit->value();
    c.tfinal = m_tfinal->value();
    c.deltaT = m_deltaT->value();
    c.beta1 = m_beta1->value();
    c.beta2 = m_beta2->value();
    c.orthRegWeight = m_orthRegWeight->value();
}

QWidget* MethodOptions::fieldWidget(std::string_view key) const
{
    const auto it = m_fields.find(key);
    return it == m_fields.end() ? nullptr : it->second;
}

bool MethodOptions::isFieldShown(std::string_view key) const
{
    const std::vector<std::string_view> shown = adapterFieldsOf(method());
    return std::find(shown.begin(), shown.end(), key) != shown.end();
}

void MethodOptions::showFieldsOfMethod()
{
    const AdapterMethod current = method();
    for (const auto& [key, editor] : m_fields) {
        m_form->setRowVisible(editor, isFieldShown(key));
    }
    const bool isBlock = current == AdapterMethod::Bone || current == AdapterMethod::Bat;
    if (auto* label = qobject_cast<QLabel*>(m_form->labelForField(m_rank))) {
        label->setText(isBlock ? tr("Block size (r):") : tr("Rank (r):"));
    }
    AdapterConfig defaultRank;
    defaultRank.method = current;
    m_rank->setSpecialValueText(tr("default (%1)").arg(effectiveRank(defaultRank)));
    m_description->setText(methodDescription(current));
}

void MethodOptions::emitChanged()
{
    if (!m_isUpdating) {
        Q_EMIT changed();
    }
}

} // namespace ftw::ui
