// SPDX-License-Identifier: MIT
#include "export_page.h"

#include "bridge/engine_controller.h"
#include "bridge/qt_convert.h"
#include "models/adapter_run_model.h"
#include "models/export_list_model.h"
#include "models/verification_model.h"

#include <ftw/format.h>
#include <ftw/models.h>

#include <QButtonGroup>
#include <QComboBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QRadioButton>
#include <QSignalBlocker>
#include <QTableView>
#include <QVBoxLayout>

#include <system_error>

namespace ftw::ui {
namespace {

namespace fs = std::filesystem;

const QString kErrorStyle = QStringLiteral("color: #b00020;");
const QString kNoteStyle = QStringLiteral("color: #5f6368;");

/// Why `text` cannot be the export's folder, empty when it can.
QString destinationProblem(const QString& text)
{
    if (text.trimmed().isEmpty()) {
        return ExportPage::tr("Choose the folder to write the export to.");
    }
    const fs::path path = toPath(text);
    if (!path.is_absolute()) {
        return ExportPage::tr("Give the destination as a full path (the folder is created).");
    }
    std::error_code ec;
    if (!fs::exists(path, ec)) {
        return {};
    }
    if (!fs::is_directory(path, ec)) {
        return ExportPage::tr("'%1' is a file: choose a folder name that does not exist yet.")
            .arg(text);
    }
    if (!fs::is_empty(path, ec)) {
        return ExportPage::tr("'%1' is not empty, and an export never overwrites files: choose a "
                              "new folder name or an empty folder.")
            .arg(text);
    }
    return {};
}

/// `runDir/export-<suffix>`, or `-2`, `-3`... when that one is taken.
QString freeFolder(const fs::path& runDir, const QString& suffix)
{
    const QString base = QStringLiteral("export-") + suffix;
    QString name = base;
    for (int i = 2; i < 1000 && !destinationProblem(toQString(runDir / toPath(name))).isEmpty();
         ++i) {
        name = base + QLatin1Char('-') + QString::number(i);
    }
    return toQString(runDir / toPath(name));
}

std::int64_t folderBytes(const fs::path& dir)
{
    std::int64_t total = 0;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
        if (entry.is_regular_file(ec)) {
            total += static_cast<std::int64_t>(entry.file_size(ec));
        }
    }
    return total;
}

int bytesPerWeight(const QString& dtype)
{
    return dtype == QStringLiteral("f32") ? 4 : 2;
}

QString dtypeToolTip()
{
    return ExportPage::tr(
        "f32: full precision; the merged model matches base + adapter almost exactly. 4 bytes per "
        "weight.\n"
        "bf16: half the size; the range of f32 with about 3 significant digits; what most GPUs "
        "compute in.\n"
        "f16: half the size; more precise than bf16 but overflows above 65504, which some models "
        "exceed (the verification then fails: choose bf16).");
}

} // namespace

