// SPDX-License-Identifier: MIT
#pragma once

#include "models/metric_series.h"

#include <QChartView>

class QLineSeries;
class QTimer;
class QValueAxis;

namespace ftw::ui {

/// A Qt Charts line chart of one metric against the step, with titled axes: the raw values and,
/// optionally, their moving average. Keeps the whole history (MetricSeries) and draws a
/// downsampled copy of at most kMaxDrawnPoints points.
class MetricChart : public QChartView {
    Q_OBJECT

public:
    static constexpr int kMaxDrawnPoints = 2000;

    MetricChart(const QString& title, const QString& yTitle, bool hasSmoothed,
                QWidget* parent = nullptr);

    /// Adds a point to the history; the drawing follows within kRedrawIntervalMs (appends in
    /// between cost one redraw).
    void append(double step, double value);
    void clear();
    /// Sets the drawn series and the axis ranges from the history now.
    void redraw();
    /// Shows a second, sparse series with point markers (e.g. the eval loss) named `name`, drawn
    /// over the first and included in the axis ranges; an empty list hides it.
    void setSecondary(const QString& name, const QVector<QPointF>& points);

    static constexpr int kRedrawIntervalMs = 100;

    [[nodiscard]] const MetricSeries& history() const { return m_history; }
    /// The drawn raw series (tests read its points).
    [[nodiscard]] QLineSeries* rawSeries() const { return m_raw; }
    [[nodiscard]] QLineSeries* smoothedSeries() const { return m_smooth; }
    /// The secondary series, or nullptr before setSecondary().
    [[nodiscard]] QLineSeries* secondarySeries() const { return m_secondary; }

private:
    MetricSeries m_history;
    QLineSeries* m_raw = nullptr;
    QLineSeries* m_smooth = nullptr;
    QLineSeries* m_secondary = nullptr;
    QValueAxis* m_x = nullptr;
    QValueAxis* m_y = nullptr;
    QTimer* m_redrawTimer = nullptr;
};

} // namespace ftw::ui
