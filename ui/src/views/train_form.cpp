// SPDX-License-Identifier: MIT
#include "train_form.h"

#include "bridge/qt_convert.h"
#include "method_options.h"
#include "model_summary_panel.h"
#include "widgets/target_checklist.h"

#include <QCheckBox>
#include <QClipboard>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QGroupBox>
#include <QGuiApplication>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPushButton>
#include <QScrollArea>
#include <QSpinBox>
#include <QVBoxLayout>

#include <fstream>
#include <sstream>
#include <system_error>

namespace ftw::ui {
namespace {

const QColor kInvalidBase(0xfd, 0xe3, 0xe6);

/// A line edit with a Browse button that picks a folder or a file.
QWidget* withBrowse(QLineEdit* edit, bool isFolder, QWidget* parent)
{
    auto* row = new QWidget(parent);
    row->setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
    auto* layout = new QHBoxLayout(row);
    layout->setContentsMargins(0, 0, 0, 0);
    auto* browse = new QPushButton(QObject::tr("Browse..."), row);
    browse->setObjectName(edit->objectName() + QStringLiteral("Browse"));
    layout->addWidget(edit, 1);
    layout->addWidget(browse);
    QObject::connect(browse, &QPushButton::clicked, edit, [edit, isFolder] {
        const QString chosen = isFolder ? QFileDialog::getExistingDirectory(
                                              edit, QObject::tr("Base model folder"), edit->text())
                                        : QFileDialog::getOpenFileName(
                                              edit, QObject::tr("Dataset"), edit->text(),
                                              QObject::tr("Datasets (*.jsonl *.json *.csv *.txt)"));
        if (!chosen.isEmpty()) {
            edit->setText(chosen);
        }
    });
    return row;
}

QSpinBox* intBox(QWidget* parent, const char* name, int minimum, int maximum,
                 const QString& toolTip)
{
    auto* box = new QSpinBox(parent);
    box->setObjectName(QString::fromLatin1(name));
    box->setRange(minimum, maximum);
    box->setToolTip(toolTip);
    box->setMinimumWidth(100);
    return box;
}

QDoubleSpinBox* realBox(QWidget* parent, const char* name, double minimum, double maximum,
                        int decimals, double step, const QString& toolTip)
{
    auto* box = new QDoubleSpinBox(parent);
    box->setObjectName(QString::fromLatin1(name));
    box->setDecimals(decimals);
    box->setRange(minimum, maximum);
    box->setSingleStep(step);
    box->setToolTip(toolTip);
    box->setMinimumWidth(100);
    return box;
}

QComboBox* comboBox(QWidget* parent, const char* name, const QStringList& items,
                    const QString& toolTip)
{
    auto* box = new QComboBox(parent);
    box->setObjectName(QString::fromLatin1(name));
    box->addItems(items);
    box->setToolTip(toolTip);
    return box;
}

/// Selects `text`, adding it first when the list lacks it (an imported value is kept as it is;
/// validation says what is wrong with it).
void selectOrAdd(QComboBox* box, const QString& text)
{
    if (box->isEditable()) {
        box->setCurrentText(text);
        return;
    }
    if (box->findText(text) < 0) {
        box->addItem(text);
    }
    box->setCurrentText(text);
}

/// Adds a row whose label carries the field's tool tip too.
void addRow(QFormLayout* form, const QString& label, QWidget* field)
{
    form->addRow(label, field);
    if (QWidget* labelWidget = form->labelForField(field)) {
        labelWidget->setToolTip(field->toolTip());
    }
}

QGroupBox* group(const QString& title, QWidget* parent)
{
    auto* box = new QGroupBox(title, parent);
    box->setObjectName(title);
    return box;
}

} // namespace

TrainForm::TrainForm(QWidget* parent) : QWidget(parent)
{
    auto* body = new QWidget(this);
    auto* bodyLayout = new QVBoxLayout(body);
    bodyLayout->setContentsMargins(0, 0, 6, 0);
    bodyLayout->addWidget(buildRunAndModelGroups());
    bodyLayout->addWidget(buildDataGroup());
    bodyLayout->addWidget(buildAdapterGroup());
    bodyLayout->addWidget(buildTrainingGroup());
    bodyLayout->addStretch(1);
    auto* scroll = new QScrollArea(this);
    scroll->setObjectName(QStringLiteral("trainFormScroll"));
    scroll->setWidget(body);
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);
    scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(scroll, 1);
    layout->addWidget(buildFooter());

