// SPDX-License-Identifier: MIT
// Playground: the outputs shown for a real trained run are what generateText() gives for the same
// settings, the adapter's one differs from the base's, errors are shown, stale results are not.
#include "models/adapter_run_model.h"
#include "views/playground_page.h"

#include <ftw/ui/main_window.h>

#include <ftw/engine.h>
#include <ftw/models.h>

#include "support/qt_wait.h"
#include "support/temp_dir.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include <QAbstractItemModelTester>
#include <QColor>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QLabel>
#include <QLineEdit>
#include <QPalette>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QTextEdit>

#include <fstream>
#include <memory>

namespace ftw::ui {
namespace {

namespace fs = std::filesystem;

constexpr int kGenerationTimeoutMs = 60000;

class PlaygroundPageTest : public ::testing::Test {
protected:
    /// A tiny Llama (with its byte-level tokenizer) trained for a few steps at a high learning
    /// rate, so that its adapter changes what the model says.
    static void SetUpTestSuite()
    {
        s_dir = std::make_unique<test::TempDir>();
        const Status made = makeTinyModel(*s_dir / "model", "llama", 1);
        ASSERT_TRUE(made.isOk()) << made.error().message;
        {
            std::ofstream out(*s_dir / "data.jsonl");
            for (int i = 0; i < 8; ++i) {
                out << R"({"prompt": ")" << i << "+" << i << R"(=", "completion": ")" << 2 * i
                    << R"(;"})" << '\n';
            }
        }
        auto engine = Engine::create(EngineOptions{*s_dir / "ftw.db", 0});
        ASSERT_TRUE(engine.hasValue()) << engine.error().message;
        TrainSpec spec;
        spec.runName = "tiny";
        spec.modelDir = *s_dir / "model";
        spec.data.path = *s_dir / "data.jsonl";
        spec.data.maxLength = 32;
        spec.data.validationRatio = 0.0;
        spec.train.maxSteps = 4;
        spec.train.learningRate = 5e-2;
        spec.train.lrScheduler = "constant";
        spec.train.device = "cpu";
        const JobResult result = (*engine)->wait((*engine)->submit(spec).id);
        ASSERT_EQ(result.status, JobStatus::Succeeded) << result.error.message;
        s_runId = result.runId;
    }

    static void TearDownTestSuite() { s_dir.reset(); }

    void SetUp() override { ASSERT_GT(s_runId, 0); }

    static fs::path databasePath() { return *s_dir / "ftw.db"; }

    static bool waitForGeneration(const PlaygroundPage& page)
    {
        return test::waitUntil([&] { return !page.isGenerating(); }, kGenerationTimeoutMs);
    }

    inline static std::unique_ptr<test::TempDir> s_dir;
    inline static RunId s_runId = 0;
};

TEST_F(PlaygroundPageTest, GreedyOutputsAreGenerateTextsAndTheAdapterChangesThem)
{
    PlaygroundPage page(databasePath());
    page.resize(1000, 700);
    page.show();
    const QAbstractItemModelTester tester(page.runBox()->model(),
                                          QAbstractItemModelTester::FailureReportingMode::Fatal);
    page.showRun(s_runId);
    const fs::path adapterDir = runDirectory(databasePath(), s_runId) / "adapter";
    EXPECT_EQ(page.modelEdit()->text(), QString::fromStdString((*s_dir / "model").string()));
    EXPECT_EQ(page.adapterEdit()->text(), QString::fromStdString(adapterDir.string()));
    const QString prompt = QStringLiteral("3+3=");
    page.promptEdit()->setPlainText(prompt);
    page.maxNewTokensBox()->setValue(12);
    page.temperatureBox()->setValue(0.0);
    EXPECT_FALSE(page.seedBox()->isEnabled()); // greedy: the seed does not matter
    ASSERT_TRUE(page.generateButton()->isEnabled()) << page.validationMessage().toStdString();

    page.generateButton()->click();
    EXPECT_TRUE(page.isGenerating());
    EXPECT_FALSE(page.generateButton()->isEnabled()); // no second click while it runs
    ASSERT_TRUE(waitForGeneration(page));
    EXPECT_TRUE(page.generateButton()->isEnabled());

    GenerateRequest request;
    request.modelDir = *s_dir / "model";
    request.prompt = "3+3=";
    request.maxNewTokens = 12;
    request.temperature = 0.0;
    const Expected<GeneratedText> base = generateText(request);
    ASSERT_TRUE(base.hasValue()) << base.error().message;
    request.adapterDir = adapterDir;
    const Expected<GeneratedText> tuned = generateText(request);
    ASSERT_TRUE(tuned.hasValue()) << tuned.error().message;

    EXPECT_EQ(page.baseOutput()->toPlainText(),
              visibleText(prompt + QString::fromStdString(base->text)));
    EXPECT_EQ(page.tunedOutput()->toPlainText(),
              visibleText(prompt + QString::fromStdString(tuned->text)));
    EXPECT_TRUE(page.baseStats()->text().startsWith(QString::number(base->ids.size())))
        << page.baseStats()->text().toStdString();
    EXPECT_TRUE(page.tunedStats()->text().startsWith(QString::number(tuned->ids.size())))
        << page.tunedStats()->text().toStdString();
    // Four steps at a high learning rate change the greedy continuation.
    EXPECT_NE(base->ids, tuned->ids);
    EXPECT_NE(page.baseOutput()->toPlainText(), page.tunedOutput()->toPlainText());
    EXPECT_EQ(page.statusLabel()->text(), QString());
}

