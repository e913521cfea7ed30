// SPDX-License-Identifier: MIT
#include "compare_page.h"

#include "bridge/qt_convert.h"
#include "models/config_diff_model.h"
#include "models/metric_series.h"

#include <QChart>
#include <QChartView>
#include <QHeaderView>
#include <QLabel>
#include <QLineSeries>
#include <QTableView>
#include <QTableWidget>
#include <QVBoxLayout>
#include <QValueAxis>

#include <algorithm>

namespace ftw::ui {
namespace {

constexpr int kMaxDrawnPoints = 2000;

QString formatValue(const std::optional<double>& value)
{
    return value ? QString::number(*value, 'f', 4) : QStringLiteral("-");
}

} // namespace

ComparePage::ComparePage(std::filesystem::path databasePath, QWidget* parent)
    : QWidget(parent), m_databasePath(std::move(databasePath))
{
    m_title =
        new QLabel(tr("Compare: select two or more runs in Runs, then Compare selected"), this);
    m_title->setObjectName(QStringLiteral("pageTitle"));
    m_chart = new QChartView(this);
    m_chart->setObjectName(QStringLiteral("compareChart"));
    m_chart->setRenderHint(QPainter::Antialiasing);
    m_chart->setMinimumHeight(260);
    m_metrics = new QTableWidget(this);
    m_metrics->setObjectName(QStringLiteral("compareMetrics"));
    m_metrics->setColumnCount(6);
    m_metrics->setHorizontalHeaderLabels({tr("Run"), tr("Method"), tr("Trainable params"),
                                          tr("Final train loss"), tr("Best eval loss"),
                                          tr("Status")});
    m_metrics->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    m_metrics->horizontalHeader()->setStretchLastSection(true);
    m_metrics->verticalHeader()->hide();
    m_metrics->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_metrics->setMaximumHeight(150);
    m_diff = new ConfigDiffModel(this);
    m_diffView = new QTableView(this);
    m_diffView->setObjectName(QStringLiteral("configDiff"));
    m_diffView->setModel(m_diff);
    m_diffView->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(m_title);
    layout->addWidget(m_chart, 2);
    layout->addWidget(m_metrics);
    layout->addWidget(new QLabel(tr("Config differences (only the keys that differ)"), this));
    layout->addWidget(m_diffView, 1);
}

void ComparePage::showRuns(const std::vector<RunId>& ids)
{
    auto store = RunStore::open(m_databasePath, StoreMode::ReadOnly);
    if (!store) {
        m_title->setText(toQString(store.error().message));
        return;
    }
    auto* chart = new QChart;
    chart->setTitle(tr("Training loss"));
    auto* xAxis = new QValueAxis(chart);
    xAxis->setTitleText(tr("step"));
    xAxis->setLabelFormat(QStringLiteral("%d"));
    auto* yAxis = new QValueAxis(chart);
    yAxis->setTitleText(tr("loss"));
    chart->addAxis(xAxis, Qt::AlignBottom);
    chart->addAxis(yAxis, Qt::AlignLeft);
    double maxStep = 1.0;
    double maxLoss = 0.0;

    std::vector<ConfigDiffModel::Run> runs;
    m_metrics->setRowCount(0);
    for (const RunId id : ids) {
        auto detail = store->run(id);
        if (!detail) {
            continue;
        }
        const auto loss = store->metrics(id, "train/loss");
        QVector<QPointF> points;
        if (loss) {
            for (const MetricPoint& p : *loss) {
                points.push_back(QPointF(static_cast<double>(p.step), p.value));
                maxStep = std::max(maxStep, static_cast<double>(p.step));
                maxLoss = std::max(maxLoss, p.value);
            }
        }
        auto* series = new QLineSeries(chart);
        series->setName(tr("%1 (run %2, %3)")
                            .arg(toQString(detail->summary.name))
                            .arg(id)
                            .arg(toQString(detail->summary.method)));
        series->replace(MetricSeries::downsample(points, kMaxDrawnPoints));
        chart->addSeries(series);
        series->attachAxis(xAxis);
        series->attachAxis(yAxis);

        const int row = m_metrics->rowCount();
        m_metrics->insertRow(row);
        const RunSummary& s = detail->summary;
        const QStringList cells = {
            tr("%1 (run %2)").arg(toQString(s.name)).arg(id),
            toQString(s.method),
            s.trainableParams ? QString::number(*s.trainableParams) : QStringLiteral("-"),
            formatValue(s.lastLoss),
            formatValue(s.bestEvalLoss),
            toQString(runStatusName(s.status)),
        };
        for (int column = 0; column < cells.size(); ++column) {
            m_metrics->setItem(row, column, new QTableWidgetItem(cells[column]));
        }
        auto params = store->params(id);
        runs.push_back(ConfigDiffModel::Run{
            s, params ? std::move(*params) : std::vector<std::pair<std::string, std::string>>{}});
    }
    xAxis->setRange(0, maxStep);
    xAxis->applyNiceNumbers();
    yAxis->setRange(0, std::max(maxLoss * 1.05, 1e-6));
    yAxis->applyNiceNumbers();
    chart->legend()->setAlignment(Qt::AlignBottom);
    QChart* old = m_chart->chart();
    m_chart->setChart(chart);
    delete old;
    m_diff->setRuns(std::move(runs));
    m_title->setText(tr("Comparing %1 runs").arg(ids.size()));
}

} // namespace ftw::ui