    m_fieldWidgets = {
        {QStringLiteral("name"), m_name},
        {QStringLiteral("model"), m_model},
        {QStringLiteral("data.path"), m_data},
        {QStringLiteral("data.format"), m_format},
        {QStringLiteral("data.max_length"), m_maxLength},
        {QStringLiteral("data.validation_ratio"), m_validationRatio},
        {QStringLiteral("train.max_steps"), m_steps},
        {QStringLiteral("train.epochs"), m_epochs},
        {QStringLiteral("train.batch_size"), m_batchSize},
        {QStringLiteral("train.grad_accumulation"), m_gradAccumulation},
        {QStringLiteral("train.learning_rate"), m_learningRate},
        {QStringLiteral("train.lr_scheduler"), m_scheduler},
        {QStringLiteral("train.warmup_steps"), m_warmupSteps},
        {QStringLiteral("train.weight_decay"), m_weightDecay},
        {QStringLiteral("train.max_grad_norm"), m_maxGradNorm},
        {QStringLiteral("train.eval_every"), m_evalEvery},
        {QStringLiteral("train.save_every"), m_saveEvery},
        {QStringLiteral("train.device"), m_device},
        {QStringLiteral("train.precision"), m_precision},
    };
    connectFields();
    setTrainSpec(TrainSpec{});
}

QWidget* TrainForm::buildRunAndModelGroups()
{
    auto* box = group(tr("Run and base model"), this);
    m_name = new QLineEdit(box);
    m_name->setObjectName(QStringLiteral("runName"));
    m_name->setToolTip(tr("The name shown in the runs list; several runs may share it."));
    m_model = new QLineEdit(box);
    m_model->setObjectName(QStringLiteral("modelDir"));
    m_model->setPlaceholderText(tr("a Hugging Face model folder (config.json, *.safetensors)"));
    m_model->setToolTip(tr("The base model: a folder with config.json, *.safetensors and "
                           "tokenizer.json. See the Model tab for what it holds."));
    m_modelInfo = new QLabel(box);
    m_modelInfo->setObjectName(QStringLiteral("modelInfo"));
    m_modelInfo->setWordWrap(true);
    m_modelInfo->setMinimumWidth(320); // a wrapped label in a form row otherwise takes its minimum
    m_modelInfo->setTextInteractionFlags(Qt::TextSelectableByMouse);
    auto* form = new QFormLayout(box);
    form->setFieldGrowthPolicy(QFormLayout::ExpandingFieldsGrow);
    addRow(form, tr("Run name:"), m_name);
    addRow(form, tr("Model folder:"), withBrowse(m_model, true, box));
    form->addRow(QString(), m_modelInfo);
    return box;
}

