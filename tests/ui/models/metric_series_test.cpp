// SPDX-License-Identifier: MIT
#include "models/metric_series.h"
#include "widgets/metric_chart.h"

#include <gtest/gtest.h>

#include <QElapsedTimer>
#include <QLineSeries>

#include <cmath>

namespace ftw::ui {
namespace {

TEST(MetricSeriesTest, KeepsEveryPointAndABiasCorrectedMovingAverage)
{
    MetricSeries series(0.5);
    series.append(1, 4.0);
    series.append(2, 2.0);
    ASSERT_EQ(series.size(), 2U);
    EXPECT_DOUBLE_EQ(series.smoothed()[0].y(), 4.0); // bias-corrected: the first value itself
    // (0.5 * 0.5 * 4 + 0.5 * 2) / (1 - 0.25) = 2 / 0.75
    EXPECT_DOUBLE_EQ(series.smoothed()[1].y(), 2.0 / 0.75);
}

TEST(MetricSeriesTest, DownsamplingBoundsThePointsAndKeepsSpikesAndTheLastValue)
{
    QVector<QPointF> points;
    for (int i = 0; i < 100'000; ++i) {
        points.push_back(QPointF(i, std::sin(i * 0.001)));
    }
    points[54'321].setY(50.0); // a spike must stay visible
    const QVector<QPointF> drawn = MetricSeries::downsample(points, 2000);
    EXPECT_LE(drawn.size(), 2001);
    EXPECT_GE(drawn.size(), 1000);
    EXPECT_TRUE(drawn.contains(QPointF(54'321, 50.0)));
    EXPECT_EQ(drawn.back(), points.back());
    for (qsizetype i = 1; i < drawn.size(); ++i) {
        ASSERT_LT(drawn[i - 1].x(), drawn[i].x()) << "x order is kept";
    }
    const QVector<QPointF> few = MetricSeries::downsample(points.mid(0, 10), 2000);
    EXPECT_EQ(few, points.mid(0, 10));
}

TEST(MetricChartTest, AChartOfAHundredThousandPointsKeepsThemAllAndDrawsFewer)
{
    MetricChart chart(QStringLiteral("Training loss"), QStringLiteral("loss"), true);
    chart.resize(800, 400);
    chart.show();
    for (int i = 1; i <= 100'000; ++i) {
        chart.append(i, 1.0 / i);
    }
    EXPECT_EQ(chart.rawSeries()->count(), 0) << "drawing waits for the redraw";
    chart.redraw();
    EXPECT_EQ(chart.history().size(), 100'000U);
    EXPECT_LE(chart.rawSeries()->count(), MetricChart::kMaxDrawnPoints + 1);
    EXPECT_LE(chart.smoothedSeries()->count(), MetricChart::kMaxDrawnPoints + 1);
    EXPECT_EQ(chart.rawSeries()->at(chart.rawSeries()->count() - 1), QPointF(100'000, 1e-5));
}

} // namespace
} // namespace ftw::ui
