// SPDX-License-Identifier: MIT
// `ftw-ui-bench`: what the workbench's responsiveness targets measure, printed as figures (never a
// pass/fail test): the longest event-loop stall of the real main window while a fine-tuning run
// trains on a tiny model, the redraw time of a chart holding 100,000 points, and the time to open
// the runs table on 1,000 runs. Runs on the offscreen platform unless a display is set.
#include <ftw/engine.h>
#include <ftw/models.h>
#include <ftw/run_store.h>
#include <ftw/ui/main_window.h>

#include "models/run_table_model.h"
#include "views/runs_page.h"
#include "widgets/metric_chart.h"

#include <QApplication>
#include <QElapsedTimer>
#include <QLineSeries>
#include <QMessageBox>
#include <QTimer>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
    int chartPoints = 100000;
    int redraws = 10;
    int runs = 1000;
    int trainSteps = 200;
    bool isJson = false;
};

struct Figures {
    double stallMaxMs = 0.0;
    double stallP99Ms = 0.0;
    int stallSamples = 0;
    double trainSeconds = 0.0;
    double chartRedrawMedianMs = 0.0;
    double chartRedrawMaxMs = 0.0;
    double runsTableOpenMs = 0.0;
    std::string trainFailure; ///< why the training run did not finish, if it did not
};