QWidget* TrainForm::buildDataGroup()
{
    auto* box = group(tr("Dataset"), this);
    m_data = new QLineEdit(box);
    m_data->setObjectName(QStringLiteral("dataFile"));
    m_data->setPlaceholderText(tr(".jsonl, .json, .csv or .txt"));
    m_data->setToolTip(tr("The training data; the Dataset preview tab shows it as training "
                          "sees it."));
    m_format = comboBox(box, "dataFormat",
                        {QStringLiteral("auto"), QStringLiteral("text"), QStringLiteral("alpaca"),
                         QStringLiteral("prompt-completion"), QStringLiteral("chat")},
                        tr("How records become text: auto detects it from the first record's "
                           "fields (text; instruction/input/output; prompt/completion; "
                           "messages)."));
    m_maxLength = intBox(box, "maxLength", 2, 1'000'000,
                         tr("Tokens per training sequence; longer examples are cut (the "
                            "preview counts them)."));
    m_validationRatio = realBox(box, "validationRatio", 0.0, 0.9, 3, 0.05,
                                tr("Share of the examples held out for the eval loss, in "
                                   "[0, 0.9]."));
    auto* form = new QFormLayout(box);
    form->setFieldGrowthPolicy(QFormLayout::ExpandingFieldsGrow); // paths wide, numbers compact
    addRow(form, tr("Data file:"), withBrowse(m_data, false, box));
    addRow(form, tr("Format:"), m_format);
    addRow(form, tr("Max length:"), m_maxLength);
    addRow(form, tr("Validation share:"), m_validationRatio);
    return box;
}

QWidget* TrainForm::buildAdapterGroup()
{
    auto* box = group(tr("Adapter"), this);
    m_methodOptions = new MethodOptions(box);
    m_methodOptions->setObjectName(QStringLiteral("methodOptions"));
    m_targets = new TargetChecklist(box);
    m_targets->setObjectName(QStringLiteral("targetModules"));
    auto* targetsLabel = new QLabel(tr("Target modules:"), box);
    targetsLabel->setToolTip(tr("The projections of every block that get an adapter. All of "
                                "them (not lm_head) is the default, all-linear."));
    auto* layout = new QVBoxLayout(box);
    layout->addWidget(m_methodOptions);
    layout->addWidget(targetsLabel);
    layout->addWidget(m_targets);
    return box;
}

