// SPDX-License-Identifier: MIT
#include "budget_panel.h"

#include "bridge/qt_convert.h"
#include "models/allocation_model.h"
#include "widgets/memory_bar.h"

#include <ftw/format.h>

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QIdentityProxyModel>
#include <QLabel>
#include <QPushButton>
#include <QScrollArea>
#include <QTableView>
#include <QTableWidget>
#include <QTimer>
#include <QVBoxLayout>

#include <algorithm>
#include <array>
#include <cmath>
#include <utility>

namespace ftw::ui {

namespace {

constexpr int kHeatmapCellHeight = 22;
constexpr int kHeatmapMaxHeight = 320;
const QColor kNotAdapted(226, 226, 226);
const std::array<QColor, 5> kPartColors = {QColor(140, 157, 181), QColor(78, 121, 167),
                                           QColor(242, 142, 43), QColor(225, 87, 89),
                                           QColor(118, 183, 178)};

QString grouped(std::int64_t value)
{
    return toQString(formatGrouped(value));
}

QString signedPercent(double fraction)
{
    return (fraction >= 0.0 ? QStringLiteral("+") : QString()) +
           QString::number(100.0 * fraction, 'f', 2) + QStringLiteral("%");
}

/// The method and its settings as `ftw budget` prints them: "lora: r 8, alpha 16".
QString settingsText(const AdapterConfig& a, const BudgetReport& r)
{
    const QString method = toQString(adapterMethodName(r.method));
    const QString alpha = QString::number(a.alpha, 'g', 6);
    switch (r.method) {
    case AdapterMethod::Full:
        return BudgetPanel::tr("%1: every parameter").arg(method);
    case AdapterMethod::Clover:
        return BudgetPanel::tr("%1: a full d x d core per head").arg(method);
    case AdapterMethod::AdaLora:
        return BudgetPanel::tr("%1: init_r %2, target_r %3, alpha %4")
            .arg(method)
            .arg(a.initR)
            .arg(a.targetR)
            .arg(alpha);
    case AdapterMethod::Vera:
    case AdapterMethod::Bone:
    case AdapterMethod::Bat:
        return QStringLiteral("%1: %2 %3").arg(method, toQString(r.knob)).arg(r.rank);
    default:
        return BudgetPanel::tr("%1: r %2, alpha %3%4")
            .arg(method)
            .arg(r.rank)
            .arg(alpha, a.useRslora ? BudgetPanel::tr(", rsLoRA") : QString());
    }
}

/// The heatmap's model with shorter column titles ("q" for "q_proj"; the tooltip keeps the
/// module kind), so that a block's seven projections fit the width of a side tab.
class ShortHeaderProxy : public QIdentityProxyModel {
public:
    using QIdentityProxyModel::QIdentityProxyModel;

