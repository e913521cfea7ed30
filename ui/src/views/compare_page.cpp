// SPDX-License-Identifier: MIT
#include "compare_page.h"

#include "budget_panel.h"

#include "bridge/qt_convert.h"
#include "models/config_diff_model.h"
#include "models/metric_series.h"

#include <ftw/budget.h>
#include <ftw/run_config.h>

#include <QChart>
#include <QChartView>
#include <QCheckBox>
#include <QComboBox>
#include <QCursor>
#include <QGraphicsSimpleTextItem>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLegendMarker>
#include <QLineSeries>
#include <QLocale>
#include <QLogValueAxis>
#include <QPen>
#include <QPixmap>
#include <QScatterSeries>
#include <QSplitter>
#include <QTableView>
#include <QTableWidget>
#include <QToolTip>
#include <QVBoxLayout>
#include <QValueAxis>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <system_error>
#include <utility>

namespace ftw::ui {
namespace {

constexpr int kMaxDrawnPoints = 2000;
constexpr double kMiB = 1024.0 * 1024.0;
// Parameter counts spanning more than this ratio (two decades) get a logarithmic axis.
constexpr double kLogAxisRatio = 100.0;

enum class CurveX { Unknown, Step, Tokens, Time };
enum class ScatterX { Unknown, Parameters, Memory };

// One colour per run, shared by its curves, its scatter point and its row in the table
// (matplotlib's tab10, distinct on white).
QColor runColour(std::size_t index)
{
    static const std::array<QColor, 10> kColours = {
        QColor(0x1f, 0x77, 0xb4), QColor(0xff, 0x7f, 0x0e), QColor(0x2c, 0xa0, 0x2c),
        QColor(0xd6, 0x27, 0x28), QColor(0x94, 0x67, 0xbd), QColor(0x8c, 0x56, 0x4b),
        QColor(0xe3, 0x77, 0xc2), QColor(0x7f, 0x7f, 0x7f), QColor(0xbc, 0xbd, 0x22),
        QColor(0x17, 0xbe, 0xcf)};
    return kColours[index % kColours.size()];
}

QString formatValue(const std::optional<double>& value)
{
    return value ? QString::number(*value, 'f', 4) : QStringLiteral("-");
}

// The unit of the time axis: seconds up to 10 minutes, minutes up to 3 hours, then hours.
struct TimeScale {
    double msPerUnit = 1000.0;
    QString title;
};

TimeScale timeScale(double maxMs)
{
    if (maxMs <= 10.0 * 60'000.0) {
        return {1000.0, ComparePage::tr("training time (s)")};
    }
    if (maxMs <= 3.0 * 3'600'000.0) {
        return {60'000.0, ComparePage::tr("training time (min)")};
    }
    return {3'600'000.0, ComparePage::tr("training time (h)")};
}

// [low, high] widened by `fraction` of the span on each side (or of the value when there is no
// span), so points do not sit on the frame.
std::pair<double, double> paddedRange(double low, double high, double fraction)
{
    const double span = high - low;
    const double pad = span > 0.0 ? span * fraction : std::max(std::abs(high) * fraction, 1e-6);
    return {low - pad, high + pad};
}

// The analytic training-memory estimate of a training run's stored config (computeBudget with
// the options of the New-run page's Budget tab: micro-batches of train.batch_size sequences of
// data.max_length tokens, weights in fp32 as the trainer keeps them), or none for a run that is
// not a training run or whose model folder is gone. Used for runs that recorded no measured peak.
std::optional<double> estimateMemoryBytes(const RunDetail& detail,
                                          const std::filesystem::path& databasePath)
{
    auto spec = parseRunConfig(detail.configJson, "run " + std::to_string(detail.summary.id));
    if (!spec) {
        return std::nullopt;
    }
    // NOTE: `ftw train --model DIR` stores DIR as given; a relative one that is not found from
    // here is tried from the database's folder.
    std::error_code ignored;
    if (spec->modelDir.is_relative() &&
        !std::filesystem::exists(spec->modelDir / "config.json", ignored)) {
        spec->modelDir = databasePath.parent_path() / spec->modelDir;
    }
    const MemoryOptions memory = memoryOptionsFor(*spec);
    auto budget = computeBudget(spec->modelDir, spec->adapter, memory);
    if (!budget) {
        return std::nullopt;
    }
    return static_cast<double>(budget->memory.totalBytes);
}

QPixmap colourSwatch(const QColor& colour)
{
    QPixmap swatch(12, 12);
    swatch.fill(colour);
    return swatch;
}

// One run's point on the scatter.
struct ScatterPoint {
    double x = 0.0;
    double y = 0.0;
    QString name;
    std::size_t run = 0; ///< index in the page's runs
};

struct Range {
    double low = 0.0;
    double high = 0.0;
};

Range rangeOf(const std::vector<ScatterPoint>& points, double ScatterPoint::*member)
{
    Range range{std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity()};
    for (const ScatterPoint& p : points) {
        range.low = std::min(range.low, p.*member);
        range.high = std::max(range.high, p.*member);
    }
    return range;
}

// A linear axis over `range` padded by 15 % (from 0 when `isNonNegative` keeps it there), with
// round tick values; 0..1 when there is no point.
QValueAxis* makeValueAxis(QChart* chart, const Range& range, bool isNonNegative,
                          const QString& labelFormat)
{
    auto* axis = new QValueAxis(chart);
    axis->setLabelFormat(labelFormat);
    if (range.low > range.high) {
        axis->setRange(0.0, 1.0);
        return axis;
    }
    const auto [low, high] = paddedRange(range.low, range.high, 0.15);
    axis->setRange(isNonNegative ? std::max(low, 0.0) : low, high);
    axis->applyNiceNumbers();
    return axis;
}

// A chart under a row of its controls: "label [control] [control]".
QWidget* chartPanel(QWidget* parent, const QString& label, const QList<QWidget*>& controls,
                    QWidget* chart)
{
    auto* panel = new QWidget(parent);
    auto* row = new QHBoxLayout;
    row->addWidget(new QLabel(label, panel));
    for (QWidget* control : controls) {
        row->addWidget(control);
    }
    row->addStretch(1);
    auto* layout = new QVBoxLayout(panel);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addLayout(row);
    layout->addWidget(chart, 1);
    return panel;
}

// The x axis of the curves: its title (with the time unit) and label format.
void setUpCurveXAxis(QValueAxis& axis, CurveX kind, const TimeScale& scale)
{
    switch (kind) {
    case CurveX::Tokens:
        axis.setTitleText(ComparePage::tr("tokens trained on"));
        axis.setLabelFormat(QStringLiteral("%.0f"));
        return;
    case CurveX::Time:
        axis.setTitleText(scale.title);
        axis.setLabelFormat(QStringLiteral("%.3g"));
        return;
    case CurveX::Step:
    case CurveX::Unknown:
        break;
    }
    axis.setTitleText(ComparePage::tr("step"));
    axis.setLabelFormat(QStringLiteral("%d"));
}

// The x axis of the scatter: logarithmic (whole decades) for parameter counts spanning more than
// kLogAxisRatio, else linear.
QAbstractAxis* makeScatterXAxis(QChart* chart, const Range& xs, bool isMemory)
{
    const bool isLog =
        !isMemory && xs.low <= xs.high && xs.low > 0.0 && xs.high / xs.low > kLogAxisRatio;
    if (!isLog) {
        const bool isLarge = xs.low <= xs.high && xs.high >= (isMemory ? 100.0 : 1e6);
        QString format = QStringLiteral("%.0f");
        if (isMemory && !isLarge) {
            format = QStringLiteral("%.1f");
        } else if (!isMemory && isLarge) {
            format = QStringLiteral("%.3g");
        }
        return makeValueAxis(chart, xs, true, format);
    }
    auto* axis = new QLogValueAxis(chart);
    axis->setBase(10.0);
    axis->setLabelFormat(QStringLiteral("%g"));
    // Whole decades around the points; the 2..9 minor lines only where they stay readable.
    const double lowDecade = std::floor(std::log10(xs.low) - 0.1);
    const double highDecade = std::ceil(std::log10(xs.high) + 0.1);
    axis->setRange(std::pow(10.0, lowDecade), std::pow(10.0, highDecade));
    axis->setMinorTickCount(highDecade - lowDecade <= 3.0 ? 8 : 0);
    return axis;
}

// A scatter point and the text item naming it (Qt Charts' own point labels are centred on the
// point and run off the plot at its edges or over each other).
struct PointLabel {
    QGraphicsSimpleTextItem* item = nullptr; ///< owned by the chart; null: named by a near point
    QPointF value;
    QAbstractSeries* series = nullptr;
};

// Puts each label beside its point, at the first of a few places (right, left, above, below)
// inside the plot area that covers no other point and no label already placed.
void placeLabels(QChart& chart, const std::vector<PointLabel>& labels, const QRectF& plotArea)
{
    constexpr double kGap = 9.0;
    constexpr double kMarker = 14.0;
    std::vector<QRectF> taken;
    for (const PointLabel& label : labels) {
        const QPointF at = chart.mapToPosition(label.value, label.series);
        taken.push_back(QRectF(at - QPointF(kMarker / 2, kMarker / 2), QSizeF(kMarker, kMarker)));
    }
    for (std::size_t i = 0; i < labels.size(); ++i) {
        if (labels[i].item == nullptr) {
            continue;
        }
        const QPointF at = taken[i].center();
        const QSizeF size = labels[i].item->boundingRect().size();
        const double w = size.width();
        const double h = size.height();
        const std::array<QPointF, 6> corners = {QPointF(at.x() + kGap, at.y() - h / 2),
                                                QPointF(at.x() - kGap - w, at.y() - h / 2),
                                                QPointF(at.x() - w / 2, at.y() - kGap - h),
                                                QPointF(at.x() - w / 2, at.y() + kGap),
                                                QPointF(at.x() + kGap / 2, at.y() - kGap - h),
                                                QPointF(at.x() + kGap / 2, at.y() + kGap)};
        std::optional<QRectF> chosen;
        for (const QPointF& corner : corners) {
            const double x = std::clamp(corner.x(), plotArea.left(),
                                        std::max(plotArea.left(), plotArea.right() - w));
            const double y = std::clamp(corner.y(), plotArea.top(),
                                        std::max(plotArea.top(), plotArea.bottom() - h));
            const QRectF box(QPointF(x, y), size);
            if (!chosen) {
                chosen = box; // where it goes when no place is free
            }
            bool isFree = true;
            for (std::size_t j = 0; j < taken.size() && isFree; ++j) {
                isFree = !taken[j].intersects(box); // its own point too, when clamped onto it
            }
            if (isFree) {
                chosen = box;
                break;
            }
        }
        labels[i].item->setPos(chosen->topLeft());
        taken.push_back(*chosen);
    }
}

// The point labels of the scatter: a point on top of an earlier one (within 3 % of both axes)
// gives its name to that one's label and shows none.
std::vector<QString> pointLabels(const std::vector<ScatterPoint>& points,
                                 const QAbstractAxis* xAxis, const QValueAxis* yAxis)
{
    auto position = [&](const ScatterPoint& p) {
        double x = 0.0;
        if (const auto* log = qobject_cast<const QLogValueAxis*>(xAxis)) {
            x = (std::log10(p.x) - std::log10(log->min())) /
                (std::log10(log->max()) - std::log10(log->min()));
        } else if (const auto* value = qobject_cast<const QValueAxis*>(xAxis)) {
            x = (p.x - value->min()) / (value->max() - value->min());
        }
        return QPointF(x, (p.y - yAxis->min()) / (yAxis->max() - yAxis->min()));
    };
    std::vector<QString> labels(points.size());
    std::vector<std::size_t> anchors;
    for (std::size_t i = 0; i < points.size(); ++i) {
        const QPointF here = position(points[i]);
        const auto near = std::find_if(anchors.begin(), anchors.end(), [&](std::size_t a) {
            const QPointF there = position(points[a]);
            return std::abs(here.x() - there.x()) < 0.03 && std::abs(here.y() - there.y()) < 0.03;
        });
        if (near == anchors.end()) {
            anchors.push_back(i);
            labels[i] = points[i].name;
        } else {
            labels[*near] += QStringLiteral(", ") + points[i].name;
        }
    }
    return labels;
}

} // namespace

ComparePage::ComparePage(std::filesystem::path databasePath, QWidget* parent)
    : QWidget(parent), m_databasePath(std::move(databasePath))
{
    setObjectName(QStringLiteral("comparePage"));
    m_title =
        new QLabel(tr("Compare: select two or more runs in Runs, then Compare selected"), this);
    m_title->setObjectName(QStringLiteral("pageTitle"));

    m_xAxis = new QComboBox(this);
    m_xAxis->setObjectName(QStringLiteral("compareXAxis"));
    m_xAxis->addItem(tr("Step"), static_cast<int>(CurveX::Step));
    m_xAxis->addItem(tr("Tokens"), static_cast<int>(CurveX::Tokens));
    m_xAxis->addItem(tr("Time"), static_cast<int>(CurveX::Time));
    m_xAxis->setToolTip(tr("Draw the curves against the optimiser step, the tokens trained on, or "
                           "the training time since the run started"));
    m_showEval = new QCheckBox(tr("Eval loss (dashed)"), this);
    m_showEval->setObjectName(QStringLiteral("compareShowEval"));
    m_showEval->setChecked(true);
    m_chart = new QChartView(this);
    m_chart->setObjectName(QStringLiteral("compareChart"));
    m_chart->setRenderHint(QPainter::Antialiasing);
    m_chart->setMinimumSize(360, 260);

    m_scatterX = new QComboBox(this);
    m_scatterX->setObjectName(QStringLiteral("compareScatterX"));
    m_scatterX->addItem(tr("Trainable parameters"), static_cast<int>(ScatterX::Parameters));
    m_scatterX->addItem(tr("Peak memory"), static_cast<int>(ScatterX::Memory));
    m_scatterX->setToolTip(
        tr("The memory is the analytic estimate of each run's config (weights, adapter, "
           "gradients, optimiser state, activations); measured peaks are not recorded"));
    m_scatter = new QChartView(this);
    m_scatter->setObjectName(QStringLiteral("compareScatter"));
    m_scatter->setRenderHint(QPainter::Antialiasing);
    m_scatter->setMinimumSize(320, 260);

    m_metrics = new QTableWidget(this);
    m_metrics->setObjectName(QStringLiteral("compareMetrics"));
    m_metrics->setColumnCount(8);
    m_metrics->setHorizontalHeaderLabels({tr("Run"), tr("Method"), tr("Trainable params"),
                                          tr("Peak memory (MiB)"), tr("Final train loss"),
                                          tr("Best eval loss"), tr("Tokens"), tr("Status")});
    m_metrics->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    m_metrics->horizontalHeader()->setStretchLastSection(true);
    m_metrics->verticalHeader()->hide();
    m_metrics->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_metrics->verticalHeader()->setDefaultSectionSize(fontMetrics().height() + 8);
    m_diff = new ConfigDiffModel(this);
    m_diffView = new QTableView(this);
    m_diffView->setObjectName(QStringLiteral("configDiff"));
    m_diffView->setModel(m_diff);
    m_diffView->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
    m_diffView->verticalHeader()->setDefaultSectionSize(fontMetrics().height() + 8);

    // Curves (left) and scatter (right), each under its own axis choice; the tables below.
    QWidget* curvesPanel = chartPanel(this, tr("X axis:"), {m_xAxis, m_showEval}, m_chart);
    QWidget* scatterPanel = chartPanel(this, tr("Scatter x:"), {m_scatterX}, m_scatter);
    auto* charts = new QSplitter(Qt::Horizontal, this);
    charts->addWidget(curvesPanel);
    charts->addWidget(scatterPanel);
    charts->setStretchFactor(0, 11);
    charts->setStretchFactor(1, 9);
    charts->setSizes({550, 450});
    charts->setChildrenCollapsible(false);

    auto* diffPanel = new QWidget(this);
    auto* diffLayout = new QVBoxLayout(diffPanel);
    diffLayout->setContentsMargins(0, 0, 0, 0);
    diffLayout->addWidget(new QLabel(tr("Config differences (only the keys that differ)"), this));
    diffLayout->addWidget(m_diffView, 1);

    auto* rows = new QSplitter(Qt::Vertical, this);
    rows->addWidget(charts);
    rows->addWidget(m_metrics);
    rows->addWidget(diffPanel);
    rows->setStretchFactor(0, 5);
    rows->setStretchFactor(1, 2);
    rows->setStretchFactor(2, 2);
    rows->setSizes({500, 200, 200});
    rows->setChildrenCollapsible(false);

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(m_title);
    layout->addWidget(rows, 1);

    connect(m_xAxis, &QComboBox::currentIndexChanged, this, &ComparePage::redrawCurves);
    connect(m_showEval, &QCheckBox::toggled, this, &ComparePage::redrawCurves);
    connect(m_scatterX, &QComboBox::currentIndexChanged, this, &ComparePage::redrawScatter);
    redrawCurves();
    redrawScatter();
}

void ComparePage::showRuns(const std::vector<RunId>& ids)
{
    auto store = RunStore::open(m_databasePath, StoreMode::ReadOnly);
    if (!store) {
        m_title->setText(toQString(store.error().message));
        return;
    }
    m_runs.clear();
    std::vector<ConfigDiffModel::Run> diffRuns;
    for (const RunId id : ids) {
        auto detail = store->run(id);
        if (!detail) {
            continue;
        }
        const RunSummary& s = detail->summary;
        ComparedRun run;
        run.id = id;
        run.name = tr("%1 (run %2)").arg(toQString(s.name)).arg(id);
        run.label =
            s.method.empty()
                ? run.name
                : tr("%1 (run %2, %3)").arg(toQString(s.name)).arg(id).arg(toQString(s.method));
        run.method = toQString(s.method);
        run.status = toQString(runStatusName(s.status));
        run.colour = runColour(m_runs.size());
        if (auto loss = store->metrics(id, "train/loss")) {
            run.trainLoss = std::move(*loss);
        }
        if (auto loss = store->metrics(id, "eval/loss")) {
            run.evalLoss = std::move(*loss);
        }
        run.trainableParams = s.trainableParams;
        if (auto peaks = store->metrics(id, "train/peak_memory_bytes"); peaks && !peaks->empty()) {
            run.memoryBytes = std::max_element(peaks->begin(), peaks->end(),
                                               [](const MetricPoint& a, const MetricPoint& b) {
                                                   return a.value < b.value;
                                               })
                                  ->value;
            run.isMemoryMeasured = true;
        } else {
            run.memoryBytes = estimateMemoryBytes(*detail, m_databasePath);
        }
        run.bestEvalLoss = s.bestEvalLoss;
        run.lastLoss = s.lastLoss;
        m_runs.push_back(std::move(run));

        auto params = store->params(id);
        diffRuns.push_back(ConfigDiffModel::Run{
            s, params ? std::move(*params) : std::vector<std::pair<std::string, std::string>>{}});
    }
    m_diff->setRuns(std::move(diffRuns));
    fillMetricsTable();
    redrawCurves();
    redrawScatter();
    if (m_runs.empty()) {
        m_title->setText(tr("Compare: none of the chosen runs is in the store"));
    } else {
        m_title->setText(m_runs.size() == 1 ? tr("Showing 1 run")
                                            : tr("Comparing %1 runs").arg(m_runs.size()));
    }
}

void ComparePage::fillMetricsTable()
{
    const QLocale locale;
    m_metrics->setRowCount(0);
    for (const ComparedRun& run : m_runs) {
        const int row = m_metrics->rowCount();
        m_metrics->insertRow(row);
        const std::int64_t tokens = run.trainLoss.empty() ? 0 : run.trainLoss.back().tokens;
        const QStringList cells = {
            run.name,
            run.method,
            run.trainableParams ? locale.toString(*run.trainableParams) : QStringLiteral("-"),
            run.memoryBytes ? (run.isMemoryMeasured ? QString() : QStringLiteral("~")) +
                                  QString::number(*run.memoryBytes / kMiB, 'f', 1)
                            : QStringLiteral("-"),
            formatValue(run.lastLoss),
            formatValue(run.bestEvalLoss),
            run.trainLoss.empty() ? QStringLiteral("-") : locale.toString(tokens),
            run.status,
        };
        for (int column = 0; column < cells.size(); ++column) {
            m_metrics->setItem(row, column, new QTableWidgetItem(cells[column]));
        }
        m_metrics->item(row, 0)->setIcon(colourSwatch(run.colour));
    }
}

void ComparePage::redrawCurves()
{
    const auto kind = static_cast<CurveX>(m_xAxis->currentData().toInt());
    const bool showEval = m_showEval->isChecked();
    double maxMs = 0.0;
    for (const ComparedRun& run : m_runs) {
        for (const auto* points : {&run.trainLoss, &run.evalLoss}) {
            if (!points->empty()) {
                maxMs = std::max(maxMs, static_cast<double>(points->back().wallTimeMs));
            }
        }
    }
    const TimeScale scale = timeScale(maxMs);
    auto xOf = [&](const MetricPoint& p) {
        switch (kind) {
        case CurveX::Tokens:
            return static_cast<double>(p.tokens);
        case CurveX::Time:
            return static_cast<double>(p.wallTimeMs) / scale.msPerUnit;
        case CurveX::Step:
        case CurveX::Unknown:
            break;
        }
        return static_cast<double>(p.step);
    };

    auto* chart = new QChart;
    chart->setTitle(showEval ? tr("Loss: training (solid), eval (dashed)") : tr("Training loss"));
    auto* xAxis = new QValueAxis(chart);
    auto* yAxis = new QValueAxis(chart);
    setUpCurveXAxis(*xAxis, kind, scale);
    yAxis->setTitleText(tr("loss"));
    yAxis->setLabelFormat(QStringLiteral("%.3g"));
    chart->addAxis(xAxis, Qt::AlignBottom);
    chart->addAxis(yAxis, Qt::AlignLeft);

    double maxX = 0.0;
    double minY = std::numeric_limits<double>::infinity();
    double maxY = -std::numeric_limits<double>::infinity();
    auto addSeries = [&](const ComparedRun& run, const std::vector<MetricPoint>& source,
                         const QString& metric, Qt::PenStyle style) {
        QVector<QPointF> points;
        points.reserve(static_cast<qsizetype>(source.size()));
        for (const MetricPoint& p : source) {
            points.push_back(QPointF(xOf(p), p.value));
            maxX = std::max(maxX, points.back().x());
            minY = std::min(minY, p.value);
            maxY = std::max(maxY, p.value);
        }
        auto* series = new QLineSeries(chart);
        series->setObjectName(QStringLiteral("%1:%2").arg(metric).arg(run.id));
        series->replace(MetricSeries::downsample(points, kMaxDrawnPoints));
        QPen pen(run.colour, 2.0, style);
        series->setPen(pen);
        chart->addSeries(series);
        series->attachAxis(xAxis);
        series->attachAxis(yAxis);
        return series;
    };
    for (const ComparedRun& run : m_runs) {
        addSeries(run, run.trainLoss, QStringLiteral("train/loss"), Qt::SolidLine)
            ->setName(run.name);
        if (showEval && !run.evalLoss.empty()) {
            QLineSeries* eval =
                addSeries(run, run.evalLoss, QStringLiteral("eval/loss"), Qt::DashLine);
            eval->setName(tr("%1, eval").arg(run.name));
            eval->setPointsVisible(true);
            // The legend names each run once; the dashed line in the same colour is its eval.
            for (QLegendMarker* marker : chart->legend()->markers(eval)) {
                marker->setVisible(false);
            }
        }
    }
    xAxis->setRange(0.0, maxX > 0.0 ? maxX : 1.0);
    xAxis->applyNiceNumbers();
    if (minY <= maxY) {
        auto [low, high] = paddedRange(minY, maxY, 0.05);
        yAxis->setRange(minY >= 0.0 ? std::max(low, 0.0) : low, high);
        yAxis->applyNiceNumbers();
    } else {
        yAxis->setRange(0.0, 1.0);
    }
    // A row below for a few runs; a column on the right for more (a row would elide the names).
    chart->legend()->setAlignment(m_runs.size() <= 3 ? Qt::AlignBottom : Qt::AlignRight);
    chart->setMargins(QMargins(6, 6, 6, 6));
    QChart* old = m_chart->chart();
    m_chart->setChart(chart);
    delete old;
}

void ComparePage::redrawScatter()
{
    const bool isMemory =
        static_cast<ScatterX>(m_scatterX->currentData().toInt()) == ScatterX::Memory;
    const bool hasEval = std::any_of(m_runs.begin(), m_runs.end(),
                                     [](const ComparedRun& run) { return run.bestEvalLoss; });

    // x in parameters or MiB; y the best eval loss, else (no run evaluated) the final train loss.
    std::vector<ScatterPoint> points;
    for (std::size_t i = 0; i < m_runs.size(); ++i) {
        const ComparedRun& run = m_runs[i];
        const std::optional<double> y = hasEval ? run.bestEvalLoss : run.lastLoss;
        std::optional<double> x;
        if (isMemory && run.memoryBytes) {
            x = *run.memoryBytes / kMiB;
        } else if (!isMemory && run.trainableParams) {
            x = static_cast<double>(*run.trainableParams);
        }
        if (x && y) {
            points.push_back({*x, *y, run.name, i});
        }
    }

    auto* chart = new QChart;
    chart->setMargins(QMargins(6, 6, 6, 6));
    const QString yTitle = hasEval ? tr("best eval loss") : tr("final train loss (no eval loss)");
    const auto measured = std::count_if(m_runs.begin(), m_runs.end(), [](const ComparedRun& run) {
        return run.memoryBytes && run.isMemoryMeasured;
    });
    const auto known = std::count_if(m_runs.begin(), m_runs.end(),
                                     [](const ComparedRun& run) { return run.memoryBytes; });
    QString memoryTitle = tr("peak memory (MiB)");
    if (measured == 0) {
        memoryTitle = tr("estimated training memory (MiB)");
    } else if (measured < known) {
        memoryTitle = tr("peak memory (MiB; ~ estimated where not recorded)");
    }
    const QString xTitle = isMemory ? memoryTitle : tr("trainable parameters");
    QString title = hasEval ? tr("Best eval loss by run") : tr("Final train loss by run");
    const auto missing = static_cast<int>(m_runs.size() - points.size());
    if (missing > 0) {
        title += missing == 1 ? tr(" (1 run without a value not shown)")
                              : tr(" (%1 runs without a value not shown)").arg(missing);
    }
    chart->setTitle(title);
    chart->legend()->hide();

    const Range xs = rangeOf(points, &ScatterPoint::x);
    const Range ys = rangeOf(points, &ScatterPoint::y);
    QAbstractAxis* xAxis = makeScatterXAxis(chart, xs, isMemory);
    xAxis->setTitleText(xTitle);
    QValueAxis* yAxis = makeValueAxis(chart, ys, false, QStringLiteral("%.3g"));
    yAxis->setTitleText(yTitle);
    chart->addAxis(xAxis, Qt::AlignBottom);
    chart->addAxis(yAxis, Qt::AlignLeft);

    const std::vector<QString> labels = pointLabels(points, xAxis, yAxis);
    std::vector<PointLabel> placed;
    for (std::size_t i = 0; i < points.size(); ++i) {
        const ScatterPoint& p = points[i];
        const ComparedRun& run = m_runs[p.run];
        auto* series = new QScatterSeries(chart);
        series->setObjectName(QStringLiteral("scatter:%1").arg(run.id));
        series->setName(run.label);
        series->append(p.x, p.y);
        series->setColor(run.colour);
        series->setBorderColor(run.colour.darker(130));
        series->setMarkerSize(12.0);
        const QString tip = tr("%1\n%2: %3\n%4: %5")
                                .arg(run.label, xTitle, QString::number(p.x, 'g', 6), yTitle,
                                     QString::number(p.y, 'f', 4));
        connect(series, &QScatterSeries::hovered, series, [tip](const QPointF&, bool isOver) {
            if (isOver) {
                QToolTip::showText(QCursor::pos(), tip);
            } else {
                QToolTip::hideText();
            }
        });
        chart->addSeries(series);
        series->attachAxis(xAxis);
        series->attachAxis(yAxis);
        PointLabel label{nullptr, QPointF(p.x, p.y), series};
        if (!labels[i].isEmpty()) {
            label.item = new QGraphicsSimpleTextItem(labels[i], chart);
            label.item->setBrush(run.colour.darker(125));
            label.item->setData(0, QStringLiteral("scatterLabel"));
            label.item->setZValue(10.0);
        }
        placed.push_back(label);
    }
    // The labels follow every layout of the plot area.
    connect(chart, &QChart::plotAreaChanged, chart,
            [chart, placed](const QRectF& plotArea) { placeLabels(*chart, placed, plotArea); });
    QChart* old = m_scatter->chart();
    m_scatter->setChart(chart);
    delete old;
}

} // namespace ftw::ui
