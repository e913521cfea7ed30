// SPDX-License-Identifier: MIT
#include <ftw/ui/desktop_options.h>

#include <gtest/gtest.h>

namespace ftw::ui {
namespace {

QStringList args(std::initializer_list<const char*> list)
{
    QStringList result{QStringLiteral("ftw-workbench")};
    for (const char* arg : list) {
        result << QString::fromUtf8(arg);
    }
    return result;
}

TEST(DesktopOptionsTest, ReadsDatabaseScreenshotAndDemo)
{
    const DesktopOptions o =
        parseDesktopOptions(args({"--db", "/tmp/x.db", "--screenshot", "/tmp/s.png", "--demo",
                                  "--screenshot-delay-ms", "300", "--page", "new-run"}));
    EXPECT_TRUE(o.errorText.isEmpty()) << o.errorText.toStdString();
    EXPECT_EQ(o.databasePath, QStringLiteral("/tmp/x.db"));
    EXPECT_EQ(o.screenshotPath, QStringLiteral("/tmp/s.png"));
    EXPECT_EQ(o.screenshotDelayMs, 300);
    EXPECT_TRUE(o.shouldRunDemo);
    EXPECT_EQ(o.page, QStringLiteral("new-run"));
}

TEST(DesktopOptionsTest, NoArgumentsMeanDefaults)
{
    const DesktopOptions o = parseDesktopOptions(args({}));
    EXPECT_TRUE(o.errorText.isEmpty());
    EXPECT_TRUE(o.databasePath.isEmpty());
    EXPECT_FALSE(o.shouldRunDemo);
}

TEST(DesktopOptionsTest, UnknownOptionAndBadDelayAreErrors)
{
    EXPECT_FALSE(parseDesktopOptions(args({"--frobnicate"})).errorText.isEmpty());
    EXPECT_TRUE(parseDesktopOptions(args({"--page", "nowhere"}))
                    .errorText.contains(QStringLiteral("nowhere")));
    const DesktopOptions o = parseDesktopOptions(args({"--screenshot-delay-ms", "soon"}));
    EXPECT_TRUE(o.errorText.contains(QStringLiteral("soon"))) << o.errorText.toStdString();
}

TEST(DesktopOptionsTest, CompareTakesRunIdsAndOpensTheComparePage)
{
    const DesktopOptions o = parseDesktopOptions(args({"--compare", "3,5, 12"}));
    EXPECT_TRUE(o.errorText.isEmpty()) << o.errorText.toStdString();
    EXPECT_EQ(o.compareRunIds, (QList<qint64>{3, 5, 12}));
    EXPECT_EQ(o.page, QStringLiteral("compare"));
    EXPECT_EQ(parseDesktopOptions(args({"--compare", "3", "--page", "runs"})).page,
              QStringLiteral("runs"));
    for (const char* bad : {"3,x", "", "0", "-2"}) {
        const DesktopOptions b = parseDesktopOptions(args({"--compare", bad}));
        EXPECT_FALSE(b.errorText.isEmpty()) << bad;
        EXPECT_TRUE(b.compareRunIds.isEmpty()) << bad;
    }
}

TEST(DesktopOptionsTest, RunShowsOneRunOnAPageThatShowsOne)
{
    const DesktopOptions live = parseDesktopOptions(args({"--run", "7"}));
    EXPECT_TRUE(live.errorText.isEmpty()) << live.errorText.toStdString();
    EXPECT_EQ(live.runId, 7);
    EXPECT_EQ(live.page, QStringLiteral("live"));
    const DesktopOptions exporting = parseDesktopOptions(args({"--run", "7", "--page", "export"}));
    EXPECT_EQ(exporting.page, QStringLiteral("export"));
    EXPECT_TRUE(exporting.errorText.isEmpty());
    EXPECT_TRUE(parseDesktopOptions(args({"--run", "7", "--page", "compare"}))
                    .errorText.contains(QStringLiteral("'compare'")));
    EXPECT_TRUE(parseDesktopOptions(args({"--run", "seven"}))
                    .errorText.contains(QStringLiteral("'seven'")));
}

TEST(DesktopOptionsTest, ConfigOpensTheNewRunForm)
{
    const DesktopOptions o = parseDesktopOptions(args({"--config", "/tmp/run.json"}));
    EXPECT_TRUE(o.errorText.isEmpty());
    EXPECT_EQ(o.configPath, QStringLiteral("/tmp/run.json"));
    EXPECT_EQ(o.page, QStringLiteral("new-run"));
}

TEST(DesktopOptionsTest, PromptOpensThePlayground)
{
    const DesktopOptions o =
        parseDesktopOptions(args({"--run", "2", "--prompt", "What is 2 plus 2?"}));
    EXPECT_TRUE(o.errorText.isEmpty()) << o.errorText.toStdString();
    EXPECT_EQ(o.prompt, QStringLiteral("What is 2 plus 2?"));
    EXPECT_EQ(o.page, QStringLiteral("playground"));
    EXPECT_EQ(o.runId, 2);
}

} // namespace
} // namespace ftw::ui