QWidget* TrainForm::buildTrainingGroup()
{
    auto* box = group(tr("Training"), this);
    m_steps = intBox(box, "steps", 0, 10'000'000,
                     tr("Optimiser steps; 0 trains for the number of epochs instead."));
    m_steps->setSpecialValueText(tr("use epochs"));
    m_epochs = realBox(box, "epochs", 0.0, 10000.0, 2, 1.0,
                       tr("Passes over the training data, used when steps is 0."));
    m_batchSize = intBox(box, "batchSize", 1, 65536, tr("Examples per micro-batch."));
    m_gradAccumulation = intBox(box, "gradAccumulation", 1, 65536,
                                tr("Micro-batches per optimiser step: the effective batch is "
                                   "batch size x this, at the memory of one micro-batch."));
    m_learningRate = realBox(box, "learningRate", 0.000001, 9.0, 6, 0.0001,
                             tr("AdamW's peak learning rate (after the warm-up)."));
    m_scheduler =
        comboBox(box, "scheduler",
                 {QStringLiteral("linear"), QStringLiteral("cosine"), QStringLiteral("constant")},
                 tr("How the learning rate falls after the warm-up."));
    m_warmupSteps = intBox(box, "warmupSteps", 0, 10'000'000,
                           tr("Steps over which the learning rate rises linearly from 0."));
    m_weightDecay = realBox(box, "weightDecay", 0.0, 10.0, 4, 0.01,
                            tr("AdamW's decoupled weight decay; 0 turns it off."));
    m_maxGradNorm = realBox(box, "maxGradNorm", 0.0, 1000.0, 2, 0.5,
                            tr("Gradients are clipped to this norm; 0 turns clipping off."));
    m_maxGradNorm->setSpecialValueText(tr("off"));
    m_seed = intBox(box, "seed", 0, 2'000'000'000,
                    tr("Seeds the data order, dropout and the adapter's initialisation."));
    m_evalEvery = intBox(box, "evalEvery", 0, 10'000'000,
                         tr("Steps between evaluations on the held-out share; 0: at the end "
                            "only."));
    m_evalEvery->setSpecialValueText(tr("at the end"));
    m_saveEvery = intBox(box, "saveEvery", 0, 10'000'000,
                         tr("Steps between checkpoints (a run resumes from the last); 0: at the "
                            "end only."));
    m_saveEvery->setSpecialValueText(tr("at the end"));
    m_device = comboBox(box, "device",
                        {QStringLiteral("auto"), QStringLiteral("cpu"), QStringLiteral("cuda")},
                        tr("auto takes CUDA when present; or cpu, cuda, cuda:N (type it)."));
    m_device->setEditable(true);
    m_precision = comboBox(box, "precision",
                           {QStringLiteral("auto"), QStringLiteral("fp32"), QStringLiteral("bf16"),
                            QStringLiteral("fp16")},
                           tr("Compute precision: auto is bf16 on CUDA and fp32 on the CPU."));
    m_gradientCheckpointing = new QCheckBox(tr("Gradient checkpointing"), box);
    m_gradientCheckpointing->setObjectName(QStringLiteral("gradientCheckpointing"));
    m_gradientCheckpointing->setToolTip(tr("Recompute each block's activations in the backward "
                                           "pass: less memory, about a third more time."));

    auto* left = new QFormLayout;
    left->setFieldGrowthPolicy(QFormLayout::FieldsStayAtSizeHint);
    addRow(left, tr("Steps:"), m_steps);
    addRow(left, tr("Epochs:"), m_epochs);
    addRow(left, tr("Batch size:"), m_batchSize);
    addRow(left, tr("Grad. accumulation:"), m_gradAccumulation);
    addRow(left, tr("Learning rate:"), m_learningRate);
    addRow(left, tr("Schedule:"), m_scheduler);
    addRow(left, tr("Warm-up steps:"), m_warmupSteps);
    auto* right = new QFormLayout;
    right->setFieldGrowthPolicy(QFormLayout::FieldsStayAtSizeHint);
    addRow(right, tr("Weight decay:"), m_weightDecay);
    addRow(right, tr("Max grad. norm:"), m_maxGradNorm);
    addRow(right, tr("Seed:"), m_seed);
    addRow(right, tr("Eval every:"), m_evalEvery);
    addRow(right, tr("Save every:"), m_saveEvery);
    addRow(right, tr("Device:"), m_device);
    addRow(right, tr("Precision:"), m_precision);
    auto* columns = new QHBoxLayout;
    columns->addLayout(left);
    columns->addSpacing(12);
    columns->addLayout(right);
    auto* layout = new QVBoxLayout(box);
    layout->addLayout(columns);
    layout->addWidget(m_gradientCheckpointing);
    return box;
}

QWidget* TrainForm::buildFooter()
{
    auto* footer = new QWidget(this);
    m_validation = new QLabel(footer);
    m_validation->setObjectName(QStringLiteral("validation"));
    m_validation->setWordWrap(true);
    m_validation->setStyleSheet(QStringLiteral("color: #b00020;"));
    m_command = new QLineEdit(footer);
    m_command->setObjectName(QStringLiteral("commandLine"));
    m_command->setReadOnly(true);
    m_command->setToolTip(tr("The same run from a terminal or a script"));
    auto* copy = new QPushButton(tr("Copy"), footer);
    copy->setObjectName(QStringLiteral("copyCommandLine"));
    connect(copy, &QPushButton::clicked, this,
            [this] { QGuiApplication::clipboard()->setText(m_command->text()); });
    m_commandNote = new QLabel(footer);
    m_commandNote->setObjectName(QStringLiteral("commandLineNote"));
    m_commandNote->setWordWrap(true);
    QPalette muted = m_commandNote->palette();
    muted.setColor(QPalette::WindowText, muted.color(QPalette::PlaceholderText));
    m_commandNote->setPalette(muted);

    auto* importButton = new QPushButton(tr("Import config..."), footer);
    importButton->setObjectName(QStringLiteral("importConfig"));
    importButton->setToolTip(tr("Fill the form from a run config JSON file"));
    auto* exportButton = new QPushButton(tr("Export config..."), footer);
    exportButton->setObjectName(QStringLiteral("exportConfig"));
    exportButton->setToolTip(tr("Save the form as a run config JSON file (ftw train --config)"));
    m_start = new QPushButton(tr("Start training"), footer);
    m_start->setObjectName(QStringLiteral("startTraining"));
    m_start->setDefault(true);
    connect(importButton, &QPushButton::clicked, this, &TrainForm::importFromDialog);
    connect(exportButton, &QPushButton::clicked, this, &TrainForm::exportFromDialog);
    connect(m_start, &QPushButton::clicked, this, [this] { Q_EMIT startRequested(); });

    auto* commandRow = new QHBoxLayout;
    commandRow->addWidget(new QLabel(tr("Command line:"), footer));
    commandRow->addWidget(m_command, 1);
    commandRow->addWidget(copy);
    auto* buttons = new QHBoxLayout;
    buttons->addWidget(importButton);
    buttons->addWidget(exportButton);
    buttons->addStretch(1);
    buttons->addWidget(m_start);
    auto* layout = new QVBoxLayout(footer);
    layout->setContentsMargins(0, 4, 0, 0);
    layout->addWidget(m_validation);
    layout->addLayout(commandRow);
    layout->addWidget(m_commandNote);
    layout->addLayout(buttons);
    return footer;
}

