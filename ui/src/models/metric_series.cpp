// SPDX-License-Identifier: MIT
#include "metric_series.h"

#include <algorithm>

namespace ftw::ui {

void MetricSeries::append(double x, double y)
{
    m_points.push_back(QPointF(x, y));
    m_average = m_smoothing * m_average + (1.0 - m_smoothing) * y;
    m_weight = m_smoothing * m_weight + (1.0 - m_smoothing);
    m_smoothed.push_back(QPointF(x, m_average / m_weight));
}

void MetricSeries::clear()
{
    m_points.clear();
    m_smoothed.clear();
    m_average = 0.0;
    m_weight = 0.0;
}

QVector<QPointF> MetricSeries::downsample(const QVector<QPointF>& points, int maxPoints)
{
    if (points.size() <= maxPoints || maxPoints < 4) {
        return points;
    }
    const int buckets = maxPoints / 2;
    QVector<QPointF> result;
    result.reserve(maxPoints + 2);
    const qsizetype count = points.size();
    for (int b = 0; b < buckets; ++b) {
        const qsizetype begin = count * b / buckets;
        const qsizetype end = std::max(begin + 1, count * (b + 1) / buckets);
        qsizetype low = begin;
        qsizetype high = begin;
        for (qsizetype i = begin; i < end; ++i) {
            if (points[i].y() < points[low].y()) {
                low = i;
            }
            if (points[i].y() > points[high].y()) {
                high = i;
            }
        }
        result.push_back(points[std::min(low, high)]);
        if (low != high) {
            result.push_back(points[std::max(low, high)]);
        }
    }
    if (result.back() != points.back()) {
        result.push_back(points.back()); // the newest value is always drawn
    }
    return result;
}

} // namespace ftw::ui