    [[nodiscard]] QVariant headerData(int section, Qt::Orientation orientation,
                                      int role) const override
    {
        QVariant value = QIdentityProxyModel::headerData(section, orientation, role);
        const QString suffix = QStringLiteral("_proj");
        if (orientation == Qt::Horizontal && role == Qt::DisplayRole) {
            const QString title = value.toString();
            if (title.endsWith(suffix) && title.size() > suffix.size() &&
                !title.contains(QLatin1Char('.'))) {
                return title.chopped(suffix.size());
            }
        }
        return value;
    }
};

/// The budget's modules as an adapter layout, so the Allocation inspector's model draws them.
AllocationModel::Run heatmapRun(const BudgetReport& r)
{
    AllocationModel::Run run;
    run.summary.method = adapterMethodName(r.method);
    run.summary.trainableParams = r.trainableParams;
    for (const BudgetModule& m : r.modules) {
        AdapterLayoutEntry entry;
        entry.layer = m.layer;
        entry.module = m.kind;
        entry.method = run.summary.method;
        if (m.r > 0) {
            entry.rank = m.r;
        }
        entry.paramCount = m.trainableParams;
        run.layout.push_back(std::move(entry));
    }
    return run;
}

/// The device train.device names among `devices`; nullptr when it is not there.
const DeviceInfo* chosenDevice(const std::vector<DeviceInfo>& devices, const std::string& wanted)
{
    std::string name = wanted;
    if (name == "auto") {
        const auto cuda = std::find_if(devices.begin(), devices.end(),
                                       [](const DeviceInfo& d) { return d.isCuda; });
        name = cuda != devices.end() ? cuda->name : std::string("cpu");
    } else if (name == "cuda") {
        name = "cuda:0";
    }
    const auto found = std::find_if(devices.begin(), devices.end(),
                                    [&](const DeviceInfo& d) { return d.name == name; });
    return found != devices.end() ? &*found : nullptr;
}

/// Fixes a table's height to its rows, so that the panel scrolls rather than the table.
void fitHeightToRows(QTableView* table, int maxHeight)
{
    int height = 2 * table->frameWidth() + table->horizontalHeader()->sizeHint().height();
    for (int row = 0; row < table->model()->rowCount(); ++row) {
        height += table->rowHeight(row);
    }
    table->setFixedHeight(std::min(height, maxHeight));
}

QTableWidgetItem* cellItem(const QString& text, Qt::Alignment alignment = Qt::AlignLeft)
{
    auto* item = new QTableWidgetItem(text);
    item->setFlags(Qt::ItemIsEnabled | Qt::ItemIsSelectable);
    item->setTextAlignment(alignment | Qt::AlignVCenter);
    return item;
}

QTableWidget* newTable(QWidget* parent, const char* objectName, const QStringList& headers)
{
    auto* table = new QTableWidget(0, static_cast<int>(headers.size()), parent);
    table->setObjectName(QString::fromLatin1(objectName));
    table->setHorizontalHeaderLabels(headers);
    table->verticalHeader()->hide();
    table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    table->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    table->setWordWrap(false);
    table->verticalHeader()->setDefaultSectionSize(table->fontMetrics().height() + 10);
    table->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    table->horizontalHeader()->setStretchLastSection(true);
    return table;
}

} // namespace

MemoryOptions memoryOptionsFor(const TrainSpec& spec)
{
    MemoryOptions options;
    options.weightDtype = "F32";
    options.batchSize = spec.train.batchSize;
    options.seqLen = spec.data.maxLength;
    return options;
}

TrainSpec specWithMatch(TrainSpec spec, const BudgetMatch& match)
{
    spec.adapter = applyBudgetMatch(spec.adapter, match);
    return spec;
}

BudgetPanel::BudgetPanel(QWidget* parent) : QWidget(parent)
{
    m_debounce = new QTimer(this);
    m_debounce->setSingleShot(true);
    m_debounce->setInterval(kDebounceMs);
    connect(m_debounce, &QTimer::timeout, this, &BudgetPanel::refresh);

    m_status = new QLabel(this);
    m_status->setObjectName(QStringLiteral("budgetStatus"));
    m_status->setWordWrap(true);
    m_status->setTextInteractionFlags(Qt::TextSelectableByMouse);

    m_details = new QWidget(this);
    auto* details = new QVBoxLayout(m_details);
    details->setContentsMargins(0, 0, 0, 0);
    details->addWidget(buildSummary());
    details->addWidget(buildHeatmap());
    details->addWidget(buildMemory());
    details->addWidget(buildSolver());
    details->addStretch(1);

    auto* content = new QWidget(this);
    auto* contentLayout = new QVBoxLayout(content);
    contentLayout->addWidget(m_status);
    contentLayout->addWidget(m_details, 1);
    auto* scroll = new QScrollArea(this);
    scroll->setObjectName(QStringLiteral("budgetScroll"));
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);
    scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    scroll->setWidget(content);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(scroll);
    refresh();
}

BudgetPanel::~BudgetPanel() = default;

QLabel* BudgetPanel::addRow(QFormLayout* form, const QString& label, const char* objectName)
{
    auto* value = new QLabel(this);
    value->setObjectName(QString::fromLatin1(objectName));
    value->setWordWrap(true);
    value->setTextInteractionFlags(Qt::TextSelectableByMouse);
    form->addRow(label, value);
    return value;
}

