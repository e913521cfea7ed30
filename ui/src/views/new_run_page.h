// SPDX-License-Identifier: MIT
#pragma once

#include <QWidget>

class QPushButton;
class QSpinBox;
class QSplitter;
class QTabWidget;

namespace ftw::ui {

class BudgetPanel;
class DatasetPreviewPanel;
class ModelSummaryPanel;
class TrainForm;

/// The New-run page: on the left the fine-tuning form (scrolling fields, with validation, the
/// command line and Start pinned under them) and a small demonstration-job row (which exercises
/// the whole path: engine thread, store, progress, cancel); on the right, tabs with the dataset
/// preview, the base model's summary and the adapter's budget, which follow the form.
class NewRunPage : public QWidget {
    Q_OBJECT

public:
    explicit NewRunPage(QWidget* parent = nullptr);

    [[nodiscard]] QPushButton* startDemoButton() const { return m_startDemo; }
    [[nodiscard]] TrainForm* trainForm() const { return m_trainForm; }
    /// The tabs beside the form ("Dataset preview", "Model", "Budget"); more may be added.
    [[nodiscard]] QTabWidget* sideTabs() const { return m_sideTabs; }
    [[nodiscard]] DatasetPreviewPanel* datasetPreview() const { return m_datasetPreview; }
    [[nodiscard]] ModelSummaryPanel* modelSummary() const { return m_modelSummary; }
    [[nodiscard]] BudgetPanel* budgetPanel() const { return m_budget; }
    [[nodiscard]] int demoSteps() const;
    void setJobRunning(bool isRunning);

Q_SIGNALS:
    void demoRequested(int steps);

private:
    QWidget* buildDemoRow();
    void updatePreviewRequest();

    TrainForm* m_trainForm = nullptr;
    QSplitter* m_splitter = nullptr;
    QTabWidget* m_sideTabs = nullptr;
    DatasetPreviewPanel* m_datasetPreview = nullptr;
    ModelSummaryPanel* m_modelSummary = nullptr;
    BudgetPanel* m_budget = nullptr;
    QSpinBox* m_steps = nullptr;
    QPushButton* m_startDemo = nullptr;
};

} // namespace ftw::ui
