// SPDX-License-Identifier: MIT
#pragma once

#include <QPointF>
#include <QVector>

#include <cstddef>

namespace ftw::ui {

/// The whole history of one metric (x: step, y: value), with an exponential moving average and a
/// downsampled copy for drawing. Keeps every point; display cost stays bounded by `maxPoints`.
class MetricSeries {
public:
    /// `smoothing` in [0, 1): the EMA's weight of the previous average (0.9 is TensorBoard-like).
    explicit MetricSeries(double smoothing = 0.9) : m_smoothing(smoothing) {}

    /// Appends a point; x must not decrease (a repeated x replaces nothing: both are kept).
    void append(double x, double y);
    void clear();

    [[nodiscard]] std::size_t size() const { return static_cast<std::size_t>(m_points.size()); }
    [[nodiscard]] const QVector<QPointF>& points() const { return m_points; }
    /// The bias-corrected EMA of the values, one per point.
    [[nodiscard]] const QVector<QPointF>& smoothed() const { return m_smoothed; }

    /// At most about `maxPoints` points of `points` that draw the same picture: the series cut into
    /// maxPoints / 2 buckets of x, each kept as its lowest and highest point in x order (so spikes
    /// stay visible); all points when there are fewer than maxPoints.
    [[nodiscard]] static QVector<QPointF> downsample(const QVector<QPointF>& points, int maxPoints);

private:
    double m_smoothing;
    double m_average = 0.0;
    double m_weight = 0.0;
    QVector<QPointF> m_points;
    QVector<QPointF> m_smoothed;
};

} // namespace ftw::ui