QWidget* BudgetPanel::buildSummary()
{
    auto* box = new QGroupBox(tr("Trainable parameters"), this);
    auto* form = new QFormLayout(box);
    form->setRowWrapPolicy(QFormLayout::WrapLongRows);
    addRow(form, tr("Trainable:"), "budgetTrainable")
        ->setToolTip(tr("Parameters the optimiser updates, and the modules that hold them"));
    addRow(form, tr("Share of base:"), "budgetPercent")
        ->setToolTip(tr("100 x trainable / every parameter of the base model"));
    addRow(form, tr("Base model:"), "budgetBase")
        ->setToolTip(tr("Every parameter of the model (a tied lm_head counted once)"));
    addRow(form, tr("Method:"), "budgetMethod");
    auto* extra = new QLabel(box);
    extra->setObjectName(QStringLiteral("budgetExtra"));
    extra->setWordWrap(true);
    extra->setTextInteractionFlags(Qt::TextSelectableByMouse);
    extra->setToolTip(tr("VeRA's shared frozen projections, or what full fine-tuning also trains"));
    form->addRow(extra);
    return box;
}

QWidget* BudgetPanel::buildHeatmap()
{
    auto* box = new QGroupBox(tr("Per layer and module"), this);
    m_heatmapModel = new AllocationModel(this);
    m_heatmap = new QTableView(box);
    m_heatmap->setObjectName(QStringLiteral("budgetHeatmap"));
    auto* shortHeaders = new ShortHeaderProxy(this);
    shortHeaders->setSourceModel(m_heatmapModel);
    m_heatmap->setModel(shortHeaders);
    m_heatmap->setSelectionMode(QAbstractItemView::NoSelection);
    m_heatmap->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_heatmap->setFocusPolicy(Qt::NoFocus);
    m_heatmap->setHorizontalScrollBarPolicy(Qt::ScrollBarAsNeeded);
    m_heatmap->setStyleSheet(QStringLiteral("QTableView#budgetHeatmap { gridline-color: #ffffff; "
                                            "background-color: %1; }")
                                 .arg(kNotAdapted.name()));
    // Columns share the width, but never so narrow that a module's name is cut: then it scrolls.
    m_heatmap->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
    m_heatmap->verticalHeader()->setSectionResizeMode(QHeaderView::Fixed);
    m_heatmap->verticalHeader()->setDefaultSectionSize(kHeatmapCellHeight);
    m_heatmap->verticalHeader()->setDefaultAlignment(Qt::AlignRight | Qt::AlignVCenter);
    m_heatmapNote = new QLabel(box);
    m_heatmapNote->setObjectName(QStringLiteral("budgetHeatmapNote"));
    m_heatmapNote->setWordWrap(true);
    auto* legend = new QLabel(tr("Cells show the rank or block size and are coloured by trainable "
                                 "parameters (darker: more); grey cells are not adapted. Hover a "
                                 "cell for its exact count."),
                              box);
    legend->setWordWrap(true);
    auto* layout = new QVBoxLayout(box);
    layout->addWidget(m_heatmap);
    layout->addWidget(m_heatmapNote);
    layout->addWidget(legend);
    return box;
}

QWidget* BudgetPanel::buildMemory()
{
    auto* box = new QGroupBox(tr("Memory for training"), this);
    auto* title = new QLabel(box);
    title->setObjectName(QStringLiteral("budgetMemoryTitle"));
    title->setWordWrap(true);
    m_memoryBar = new MemoryBar(box);
    m_memoryBar->setObjectName(QStringLiteral("budgetMemoryBar"));
    m_memory = newTable(box, "budgetMemory", {tr("Part"), tr("Size"), tr("Share")});
    m_memory->setSelectionMode(QAbstractItemView::NoSelection);
    m_memory->setFocusPolicy(Qt::NoFocus);
    m_memory->setVerticalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    m_memory->horizontalHeader()->setSectionResizeMode(0, QHeaderView::Stretch);
    m_memory->horizontalHeader()->setStretchLastSection(false);
    auto* device = new QLabel(box);
    device->setObjectName(QStringLiteral("budgetDevice"));
    device->setWordWrap(true);
    auto* note = new QLabel(tr("An analytic estimate (no allocator overhead, CUDA context or "
                               "fragmentation): expect the real peak to be 10-30 % higher."),
                            box);
    note->setObjectName(QStringLiteral("budgetMemoryNote"));
    note->setWordWrap(true);
    auto* layout = new QVBoxLayout(box);
    layout->addWidget(title);
    layout->addWidget(m_memoryBar);
    layout->addWidget(m_memory);
    layout->addWidget(device);
    layout->addWidget(note);
    return box;
}

