// SPDX-License-Identifier: MIT
// Export: a real training run exported from the window (merged and adapter-only) through the real
// merge job; the page shows the verification the job stored, and refuses folders it must not
// write.
#include "bridge/engine_controller.h"
#include "models/adapter_run_model.h"
#include "models/export_list_model.h"
#include "models/verification_model.h"
#include "views/export_page.h"

#include <ftw/models.h>
#include <ftw/ui/main_window.h>

#include "support/qt_wait.h"
#include "support/temp_dir.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <QAbstractItemModelTester>
#include <QComboBox>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QRadioButton>

#include <fstream>
#include <memory>

namespace ftw::ui {
namespace {

namespace fs = std::filesystem;

constexpr int kJobTimeoutMs = 60000;

/// Trains a tiny Llama for a few steps; returns the run id (0 on failure, reported).
RunId trainTinyRun(Engine& engine, const fs::path& dir, const std::string& name)
{
    if (!fs::exists(dir / "model" / "config.json")) {
        const Status made = makeTinyModel(dir / "model", "llama", 1);
        EXPECT_TRUE(made.isOk()) << made.error().message;
        std::ofstream out(dir / "data.jsonl");
        for (int i = 0; i < 8; ++i) {
            out << R"({"prompt": ")" << i << "+" << i << R"(=", "completion": ")" << 2 * i
                << R"(;"})" << '\n';
        }
    }
    TrainSpec spec;
    spec.runName = name;
    spec.modelDir = dir / "model";
    spec.data.path = dir / "data.jsonl";
    spec.data.maxLength = 32;
    spec.data.validationRatio = 0.0;
    spec.train.maxSteps = 3;
    spec.train.learningRate = 1e-2;
    spec.train.device = "cpu";
    const JobResult result = engine.wait(engine.submit(spec).id);
    EXPECT_EQ(result.status, JobStatus::Succeeded) << result.error.message;
    return result.runId;
}

class ExportPageTest : public ::testing::Test {
protected:
    static void SetUpTestSuite()
    {
        s_dir = std::make_unique<test::TempDir>();
        auto engine = Engine::create(EngineOptions{*s_dir / "ftw.db", 0});
        ASSERT_TRUE(engine.hasValue()) << engine.error().message;
        s_engine = std::move(*engine);
        s_runId = trainTinyRun(*s_engine, s_dir->path(), "tiny");
    }

    static void TearDownTestSuite()
    {
        s_engine.reset();
        s_dir.reset();
    }

    void SetUp() override { ASSERT_GT(s_runId, 0); }

    static fs::path databasePath() { return *s_dir / "ftw.db"; }

    /// The store's record of the export written to `path`.
    static std::optional<ExportInfo> storedExport(RunId runId, const fs::path& path)
    {
        auto store = RunStore::open(databasePath(), StoreMode::ReadOnly);
        if (!store) {
            return std::nullopt;
        }
        auto exports = store->exports(runId);
        if (!exports) {
            return std::nullopt;
        }
        for (const ExportInfo& info : *exports) {
            if (info.path == path) {
                return info;
            }
        }
        return std::nullopt;
    }

    static void chooseRun(ExportPage& page, RunId id)
    {
        const int row = page.runModel()->rowOfRun(id);
        ASSERT_GE(row, 0);
        page.sourceBox()->setCurrentIndex(row);
    }

    inline static std::unique_ptr<test::TempDir> s_dir;
    inline static std::unique_ptr<Engine> s_engine;
    inline static RunId s_runId = 0;
    test::TempDir m_out; ///< destinations of this test
};