ExportPage::ExportPage(EngineController& controller, QWidget* parent)
    : QWidget(parent), m_controller(controller), m_databasePath(controller.engine().databasePath())
{
    m_runs = new AdapterRunModel(this);
    m_verification = new VerificationModel(this);
    m_exports = new ExportListModel(this);

    auto* title = new QLabel(tr("Export a fine-tuned model"), this);
    title->setObjectName(QStringLiteral("pageTitle"));

    m_source = new QComboBox(this);
    m_source->setObjectName(QStringLiteral("exportSource"));
    m_source->setModel(m_runs);
    m_source->setPlaceholderText(tr("no trained run with an adapter yet"));
    m_source->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    m_source->setMinimumContentsLength(24);
    m_sourceInfo = new QLabel(this);
    m_sourceInfo->setObjectName(QStringLiteral("exportSourceInfo"));
    m_sourceInfo->setWordWrap(true);
    m_sourceInfo->setMinimumWidth(360); // a wrapped label in a form row otherwise takes its minimum
    m_sourceInfo->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_sourceInfo->setStyleSheet(kNoteStyle);

    m_merged = new QRadioButton(tr("Merged model"), this);
    m_merged->setObjectName(QStringLiteral("exportMerged"));
    m_merged->setToolTip(tr("The base model with the adapter folded into its weights: a "
                            "standalone Hugging Face folder that loads without PEFT."));
    m_merged->setChecked(true);
    m_adapterOnly = new QRadioButton(tr("Adapter only"), this);
    m_adapterOnly->setObjectName(QStringLiteral("exportAdapterOnly"));
    m_adapterOnly->setToolTip(tr("The adapter alone in PEFT's layout (adapter_config.json + "
                                 "adapter_model.safetensors), in f32: small, loaded on top of the "
                                 "same base model."));
    auto* kinds = new QButtonGroup(this);
    kinds->addButton(m_merged);
    kinds->addButton(m_adapterOnly);
    auto* kindRow = new QHBoxLayout;
    kindRow->addWidget(m_merged);
    kindRow->addWidget(m_adapterOnly);
    kindRow->addStretch(1);

    m_dtype = new QComboBox(this);
    m_dtype->setObjectName(QStringLiteral("exportDtype"));
    m_dtype->addItems({QStringLiteral("f32"), QStringLiteral("f16"), QStringLiteral("bf16")});
    m_dtype->setToolTip(dtypeToolTip());
    m_sizeHint = new QLabel(this);
    m_sizeHint->setObjectName(QStringLiteral("exportSize"));
    m_sizeHint->setStyleSheet(kNoteStyle);
    auto* dtypeRow = new QHBoxLayout;
    dtypeRow->addWidget(m_dtype);
    dtypeRow->addWidget(m_sizeHint, 1);

    m_destination = new QLineEdit(this);
    m_destination->setObjectName(QStringLiteral("exportDestination"));
    m_destination->setPlaceholderText(tr("a new folder; it is created"));
    auto* browse = new QPushButton(tr("Browse..."), this);
    browse->setObjectName(QStringLiteral("exportBrowse"));
    auto* destinationRow = new QHBoxLayout;
    destinationRow->addWidget(m_destination, 1);
    destinationRow->addWidget(browse);

    m_validation = new QLabel(this);
    m_validation->setObjectName(QStringLiteral("exportValidation"));
    m_validation->setWordWrap(true);
    m_validation->setStyleSheet(kErrorStyle);
    m_export = new QPushButton(tr("Export"), this);
    m_export->setObjectName(QStringLiteral("exportButton"));
    m_export->setToolTip(tr("Writes the export under a temporary name, checks its logits against "
                            "base + adapter, and renames it only when they match."));
    m_status = new QLabel(this);
    m_status->setObjectName(QStringLiteral("exportStatus"));
    m_status->setWordWrap(true);
    auto* exportRow = new QHBoxLayout;
    exportRow->addWidget(m_export);
    exportRow->addWidget(m_status, 1);

    auto* optionsBox = new QGroupBox(tr("What to export"), this);
    auto* form = new QFormLayout;
    form->setFieldGrowthPolicy(QFormLayout::ExpandingFieldsGrow);
    form->addRow(tr("Trained run:"), m_source);
    form->addRow(QString(), m_sourceInfo);
    form->addRow(tr("Export as:"), kindRow);
    form->addRow(tr("Dtype:"), dtypeRow);
    form->addRow(tr("Destination:"), destinationRow);
    auto* optionsLayout = new QVBoxLayout(optionsBox);
    optionsLayout->addLayout(form);
    optionsLayout->addWidget(m_validation);
    optionsLayout->addStretch(1);
    optionsLayout->addLayout(exportRow);

    auto* reportBox = new QGroupBox(tr("Verification report"), this);
    m_summary = new QLabel(this);
    m_summary->setObjectName(QStringLiteral("verificationSummary"));
    m_summary->setWordWrap(true);
    m_summary->setTextFormat(Qt::RichText);
    m_summary->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_summary->setAlignment(Qt::AlignTop | Qt::AlignLeft);
    m_promptTable = new QTableView(this);
    m_promptTable->setObjectName(QStringLiteral("verificationTable"));
    m_promptTable->setModel(m_verification);
    m_promptTable->verticalHeader()->hide();
    m_promptTable->setSelectionMode(QAbstractItemView::NoSelection);
    m_promptTable->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    m_promptTable->horizontalHeader()->setSectionResizeMode(VerificationModel::Prompt,
                                                            QHeaderView::Stretch);
    auto* reportLayout = new QVBoxLayout(reportBox);
    reportLayout->addWidget(m_summary);
    reportLayout->addWidget(m_promptTable, 1);

    auto* historyBox = new QGroupBox(tr("Exports of this run"), this);
    m_exportTable = new QTableView(this);
    m_exportTable->setObjectName(QStringLiteral("exportHistory"));
    m_exportTable->setModel(m_exports);
    m_exportTable->verticalHeader()->hide();
    m_exportTable->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_exportTable->setSelectionMode(QAbstractItemView::SingleSelection);
    m_exportTable->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    m_exportTable->horizontalHeader()->setStretchLastSection(true);
    m_exportTable->setToolTip(tr("Select an export to see its verification report"));
    auto* historyLayout = new QVBoxLayout(historyBox);
    historyLayout->addWidget(m_exportTable);

    auto* top = new QHBoxLayout;
    top->addWidget(optionsBox, 1);
    top->addWidget(reportBox, 1);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(title);
    layout->addLayout(top, 3);
    layout->addWidget(historyBox, 2);

    connect(m_source, &QComboBox::currentIndexChanged, this, &ExportPage::onSourceChanged);
    connect(kinds, &QButtonGroup::buttonToggled, this, [this] {
        m_dtype->setEnabled(m_merged->isChecked());
        updateDefaultDestination();
        updateSizeHint();
        revalidate();
    });
    connect(m_dtype, &QComboBox::currentIndexChanged, this, [this] {
        updateDefaultDestination();
        updateSizeHint();
        revalidate();
    });
    connect(m_destination, &QLineEdit::textChanged, this, &ExportPage::revalidate);
    connect(browse, &QPushButton::clicked, this, [this] {
        const fs::path current = toPath(m_destination->text());
        const QString chosen = QFileDialog::getExistingDirectory(
            this, tr("Where to write the export"), toQString(current.parent_path()));
        if (chosen.isEmpty()) {
            return;
        }
        // An empty folder is used as it is; in another, a new folder of the default name.
        const QString name = toQString(current.filename());
        m_destination->setText(destinationProblem(chosen).isEmpty() || name.isEmpty()
                                   ? chosen
                                   : toQString(toPath(chosen) / toPath(name)));
    });
    connect(m_export, &QPushButton::clicked, this, &ExportPage::requestExport);
    connect(m_exportTable->selectionModel(), &QItemSelectionModel::currentRowChanged, this,
            [this](const QModelIndex& current) {
                if (current.isValid()) {
                    showExport(m_exports->exportAt(current.row()));
                }
            });
    connect(&m_controller, &EngineController::jobStarted, this, &ExportPage::revalidate);
    connect(&m_controller, &EngineController::jobFinished, this, &ExportPage::onJobFinished);

    onSourceChanged();
}

