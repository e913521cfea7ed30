// SPDX-License-Identifier: MIT
// The runs table's loss sparkline: the polyline it draws, worked by hand, and a real paint.
#include "widgets/sparkline_delegate.h"

#include <gtest/gtest.h>

#include <QImage>
#include <QPainter>
#include <QStandardItemModel>
#include <QStyleOptionViewItem>

#include <cmath>
#include <limits>

namespace ftw::ui {
namespace {

constexpr int kRole = Qt::UserRole + 7;

TEST(SparklineDelegateTest, FitsTheValuesIntoTheCellLargestAtTheTop)
{
    // x: 10 px wide over 2 gaps -> 0, 5, 10; y: 1 (lowest) at the bottom (20), 3 (highest) at
    // the top (0), 2 half way (10).
    const QPolygonF points =
        SparklineDelegate::polyline({1.0, 3.0, 2.0}, QRectF(0.0, 0.0, 10.0, 20.0));
    ASSERT_EQ(points.size(), 3);
    EXPECT_EQ(points[0], QPointF(0.0, 20.0));
    EXPECT_EQ(points[1], QPointF(5.0, 0.0));
    EXPECT_EQ(points[2], QPointF(10.0, 10.0));
    // Offset cells: the same shape, moved.
    EXPECT_EQ(SparklineDelegate::polyline({1.0, 3.0}, QRectF(100.0, 50.0, 10.0, 20.0))[1],
              QPointF(110.0, 50.0));
}

TEST(SparklineDelegateTest, FlatNonFiniteAndShortCurves)
{
    const QPolygonF flat = SparklineDelegate::polyline({4.0, 4.0}, QRectF(0.0, 0.0, 8.0, 8.0));
    ASSERT_EQ(flat.size(), 2);
    EXPECT_EQ(flat[0].y(), 4.0); // a flat curve sits in the middle
    EXPECT_TRUE(SparklineDelegate::polyline({1.0}, QRectF(0.0, 0.0, 8.0, 8.0)).isEmpty());
    // A NaN (a diverged step) is drawn at the top and does not spoil the scale of the others.
    const QPolygonF withNan = SparklineDelegate::polyline(
        {1.0, std::numeric_limits<double>::quiet_NaN(), 2.0}, QRectF(0.0, 0.0, 10.0, 10.0));
    ASSERT_EQ(withNan.size(), 3);
    EXPECT_EQ(withNan[0].y(), 10.0);
    EXPECT_EQ(withNan[1].y(), 0.0);
    EXPECT_EQ(withNan[2].y(), 0.0);
}

TEST(SparklineDelegateTest, PaintsTheCurveInsideTheCell)
{
    QStandardItemModel model(1, 1);
    model.setData(model.index(0, 0), QVariant::fromValue(QList<double>{3.0, 2.0, 1.0}), kRole);
    SparklineDelegate delegate(kRole);
    QImage image(100, 30, QImage::Format_ARGB32);
    image.fill(Qt::white);
    QStyleOptionViewItem option;
    option.rect = QRect(0, 0, 100, 30);
    option.palette.setColor(QPalette::Link, Qt::blue);
    {
        QPainter painter(&image);
        delegate.paint(&painter, option, model.index(0, 0));
    }
    // A falling line from the top-left to the bottom-right corner (4 px margins): the pixels
    // near the diagonal are blue-ish, the opposite corners stay white.
    const auto isInk = [&](int x, int y) {
        return qBlue(image.pixel(x, y)) > qRed(image.pixel(x, y)) + 60;
    };
    EXPECT_TRUE(isInk(4, 4) || isInk(5, 5));
    EXPECT_TRUE(isInk(50, 15));
    EXPECT_TRUE(isInk(95, 25) || isInk(96, 26));
    EXPECT_EQ(image.pixel(95, 4), qRgb(255, 255, 255));
    EXPECT_EQ(image.pixel(4, 25), qRgb(255, 255, 255));
}

} // namespace
} // namespace ftw::ui