QWidget* BudgetPanel::buildSolver()
{
    auto* box = new QGroupBox(tr("Equal-budget solver"), this);
    m_targetValue = new QDoubleSpinBox(box);
    m_targetValue->setObjectName(QStringLiteral("budgetTargetValue"));
    m_targetValue->setDecimals(0);
    m_targetValue->setRange(1.0, 1e15);
    m_targetValue->setSingleStep(1000.0);
    m_targetValue->setGroupSeparatorShown(true);
    m_targetValue->setToolTip(tr("The trainable-parameter budget every method is matched to"));
    m_targetKind = new QComboBox(box);
    m_targetKind->setObjectName(QStringLiteral("budgetTargetKind"));
    m_targetKind->addItem(tr("parameters"), static_cast<int>(BudgetTargetKind::Parameters));
    m_targetKind->addItem(tr("% of base"), static_cast<int>(BudgetTargetKind::PercentOfBase));
    m_followCurrent = new QPushButton(tr("Current"), box);
    m_followCurrent->setObjectName(QStringLiteral("budgetFollowCurrent"));
    m_followCurrent->setToolTip(tr("Match the trainable parameters of the config in the form, "
                                   "and follow them as the form changes"));
    auto* targetRow = new QHBoxLayout;
    targetRow->addWidget(new QLabel(tr("Target:"), box));
    targetRow->addWidget(m_targetValue, 1);
    targetRow->addWidget(m_targetKind);
    targetRow->addWidget(m_followCurrent);

    m_solverStatus = new QLabel(box);
    m_solverStatus->setObjectName(QStringLiteral("budgetSolverStatus"));
    m_solverStatus->setWordWrap(true);
    m_solver =
        newTable(box, "budgetSolver", {tr("Method"), tr("Setting"), tr("Trainable"), tr("Error")});
    m_solver->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_solver->setSelectionMode(QAbstractItemView::SingleSelection);
    m_solver->setVerticalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    m_use = new QPushButton(tr("Use in form"), box);
    m_use->setObjectName(QStringLiteral("budgetUseMatch"));
    m_use->setToolTip(tr("Set the form's method and rank to the selected match"));
    m_sweep = new QPushButton(box);
    m_sweep->setObjectName(QStringLiteral("budgetSweep"));
    m_sweepNote = new QLabel(box);
    m_sweepNote->setObjectName(QStringLiteral("budgetSweepNote"));
    m_sweepNote->setWordWrap(true);
    auto* buttons = new QHBoxLayout;
    buttons->addWidget(m_use);
    buttons->addStretch(1);
    buttons->addWidget(m_sweep);

    auto* layout = new QVBoxLayout(box);
    layout->addLayout(targetRow);
    layout->addWidget(m_solverStatus);
    layout->addWidget(m_solver);
    layout->addLayout(buttons);
    layout->addWidget(m_sweepNote);

    connect(m_targetValue, &QDoubleSpinBox::valueChanged, this, &BudgetPanel::onTargetEdited);
    connect(m_targetKind, &QComboBox::currentIndexChanged, this, &BudgetPanel::onTargetKindChanged);
    connect(m_followCurrent, &QPushButton::clicked, this, [this] {
        m_isTargetFollowing = true;
        solve();
    });
    connect(m_solver, &QTableWidget::itemSelectionChanged, this, &BudgetPanel::updateButtons);
    connect(m_solver, &QTableWidget::cellDoubleClicked, m_use, &QPushButton::click);
    connect(m_use, &QPushButton::clicked, this, [this] {
        const QList<QTableWidgetItem*> selected = m_solver->selectedItems();
        if (selected.isEmpty()) {
            return;
        }
        const int index = m_solver->item(selected.front()->row(), 0)->data(Qt::UserRole).toInt();
        const BudgetMatch& match = m_matches.at(static_cast<std::size_t>(index));
        if (match.unavailable.empty()) {
            Q_EMIT useMatchRequested(specWithMatch(m_spec, match));
        }
    });
    connect(m_sweep, &QPushButton::clicked, this, [this] {
        if (!sweepSpecs().empty()) {
            Q_EMIT sweepRequested(sweepSpec());
        }
    });
    return box;
}