void TrainForm::connectFields()
{
    connect(m_model, &QLineEdit::textChanged, this, [this] {
        inspectModelFolder();
        revalidate();
    });
    for (QLineEdit* edit : {m_name, m_data}) {
        connect(edit, &QLineEdit::textChanged, this, &TrainForm::revalidate);
    }
    for (QComboBox* box : {m_format, m_scheduler, m_precision}) {
        connect(box, &QComboBox::currentTextChanged, this, &TrainForm::revalidate);
    }
    connect(m_device, &QComboBox::editTextChanged, this, &TrainForm::revalidate);
    for (QSpinBox* box : {m_maxLength, m_steps, m_batchSize, m_gradAccumulation, m_warmupSteps,
                          m_seed, m_evalEvery, m_saveEvery}) {
        connect(box, &QSpinBox::valueChanged, this, &TrainForm::revalidate);
    }
    for (QDoubleSpinBox* box :
         {m_validationRatio, m_epochs, m_learningRate, m_weightDecay, m_maxGradNorm}) {
        connect(box, &QDoubleSpinBox::valueChanged, this, &TrainForm::revalidate);
    }
    connect(m_gradientCheckpointing, &QCheckBox::toggled, this, &TrainForm::revalidate);
    connect(m_methodOptions, &MethodOptions::changed, this, &TrainForm::revalidate);
    connect(m_targets, &TargetChecklist::targetsChanged, this, &TrainForm::revalidate);
}

TrainSpec TrainForm::trainSpec() const
{
    TrainSpec spec = m_base;
    spec.runName = toStdString(m_name->text().trimmed());
    spec.modelDir = toPath(m_model->text().trimmed());
    DataConfig& d = spec.data;
    d.path = toPath(m_data->text().trimmed());
    d.format = toStdString(m_format->currentText());
    d.maxLength = m_maxLength->value();
    d.validationRatio = m_validationRatio->value();
    m_methodOptions->applyTo(spec.adapter);
    spec.adapter.targetModules = m_targets->targets();
    TrainConfig& t = spec.train;
    t.maxSteps = m_steps->value();
    t.epochs = m_epochs->value();
    t.batchSize = m_batchSize->value();
    t.gradAccumulation = m_gradAccumulation->value();
    t.learningRate = m_learningRate->value();
    t.lrScheduler = toStdString(m_scheduler->currentText());
    t.warmupSteps = m_warmupSteps->value();
    t.weightDecay = m_weightDecay->value();
    t.maxGradNorm = m_maxGradNorm->value();
    t.seed = static_cast<std::uint64_t>(m_seed->value());
    t.evalEverySteps = m_evalEvery->value();
    t.saveEverySteps = m_saveEvery->value();
    t.device = toStdString(m_device->currentText().trimmed());
    t.precision = toStdString(m_precision->currentText());
    t.isGradientCheckpointing = m_gradientCheckpointing->isChecked();
    spec.adapter.seed = t.seed;
    return spec;
}