TEST_F(ExportPageTest, MergedF32ExportFromTheWindowShowsTheVerificationStoredWithIt)
{
    auto store = RunStore::open(databasePath(), StoreMode::ReadOnly);
    ASSERT_TRUE(store.hasValue());
    MainWindow window(*s_engine, std::move(*store));
    window.show();
    window.showPage(QStringLiteral("export"));
    auto* page = window.findChild<ExportPage*>();
    ASSERT_NE(page, nullptr);
    ASSERT_TRUE(page->isVisible());
    const QAbstractItemModelTester runsTester(
        page->runModel(), QAbstractItemModelTester::FailureReportingMode::Fatal);
    const QAbstractItemModelTester promptsTester(
        page->verificationModel(), QAbstractItemModelTester::FailureReportingMode::Fatal);
    const QAbstractItemModelTester exportsTester(
        page->exportListModel(), QAbstractItemModelTester::FailureReportingMode::Fatal);

    chooseRun(*page, s_runId);
    EXPECT_TRUE(page->findChild<QLabel*>(QStringLiteral("exportSourceInfo"))
                    ->text()
                    .contains(QString::fromStdString((*s_dir / "model").string())));
    page->mergedButton()->setChecked(true);
    page->dtypeBox()->setCurrentText(QStringLiteral("f32"));
    EXPECT_TRUE(page->dtypeBox()->isEnabled());
    const fs::path out = m_out / "merged-f32";
    page->destinationEdit()->setText(QString::fromStdString(out.string()));
    EXPECT_EQ(page->validationMessage(), QString());
    ASSERT_TRUE(page->exportButton()->isEnabled());
    page->exportButton()->click();

    ASSERT_TRUE(test::waitUntil(
        [&] { return page->statusLabel()->text().startsWith(QStringLiteral("Exported")); },
        kJobTimeoutMs))
        << page->statusLabel()->text().toStdString();
    EXPECT_TRUE(page->isVisible()); // the window stays on the page that shows the report

    const std::optional<ExportInfo> stored = storedExport(s_runId, out);
    ASSERT_TRUE(stored.has_value());
    EXPECT_EQ(stored->status, "succeeded");
    EXPECT_EQ(stored->kind, "merged");
    EXPECT_EQ(stored->dtype, "f32");
    ASSERT_TRUE(stored->maxAbsLogitDiff.has_value());
    const nlohmann::json verification = nlohmann::json::parse(stored->verificationJson);
    EXPECT_TRUE(verification.at("passed").get<bool>());

    // The report shown is the one stored: every prompt, the same numbers.
    const QString summary = page->reportSummary()->text();
    EXPECT_TRUE(summary.contains(QStringLiteral("Passed"))) << summary.toStdString();
    EXPECT_TRUE(summary.contains(formatDifference(stored->maxAbsLogitDiff)));
    EXPECT_TRUE(summary.contains(formatDifference(verification.at("tolerance").get<double>())));
    EXPECT_TRUE(summary.contains(QString::fromStdString(out.string())));
    VerificationModel* prompts = page->verificationModel();
    ASSERT_EQ(prompts->rowCount(), static_cast<int>(verification.at("prompts").size()));
    ASSERT_GT(prompts->rowCount(), 0);
    double shownMax = 0.0;
    for (int row = 0; row < prompts->rowCount(); ++row) {
        const nlohmann::json& expected = verification.at("prompts").at(row);
        EXPECT_EQ(prompts->index(row, VerificationModel::Prompt).data().toString(),
                  QString::fromStdString(expected.at("text").get<std::string>()));
        const double maxDiff = prompts->index(row, VerificationModel::MaxAbsDiff)
                                   .data(VerificationModel::ValueRole)
                                   .toDouble();
        EXPECT_EQ(maxDiff, expected.at("max_abs_diff").get<double>());
        shownMax = std::max(shownMax, maxDiff);
    }
    EXPECT_EQ(shownMax, *stored->maxAbsLogitDiff);

    // The run's exports list it, newest first.
    ExportListModel* exports = page->exportListModel();
    ASSERT_GE(exports->rowCount(), 1);
    EXPECT_EQ(exports->index(0, ExportListModel::Status).data().toString(),
              QStringLiteral("succeeded"));
    EXPECT_EQ(exports->index(0, ExportListModel::Path).data().toString(),
              QString::fromStdString(out.string()));
    EXPECT_EQ(exports->index(0, ExportListModel::MaxAbsDiff).data().toString(),
              formatDifference(stored->maxAbsLogitDiff));

    EXPECT_TRUE(fs::exists(out / "model.safetensors"));
    EXPECT_TRUE(fs::exists(out / "config.json"));
    EXPECT_FALSE(fs::exists(out.string() + ".partial"));
    // The folder now holds the export: it is not a destination any more.
    EXPECT_FALSE(page->exportButton()->isEnabled());
    EXPECT_TRUE(page->validationMessage().contains(QStringLiteral("not empty")));
}