void BudgetPanel::setDevices(std::vector<DeviceInfo> devices)
{
    m_devices = std::move(devices);
    showMemory();
}

void BudgetPanel::setSpec(const TrainSpec& spec)
{
    m_spec = spec;
    m_debounce->start();
}

void BudgetPanel::setJobRunning(bool isRunning)
{
    m_isJobRunning = isRunning;
    updateButtons();
}

void BudgetPanel::refresh()
{
    m_debounce->stop();
    m_report.reset();
    QString error;
    if (!m_spec.modelDir.empty()) {
        Expected<BudgetReport> report =
            computeBudget(m_spec.modelDir, m_spec.adapter, memoryOptionsFor(m_spec));
        if (report) {
            m_report = std::move(*report);
        } else {
            error = toQString(report.error().message);
        }
    }
    m_details->setVisible(m_report.has_value());
    if (!m_report) {
        m_status->setText(error.isEmpty() ? tr("Choose a base model in the form to see what the "
                                               "adapter trains and the memory training needs.")
                                          : error);
        m_status->setStyleSheet(error.isEmpty() ? QString() : QStringLiteral("color: #b00020;"));
        m_status->show();
    } else {
        m_status->clear();
        m_status->hide();
    }
    showReport();
    showMemory();
    solve();
}

void BudgetPanel::showReport()
{
    if (!m_report) {
        m_heatmapModel->setRun({});
        return;
    }
    const BudgetReport& r = *m_report;
    auto set = [this](const char* name, const QString& text) {
        auto* label = findChild<QLabel*>(QString::fromLatin1(name));
        label->setText(text);
        label->setVisible(!text.isEmpty());
    };
    QString trainable = grouped(r.trainableParams);
    if (const QString compact = toQString(formatCount(r.trainableParams)); compact != trainable) {
        trainable += QStringLiteral(" (%1)").arg(compact);
    }
    set("budgetTrainable", (r.modules.size() == 1 ? tr("%1 in 1 module") : tr("%1 in %2 modules"))
                               .arg(trainable)
                               .arg(r.modules.size()));
    set("budgetPercent", tr("%1% of the base").arg(r.percentOfBase, 0, 'f', 4));
    set("budgetBase", tr("%1 (%2, %3 layers, %4)")
                          .arg(grouped(r.baseParams), toQString(r.architecture))
                          .arg(r.numLayers)
                          .arg(toQString(r.configDtype)));
    set("budgetMethod", settingsText(m_spec.adapter, r));
    QStringList extra;
    if (r.sharedFrozenParams > 0) {
        extra << tr("Shared: %1 frozen parameters (vera_A and vera_B, one pair for the model)")
                     .arg(grouped(r.sharedFrozenParams));
    }
    if (r.otherTrainableParams != 0) {
        extra << tr("Embeddings and norms: %1 trainable parameters outside the projections")
                     .arg(grouped(r.otherTrainableParams));
    }
    set("budgetExtra", extra.join(QLatin1Char('\n')));

    m_heatmapModel->setRun(heatmapRun(r));
    m_heatmapModel->setQuantity(AllocationModel::Quantity::Parameters);
    QHeaderView* header = m_heatmap->horizontalHeader();
    int widest = 0;
    for (int column = 0; column < m_heatmapModel->columnCount(); ++column) {
        widest = std::max(widest, header->sectionSizeHint(column));
    }
    header->setMinimumSectionSize(widest);
    fitHeightToRows(m_heatmap, kHeatmapMaxHeight);
    std::vector<std::int64_t> perLayer;
    for (const BudgetLayerTotal& l : r.layers) {
        if (l.layer >= 0 && l.trainableParams > 0) {
            perLayer.push_back(l.trainableParams);
        }
    }
    const auto [low, high] = std::minmax_element(perLayer.begin(), perLayer.end());
    const int adapted = static_cast<int>(perLayer.size());
    if (perLayer.empty()) {
        m_heatmapNote->setText(tr("No block is adapted."));
    } else if (*low == *high) {
        m_heatmapNote->setText(tr("%1 trainable parameters in each of %2 of %3 layers")
                                   .arg(grouped(*low))
                                   .arg(adapted)
                                   .arg(r.numLayers));
    } else {
        m_heatmapNote->setText(tr("%1 of %2 layers adapted, %3 to %4 trainable parameters each")
                                   .arg(adapted)
                                   .arg(r.numLayers)
                                   .arg(grouped(*low), grouped(*high)));
    }
}

