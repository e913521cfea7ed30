// SPDX-License-Identifier: MIT
#pragma once

#include <ftw/engine.h>
#include <ftw/run_store.h>

#include <QMainWindow>

#include <filesystem>
#include <functional>
#include <memory>
#include <vector>

class QCloseEvent;

namespace ftw::ui {

/// The workbench's main window: the runs table, the New-run page and the status bar with the
/// running job's progress. Lives on the GUI thread. `engine` must outlive the window; `store` is
/// the UI's own read-only connection and is owned by the window.
class MainWindow : public QMainWindow {
    Q_OBJECT

public:
    MainWindow(Engine& engine, RunStore store, QWidget* parent = nullptr);
    ~MainWindow() override;

    /// Shows a page by its name (one of desktopPageNames()); other names are ignored.
    void showPage(const QString& name);
    /// Shows run `id` on a page that shows one run ("live", "allocation", "export",
    /// "playground"), as the Runs page's double-click and context menu do.
    void openRun(RunId id, const QString& page);
    /// Shows the Compare page on these runs (what Compare selected and --compare do).
    void compareRuns(const std::vector<RunId>& ids);
    /// Shows the Playground and continues `prompt` with the base model and the chosen adapter.
    void generateInPlayground(const QString& prompt);
    /// Fills the New-run form from a run config file and shows the page. Returns the form's
    /// import error (the file is named) and leaves the form as it was.
    Status importRunConfig(const std::filesystem::path& file);

    /// Starts the demonstration job (the same as the New-run page's button).
    void startDemo(int steps);
    /// Submits `spec` unless a job is running, and shows its progress (0 steps: not known yet).
    void startJob(const JobSpec& spec, int totalSteps);

    /// Replaces the question asked when the window is closed during a job (default: a message box).
    /// It returns true to stop the job and close.
    void setCloseConfirmation(std::function<bool(QWidget*)> confirm);

protected:
    void closeEvent(QCloseEvent* event) override;

private:
    /// Appends a page to the navigation list and the page stack.
    void addPage(const QString& name, const QString& title, QWidget* page);

    struct Private;
    std::unique_ptr<Private> d;
};

} // namespace ftw::ui
