// SPDX-License-Identifier: MIT
#pragma once

#include <ftw/datasets.h>
#include <ftw/run_config.h>

#include <QColor>
#include <QFutureWatcher>
#include <QWidget>

#include <cstdint>
#include <optional>
#include <vector>

class QAbstractBarSeries;
class QChartView;
class QLabel;
class QTextEdit;
class QTimer;

namespace ftw::ui {

/// Token lengths in equal-width bins over [shortest, longest]; each bin's count split into the
/// examples that fit in `maxLength` tokens and those that are longer (cut by training).
struct LengthHistogram {
    std::vector<std::int64_t> lowerBounds; ///< the first length of each bin
    std::int64_t binWidth = 1;
    std::vector<int> fitting; ///< per bin: lengths <= maxLength
    std::vector<int> longer;  ///< per bin: lengths > maxLength
};

/// Bins `lengths` into at most `maxBins` bins (no bins when `lengths` is empty).
[[nodiscard]] LengthHistogram lengthHistogram(const std::vector<std::int64_t>& lengths,
                                              std::int64_t maxLength, int maxBins);

/// The preview that training `spec` would see: its data file, format, template, max length and
/// packing, tokenized with the model's tokenizer when `hasTokenizer` (else text only).
[[nodiscard]] DatasetPreviewRequest previewRequestFor(const TrainSpec& spec, bool hasTokenizer,
                                                      int limit);

/// The Dataset-preview tab of the New-run page: the format detected, the record count, the first
/// examples rendered with the text that is trained on highlighted, a histogram of token lengths
/// with the max length marked, and the counts (examples, truncated, fully masked, tokens, trained
/// tokens). previewDataset() runs on a worker thread (Qt's global pool), debounced; a result for
/// a request that has since changed is discarded. Lives on the GUI thread.
class DatasetPreviewPanel : public QWidget {
    Q_OBJECT

public:
    static constexpr int kExampleLimit = 5;
    static constexpr int kDebounceMs = 150;
    static constexpr int kMaxBins = 16;

    explicit DatasetPreviewPanel(QWidget* parent = nullptr);
    ~DatasetPreviewPanel() override;

    /// Previews `request` soon (after kDebounceMs, off the GUI thread); a request equal to the
    /// one shown is ignored. An empty data file clears the panel.
    void setRequest(const DatasetPreviewRequest& request);
    /// Reads the file again (it may have changed on disk).
    void refresh();
    /// A preview is waiting or running.
    [[nodiscard]] bool isBusy() const;
    /// The preview shown; std::nullopt when none (no file, an error, or still running).
    [[nodiscard]] const std::optional<DatasetPreview>& preview() const { return m_preview; }
    /// The status line: a placeholder, "Reading...", an error, or a note on what is missing.
    [[nodiscard]] QString statusText() const;
    /// A count shown, by its object name ("previewRecords", "previewTruncated", ...).
    [[nodiscard]] QString count(const QString& name) const;
    [[nodiscard]] QTextEdit* examplesView() const { return m_examples; }
    [[nodiscard]] QChartView* histogramView() const { return m_histogram; }
    /// The histogram's bars (one set of examples that fit, one of longer ones); nullptr when the
    /// preview has no token lengths.
    [[nodiscard]] QAbstractBarSeries* histogramSeries() const { return m_series; }
    /// The background of the text that is trained on.
    [[nodiscard]] static QColor trainedColor();

Q_SIGNALS:
    /// A preview (or its error) is now shown.
    void previewShown();

private:
    using Result = Expected<DatasetPreview>;

    void startPending();
    void onFinished();
    void showResult(const Result& result, const DatasetPreviewRequest& request);
    void showCounts(const DatasetPreview* preview);
    void showExamples(const DatasetPreview& preview);
    void showHistogram(const DatasetPreview& preview, std::int64_t maxLength);

    QLabel* m_status = nullptr;
    QWidget* m_counts = nullptr;
    QTextEdit* m_examples = nullptr;
    QChartView* m_histogram = nullptr;
    QAbstractBarSeries* m_series = nullptr;
    QTimer* m_debounce = nullptr;
    QFutureWatcher<Result>* m_watcher = nullptr;
    std::optional<DatasetPreviewRequest> m_pending; ///< asked for, not started yet
    DatasetPreviewRequest m_running;                ///< the request m_watcher computes
    std::optional<DatasetPreviewRequest> m_shown;   ///< the request whose result is shown
    std::optional<DatasetPreview> m_preview;
    bool m_isRunning = false; ///< until onFinished() has run (the future may be done earlier)
};

} // namespace ftw::ui