void BudgetPanel::showMemory()
{
    auto* title = findChild<QLabel*>(QStringLiteral("budgetMemoryTitle"));
    auto* device = findChild<QLabel*>(QStringLiteral("budgetDevice"));
    m_memory->setRowCount(0);
    if (!m_report) {
        m_memoryBar->setParts({}, 0);
        return;
    }
    const MemoryEstimate& m = m_report->memory;
    title->setText(tr("Batch %1 x %2 tokens (train.batch_size x data.max_length), base weights "
                      "%3 as the trainer holds them%4.")
                       .arg(m.batchSize)
                       .arg(m.seqLen)
                       .arg(toQString(m.weightDtype),
                            m_spec.train.isGradientCheckpointing
                                ? tr("; gradient checkpointing is on, so activations will be "
                                     "lower than shown")
                                : QString()));
    const bool isFull = m_report->method == AdapterMethod::Full;
    const std::array<std::pair<QString, std::int64_t>, 6> parts{{
        {tr("Base weights (%1)").arg(toQString(m.weightDtype)), m.baseWeightBytes},
        {isFull ? tr("Master weights (fp32)") : tr("Adapter weights (fp32)"), m.adapterWeightBytes},
        {tr("Gradients (fp32)"), m.gradientBytes},
        {tr("AdamW states (fp32)"), m.optimizerBytes},
        {tr("Activations"), m.activationBytes},
        {tr("Total"), m.totalBytes},
    }};
    std::vector<MemoryBar::Part> barParts;
    m_memory->setRowCount(static_cast<int>(parts.size()));
    for (std::size_t i = 0; i < parts.size(); ++i) {
        const auto row = static_cast<int>(i);
        const auto& [name, bytes] = parts[i];
        auto* nameItem = cellItem(name);
        auto* size = cellItem(toQString(formatBytes(bytes)), Qt::AlignRight);
        size->setData(Qt::UserRole, QVariant::fromValue<qint64>(bytes));
        size->setToolTip(tr("%1 bytes").arg(grouped(bytes)));
        const double share = m.totalBytes > 0 ? 100.0 * static_cast<double>(bytes) /
                                                    static_cast<double>(m.totalBytes)
                                              : 0.0;
        auto* shareItem = cellItem(QStringLiteral("%1%").arg(share, 0, 'f', 1), Qt::AlignRight);
        if (i < kPartColors.size()) {
            nameItem->setData(Qt::DecorationRole, kPartColors[i]);
            barParts.emplace_back(kPartColors[i], bytes);
        } else {
            QFont bold = nameItem->font();
            bold.setBold(true);
            for (QTableWidgetItem* item : {nameItem, size, shareItem}) {
                item->setFont(bold);
            }
        }
        m_memory->setItem(row, 0, nameItem);
        m_memory->setItem(row, 1, size);
        m_memory->setItem(row, 2, shareItem);
    }
    fitHeightToRows(m_memory, QWIDGETSIZE_MAX);

    const DeviceInfo* chosen = chosenDevice(m_devices, m_spec.train.device);
    m_memoryBar->setParts(std::move(barParts), chosen ? chosen->totalMemoryBytes : 0);
    const QString total = toQString(formatBytes(m.totalBytes));
    if (m_devices.empty()) {
        device->setText(tr("Needs about %1; the devices are not known here.").arg(total));
    } else if (chosen == nullptr) {
        device->setText(tr("Needs about %1; train.device '%2' is not on this machine.")
                            .arg(total, toQString(m_spec.train.device)));
    } else if (chosen->totalMemoryBytes <= 0) {
        device->setText(tr("Needs about %1 on %2 (%3), whose memory size the engine does not "
                           "report: compare with the memory it has.")
                            .arg(total, toQString(chosen->name), toQString(chosen->description)));
    } else {
        const double used = 100.0 * static_cast<double>(m.totalBytes) /
                            static_cast<double>(chosen->totalMemoryBytes);
        const bool fits = m.totalBytes <= chosen->totalMemoryBytes;
        device->setText(
            (fits ? tr("Needs about %1 of %2 on %3 (%4%): fits.")
                  : tr("Needs about %1 but %3 has %2 (%4%): lower the batch size or the maximum "
                       "length, or turn on gradient checkpointing."))
                .arg(total, toQString(formatBytes(chosen->totalMemoryBytes)),
                     toQString(chosen->name))
                .arg(used, 0, 'f', 0));
        device->setStyleSheet(fits ? QString() : QStringLiteral("color: #b00020;"));
        return;
    }
    device->setStyleSheet(QString());
}