void ExportPage::showEvent(QShowEvent* event)
{
    QWidget::showEvent(event);
    refresh();
}

void ExportPage::refresh()
{
    const QVariant current = m_source->currentData(AdapterRunModel::RunIdRole);
    {
        const QSignalBlocker blocker(m_source);
        const QString error = m_runs->reload(m_databasePath);
        if (!error.isEmpty()) {
            m_status->setStyleSheet(kErrorStyle);
            m_status->setText(tr("Cannot read the run store: %1").arg(error));
        }
        int row = current.isValid() ? m_runs->rowOfRun(current.toLongLong()) : -1;
        if (row < 0 && m_runs->rowCount() > 0) {
            row = 0;
        }
        m_source->setCurrentIndex(row);
    }
    onSourceChanged();
}

void ExportPage::showRun(RunId id)
{
    refresh();
    const int row = m_runs->rowOfRun(id);
    if (row >= 0) {
        m_source->setCurrentIndex(row);
    }
}

void ExportPage::onSourceChanged()
{
    const AdapterRun* run = m_runs->runAt(m_source->currentIndex());
    if (run == nullptr) {
        m_sourceInfo->setText(
            tr("Train a run on the New run page: its adapter appears here when it finishes."));
    } else {
        m_sourceInfo->setText(tr("Base model: %1\nAdapter: %2")
                                  .arg(toQString(run->modelDir), toQString(run->adapterDir)));
    }
    reloadExports(std::nullopt);
    updateDefaultDestination();
    updateSizeHint();
    revalidate();
}