// ftw-workbench --run ID --prompt TEXT: the window opens the run in the Playground and continues
// the prompt with both models.
TEST_F(PlaygroundPageTest, TheWindowContinuesAPromptForARun)
{
    auto engine = Engine::create(EngineOptions{databasePath(), 0});
    ASSERT_TRUE(engine.hasValue()) << engine.error().message;
    auto store = RunStore::open(databasePath(), StoreMode::ReadOnly);
    ASSERT_TRUE(store.hasValue());
    {
        MainWindow window(**engine, std::move(*store));
        window.show();
        window.openRun(s_runId, QStringLiteral("playground"));
        window.generateInPlayground(QStringLiteral("2+2="));
        auto* page = window.findChild<PlaygroundPage*>();
        ASSERT_NE(page, nullptr);
        EXPECT_TRUE(page->isVisible());
        EXPECT_TRUE(page->isGenerating());
        ASSERT_TRUE(waitForGeneration(*page));
        GenerateRequest request = page->baseRequest();
        EXPECT_EQ(request.prompt, "2+2=");
        const Expected<GeneratedText> base = generateText(request);
        ASSERT_TRUE(base.hasValue()) << base.error().message;
        EXPECT_EQ(page->baseOutput()->toPlainText(),
                  visibleText(QStringLiteral("2+2=") + QString::fromStdString(base->text)));
        ASSERT_TRUE(page->tunedRequest().has_value());
        EXPECT_FALSE(page->tunedOutput()->toPlainText().isEmpty());
    }
}

TEST_F(PlaygroundPageTest, AnEmptyPromptIsANoteAndAMissingFolderAnError)
{
    PlaygroundPage page(databasePath());
    page.show();
    page.modelEdit()->setText(QString::fromStdString((*s_dir / "model").string()));
    page.adapterEdit()->clear();
    page.promptEdit()->clear();
    EXPECT_FALSE(page.generateButton()->isEnabled());
    EXPECT_EQ(page.statusLabel()->text(), PlaygroundPage::promptHint());
    const QColor note = page.statusLabel()->palette().color(QPalette::WindowText);

    page.modelEdit()->setText(QString::fromStdString((*s_dir / "missing").string()));
    EXPECT_TRUE(page.statusLabel()->text().contains(QStringLiteral("does not exist")));
    const QColor error = page.statusLabel()->palette().color(QPalette::WindowText);
    // The error is the strong red; the note is the grey of other notes on the page.
    EXPECT_GT(error.red(), 2 * error.green()) << error.name().toStdString();
    EXPECT_LT(std::abs(note.red() - note.green()), 16) << note.name().toStdString();
}

TEST_F(PlaygroundPageTest, ModelFolderWithoutTokenizerShowsTheReasonInThePage)
{
    const fs::path noTokenizer = *s_dir / "no-tokenizer";
    fs::create_directories(noTokenizer);
    fs::copy_file(*s_dir / "model" / "config.json", noTokenizer / "config.json");
    fs::copy_file(*s_dir / "model" / "model.safetensors", noTokenizer / "model.safetensors");

    PlaygroundPage page(databasePath());
    page.show();
    page.modelEdit()->setText(QString::fromStdString((*s_dir / "missing").string()));
    page.adapterEdit()->clear();
    page.promptEdit()->setPlainText(QStringLiteral("hello"));
    EXPECT_FALSE(page.generateButton()->isEnabled());
    EXPECT_TRUE(page.statusLabel()->text().contains(QStringLiteral("does not exist")))
        << page.statusLabel()->text().toStdString();

    page.modelEdit()->setText(QString::fromStdString(noTokenizer.string()));
    ASSERT_TRUE(page.generateButton()->isEnabled()) << page.validationMessage().toStdString();
    page.generateButton()->click();
    ASSERT_TRUE(waitForGeneration(page));
    const QString status = page.statusLabel()->text();
    EXPECT_TRUE(status.startsWith(QStringLiteral("Base model: "))) << status.toStdString();
    EXPECT_TRUE(status.contains(QStringLiteral("has no tokenizer.json"))) << status.toStdString();
    EXPECT_TRUE(status.contains(QString::fromStdString(noTokenizer.string())));
    EXPECT_TRUE(page.baseOutput()->toPlainText().contains(QStringLiteral("tokenizer.json")));
    EXPECT_TRUE(page.tunedOutput()->toPlainText().contains(QStringLiteral("No adapter chosen")));
}

TEST_F(PlaygroundPageTest, ResultsOfInputsChangedWhileGeneratingAreNotShown)
{
    PlaygroundPage page(databasePath());
    page.show();
    page.showRun(s_runId);
    page.promptEdit()->setPlainText(QStringLiteral("1+1="));
    page.maxNewTokensBox()->setValue(8);
    page.generateButton()->click();
    ASSERT_TRUE(page.isGenerating());
    page.promptEdit()->setPlainText(QStringLiteral("2+2=")); // before any result can arrive
    ASSERT_TRUE(waitForGeneration(page));
    EXPECT_EQ(page.baseOutput()->toPlainText(), QString());
    EXPECT_EQ(page.tunedOutput()->toPlainText(), QString());
    EXPECT_TRUE(page.statusLabel()->text().contains(QStringLiteral("inputs changed")))
        << page.statusLabel()->text().toStdString();
    EXPECT_TRUE(page.generateButton()->isEnabled());
}

TEST(PlaygroundVisibleTextTest, ControlCharactersBecomeTheirPicturesAndNewlinesStay)
{
    EXPECT_EQ(visibleText(QStringLiteral("a\u0001b\r\n\tc\u007f")),
              QStringLiteral("a\u2401b\u240d\n\tc\u2421"));
    EXPECT_EQ(visibleText(QStringLiteral("x\u00a0y\u2028z")), QStringLiteral("x y\nz"));
}

} // namespace
} // namespace ftw::ui