double msSince(Clock::time_point start)
{
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

/// Processes events until `done` holds (or `timeoutMs` passes); returns whether it held.
template <typename Predicate>
bool spinUntil(Predicate done, int timeoutMs)
{
    QElapsedTimer timer;
    timer.start();
    while (!done()) {
        if (timer.elapsed() > timeoutMs) {
            return false;
        }
        QApplication::processEvents(QEventLoop::AllEvents, 5);
    }
    return true;
}

/// The redraw of a MetricChart holding `points` values: downsampling into the drawn series, the
/// axis ranges and a full paint of the view, timed `repeats` times.
std::vector<double> measureChartRedraw(int points, int repeats)
{
    ftw::ui::MetricChart chart(QStringLiteral("Training loss"), QStringLiteral("loss"), true);
    chart.resize(900, 400);
    chart.show();
    for (int i = 0; i < points; ++i) {
        chart.append(i, 2.0 * std::exp(-i / 20000.0) + 0.1 * std::sin(i * 0.37));
    }
    std::vector<double> times;
    for (int r = 0; r < repeats; ++r) {
        chart.append(points + r, 0.2); // one more point, as a live run adds
        const auto start = Clock::now();
        chart.redraw();
        (void)chart.grab(); // paints the whole view, series and axes, now
        times.push_back(msSince(start));
    }
    return times;
}

/// Opening the runs table: reading `count` runs from a real store, the model and the page shown
/// and painted once. The store has a folder of its own: a run folder belongs to one store.
double measureRunsTable(const std::filesystem::path& dir, int count)
{
    std::filesystem::create_directories(dir / "table");
    const auto db = dir / "table" / "runs.db";
    {
        auto engine = ftw::Engine::create(ftw::EngineOptions{db, 1});
        if (!engine) {
            std::fprintf(stderr, "ftw-ui-bench: %s\n", engine.error().message.c_str());
            return NAN;
        }
        ftw::JobId last = 0;
        for (int i = 0; i < count; ++i) {
            ftw::DemoJobSpec spec;
            spec.runName = "run-" + std::to_string(i);
            spec.steps = 3;
            spec.stepDelayMs = 0;
            last = (*engine)->submit(spec).id;
        }
        (void)(*engine)->wait(last);
    }
    const auto start = Clock::now();
    auto store = ftw::RunStore::open(db, ftw::StoreMode::ReadOnly);
    if (!store) {
        return NAN;
    }
    ftw::ui::RunTableModel model(std::move(*store));
    model.reload();
    ftw::ui::RunsPage page(model);
    page.resize(1300, 800);
    page.show();
    (void)page.grab();
    return msSince(start);
}

/// The main window while a LoRA run trains on a tiny Llama: a 2 ms timer notes the gap between
/// its ticks; a stall is a gap longer than the interval.
void measureStalls(const std::filesystem::path& dir, int steps, Figures& figures)
{
    const auto modelDir = dir / "model";
    if (const auto made = ftw::makeTinyModel(modelDir, "llama", 1); !made) {
        std::fprintf(stderr, "ftw-ui-bench: %s\n", made.error().message.c_str());
        return;
    }
    {
        std::ofstream data(dir / "data.jsonl");
        for (int i = 0; i < 64; ++i) {
            data << R"({"prompt": "What is )" << i << R"( plus )" << i << R"(?", "completion": ")"
                 << 2 * i << R"(."})" << '\n';
        }
    }
    std::filesystem::create_directories(dir / "train");
    const auto db = dir / "train" / "train.db";
    // One torch thread leaves the second core to the GUI, as on a 2-core laptop.
    auto engine = ftw::Engine::create(ftw::EngineOptions{db, 1});
    auto store = engine ? ftw::RunStore::open(db, ftw::StoreMode::ReadOnly)
                        : ftw::Expected<ftw::RunStore>(engine.error());
    if (!store) {
        std::fprintf(stderr, "ftw-ui-bench: %s\n", store.error().message.c_str());
        return;
    }
    ftw::ui::MainWindow window(**engine, std::move(*store));
    window.resize(1400, 1000);
    window.show();
    ftw::TrainSpec spec;
    spec.runName = "stall-bench";
    spec.modelDir = modelDir;
    spec.data.path = dir / "data.jsonl";
    spec.data.maxLength = 64;
    spec.train.maxSteps = steps;
    spec.train.batchSize = 4;
    spec.train.evalEverySteps = steps / 3;
    spec.train.learningRate = 1e-3;

    std::vector<double> gaps;
    auto last = Clock::now();
    QTimer ticker;
    ticker.setTimerType(Qt::PreciseTimer);
    ticker.setInterval(2);
    QObject::connect(&ticker, &QTimer::timeout, [&] {
        const auto now = Clock::now();
        gaps.push_back(std::chrono::duration<double, std::milli>(now - last).count() - 2.0);
        last = now;
    });
    auto reader = ftw::RunStore::open(db, ftw::StoreMode::ReadOnly);
    const auto isFinished = [&] {
        const auto runs = reader->listRuns();
        return runs && !runs->empty() && runs->front().status != ftw::RunStatus::Running &&
               runs->front().status != ftw::RunStatus::Queued;
    };
    // A failed run opens the window's message box, whose own event loop would hold the wait below
    // for good: its text is kept as the failure and the box closed.
    QTimer failureWatch;
    QObject::connect(&failureWatch, &QTimer::timeout, [&] {
        if (auto* box = qobject_cast<QMessageBox*>(QApplication::activeModalWidget())) {
            figures.trainFailure = box->text().toStdString();
            box->done(QMessageBox::Ok);
        }
    });
    failureWatch.start(50);
    const auto start = Clock::now();
    window.startJob(spec, steps);
    last = Clock::now();
    ticker.start();
    const bool isDone = spinUntil(isFinished, 600000);
    ticker.stop();
    figures.trainSeconds = msSince(start) / 1000.0;
    spinUntil([] { return false; }, 300); // the last events of the run (and its message box)
    failureWatch.stop();
    if (!isDone) {
        figures.trainFailure = "the run did not finish within 600 s";
    } else if (const auto runs = reader->listRuns();
               runs && runs->front().status != ftw::RunStatus::Succeeded &&
               figures.trainFailure.empty()) {
        figures.trainFailure = runs->front().error.message;
    }
    window.setCloseConfirmation([](QWidget*) { return true; });
    if (gaps.size() > 1) {
        gaps.erase(gaps.begin()); // the first gap includes the job's submission
        std::sort(gaps.begin(), gaps.end());
        figures.stallSamples = static_cast<int>(gaps.size());
        figures.stallMaxMs = std::max(0.0, gaps.back());
        figures.stallP99Ms = std::max(0.0, gaps[gaps.size() * 99 / 100]);
    }
}

double median(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    return v.empty() ? NAN : v[v.size() / 2];
}

