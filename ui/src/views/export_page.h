// SPDX-License-Identifier: MIT
#pragma once

#include <ftw/job.h>
#include <ftw/run_config.h>
#include <ftw/run_store.h>

#include <QWidget>

#include <filesystem>
#include <optional>

class QComboBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QRadioButton;
class QTableView;

namespace ftw::ui {

class AdapterRunModel;
class EngineController;
class ExportListModel;
class VerificationModel;

/// The Export page: pick a trained run, export its adapter merged into the base model (f32, f16 or
/// bf16) or alone, into a new folder; then the verification report (the exported model's logits
/// against base + adapter on a few prompts) and the run's earlier exports. The export itself is a
/// merge job: the page emits exportRequested() and follows the job through `controller`.
/// Reads the store with its own short-lived read-only connections on the GUI thread. `controller`
/// must outlive the page.
class ExportPage : public QWidget {
    Q_OBJECT

public:
    explicit ExportPage(EngineController& controller, QWidget* parent = nullptr);

    /// Re-reads the runs with adapters (and the chosen run's exports) from the store.
    void refresh();
    /// Chooses run `id` as the source (after a refresh); ignored when it has no adapter folder.
    void showRun(RunId id);

    /// The merge job the fields describe (valid only when validationMessage() is empty).
    [[nodiscard]] MergeSpec mergeSpec() const;
    /// What is wrong with the fields, empty when Export may be clicked.
    [[nodiscard]] QString validationMessage() const;

    [[nodiscard]] QComboBox* sourceBox() const { return m_source; }
    [[nodiscard]] QRadioButton* mergedButton() const { return m_merged; }
    [[nodiscard]] QRadioButton* adapterOnlyButton() const { return m_adapterOnly; }
    [[nodiscard]] QComboBox* dtypeBox() const { return m_dtype; }
    [[nodiscard]] QLineEdit* destinationEdit() const { return m_destination; }
    [[nodiscard]] QPushButton* exportButton() const { return m_export; }
    [[nodiscard]] QLabel* statusLabel() const { return m_status; }
    [[nodiscard]] QLabel* reportSummary() const { return m_summary; }
    [[nodiscard]] AdapterRunModel* runModel() const { return m_runs; }
    [[nodiscard]] VerificationModel* verificationModel() const { return m_verification; }
    [[nodiscard]] ExportListModel* exportListModel() const { return m_exports; }

Q_SIGNALS:
    /// Export was clicked with valid fields. The receiver submits `spec` (e.g.
    /// MainWindow::startJob) on the same controller, synchronously.
    void exportRequested(const ftw::MergeSpec& spec);

protected:
    void showEvent(QShowEvent* event) override;

private:
    void onSourceChanged();
    void updateDefaultDestination();
    void updateSizeHint();
    void revalidate();
    void requestExport();
    void onJobFinished(qint64 jobId, const JobResult& result);
    void reloadExports(std::optional<std::int64_t> selectExportId);
    void showExport(const ExportInfo* info);

    EngineController& m_controller;
    std::filesystem::path m_databasePath;
    AdapterRunModel* m_runs = nullptr;
    VerificationModel* m_verification = nullptr;
    ExportListModel* m_exports = nullptr;
    QComboBox* m_source = nullptr;
    QLabel* m_sourceInfo = nullptr;
    QRadioButton* m_merged = nullptr;
    QRadioButton* m_adapterOnly = nullptr;
    QComboBox* m_dtype = nullptr;
    QLabel* m_sizeHint = nullptr;
    QLineEdit* m_destination = nullptr;
    QLabel* m_validation = nullptr;
    QPushButton* m_export = nullptr;
    QLabel* m_status = nullptr;
    QLabel* m_summary = nullptr;
    QTableView* m_promptTable = nullptr;
    QTableView* m_exportTable = nullptr;
    QString m_defaultDestination; ///< the last default put in the field (replaced while unedited)
    std::optional<JobId> m_pendingJob;
    RunId m_shownRun = 0; ///< the run whose exports are listed
};

} // namespace ftw::ui
