// SPDX-License-Identifier: MIT
#include <ftw/ui/desktop_options.h>

#include <QCommandLineParser>
#include <QCoreApplication>

namespace ftw::ui {

QStringList desktopPageNames()
{
    return {QStringLiteral("runs"),      QStringLiteral("new-run"),    QStringLiteral("live"),
            QStringLiteral("compare"),   QStringLiteral("allocation"), QStringLiteral("export"),
            QStringLiteral("playground")};
}

DesktopOptions parseDesktopOptions(const QStringList& arguments)
{
    DesktopOptions options;
    QCommandLineParser parser;
    parser.setApplicationDescription(
        QCoreApplication::translate("DesktopOptions", "FTW, the Fine-Tuning Workbench"));
    const QCommandLineOption helpOption = parser.addHelpOption();
    const QCommandLineOption dbOption(
        QStringLiteral("db"),
        QCoreApplication::translate("DesktopOptions", "SQLite run store (default: $FTW_DB, else "
                                                      "$XDG_DATA_HOME/ftw/ftw.db)"),
        QStringLiteral("FILE"));
    const QCommandLineOption screenshotOption(
        QStringLiteral("screenshot"),
        QCoreApplication::translate("DesktopOptions", "save a PNG of the window, then quit"),
        QStringLiteral("FILE"));
    const QCommandLineOption delayOption(
        QStringLiteral("screenshot-delay-ms"),
        QCoreApplication::translate("DesktopOptions", "wait before the screenshot (default 1500)"),
        QStringLiteral("MS"));
    const QCommandLineOption demoOption(
        QStringLiteral("demo"),
        QCoreApplication::translate("DesktopOptions", "start the demonstration job at once"));
    const QCommandLineOption pageOption(
        QStringLiteral("page"),
        QCoreApplication::translate("DesktopOptions", "open on this page: %1")
            .arg(desktopPageNames().join(QStringLiteral(", "))),
        QStringLiteral("PAGE"));
    const QCommandLineOption compareOption(
        QStringLiteral("compare"),
        QCoreApplication::translate("DesktopOptions",
                                    "open the Compare page on these runs (comma-separated ids)"),
        QStringLiteral("IDS"));
    const QCommandLineOption runOption(
        QStringLiteral("run"),
        QCoreApplication::translate("DesktopOptions",
                                    "show this run on --page (live, allocation, export or "
                                    "playground; default live)"),
        QStringLiteral("ID"));
    const QCommandLineOption configOption(
        QStringLiteral("config"),
        QCoreApplication::translate("DesktopOptions",
                                    "fill the New-run form from this run config (implies --page "
                                    "new-run)"),
        QStringLiteral("RUN.json"));
    const QCommandLineOption promptOption(
        QStringLiteral("prompt"),
        QCoreApplication::translate("DesktopOptions",
                                    "continue this prompt in the Playground at once (implies "
                                    "--page playground)"),
        QStringLiteral("TEXT"));
    parser.addOptions({dbOption, screenshotOption, delayOption, demoOption, pageOption,
                       compareOption, runOption, configOption, promptOption});

    if (!parser.parse(arguments)) {
        options.errorText = parser.errorText();
        return options;
    }
    if (parser.isSet(helpOption)) {
        options.isHelpRequested = true;
        options.helpText = parser.helpText();
        return options;
    }
    options.databasePath = parser.value(dbOption);
    options.screenshotPath = parser.value(screenshotOption);
    options.shouldRunDemo = parser.isSet(demoOption);
    options.page = parser.value(pageOption);
    if (!options.page.isEmpty() && !desktopPageNames().contains(options.page)) {
        options.errorText =
            QCoreApplication::translate("DesktopOptions", "--page expects one of %1, got '%2'")
                .arg(desktopPageNames().join(QStringLiteral(", ")), options.page);
    }
    if (parser.isSet(compareOption)) {
        const QString value = parser.value(compareOption);
        for (const QString& part : value.split(QLatin1Char(','), Qt::SkipEmptyParts)) {
            bool isNumber = false;
            const qint64 id = part.trimmed().toLongLong(&isNumber);
            if (!isNumber || id <= 0) {
                options.compareRunIds.clear();
                break;
            }
            options.compareRunIds.append(id);
        }
        if (options.compareRunIds.isEmpty()) {
            options.errorText =
                QCoreApplication::translate("DesktopOptions",
                                            "--compare expects run ids such as 3,5, got '%1'")
                    .arg(value);
        } else if (options.page.isEmpty()) {
            options.page = QStringLiteral("compare");
        }
    }
    if (parser.isSet(promptOption)) {
        options.prompt = parser.value(promptOption);
        if (options.page.isEmpty()) {
            options.page = QStringLiteral("playground");
        }
    }
    if (parser.isSet(runOption)) {
        bool isNumber = false;
        options.runId = parser.value(runOption).toLongLong(&isNumber);
        const QStringList runPages = {QStringLiteral("live"), QStringLiteral("allocation"),
                                      QStringLiteral("export"), QStringLiteral("playground")};
        if (options.page.isEmpty()) {
            options.page = QStringLiteral("live");
        }
        if (!isNumber || options.runId <= 0) {
            options.runId = 0;
            options.errorText =
                QCoreApplication::translate("DesktopOptions", "--run expects a run id, got '%1'")
                    .arg(parser.value(runOption));
        } else if (!runPages.contains(options.page)) {
            options.errorText = QCoreApplication::translate(
                                    "DesktopOptions", "--run shows a run on one of %1, not on '%2'")
                                    .arg(runPages.join(QStringLiteral(", ")), options.page);
        }
    }
    if (parser.isSet(configOption)) {
        options.configPath = parser.value(configOption);
        if (options.page.isEmpty()) {
            options.page = QStringLiteral("new-run");
        }
    }
    if (parser.isSet(delayOption)) {
        bool isNumber = false;
        options.screenshotDelayMs = parser.value(delayOption).toInt(&isNumber);
        if (!isNumber || options.screenshotDelayMs < 0) {
            options.errorText =
                QCoreApplication::translate(
                    "DesktopOptions",
                    "--screenshot-delay-ms expects a number of milliseconds, got '%1'")
                    .arg(parser.value(delayOption));
        }
    }
    return options;
}

} // namespace ftw::ui
