// SPDX-License-Identifier: MIT
#include "sparkline_delegate.h"

#include <QPainter>
#include <QPalette>

#include <algorithm>
#include <cmath>

namespace ftw::ui {
namespace {

constexpr int kMarginPx = 4;
constexpr qreal kDotRadiusPx = 2.0;

} // namespace

SparklineDelegate::SparklineDelegate(int role, QObject* parent)
    : QStyledItemDelegate(parent), m_role(role)
{
}

QPolygonF SparklineDelegate::polyline(const QList<double>& values, const QRectF& rect)
{
    QPolygonF points;
    if (values.size() < 2 || rect.isEmpty()) {
        return points;
    }
    double low = values.front();
    double high = values.front();
    for (const double v : values) {
        if (std::isfinite(v)) {
            low = std::isfinite(low) ? std::min(low, v) : v;
            high = std::isfinite(high) ? std::max(high, v) : v;
        }
    }
    const double span = high - low;
    const double step = rect.width() / static_cast<double>(values.size() - 1);
    points.reserve(values.size());
    for (qsizetype i = 0; i < values.size(); ++i) {
        const double v = std::isfinite(values[i]) ? values[i] : high;
        // A flat curve sits in the middle of the cell.
        const double fraction = span > 0.0 ? (v - low) / span : 0.5;
        points.append(QPointF(rect.left() + step * static_cast<double>(i),
                              rect.bottom() - fraction * rect.height()));
    }
    return points;
}

void SparklineDelegate::paint(QPainter* painter, const QStyleOptionViewItem& option,
                              const QModelIndex& index) const
{
    // The cell's background and selection as the style draws them, without text.
    QStyleOptionViewItem background = option;
    initStyleOption(&background, index);
    background.text.clear();
    QStyledItemDelegate::paint(painter, background, QModelIndex());

    const QList<double> values = index.data(m_role).value<QList<double>>();
    const QRectF area = QRectF(option.rect).adjusted(kMarginPx, kMarginPx, -kMarginPx, -kMarginPx);
    const QPolygonF points = polyline(values, area);
    if (points.isEmpty()) {
        return;
    }
    const bool isSelected = (option.state & QStyle::State_Selected) != 0;
    const QColor colour = isSelected ? option.palette.color(QPalette::HighlightedText)
                                     : option.palette.color(QPalette::Link);
    painter->save();
    painter->setRenderHint(QPainter::Antialiasing, true);
    painter->setPen(QPen(colour, 1.2));
    painter->drawPolyline(points);
    painter->setBrush(colour);
    painter->setPen(Qt::NoPen);
    painter->drawEllipse(points.back(), kDotRadiusPx, kDotRadiusPx);
    painter->restore();
}

QSize SparklineDelegate::sizeHint(const QStyleOptionViewItem& option,
                                  const QModelIndex& index) const
{
    QSize size = QStyledItemDelegate::sizeHint(option, index);
    size.setWidth(std::max(size.width(), 90));
    return size;
}

} // namespace ftw::ui
