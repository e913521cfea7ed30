// SPDX-License-Identifier: MIT
#pragma once

#include <QList>
#include <QString>
#include <QStringList>

namespace ftw::ui {

/// Options of the `ftw-workbench` program.
struct DesktopOptions {
    QString databasePath;   ///< --db; empty means $FTW_DB or the default location
    QString screenshotPath; ///< --screenshot FILE: save a picture of the window, then quit
    int screenshotDelayMs = 1500;
    bool shouldRunDemo = false; ///< --demo: start the demonstration job at once
    QString page;               ///< --page NAME (one of desktopPageNames()); default: runs
    QString errorText;          ///< set when the arguments are wrong
    bool isHelpRequested = false;
    QString helpText;
    /// --compare ID,ID,...: open the Compare page on these runs (implies --page compare).
    QList<qint64> compareRunIds;
    /// --run ID: show this run on --page (default: live); 0 when not given.
    qint64 runId = 0;
    /// --config RUN.json: fill the New-run form from this run config (implies --page new-run).
    QString configPath;
    /// --prompt TEXT: continue it in the Playground at once (implies --page playground).
    QString prompt;
};

/// The names --page accepts, in the order of the window's navigation.
[[nodiscard]] QStringList desktopPageNames();

/// Parses the program's arguments (argv[0] first). Never throws.
[[nodiscard]] DesktopOptions parseDesktopOptions(const QStringList& arguments);

} // namespace ftw::ui
