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

} // namespace
} // namespace ftw::ui
