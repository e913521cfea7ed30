// SPDX-License-Identifier: MIT
// `ftw-workbench`: the desktop application. Builds the engine and the main window, then runs Qt.
#include <ftw/engine.h>
#include <ftw/log.h>
#include <ftw/run_store.h>
#include <ftw/ui/desktop_options.h>
#include <ftw/ui/main_window.h>

#include "app_icon.h"

#include <QApplication>
#include <QCoreApplication>
#include <QIcon>
#include <QMessageBox>
#include <QTimer>

#include <cstdio>
#include <optional>
#include <string_view>
#include <vector>

namespace {

/// `--help` (or `-h`) on a machine with no display: parsed by a QCoreApplication, which needs none,
/// so the options print where a QApplication would stop at "could not connect to display". Nothing
/// when the arguments are not a help request after all (a `-h` that is an option's value, or Qt's
/// own options, which only a QApplication takes): the window's start parses them again.
std::optional<int> printHelpWithoutDisplay(int argc, char** argv)
{
    bool isMentioned = false;
    for (int i = 1; i < argc && !isMentioned; ++i) {
        const std::string_view argument(argv[i]);
        isMentioned = argument == "--help" || argument == "-h" || argument == "-?";
    }
    if (!isMentioned) {
        return std::nullopt;
    }
    const QCoreApplication core(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("ftw-workbench"));
    const ftw::ui::DesktopOptions options =
        ftw::ui::parseDesktopOptions(QCoreApplication::arguments());
    if (!options.isHelpRequested) {
        return std::nullopt;
    }
    std::fputs(qPrintable(options.helpText), stdout);
    return 0;
}

} // namespace

int main(int argc, char** argv)
{
    if (const std::optional<int> status = printHelpWithoutDisplay(argc, argv)) {
        return *status;
    }
    ftw::Engine::restartWithPassiveOpenMpWait(argv);
    QApplication app(argc, argv);
    QApplication::setApplicationName(QStringLiteral("ftw-workbench"));
    QApplication::setApplicationDisplayName(QStringLiteral("FTW"));
    QApplication::setWindowIcon(QIcon(QString::fromLatin1(ftw::resources::appIconPath())));

    const ftw::ui::DesktopOptions options = ftw::ui::parseDesktopOptions(QApplication::arguments());
    if (options.isHelpRequested) {
        std::fputs(qPrintable(options.helpText), stdout);
        return 0;
    }
    if (!options.errorText.isEmpty()) {
        std::fprintf(stderr, "ftw-workbench: %s\n", qPrintable(options.errorText));
        return 2;
    }
    ftw::setLogSink([](ftw::LogLevel level, std::string_view message) {
        std::fprintf(stderr, "ftw-workbench: %s: %.*s\n", ftw::logLevelName(level).data(),
                     static_cast<int>(message.size()), message.data());
    });

    const auto databasePath = ftw::resolveDatabasePath(options.databasePath.toStdU16String());
    auto engine = ftw::Engine::create(ftw::EngineOptions{databasePath, 0});
    auto store = engine ? ftw::RunStore::open(databasePath, ftw::StoreMode::ReadOnly)
                        : ftw::Expected<ftw::RunStore>(engine.error());
    if (!store) {
        QMessageBox::critical(nullptr, QStringLiteral("FTW"),
                              QString::fromStdString(store.error().message));
        return 2;
    }

    ftw::ui::MainWindow window(**engine, std::move(*store));
    window.showPage(options.page);
    if (!options.compareRunIds.isEmpty()) {
        window.compareRuns(
            std::vector<ftw::RunId>(options.compareRunIds.begin(), options.compareRunIds.end()));
    }
    if (options.runId > 0) {
        window.openRun(options.runId, options.page);
    }
    if (!options.configPath.isEmpty()) {
        if (const auto imported = window.importRunConfig(options.configPath.toStdU16String());
            !imported) {
            std::fprintf(stderr, "ftw-workbench: %s\n", imported.error().message.c_str());
        }
    }
    window.show();
    if (!options.prompt.isEmpty()) {
        window.generateInPlayground(options.prompt);
    }
    if (options.shouldRunDemo) {
        window.startDemo(400);
    }
    if (!options.screenshotPath.isEmpty()) {
        QTimer::singleShot(options.screenshotDelayMs, &window, [&window, &options] {
            const bool isSaved = window.grab().save(options.screenshotPath);
            std::fprintf(stderr, "ftw-workbench: screenshot %s %s\n",
                         qPrintable(options.screenshotPath),
                         isSaved ? "saved" : "could not be saved");
            window.setCloseConfirmation([](QWidget*) { return true; });
            window.close();
        });
    }
    return QApplication::exec();
}
