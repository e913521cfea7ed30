// SPDX-License-Identifier: MIT
#pragma once

#include <ftw/budget.h>
#include <ftw/engine.h>
#include <ftw/run_config.h>
#include <ftw/sweep.h>

#include <QWidget>

#include <optional>
#include <vector>

class QComboBox;
class QDoubleSpinBox;
class QFormLayout;
class QLabel;
class QPushButton;
class QTableView;
class QTableWidget;
class QTimer;

namespace ftw::ui {

class AllocationModel;
class MemoryBar;

/// What the trainer's run of `spec` holds in memory, as computeBudget() takes it: micro-batches of
/// train.batch_size sequences of data.max_length tokens, and base weights in fp32 (the trainer
/// keeps the weights in fp32 whatever train.precision says; mixed precision only changes the
/// compute).
[[nodiscard]] MemoryOptions memoryOptionsFor(const TrainSpec& spec);

/// `spec` with the method and knob of `match`: r, Bone's and Bat's block size (also r), or
/// AdaLoRA's init_r (r 0, target_r lowered to init_r when larger); full fine-tuning has no knob.
[[nodiscard]] TrainSpec specWithMatch(TrainSpec spec, const BudgetMatch& match);

/// The Budget tab of the New-run page: the engine's analytic budget (computeBudget, the figures of
/// `ftw budget`) of the form's run config, recomputed kDebounceMs after the last change. It shows
/// the trainable parameters and their share of the base, a layers x modules heatmap of trainable
/// parameters, the training-memory estimate in its five parts against the chosen device's memory,
/// and the equal-budget solver (solveBudget) for a target count or share, from which a match can
/// be applied to the form or an equal-budget sweep started. The work is arithmetic on config.json
/// (about 3 ms with the solver for a 7B llama), done on the GUI thread, where the panel lives.
class BudgetPanel : public QWidget {
    Q_OBJECT

public:
    /// How long setSpec() waits for further changes before computing.
    static constexpr int kDebounceMs = 150;

    explicit BudgetPanel(QWidget* parent = nullptr);
    ~BudgetPanel() override;

    /// The devices the memory estimate is compared with (Engine::devices()); train.device picks
    /// one ("auto": the first CUDA device, else the CPU).
    void setDevices(std::vector<DeviceInfo> devices);
    /// The run config to show; computed kDebounceMs later (a newer spec restarts the wait).
    void setSpec(const TrainSpec& spec);
    /// Computes the budget and the solver of the last spec now.
    void refresh();
    /// While a job runs, the sweep cannot be started.
    void setJobRunning(bool isRunning);

    /// The solver's target. Until one is set (here or in the fields), it follows the trainable
    /// parameters of the current config.
    [[nodiscard]] BudgetTarget target() const;
    void setTarget(const BudgetTarget& target);

    /// The last computed budget; std::nullopt without a model or for an invalid config.
    [[nodiscard]] const std::optional<BudgetReport>& report() const { return m_report; }
    /// The solver's matches for the current target (empty without a report).
    [[nodiscard]] const std::vector<BudgetMatch>& matches() const { return m_matches; }
    /// The sweep the button starts: the shown spec, every method the solver can match (full
    /// fine-tuning left out), the current target; named "<run name>-sweep".
    [[nodiscard]] SweepSpec sweepSpec() const;
    /// The runs that sweep trains (sweepRunSpecs(sweepSpec())); empty when it cannot be planned.
    [[nodiscard]] std::vector<TrainSpec> sweepSpecs() const;
    /// The placeholder or the error text; empty while a budget is shown.
    [[nodiscard]] QString statusText() const;
    /// The text of a summary row or note by object name ("budgetTrainable", "budgetDevice", ...).
    [[nodiscard]] QString value(const QString& rowName) const;

    [[nodiscard]] AllocationModel* heatmapModel() const { return m_heatmapModel; }
    [[nodiscard]] QTableView* heatmap() const { return m_heatmap; }
    /// Rows: base weights, adapter weights, gradients, optimizer, activations, total; the size
    /// column holds the exact bytes in Qt::UserRole.
    [[nodiscard]] QTableWidget* memoryTable() const { return m_memory; }
    /// One row per match; column 0 holds the match's index in matches() in Qt::UserRole.
    [[nodiscard]] QTableWidget* solverTable() const { return m_solver; }
    [[nodiscard]] QPushButton* useButton() const { return m_use; }
    [[nodiscard]] QPushButton* sweepButton() const { return m_sweep; }

Q_SIGNALS:
    /// "Use" was clicked: the shown spec with the selected match's method and knob.
    void useMatchRequested(const ftw::TrainSpec& spec);
    /// The sweep button was clicked: start sweepSpec() (one engine job).
    void sweepRequested(const ftw::SweepSpec& spec);

private:
    QWidget* buildSummary();
    QWidget* buildHeatmap();
    QWidget* buildMemory();
    QWidget* buildSolver();
    QLabel* addRow(QFormLayout* form, const QString& label, const char* objectName);
    void showReport();
    void showMemory();
    void solve();
    void showMatches();
    void updateButtons();
    void onTargetEdited();
    void onTargetKindChanged();

    TrainSpec m_spec;
    std::vector<DeviceInfo> m_devices;
    std::optional<BudgetReport> m_report;
    std::vector<BudgetMatch> m_matches;
    bool m_isTargetFollowing = true;
    bool m_isJobRunning = false;
    bool m_isUpdating = false;

    QTimer* m_debounce = nullptr;
    QLabel* m_status = nullptr;
    QWidget* m_details = nullptr;
    AllocationModel* m_heatmapModel = nullptr;
    QTableView* m_heatmap = nullptr;
    QLabel* m_heatmapNote = nullptr;
    MemoryBar* m_memoryBar = nullptr;
    QTableWidget* m_memory = nullptr;
    QComboBox* m_targetKind = nullptr;
    QDoubleSpinBox* m_targetValue = nullptr;
    QPushButton* m_followCurrent = nullptr;
    QLabel* m_solverStatus = nullptr;
    QTableWidget* m_solver = nullptr;
    QPushButton* m_use = nullptr;
    QPushButton* m_sweep = nullptr;
    QLabel* m_sweepNote = nullptr;
};

} // namespace ftw::ui