void ExportPage::updateDefaultDestination()
{
    const AdapterRun* run = m_runs->runAt(m_source->currentIndex());
    const QString text = m_destination->text();
    if (run == nullptr || (!text.isEmpty() && text != m_defaultDestination)) {
        return; // the user's own choice stays
    }
    m_defaultDestination =
        freeFolder(run->runDir,
                   m_adapterOnly->isChecked() ? QStringLiteral("adapter") : m_dtype->currentText());
    m_destination->setText(m_defaultDestination);
}

QString ExportPage::validationMessage() const
{
    const AdapterRun* run = m_runs->runAt(m_source->currentIndex());
    if (run == nullptr) {
        return m_runs->rowCount() == 0 ? tr("No trained run with an adapter yet: train one on the "
                                            "New run page, then export it here.")
                                       : tr("Choose the trained run to export.");
    }
    std::error_code ec;
    if (!fs::exists(run->modelDir / "config.json", ec)) {
        return tr("The run's base model '%1' is gone (no config.json): the export needs it to "
                  "merge and verify. Put the model folder back.")
            .arg(toQString(run->modelDir));
    }
    return destinationProblem(m_destination->text());
}

void ExportPage::revalidate()
{
    const QString problem = validationMessage();
    const bool isJobRunning = m_controller.activeJob().has_value();
    if (problem.isEmpty() && isJobRunning && !m_pendingJob) {
        m_validation->setStyleSheet(kNoteStyle);
        m_validation->setText(tr("A job is running: Export is available when it has finished."));
    } else {
        m_validation->setStyleSheet(kErrorStyle);
        m_validation->setText(problem);
    }
    m_export->setEnabled(problem.isEmpty() && !isJobRunning);
}

void ExportPage::updateSizeHint()
{
    const AdapterRun* run = m_runs->runAt(m_source->currentIndex());
    if (run == nullptr) {
        m_sizeHint->clear();
    } else if (m_adapterOnly->isChecked()) {
        m_sizeHint->setText(tr("adapter files: about %1")
                                .arg(toQString(formatBytes(folderBytes(run->adapterDir)))));
    } else if (const auto model = inspectModel(run->modelDir)) {
        m_sizeHint->setText(
            tr("weights: about %1")
                .arg(toQString(
                    formatBytes(model->parameterCount * bytesPerWeight(m_dtype->currentText())))));
    } else {
        m_sizeHint->clear();
    }
}

MergeSpec ExportPage::mergeSpec() const
{
    MergeSpec spec;
    const AdapterRun* run = m_runs->runAt(m_source->currentIndex());
    if (run == nullptr) {
        return spec;
    }
    spec.runName = "export of " + run->name;
    spec.modelDir = run->modelDir;
    spec.adapterDir = run->adapterDir;
    spec.outDir = toPath(m_destination->text().trimmed());
    spec.isAdapterOnly = m_adapterOnly->isChecked();
    spec.dtype = spec.isAdapterOnly ? "f32" : toStdString(m_dtype->currentText());
    spec.sourceRunId = run->id;
    return spec;
}

void ExportPage::requestExport()
{
    if (!validationMessage().isEmpty() || m_controller.activeJob()) {
        return;
    }
    m_status->setStyleSheet(QString());
    m_status->setText(tr("Exporting... (progress in the status bar)"));
    Q_EMIT exportRequested(mergeSpec());
    m_pendingJob = m_controller.activeJob();
    if (!m_pendingJob) {
        m_status->setStyleSheet(kErrorStyle);
        m_status->setText(tr("The export did not start: another job may be running."));
    }
    revalidate();
}