void TrainForm::setTrainSpec(const TrainSpec& spec)
{
    m_isUpdating = true;
    m_base = spec;
    m_name->setText(toQString(spec.runName));
    m_model->setText(toQString(spec.modelDir));
    m_data->setText(toQString(spec.data.path));
    selectOrAdd(m_format, toQString(spec.data.format));
    m_maxLength->setValue(static_cast<int>(spec.data.maxLength));
    m_validationRatio->setValue(spec.data.validationRatio);
    m_methodOptions->setConfig(spec.adapter);
    m_targets->setTargets(spec.adapter.targetModules);
    const TrainConfig& t = spec.train;
    m_steps->setValue(static_cast<int>(t.maxSteps));
    m_epochs->setValue(t.epochs);
    m_batchSize->setValue(static_cast<int>(t.batchSize));
    m_gradAccumulation->setValue(static_cast<int>(t.gradAccumulation));
    m_learningRate->setValue(t.learningRate);
    selectOrAdd(m_scheduler, toQString(t.lrScheduler));
    m_warmupSteps->setValue(static_cast<int>(t.warmupSteps));
    m_weightDecay->setValue(t.weightDecay);
    m_maxGradNorm->setValue(t.maxGradNorm);
    m_seed->setValue(static_cast<int>(t.seed));
    m_evalEvery->setValue(static_cast<int>(t.evalEverySteps));
    m_saveEvery->setValue(static_cast<int>(t.saveEverySteps));
    selectOrAdd(m_device, toQString(t.device));
    selectOrAdd(m_precision, toQString(t.precision));
    m_gradientCheckpointing->setChecked(t.isGradientCheckpointing);
    m_isUpdating = false;
    revalidate();
}

Status TrainForm::importConfig(const std::filesystem::path& file)
{
    std::ifstream in(file, std::ios::binary);
    if (!in) {
        return ErrorInfo{
            ErrorCode::NotFound, "cannot read the run config '" + file.string() + "'", {}};
    }
    std::stringstream text;
    text << in.rdbuf();
    Expected<TrainSpec> parsed = parseRunConfig(text.str(), file.string(), file.parent_path());
    if (!parsed) {
        return parsed.error();
    }
    setTrainSpec(*parsed);
    return {};
}

Status TrainForm::exportConfig(const std::filesystem::path& file) const
{
    std::filesystem::path partial = file;
    partial += ".partial";
    {
        std::ofstream out(partial, std::ios::binary | std::ios::trunc);
        out << runConfigJson(trainSpec()) << '\n';
        out.close();
        if (!out) {
            std::error_code ignored;
            std::filesystem::remove(partial, ignored);
            return ErrorInfo{
                ErrorCode::Io, "cannot write the run config '" + file.string() + "'", {}};
        }
    }
    std::error_code error;
    std::filesystem::rename(partial, file, error);
    if (error) {
        std::error_code ignored;
        std::filesystem::remove(partial, ignored);
        return ErrorInfo{ErrorCode::Io,
                         "cannot write the run config '" + file.string() + "': " + error.message(),
                         {}};
    }
    return {};
}

QString TrainForm::commandLine() const
{
    return m_command->text();
}

QString TrainForm::validationMessage() const
{
    return m_validation->text();
}

void TrainForm::setJobRunning(bool isRunning)
{
    m_isJobRunning = isRunning;
    revalidate();
}