Options parseOptions(const QStringList& args)
{
    Options options;
    for (qsizetype i = 1; i < args.size(); ++i) {
        const QString& a = args[i];
        const auto next = [&] { return i + 1 < args.size() ? args[++i].toInt() : 0; };
        if (a == QStringLiteral("--json")) {
            options.isJson = true;
        } else if (a == QStringLiteral("--points")) {
            options.chartPoints = std::max(1, next());
        } else if (a == QStringLiteral("--runs")) {
            options.runs = std::max(1, next());
        } else if (a == QStringLiteral("--steps")) {
            options.trainSteps = std::max(3, next());
        } else {
            std::fprintf(stderr,
                         "usage: ftw-ui-bench [--points N] [--runs N] [--steps N] [--json]\n");
            std::exit(2);
        }
    }
    return options;
}

} // namespace

int main(int argc, char** argv)
{
    if (std::getenv("DISPLAY") == nullptr && std::getenv("QT_QPA_PLATFORM") == nullptr) {
        setenv("QT_QPA_PLATFORM", "offscreen", 1);
    }
    QApplication app(argc, argv);
    const Options options = parseOptions(QApplication::arguments());
    const auto dir = std::filesystem::temp_directory_path() /
                     ("ftw-ui-bench-" + std::to_string(QApplication::applicationPid()));
    std::filesystem::create_directories(dir);

    Figures figures;
    const std::vector<double> redraws = measureChartRedraw(options.chartPoints, options.redraws);
    figures.chartRedrawMedianMs = median(redraws);
    figures.chartRedrawMaxMs = *std::max_element(redraws.begin(), redraws.end());
    figures.runsTableOpenMs = measureRunsTable(dir, options.runs);
    measureStalls(dir, options.trainSteps, figures);
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
    if (!figures.trainFailure.empty()) {
        std::fprintf(stderr, "ftw-ui-bench: the training run failed: %s\n",
                     figures.trainFailure.c_str());
        return 1;
    }

    if (options.isJson) {
        std::printf("{\"platform\": \"%s\", \"event_loop_stall_max_ms\": %.2f, "
                    "\"event_loop_stall_p99_ms\": %.2f, \"stall_samples\": %d, "
                    "\"train_seconds\": %.2f, \"train_steps\": %d, \"chart_points\": %d, "
                    "\"chart_redraw_median_ms\": %.2f, \"chart_redraw_max_ms\": %.2f, "
                    "\"runs\": %d, \"runs_table_open_ms\": %.2f}\n",
                    qPrintable(QApplication::platformName()), figures.stallMaxMs,
                    figures.stallP99Ms, figures.stallSamples, figures.trainSeconds,
                    options.trainSteps, options.chartPoints, figures.chartRedrawMedianMs,
                    figures.chartRedrawMaxMs, options.runs, figures.runsTableOpenMs);
        return 0;
    }
    std::printf("ftw-ui-bench on the %s platform\n", qPrintable(QApplication::platformName()));
    std::printf("%-46s %10s %10s\n", "measure", "figure", "target");
    std::printf("%-46s %7.1f ms %7s ms\n", "event loop: longest stall while training",
                figures.stallMaxMs, "< 50");
    std::printf("%-46s %7.1f ms %10s\n", "event loop: 99th percentile stall", figures.stallP99Ms,
                "");
    std::printf("%-46s %7.1f s  %10s\n",
                ("  (" + std::to_string(options.trainSteps) + " LoRA steps on a tiny Llama, " +
                 std::to_string(figures.stallSamples) + " ticks)")
                    .c_str(),
                figures.trainSeconds, "");
    std::printf(
        "%-46s %7.1f ms %7s ms\n",
        ("chart of " + std::to_string(options.chartPoints) + " points: redraw (median)").c_str(),
        figures.chartRedrawMedianMs, "< 100");
    std::printf("%-46s %7.1f ms %10s\n", "chart redraw (max)", figures.chartRedrawMaxMs, "");
    std::printf("%-46s %7.1f ms %7s ms\n",
                ("runs table: open on " + std::to_string(options.runs) + " runs").c_str(),
                figures.runsTableOpenMs, "< 200");
    return 0;
}