TEST_F(ExportPageTest, ARunThatFailedOnAnotherStoresFolderOffersNoAdapter)
{
    // A second store in the same folder numbers its first run as the first store's run: the run
    // fails without writing, and the adapter in that folder is not its to export.
    const fs::path otherDb = *s_dir / "other.db";
    RunId failedId = 0;
    {
        auto other = Engine::create(EngineOptions{otherDb, 0});
        ASSERT_TRUE(other.hasValue()) << other.error().message;
        TrainSpec spec;
        spec.runName = "clash";
        spec.modelDir = *s_dir / "model";
        spec.data.path = *s_dir / "data.jsonl";
        spec.train.maxSteps = 1;
        spec.train.device = "cpu";
        const JobResult result = (*other)->wait((*other)->submit(spec).id);
        ASSERT_EQ(result.status, JobStatus::Failed);
        failedId = result.runId;
    }
    ASSERT_EQ(failedId, s_runId); // the same number, so the same runs/<id> folder
    ASSERT_TRUE(fs::exists(runDirectory(otherDb, failedId) / "adapter" / "adapter_config.json"));

    AdapterRunModel others;
    ASSERT_TRUE(others.reload(otherDb).isEmpty());
    EXPECT_EQ(others.rowOfRun(failedId), -1);
    EXPECT_EQ(others.rowCount(), 0);
    AdapterRunModel own; // the first store still offers its run
    ASSERT_TRUE(own.reload(databasePath()).isEmpty());
    EXPECT_GE(own.rowOfRun(s_runId), 0);
}

TEST_F(ExportPageTest, AdapterOnlyExportWritesThePeftFilesToTheDefaultFolder)
{
    EngineController controller(*s_engine);
    ExportPage page(controller);
    QObject::connect(&page, &ExportPage::exportRequested, &controller,
                     [&controller](const MergeSpec& spec) { controller.submit(spec); });
    page.show();
    const QAbstractItemModelTester exportsTester(
        page.exportListModel(), QAbstractItemModelTester::FailureReportingMode::Fatal);
    chooseRun(page, s_runId);
    page.adapterOnlyButton()->setChecked(true);
    EXPECT_FALSE(page.dtypeBox()->isEnabled());
    const fs::path out = runDirectory(databasePath(), s_runId) / "export-adapter";
    ASSERT_FALSE(fs::exists(out));
    EXPECT_EQ(page.destinationEdit()->text(), QString::fromStdString(out.string()));
    const MergeSpec spec = page.mergeSpec();
    EXPECT_TRUE(spec.isAdapterOnly);
    EXPECT_EQ(spec.sourceRunId, s_runId);
    EXPECT_EQ(spec.adapterDir, runDirectory(databasePath(), s_runId) / "adapter");
    ASSERT_TRUE(page.exportButton()->isEnabled());
    page.exportButton()->click();

    ASSERT_TRUE(test::waitUntil(
        [&] { return page.statusLabel()->text().startsWith(QStringLiteral("Exported")); },
        kJobTimeoutMs))
        << page.statusLabel()->text().toStdString();
    EXPECT_TRUE(fs::exists(out / "adapter_config.json"));
    EXPECT_TRUE(fs::exists(out / "adapter_model.safetensors"));
    EXPECT_FALSE(fs::exists(out / "model.safetensors"));
    const std::optional<ExportInfo> stored = storedExport(s_runId, out);
    ASSERT_TRUE(stored.has_value());
    EXPECT_EQ(stored->kind, "adapter");
    EXPECT_EQ(stored->status, "succeeded");
    EXPECT_EQ(page.exportListModel()->index(0, ExportListModel::Kind).data().toString(),
              QStringLiteral("adapter"));
    EXPECT_TRUE(page.reportSummary()->text().contains(formatDifference(stored->maxAbsLogitDiff)));
    // The default moves on to a free folder for the next export.
    EXPECT_EQ(page.destinationEdit()->text(), QString::fromStdString(out.string() + "-2"));
    EXPECT_TRUE(page.exportButton()->isEnabled());
}

