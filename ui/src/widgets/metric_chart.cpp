// SPDX-License-Identifier: MIT
#include "metric_chart.h"

#include <QChart>
#include <QLineSeries>
#include <QPen>
#include <QTimer>
#include <QValueAxis>

#include <algorithm>
#include <cmath>
#include <limits>

namespace ftw::ui {
namespace {

/// A tick interval of 1, 2 or 5 times a power of ten that gives 4 to 10 ticks over `span`.
double roundTickInterval(double span)
{
    const double raw = std::max(span, 1.0) / 5.0;
    const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
    for (const double factor : {1.0, 2.0, 5.0}) {
        if (raw <= factor * magnitude) {
            return std::max(1.0, factor * magnitude);
        }
    }
    return std::max(1.0, 10.0 * magnitude);
}

} // namespace

MetricChart::MetricChart(const QString& title, const QString& yTitle, bool hasSmoothed,
                         QWidget* parent)
    : QChartView(parent)
{
    auto* chart = new QChart;
    chart->setTitle(title);
    chart->legend()->setVisible(hasSmoothed);
    chart->legend()->setAlignment(Qt::AlignBottom);
    chart->setMargins(QMargins(4, 4, 4, 4));
    m_raw = new QLineSeries(chart);
    m_raw->setName(hasSmoothed ? tr("raw") : title);
    chart->addSeries(m_raw);
    if (hasSmoothed) {
        QPen faint = m_raw->pen();
        faint.setColor(QColor(120, 160, 220));
        faint.setWidthF(1.0);
        m_raw->setPen(faint);
        m_smooth = new QLineSeries(chart);
        m_smooth->setName(tr("smoothed"));
        QPen strong = m_smooth->pen();
        strong.setColor(QColor(20, 70, 160));
        strong.setWidthF(2.0);
        m_smooth->setPen(strong);
        chart->addSeries(m_smooth);
    }
    m_x = new QValueAxis(chart);
    m_x->setTitleText(tr("step"));
    m_x->setLabelFormat(QStringLiteral("%d"));
    m_y = new QValueAxis(chart);
    m_y->setTitleText(yTitle);
    m_y->setLabelFormat(QStringLiteral("%.3g"));
    chart->addAxis(m_x, Qt::AlignBottom);
    chart->addAxis(m_y, Qt::AlignLeft);
    for (QAbstractSeries* series : chart->series()) {
        series->attachAxis(m_x);
        series->attachAxis(m_y);
    }
    setChart(chart);
    setRenderHint(QPainter::Antialiasing);
    setMinimumHeight(200);
    m_redrawTimer = new QTimer(this);
    m_redrawTimer->setSingleShot(true);
    m_redrawTimer->setInterval(kRedrawIntervalMs);
    connect(m_redrawTimer, &QTimer::timeout, this, &MetricChart::redraw);
}

void MetricChart::append(double step, double value)
{
    m_history.append(step, value);
    if (!m_redrawTimer->isActive()) {
        m_redrawTimer->start();
    }
}

void MetricChart::clear()
{
    m_history.clear();
    redraw();
}

void MetricChart::setSecondary(const QString& name, const QVector<QPointF>& points)
{
    if (m_secondary == nullptr) {
        m_secondary = new QLineSeries(chart());
        QPen pen = m_secondary->pen();
        pen.setColor(QColor(220, 110, 20));
        pen.setWidthF(2.0);
        m_secondary->setPen(pen);
        m_secondary->setPointsVisible(true);
        chart()->addSeries(m_secondary);
        m_secondary->attachAxis(m_x);
        m_secondary->attachAxis(m_y);
    }
    m_secondary->setName(name);
    m_secondary->replace(points);
    m_secondary->setVisible(!points.isEmpty());
    chart()->legend()->setVisible(m_smooth != nullptr || !points.isEmpty());
    redraw();
}

void MetricChart::redraw()
{
    m_redrawTimer->stop();
    const QVector<QPointF> raw = MetricSeries::downsample(m_history.points(), kMaxDrawnPoints);
    m_raw->replace(raw);
    if (m_smooth != nullptr) {
        m_smooth->replace(MetricSeries::downsample(m_history.smoothed(), kMaxDrawnPoints));
    }
    QVector<QPointF> all = raw;
    if (m_secondary != nullptr) {
        all += m_secondary->points();
    }
    if (all.isEmpty()) {
        m_x->setTickType(QValueAxis::TicksFixed);
        m_x->setTickCount(2);
        m_x->setRange(0, 1);
        m_y->setRange(0, 1);
        return;
    }
    double low = std::numeric_limits<double>::max();
    double high = std::numeric_limits<double>::lowest();
    double first = std::numeric_limits<double>::max();
    double last = std::numeric_limits<double>::lowest();
    for (const QPointF& p : all) {
        low = std::min(low, p.y());
        high = std::max(high, p.y());
        first = std::min(first, p.x());
        last = std::max(last, p.x());
    }
    // A flat series (a constant learning rate) still gets a readable band around its value.
    const double margin = std::max({(high - low) * 0.05, std::abs(high) * 0.05, 1e-12});
    const double bottom = low >= 0.0 ? std::max(0.0, low - margin) : low - margin;
    // The x axis ends at the last step (no rounding up past the data), with ticks at round steps.
    const double end = std::max(last, first + 1.0);
    m_x->setRange(first, end);
    m_x->setTickType(QValueAxis::TicksDynamic);
    m_x->setTickAnchor(0.0);
    m_x->setTickInterval(roundTickInterval(end - first));
    m_y->setRange(bottom, high + margin);
    m_y->applyNiceNumbers();
    // Large values (tokens/s) as plain numbers, not 5e+04.
    m_y->setLabelFormat(std::max(std::abs(bottom), std::abs(high)) >= 1e4 ? QStringLiteral("%.0f")
                                                                          : QStringLiteral("%.3g"));
}

} // namespace ftw::ui