BudgetTarget BudgetPanel::target() const
{
    return {static_cast<BudgetTargetKind>(m_targetKind->currentData().toInt()),
            m_targetValue->value()};
}

void BudgetPanel::setTarget(const BudgetTarget& target)
{
    const int index = m_targetKind->findData(static_cast<int>(target.kind));
    if (index < 0) {
        return;
    }
    m_isUpdating = true;
    m_targetKind->setCurrentIndex(index);
    const bool isPercent = target.kind == BudgetTargetKind::PercentOfBase;
    m_targetValue->setDecimals(isPercent ? 4 : 0);
    m_targetValue->setRange(isPercent ? 0.0001 : 1.0, isPercent ? 100.0 : 1e15);
    m_targetValue->setSingleStep(isPercent ? 0.1 : 1000.0);
    m_targetValue->setValue(target.value);
    m_isUpdating = false;
    m_isTargetFollowing = false;
    solve();
}

void BudgetPanel::onTargetEdited()
{
    if (m_isUpdating) {
        return;
    }
    m_isTargetFollowing = false;
    solve();
}

void BudgetPanel::onTargetKindChanged()
{
    if (m_isUpdating) {
        return;
    }
    // Keep the same budget in the other unit when the base is known.
    BudgetTarget next = target();
    if (m_report && m_report->baseParams > 0) {
        const double base = static_cast<double>(m_report->baseParams);
        next.value = next.kind == BudgetTargetKind::PercentOfBase
                         ? 100.0 * m_targetValue->value() / base
                         : std::round(m_targetValue->value() / 100.0 * base);
    }
    const bool wasFollowing = m_isTargetFollowing;
    setTarget(next);
    if (wasFollowing) {
        m_isTargetFollowing = true;
        solve();
    }
}

void BudgetPanel::solve()
{
    m_matches.clear();
    m_solverStatus->clear();
    if (m_report && m_isTargetFollowing) {
        const bool isPercent = target().kind == BudgetTargetKind::PercentOfBase;
        m_isUpdating = true;
        m_targetValue->setValue(isPercent ? m_report->percentOfBase
                                          : static_cast<double>(m_report->trainableParams));
        m_isUpdating = false;
    }
    if (m_report) {
        Expected<std::vector<BudgetMatch>> solved =
            solveBudget(m_spec.modelDir, m_spec.adapter, target());
        if (solved) {
            m_matches = std::move(*solved);
        } else {
            m_solverStatus->setText(toQString(solved.error().message));
        }
    }
    m_solverStatus->setVisible(!m_solverStatus->text().isEmpty());
    showMatches();
}