TEST_F(ExportPageTest, DestinationThatIsNotEmptyOrNotAFolderDisablesExportWithAMessage)
{
    EngineController controller(*s_engine);
    ExportPage page(controller);
    page.show();
    chooseRun(page, s_runId);
    fs::create_directories(m_out / "full");
    std::ofstream(m_out / "full" / "weights.bin") << "x";
    std::ofstream(m_out / "file.txt") << "x";

    page.destinationEdit()->setText(QString::fromStdString((m_out / "full").string()));
    EXPECT_FALSE(page.exportButton()->isEnabled());
    auto* message = page.findChild<QLabel*>(QStringLiteral("exportValidation"));
    ASSERT_NE(message, nullptr);
    EXPECT_TRUE(message->text().contains(QStringLiteral("is not empty")))
        << message->text().toStdString();
    EXPECT_TRUE(message->text().contains(QStringLiteral("choose a new folder name")));

    page.destinationEdit()->setText(QString::fromStdString((m_out / "file.txt").string()));
    EXPECT_FALSE(page.exportButton()->isEnabled());
    EXPECT_TRUE(message->text().contains(QStringLiteral("is a file")));

    page.destinationEdit()->setText(QStringLiteral("relative/folder"));
    EXPECT_FALSE(page.exportButton()->isEnabled());
    EXPECT_TRUE(message->text().contains(QStringLiteral("full path")));

    fs::create_directories(m_out / "empty");
    page.destinationEdit()->setText(QString::fromStdString((m_out / "empty").string()));
    EXPECT_TRUE(page.exportButton()->isEnabled());
    EXPECT_EQ(message->text(), QString());
}

TEST_F(ExportPageTest, FailedExportShowsTheEngineMessageAndIsListedAsFailed)
{
    // A second run whose adapter file is then damaged: the merge job fails while loading it.
    const RunId broken = trainTinyRun(*s_engine, s_dir->path(), "damaged");
    ASSERT_GT(broken, 0);
    const fs::path adapterFile =
        runDirectory(databasePath(), broken) / "adapter" / "adapter_model.safetensors";
    ASSERT_TRUE(fs::exists(adapterFile));
    std::ofstream(adapterFile, std::ios::trunc) << "not a safetensors file";

    EngineController controller(*s_engine);
    ExportPage page(controller);
    QObject::connect(&page, &ExportPage::exportRequested, &controller,
                     [&controller](const MergeSpec& spec) { controller.submit(spec); });
    page.show();
    const QAbstractItemModelTester exportsTester(
        page.exportListModel(), QAbstractItemModelTester::FailureReportingMode::Fatal);
    chooseRun(page, broken);
    const fs::path out = m_out / "never";
    page.destinationEdit()->setText(QString::fromStdString(out.string()));
    ASSERT_TRUE(page.exportButton()->isEnabled());
    page.exportButton()->click();

    ASSERT_TRUE(test::waitUntil(
        [&] { return page.statusLabel()->text().startsWith(QStringLiteral("The export failed")); },
        kJobTimeoutMs))
        << page.statusLabel()->text().toStdString();
    const std::optional<ExportInfo> stored = storedExport(broken, out);
    ASSERT_TRUE(stored.has_value());
    EXPECT_EQ(stored->status, "failed");
    ASSERT_FALSE(stored->errorMessage.empty());
    EXPECT_TRUE(page.statusLabel()->text().contains(QStringLiteral("loading the adapter")))
        << page.statusLabel()->text().toStdString();
    EXPECT_EQ(page.exportListModel()->index(0, ExportListModel::Status).data().toString(),
              QStringLiteral("failed"));
    EXPECT_TRUE(page.reportSummary()->text().contains(QStringLiteral("Failed")));
    EXPECT_TRUE(page.reportSummary()->text().contains(
        QString::fromStdString(stored->errorMessage).toHtmlEscaped()));
    EXPECT_FALSE(fs::exists(out));
    EXPECT_FALSE(fs::exists(out.string() + ".partial"));
}

} // namespace
} // namespace ftw::ui