void ExportPage::onJobFinished(qint64 jobId, const JobResult& result)
{
    std::optional<std::int64_t> exportId;
    if (m_pendingJob == jobId) {
        m_pendingJob.reset();
        const QJsonObject output =
            QJsonDocument::fromJson(QByteArray::fromStdString(result.outputJson)).object();
        if (result.status == JobStatus::Succeeded) {
            exportId = output.value(QStringLiteral("export_id")).toInteger();
            m_status->setStyleSheet(QString());
            m_status->setText(
                tr("Exported to %1").arg(output.value(QStringLiteral("path")).toString()));
        } else if (result.status == JobStatus::Cancelled) {
            m_status->setStyleSheet(QString());
            m_status->setText(tr("The export was stopped; nothing was written."));
        } else {
            m_status->setStyleSheet(kErrorStyle);
            m_status->setText(tr("The export failed: %1").arg(toQString(result.error.message)));
        }
    }
    refresh(); // a finished training run may have brought an adapter
    if (exportId) {
        reloadExports(exportId);
    }
}

void ExportPage::reloadExports(std::optional<std::int64_t> selectExportId)
{
    const AdapterRun* run = m_runs->runAt(m_source->currentIndex());
    std::vector<ExportInfo> exports;
    if (run != nullptr) {
        if (auto store = RunStore::open(m_databasePath, StoreMode::ReadOnly)) {
            if (auto list = store->exports(run->id)) {
                exports = std::move(*list);
            }
        }
    }
    m_shownRun = run != nullptr ? run->id : 0;
    m_exports->setExports(std::move(exports));
    int row = selectExportId ? m_exports->rowOfExport(*selectExportId) : -1;
    if (row < 0 && m_exports->rowCount() > 0) {
        row = 0; // the newest
    }
    if (row >= 0) {
        m_exportTable->setCurrentIndex(m_exports->index(row, 0));
    }
    showExport(m_exports->exportAt(row));
}

void ExportPage::showExport(const ExportInfo* info)
{
    if (info == nullptr) {
        m_verification->setPrompts({});
        m_summary->setText(m_shownRun == 0 ? QString()
                                           : tr("This run has not been exported yet: choose the "
                                                "options and click Export."));
        return;
    }
    const VerificationReport report = parseVerificationReport(toQString(info->verificationJson));
    m_verification->setPrompts(report.prompts);
    QStringList lines;
    const QString path = toQString(info->path).toHtmlEscaped();
    if (info->status == "running") {
        lines << tr("<b>Exporting...</b>");
    } else if (info->status == "cancelled") {
        lines << tr("<b>Stopped</b>: nothing was written.");
    } else if (info->status == "succeeded" && report.isPassed) {
        lines << tr("<b style=\"color:#1b7f3b\">&#10004; Passed</b>: the export reproduces base "
                    "+ adapter.");
    } else {
        lines << tr("<b style=\"color:#b00020\">&#10008; Failed</b>: %1")
                     .arg(toQString(info->errorMessage).toHtmlEscaped());
    }
    if (report.isPresent) {
        lines << tr("Max |&Delta;logit| <b>%1</b> over %n prompt(s) (mean %2); tolerance %3 for "
                    "%4.",
                    nullptr, static_cast<int>(report.prompts.size()))
                     .arg(formatDifference(report.maxAbsDiff), formatDifference(report.meanAbsDiff),
                          formatDifference(report.tolerance), report.dtype.toHtmlEscaped());
        if (report.adapterEffect && report.tolerance && *report.adapterEffect > *report.tolerance) {
            lines << tr("Adapter effect: base + adapter moves the logits by up to %1, so an export "
                        "that lost the adapter would fail this check.")
                         .arg(formatDifference(report.adapterEffect));
        } else if (report.adapterEffect) {
            lines << tr("Adapter effect: up to %1, within the tolerance: this check cannot tell "
                        "the export from the base model (train longer or with a higher learning "
                        "rate).")
                         .arg(formatDifference(report.adapterEffect));
        }
    }
    std::error_code ec;
    const bool isGone = info->status == "succeeded" && !fs::exists(info->path, ec);
    lines << (isGone ? tr("Folder: <code>%1</code> (no longer there)").arg(path)
                     : tr("Folder: <code>%1</code>").arg(path));
    m_summary->setText(lines.join(QStringLiteral("<br>")));
}

} // namespace ftw::ui