void BudgetPanel::showMatches()
{
    m_solver->clearSelection();
    m_solver->clearSpans();
    m_solver->setRowCount(static_cast<int>(m_matches.size()));
    for (std::size_t i = 0; i < m_matches.size(); ++i) {
        const BudgetMatch& m = m_matches[i];
        const auto row = static_cast<int>(i);
        auto* method = cellItem(toQString(adapterMethodName(m.method)));
        method->setData(Qt::UserRole, row);
        m_solver->setItem(row, 0, method);
        if (!m.unavailable.empty()) {
            auto* reason = cellItem(tr("unavailable: %1").arg(toQString(m.unavailable)));
            reason->setToolTip(reason->text());
            reason->setForeground(palette().color(QPalette::PlaceholderText));
            method->setForeground(reason->foreground());
            m_solver->setItem(row, 1, reason);
            m_solver->setItem(row, 2, cellItem(QString()));
            m_solver->setItem(row, 3, cellItem(QString()));
            m_solver->setSpan(row, 1, 1, 3);
            continue;
        }
        const QString setting = m.isFixed
                                    ? tr("(fixed)")
                                    : QStringLiteral("%1 = %2").arg(toQString(m.knob)).arg(m.value);
        m_solver->setItem(row, 1, cellItem(setting));
        m_solver->setItem(row, 2, cellItem(grouped(m.trainableParams), Qt::AlignRight));
        auto* error = cellItem(signedPercent(m.relativeError) +
                                   (m.isAtLimit && !m.isFixed ? tr(" (out of reach)") : QString()),
                               Qt::AlignRight);
        if (m.isAtLimit && !m.isFixed) {
            error->setToolTip(tr("The target lies outside what the valid values of %1 reach")
                                  .arg(toQString(m.knob)));
        }
        m_solver->setItem(row, 3, error);
    }
    fitHeightToRows(m_solver, QWIDGETSIZE_MAX);
    updateButtons();
}

SweepSpec BudgetPanel::sweepSpec() const
{
    SweepSpec sweep;
    sweep.runName = (m_spec.runName.empty() ? std::string("run") : m_spec.runName) + "-sweep";
    sweep.base = m_spec;
    sweep.target = target();
    for (const BudgetMatch& match : m_matches) {
        if (match.unavailable.empty() && !match.isFixed && match.value >= 1) {
            sweep.methods.push_back(match.method);
        }
    }
    return sweep;
}

std::vector<TrainSpec> BudgetPanel::sweepSpecs() const
{
    const SweepSpec sweep = sweepSpec();
    if (sweep.methods.empty() || m_spec.modelDir.empty()) {
        return {};
    }
    Expected<std::vector<TrainSpec>> runs = sweepRunSpecs(sweep);
    return runs ? std::move(*runs) : std::vector<TrainSpec>{};
}

void BudgetPanel::updateButtons()
{
    const QList<QTableWidgetItem*> selected = m_solver->selectedItems();
    bool canUse = false;
    if (!selected.isEmpty()) {
        const int index = m_solver->item(selected.front()->row(), 0)->data(Qt::UserRole).toInt();
        canUse = m_matches.at(static_cast<std::size_t>(index)).unavailable.empty();
    }
    m_use->setEnabled(canUse);

    const std::vector<TrainSpec> specs = sweepSpecs();
    QString invalid;
    for (const TrainSpec& spec : specs) {
        if (const Status status = validateTrainSpec(spec); !status) {
            invalid = toQString(status.error().message);
            break;
        }
    }
    const int count = static_cast<int>(specs.size());
    m_sweep->setText(count == 1 ? tr("Start equal-budget sweep (1 run)")
                                : tr("Start equal-budget sweep (%1 runs)").arg(count));
    m_sweep->setEnabled(count > 0 && invalid.isEmpty() && !m_isJobRunning);
    QStringList names;
    for (const TrainSpec& spec : specs) {
        names << toQString(spec.runName);
    }
    if (count == 0) {
        m_sweepNote->setText(m_report ? tr("No method can be matched to this target.") : QString());
    } else if (!invalid.isEmpty()) {
        m_sweepNote->setText(tr("Complete the form to start a sweep: %1").arg(invalid));
    } else {
        m_sweepNote->setText(tr("Trains one run per method (full fine-tuning left out), one after "
                                "another, recorded as one group: %1.")
                                 .arg(names.join(QStringLiteral(", "))));
    }
    m_sweep->setToolTip(m_sweepNote->text());
}

QString BudgetPanel::statusText() const
{
    return m_status->text();
}

QString BudgetPanel::value(const QString& rowName) const
{
    const auto* label = findChild<QLabel*>(rowName);
    return label ? label->text() : QString();
}

} // namespace ftw::ui