void TrainForm::inspectModelFolder()
{
    const QString folder = m_model->text().trimmed();
    if (folder == m_inspectedFolder) {
        return;
    }
    m_inspectedFolder = folder;
    m_summary.reset();
    m_modelError.clear();
    if (!folder.isEmpty()) {
        Expected<ModelSummary> summary = inspectModel(toPath(folder));
        if (summary) {
            m_summary = std::move(*summary);
        } else {
            m_modelError = toQString(summary.error().message);
        }
    }
    m_targets->setModuleKinds(m_summary ? m_summary->adapterTargets : std::vector<std::string>{});
    if (m_summary) {
        m_modelInfo->setText(modelOneLiner(*m_summary));
        m_modelInfo->setStyleSheet(QString());
    } else {
        m_modelInfo->setText(m_modelError);
        m_modelInfo->setStyleSheet(QStringLiteral("color: #b00020;"));
    }
    m_modelInfo->setVisible(!m_modelInfo->text().isEmpty());
    Q_EMIT modelChanged();
}

void TrainForm::importFromDialog()
{
    const QString file = QFileDialog::getOpenFileName(this, tr("Import run config"), QString(),
                                                      tr("Run configs (*.json);;All files (*)"));
    if (file.isEmpty()) {
        return;
    }
    if (const Status status = importConfig(toPath(file)); !status) {
        QMessageBox::warning(this, tr("Import config"), toQString(status.error().message));
    }
}

void TrainForm::exportFromDialog()
{
    const QString file = QFileDialog::getSaveFileName(this, tr("Export run config"),
                                                      m_name->text() + QStringLiteral(".json"),
                                                      tr("Run configs (*.json);;All files (*)"));
    if (file.isEmpty()) {
        return;
    }
    if (const Status status = exportConfig(toPath(file)); !status) {
        QMessageBox::warning(this, tr("Export config"), toQString(status.error().message));
    }
}

void TrainForm::revalidate()
{
    if (m_isUpdating) {
        return;
    }
    const TrainSpec spec = trainSpec();
    m_command->setText(trainCommandLine(spec));
    m_command->setCursorPosition(0);
    const QStringList withoutOption = trainConfigKeysWithoutOption(spec);
    m_commandNote->setText(
        withoutOption.isEmpty()
            ? QString()
            : tr("ftw train has no option for %1: export the config and run ftw train --config "
                 "FILE for the same run.")
                  .arg(withoutOption.join(QStringLiteral(", "))));
    m_commandNote->setVisible(!withoutOption.isEmpty());
    const Status status = validateTrainSpec(spec);
    const QString message = status ? QString() : toQString(status.error().message);
    m_validation->setText(message);
    m_validation->setVisible(!status);
    markInvalidField(message);
    m_start->setEnabled(status && !m_isJobRunning);
    m_epochs->setEnabled(m_steps->value() == 0);
    std::string json = runConfigJson(spec);
    if (json != m_lastSpecJson) {
        m_lastSpecJson = std::move(json);
        Q_EMIT specChanged();
    }
}

void TrainForm::markInvalidField(const QString& message)
{
    if (m_invalidField) {
        m_invalidField->setPalette(QPalette());
        m_invalidField = nullptr;
    }
    // The engine's messages quote the key: "'train.batch_size' must be ..." or, for adapter
    // fields, "adapter setting 'target_r': ...". "tinit/tfinal" marks the first.
    const qsizetype open = message.indexOf(QLatin1Char('\''));
    const qsizetype close = open < 0 ? -1 : message.indexOf(QLatin1Char('\''), open + 1);
    if (close < 0) {
        return;
    }
    const QString key = message.mid(open + 1, close - open - 1).section(QLatin1Char('/'), 0, 0);
    QWidget* field = nullptr;
    if (const auto it = m_fieldWidgets.find(key); it != m_fieldWidgets.end()) {
        field = it->second;
    } else if (message.contains(QStringLiteral("adapter"))) {
        field = m_methodOptions->fieldWidget(toStdString(key));
    }
    if (field && field->isVisibleTo(this)) {
        QPalette palette = field->palette();
        palette.setColor(QPalette::Base, kInvalidBase);
        field->setPalette(palette);
        m_invalidField = field;
    }
}

} // namespace ftw::ui
