// SPDX-License-Identifier: MIT
#include "dataset_preview_panel.h"

#include "bridge/qt_convert.h"

#include <ftw/format.h>

#include <QBarCategoryAxis>
#include <QBarSet>
#include <QChart>
#include <QChartView>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QStackedBarSeries>
#include <QTextCursor>
#include <QTextEdit>
#include <QTimer>
#include <QVBoxLayout>
#include <QValueAxis>
#include <QtConcurrentRun>

#include <algorithm>

namespace ftw::ui {
namespace {

constexpr int kMaxCharsPerExample = 4000;
const QColor kContextColor(0x55, 0x55, 0x55);
const QColor kFittingColor(0x4e, 0x79, 0xa7);
const QColor kLongerColor(0xe1, 0x57, 0x59);

bool isSameRequest(const DatasetPreviewRequest& a, const DatasetPreviewRequest& b)
{
    return a.dataFile == b.dataFile && a.modelDir == b.modelDir && a.format == b.format &&
           a.chatTemplate == b.chatTemplate && a.limit == b.limit && a.maxLength == b.maxLength &&
           a.isPacking == b.isPacking;
}

QString grouped(std::size_t value)
{
    return toQString(formatGrouped(static_cast<std::int64_t>(value)));
}

} // namespace

LengthHistogram lengthHistogram(const std::vector<std::int64_t>& lengths, std::int64_t maxLength,
                                int maxBins)
{
    LengthHistogram histogram;
    if (lengths.empty() || maxBins < 1) {
        return histogram;
    }
    const auto [lowest, highest] = std::minmax_element(lengths.begin(), lengths.end());
    const std::int64_t span = *highest - *lowest + 1;
    const std::int64_t wanted = std::min<std::int64_t>(maxBins, span);
    histogram.binWidth = (span + wanted - 1) / wanted;
    const std::int64_t bins = (span + histogram.binWidth - 1) / histogram.binWidth;
    for (std::int64_t i = 0; i < bins; ++i) {
        histogram.lowerBounds.push_back(*lowest + i * histogram.binWidth);
    }
    histogram.fitting.assign(static_cast<std::size_t>(bins), 0);
    histogram.longer.assign(static_cast<std::size_t>(bins), 0);
    for (const std::int64_t length : lengths) {
        const auto bin = static_cast<std::size_t>((length - *lowest) / histogram.binWidth);
        ++(length <= maxLength ? histogram.fitting : histogram.longer)[bin];
    }
    return histogram;
}

DatasetPreviewRequest previewRequestFor(const TrainSpec& spec, bool hasTokenizer, int limit)
{
    DatasetPreviewRequest request;
    request.dataFile = spec.data.path;
    if (hasTokenizer) {
        request.modelDir = spec.modelDir;
    }
    request.format = spec.data.format;
    request.chatTemplate = spec.data.chatTemplate;
    request.limit = limit;
    request.maxLength = spec.data.maxLength;
    request.isPacking = spec.data.isPacking;
    return request;
}

DatasetPreviewPanel::DatasetPreviewPanel(QWidget* parent) : QWidget(parent)
{
    m_status = new QLabel(this);
    m_status->setObjectName(QStringLiteral("previewStatus"));
    m_status->setWordWrap(true);
    m_status->setTextInteractionFlags(Qt::TextSelectableByMouse);

    m_counts = new QWidget(this);
    auto* counts = new QGridLayout(m_counts);
    counts->setContentsMargins(0, 0, 0, 0);
    counts->setHorizontalSpacing(12);
    const std::vector<std::pair<const char*, QString>> rows = {
        {"previewFormat", tr("Format:")},
        {"previewRecords", tr("Records:")},
        {"previewExamples", tr("Examples:")},
        {"previewTruncated", tr("Truncated:")},
        {"previewFullyMasked", tr("Fully masked:")},
        {"previewTokens", tr("Tokens:")},
        {"previewTrainedTokens", tr("Trained tokens:")},
    };
    const QStringList toolTips = {
        tr("The dataset format used (detected from the first record when auto)"),
        tr("Records read from the file"),
        tr("Training examples after truncation or packing; fully masked ones are dropped"),
        tr("Examples longer than the max length, cut by training"),
        tr("Examples with nothing to train on after truncation (dropped)"),
        tr("Tokens of all examples as training sees them"),
        tr("Tokens the loss is computed on (the answers, with completion-only training)"),
    };
    for (int i = 0; i < static_cast<int>(rows.size()); ++i) {
        auto* label = new QLabel(rows[static_cast<std::size_t>(i)].second, m_counts);
        auto* value = new QLabel(QStringLiteral("-"), m_counts);
        value->setObjectName(QString::fromLatin1(rows[static_cast<std::size_t>(i)].first));
        value->setTextInteractionFlags(Qt::TextSelectableByMouse);
        label->setToolTip(toolTips[i]);
        value->setToolTip(toolTips[i]);
        // Two columns of label/value pairs: format and records on the first row, and so on.
        const int row = i / 2;
        const int column = (i % 2) * 2;
        counts->addWidget(label, row, column);
        counts->addWidget(value, row, column + 1);
    }
    counts->setColumnStretch(1, 1);
    counts->setColumnStretch(3, 1);

    auto* legend = new QLabel(
        tr("<span style=\"background-color:%1\">&nbsp;trained on&nbsp;</span>&nbsp;&nbsp;"
           "<span style=\"color:%2\">context, not trained on</span>")
            .arg(trainedColor().name(), kContextColor.name()),
        this);
    legend->setObjectName(QStringLiteral("previewLegend"));
    auto* refreshButton = new QPushButton(tr("Refresh"), this);
    refreshButton->setObjectName(QStringLiteral("previewRefresh"));
    refreshButton->setToolTip(tr("Read the dataset file again"));
    auto* legendRow = new QHBoxLayout;
    legendRow->addWidget(new QLabel(tr("First examples:"), this));
    legendRow->addWidget(legend);
    legendRow->addStretch(1);
    legendRow->addWidget(refreshButton);

    m_examples = new QTextEdit(this);
    m_examples->setObjectName(QStringLiteral("previewExamples"));
    m_examples->setReadOnly(true);
    m_examples->setMinimumHeight(120);

    m_histogram = new QChartView(this);
    m_histogram->setObjectName(QStringLiteral("lengthHistogram"));
    m_histogram->setRenderHint(QPainter::Antialiasing);
    m_histogram->setMinimumHeight(200);

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(m_status);
    layout->addWidget(m_counts);
    layout->addLayout(legendRow);
    layout->addWidget(m_examples, 3);
    layout->addWidget(m_histogram, 2);

    m_debounce = new QTimer(this);
    m_debounce->setSingleShot(true);
    m_debounce->setInterval(kDebounceMs);
    m_watcher = new QFutureWatcher<Result>(this);
    connect(m_debounce, &QTimer::timeout, this, &DatasetPreviewPanel::startPending);
    connect(m_watcher, &QFutureWatcher<Result>::finished, this, &DatasetPreviewPanel::onFinished);
    connect(refreshButton, &QPushButton::clicked, this, &DatasetPreviewPanel::refresh);
    showResult(Result(DatasetPreview{}), DatasetPreviewRequest{});
}

// NOTE: a preview still running finishes on the pool; its result has no watcher and is dropped.
DatasetPreviewPanel::~DatasetPreviewPanel() = default;

QColor DatasetPreviewPanel::trainedColor()
{
    return QColor(0xc8, 0xf0, 0xc8);
}

void DatasetPreviewPanel::setRequest(const DatasetPreviewRequest& request)
{
    if (m_pending) {
        if (isSameRequest(*m_pending, request)) {
            return;
        }
    } else if (m_isRunning ? isSameRequest(m_running, request)
                           : m_shown && isSameRequest(*m_shown, request)) {
        return;
    }
    m_pending = request;
    m_debounce->start();
}

void DatasetPreviewPanel::refresh()
{
    if (!m_pending && m_shown) {
        m_pending = *m_shown;
    }
    m_debounce->start();
}

bool DatasetPreviewPanel::isBusy() const
{
    return m_pending.has_value() || m_isRunning;
}

QString DatasetPreviewPanel::statusText() const
{
    return m_status->text();
}

QString DatasetPreviewPanel::count(const QString& name) const
{
    const auto* label = m_counts->findChild<QLabel*>(name);
    return label ? label->text() : QString();
}

void DatasetPreviewPanel::startPending()
{
    if (m_isRunning || !m_pending) {
        return; // onFinished() starts the pending request
    }
    const DatasetPreviewRequest request = std::move(*m_pending);
    m_pending.reset();
    if (request.dataFile.empty()) {
        showResult(Result(DatasetPreview{}), request);
        return;
    }
    m_status->setStyleSheet(QString());
    m_status->setText(tr("Reading %1...").arg(toQString(request.dataFile.filename())));
    m_status->show();
    m_running = request;
    m_isRunning = true;
    m_watcher->setFuture(QtConcurrent::run([request] { return previewDataset(request); }));
}

void DatasetPreviewPanel::onFinished()
{
    m_isRunning = false;
    if (m_pending) { // the request changed while this one ran: its result is stale
        if (!m_debounce->isActive()) {
            startPending();
        }
        return;
    }
    showResult(m_watcher->result(), m_running);
}

void DatasetPreviewPanel::showResult(const Result& result, const DatasetPreviewRequest& request)
{
    m_shown = request;
    m_status->setStyleSheet(QString());
    if (request.dataFile.empty()) {
        m_preview.reset();
        m_status->setText(tr("Choose a dataset file to preview its examples as training sees "
                             "them."));
    } else if (!result) {
        m_preview.reset();
        m_status->setText(toQString(result.error().message));
        m_status->setStyleSheet(QStringLiteral("color: #b00020;"));
    } else {
        m_preview = *result;
        m_status->setText(m_preview->hasTokens
                              ? QString()
                              : tr("Text only: choose a model with a tokenizer.json to see token "
                                   "counts, truncation and the length histogram."));
    }
    m_status->setVisible(!m_status->text().isEmpty());
    showCounts(m_preview ? &*m_preview : nullptr);
    m_examples->clear();
    if (m_preview) {
        showExamples(*m_preview);
    }
    showHistogram(m_preview ? *m_preview : DatasetPreview{}, request.maxLength);
    Q_EMIT previewShown();
}

void DatasetPreviewPanel::showCounts(const DatasetPreview* preview)
{
    auto set = [this](const char* name, const QString& text) {
        m_counts->findChild<QLabel*>(QString::fromLatin1(name))->setText(text);
    };
    const QString none = QStringLiteral("-");
    const bool hasTokens = preview && preview->hasTokens;
    QString format = none;
    if (preview) {
        format = toQString(preview->format);
        if (preview->format == "chat") {
            format += tr(" (template %1)").arg(toQString(preview->chatTemplate));
        }
    }
    set("previewFormat", format);
    set("previewRecords", preview ? grouped(preview->records) : none);
    set("previewExamples", hasTokens ? grouped(preview->examplesAfterLength) : none);
    set("previewTruncated", hasTokens ? grouped(preview->truncated) : none);
    set("previewFullyMasked", hasTokens ? grouped(preview->fullyMasked) : none);
    set("previewTokens", hasTokens ? grouped(preview->tokens) : none);
    QString trained = none;
    if (hasTokens) {
        trained = grouped(preview->trainedTokens);
        if (preview->tokens > 0) {
            trained +=
                QStringLiteral(" (%1%)").arg(100.0 * static_cast<double>(preview->trainedTokens) /
                                                 static_cast<double>(preview->tokens),
                                             0, 'f', 1);
        }
    }
    set("previewTrainedTokens", trained);
}

void DatasetPreviewPanel::showExamples(const DatasetPreview& preview)
{
    QTextCursor cursor(m_examples->document());
    QTextCharFormat header;
    header.setFontWeight(QFont::Bold);
    QTextCharFormat trained;
    trained.setBackground(trainedColor());
    QTextCharFormat context;
    context.setForeground(kContextColor);
    for (std::size_t i = 0; i < preview.examples.size(); ++i) {
        const PreviewExample& example = preview.examples[i];
        if (i > 0) {
            cursor.insertBlock();
            cursor.insertBlock();
        }
        QString title = tr("Example %1 (line %2)").arg(i + 1).arg(example.line);
        if (!example.ids.empty()) {
            const auto trainedIds =
                std::count(example.isTrained.begin(), example.isTrained.end(), std::uint8_t{1});
            title += tr(": %1 tokens, %2 trained").arg(example.ids.size()).arg(trainedIds);
        }
        cursor.insertText(title, header);
        cursor.insertBlock();
        int written = 0;
        for (const PreviewSegment& segment : example.segments) {
            QString text = toQString(segment.text);
            const bool isCut = written + text.size() > kMaxCharsPerExample;
            text.truncate(kMaxCharsPerExample - written);
            cursor.insertText(text, segment.isTrained ? trained : context);
            written += static_cast<int>(text.size());
            if (isCut) {
                cursor.insertText(tr(" [...]"), context);
                break;
            }
        }
    }
    m_examples->moveCursor(QTextCursor::Start);
}

void DatasetPreviewPanel::showHistogram(const DatasetPreview& preview, std::int64_t maxLength)
{
    auto* chart = new QChart;
    chart->setMargins(QMargins(4, 4, 4, 4));
    m_series = nullptr;
    const LengthHistogram histogram = lengthHistogram(preview.lengths, maxLength, kMaxBins);
    if (histogram.lowerBounds.empty()) {
        chart->setTitle(preview.hasTokens ? tr("Token lengths: no example to train on")
                                          : tr("Token lengths (needs a model's tokenizer)"));
    } else {
        chart->setTitle(tr("Token lengths of %n example(s) with something to train on", nullptr,
                           static_cast<int>(preview.lengths.size())));
        auto* fitting = new QBarSet(tr("fit in %1 tokens").arg(maxLength));
        fitting->setColor(kFittingColor);
        auto* longer = new QBarSet(tr("longer: cut to %1").arg(maxLength));
        longer->setColor(kLongerColor);
        QStringList categories;
        int highest = 0;
        for (std::size_t i = 0; i < histogram.lowerBounds.size(); ++i) {
            const std::int64_t low = histogram.lowerBounds[i];
            const std::int64_t high = low + histogram.binWidth - 1;
            categories << (histogram.binWidth == 1 ? QString::number(low)
                                                   : QStringLiteral("%1-%2").arg(low).arg(high));
            *fitting << histogram.fitting[i];
            *longer << histogram.longer[i];
            highest = std::max(highest, histogram.fitting[i] + histogram.longer[i]);
        }
        auto* series = new QStackedBarSeries(chart);
        series->append(fitting);
        series->append(longer);
        series->setBarWidth(0.9);
        chart->addSeries(series);
        auto* xAxis = new QBarCategoryAxis(chart);
        xAxis->append(categories);
        xAxis->setTitleText(tr("tokens per example (max length %1)").arg(maxLength));
        if (categories.size() > 8) {
            xAxis->setLabelsAngle(-60);
        }
        auto* yAxis = new QValueAxis(chart);
        yAxis->setTitleText(tr("examples"));
        yAxis->setLabelFormat(QStringLiteral("%d"));
        yAxis->setRange(0, highest);
        if (highest <= 5) {
            yAxis->setTickCount(highest + 1);
        } else {
            yAxis->applyNiceNumbers();
        }
        chart->addAxis(xAxis, Qt::AlignBottom);
        chart->addAxis(yAxis, Qt::AlignLeft);
        series->attachAxis(xAxis);
        series->attachAxis(yAxis);
        chart->legend()->setAlignment(Qt::AlignBottom);
        m_series = series;
    }
    QChart* old = m_histogram->chart();
    m_histogram->setChart(chart);
    delete old;
}

} // namespace ftw::ui
