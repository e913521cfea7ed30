// SPDX-License-Identifier: MIT
// The New-run fine-tuning form: the same run config as `ftw train`, validation as you type, and a
// real training run started from the window.
#include "views/train_command_line.h"
#include "views/train_form.h"

#include <ftw/ui/main_window.h>

#include "models/run_table_model.h"
#include "views/live_run_page.h"
#include "widgets/metric_chart.h"
#include "widgets/target_checklist.h"

#include "support/qt_wait.h"
#include "support/temp_dir.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QLabel>
#include <QLineEdit>
#include <QLineSeries>
#include <QListWidget>
#include <QPlainTextEdit>
#include <QProcess>
#include <QProgressBar>
#include <QPushButton>
#include <QSpinBox>
#include <QTableView>
#include <QTest>

#include <fstream>

namespace ftw::ui {
namespace {

/// Runs the real `ftw` binary; returns its standard output (and fails the test on a non-zero exit).
QByteArray runFtw(const QStringList& args)
{
    QProcess process;
    process.start(QStringLiteral(FTW_BINARY), args);
    EXPECT_TRUE(process.waitForFinished(60000));
    EXPECT_EQ(process.exitCode(), 0) << process.readAllStandardError().toStdString();
    return process.readAllStandardOutput();
}

/// The run config `ftw train ... --print-config` prints for `command` ("ftw train ..."), run
/// through a real POSIX shell with the built binary in place of "ftw".
nlohmann::json configOfCommandLine(const QString& command)
{
    QProcess shell;
    shell.start(QStringLiteral("/bin/sh"),
                {QStringLiteral("-c"), QStringLiteral("'%1'").arg(QStringLiteral(FTW_BINARY)) +
                                           command.mid(3) + QStringLiteral(" --print-config")});
    EXPECT_TRUE(shell.waitForFinished(60000));
    EXPECT_EQ(shell.exitCode(), 0) << shell.readAllStandardError().toStdString();
    return nlohmann::json::parse(shell.readAllStandardOutput().toStdString(), nullptr, false);
}

class TrainFormTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        runFtw({QStringLiteral("make-tiny-model"), model(), QStringLiteral("--arch"),
                QStringLiteral("llama")});
        std::ofstream out(m_dir / "data.jsonl");
        for (int i = 0; i < 12; ++i) {
            out << R"({"prompt": ")" << i << R"(?", "completion": ")" << i * i << R"(."})" << '\n';
        }
    }

    QString model() const { return QString::fromStdString((m_dir / "model").string()); }
    QString data() const { return QString::fromStdString((m_dir / "data.jsonl").string()); }

    template <typename T>
    static T* child(const QWidget& parent, const char* name)
    {
        T* widget = parent.findChild<T*>(QString::fromLatin1(name));
        EXPECT_NE(widget, nullptr) << name;
        return widget;
    }

    /// Fills the form with the choices of `ftw train --model M --data D --method dora --r 4
    /// --targets q_proj,v_proj --steps 12 --batch-size 2 --lr 0.01 --scheduler cosine --seed 3`.
    void fill(const TrainForm& form) const
    {
        child<QLineEdit>(form, "modelDir")->setText(model());
        child<QLineEdit>(form, "dataFile")->setText(data());
        child<QComboBox>(form, "method")->setCurrentText(QStringLiteral("dora"));
        child<QSpinBox>(form, "rank")->setValue(4);
        // The target checklist lists the model's projection kinds once the folder is read.
        auto* checklist = child<TargetChecklist>(form, "targetModules");
        for (const char* kind : {"self_attn.k_proj", "self_attn.o_proj", "mlp.gate_proj",
                                 "mlp.up_proj", "mlp.down_proj"}) {
            QCheckBox* box = checklist->box(QString::fromLatin1(kind));
            ASSERT_NE(box, nullptr) << kind;
            box->click();
        }
        child<QSpinBox>(form, "steps")->setValue(12);
        child<QSpinBox>(form, "batchSize")->setValue(2);
        child<QDoubleSpinBox>(form, "learningRate")->setValue(0.01);
        child<QComboBox>(form, "scheduler")->setCurrentText(QStringLiteral("cosine"));
        child<QSpinBox>(form, "seed")->setValue(3);
    }

    /// The main window on a real engine and store at `db`, shown (nullptr on failure).
    std::unique_ptr<MainWindow> openWindow(const std::filesystem::path& db)
    {
        auto engine = Engine::create(EngineOptions{db, 0});
        auto store =
            engine ? RunStore::open(db, StoreMode::ReadOnly) : Expected<RunStore>(engine.error());
        if (!store) {
            ADD_FAILURE() << store.error().message;
            return nullptr;
        }
        m_engine = std::move(*engine);
        auto window = std::make_unique<MainWindow>(*m_engine, std::move(*store));
        window->show();
        return window;
    }

    test::TempDir m_dir;
    std::unique_ptr<Engine> m_engine; ///< after m_dir: goes first; windows are reset before
};

TEST_F(TrainFormTest, TheFormMakesTheSameRunConfigAsTheCommandLine)
{
    TrainForm form;
    fill(form);
    const QByteArray cli = runFtw({QStringLiteral("train"),
                                   QStringLiteral("--model"),
                                   model(),
                                   QStringLiteral("--data"),
                                   data(),
                                   QStringLiteral("--method"),
                                   QStringLiteral("dora"),
                                   QStringLiteral("--r"),
                                   QStringLiteral("4"),
                                   QStringLiteral("--targets"),
                                   QStringLiteral("q_proj,v_proj"),
                                   QStringLiteral("--steps"),
                                   QStringLiteral("12"),
                                   QStringLiteral("--batch-size"),
                                   QStringLiteral("2"),
                                   QStringLiteral("--lr"),
                                   QStringLiteral("0.01"),
                                   QStringLiteral("--scheduler"),
                                   QStringLiteral("cosine"),
                                   QStringLiteral("--seed"),
                                   QStringLiteral("3"),
                                   QStringLiteral("--print-config")});
    EXPECT_EQ(nlohmann::json::parse(runConfigJson(form.trainSpec())),
              nlohmann::json::parse(cli.toStdString()));

    // And an imported config fills the form back to the same config.
    TrainForm imported;
    imported.setTrainSpec(form.trainSpec());
    EXPECT_EQ(runConfigJson(imported.trainSpec()), runConfigJson(form.trainSpec()));
}

TEST_F(TrainFormTest, TheCommandLineShownRunsToTheSameConfig)
{
    TrainForm form;
    fill(form);
    child<QLineEdit>(form, "runName")->setText(QStringLiteral("my run's name"));
    const QString command = form.commandLine();
    EXPECT_TRUE(command.startsWith(QStringLiteral("ftw train --name 'my run'\\''s name' ")))
        << command.toStdString();
    EXPECT_EQ(configOfCommandLine(command), nlohmann::json::parse(runConfigJson(form.trainSpec())));
}

TEST_F(TrainFormTest, AdaLorasScheduleIsOnTheCommandLineToo)
{
    TrainForm form;
    fill(form);
    TrainSpec spec = form.trainSpec();
    spec.adapter.method = AdapterMethod::AdaLora;
    spec.adapter.r = 0;
    spec.adapter.initR = 6;
    spec.adapter.targetR = 3;
    spec.adapter.tinit = 2;
    spec.adapter.tfinal = 3;
    spec.adapter.deltaT = 2;
    form.setTrainSpec(spec);
    ASSERT_TRUE(form.validationMessage().isEmpty()) << form.validationMessage().toStdString();
    EXPECT_TRUE(trainConfigKeysWithoutOption(form.trainSpec()).isEmpty())
        << trainConfigKeysWithoutOption(form.trainSpec()).join(QLatin1Char(' ')).toStdString();
    const QString command = form.commandLine();
    EXPECT_TRUE(command.contains(QStringLiteral(" --init-r 6 --target-r 3 --tinit 2 --tfinal 3 "
                                                "--delta-t 2")))
        << command.toStdString();
    EXPECT_EQ(configOfCommandLine(command), nlohmann::json::parse(runConfigJson(form.trainSpec())));
}

TEST_F(TrainFormTest, ValidationAsYouTypeNamesTheFieldAndGatesStart)
{
    TrainForm form;
    form.show();
    EXPECT_FALSE(form.startButton()->isEnabled());
    EXPECT_EQ(form.validationMessage(),
              QStringLiteral("run config: 'model' must be a model folder"));
    fill(form);
    EXPECT_TRUE(form.startButton()->isEnabled());
    EXPECT_TRUE(form.validationMessage().isEmpty());
    child<QSpinBox>(form, "rank")->setValue(0);
    child<QComboBox>(form, "method")->setCurrentText(QStringLiteral("adalora"));
    child<QLineEdit>(form, "runName")->setText(QString());
    EXPECT_FALSE(form.startButton()->isEnabled());
    EXPECT_TRUE(form.validationMessage().contains(QStringLiteral("'name'")))
        << form.validationMessage().toStdString();
}

TEST_F(TrainFormTest, StartingFromTheWindowTrainsAndTheRunAppearsSucceeded)
{
    const std::filesystem::path db = m_dir / "ftw.db";
    auto window = openWindow(db);
    ASSERT_NE(window, nullptr);
    child<QListWidget>(*window, "navigation")->setCurrentRow(1);
    auto* form = window->findChild<TrainForm*>();
    ASSERT_NE(form, nullptr);
    fill(*form);
    form->startButton()->click();
    EXPECT_FALSE(form->startButton()->isEnabled());
    auto* table = child<QTableView>(*window, "runsTable");
    ASSERT_TRUE(test::waitUntil(
        [&] {
            return table->model()->rowCount() == 1 &&
                   table->model()->data(table->model()->index(0, RunTableModel::Status)) ==
                       QStringLiteral("succeeded");
        },
        60000));
    EXPECT_EQ(table->model()->data(table->model()->index(0, RunTableModel::Method)),
              QStringLiteral("dora"));
    // The live charts followed the run to its last step (always reported) and keep its history.
    auto* live = window->findChild<LiveRunPage*>();
    ASSERT_NE(live, nullptr);
    ASSERT_GT(live->lossChart()->history().size(), 0U);
    EXPECT_EQ(live->lossChart()->history().points().back().x(), 12.0);
    EXPECT_EQ(live->learningRateChart()->history().size(), live->lossChart()->history().size());
    EXPECT_TRUE(test::waitUntil([&] { return live->lossChart()->rawSeries()->count() > 0; }));
    ASSERT_TRUE(test::waitUntil([&] { return form->startButton()->isEnabled(); }));
    window.reset();
}

TEST_F(TrainFormTest, PauseHoldsTheRunAtItsStepAndResumeFinishesIt)
{
    const std::filesystem::path db = m_dir / "ftw.db";
    auto window = openWindow(db);
    ASSERT_NE(window, nullptr);
    auto* form = window->findChild<TrainForm*>();
    ASSERT_NE(form, nullptr);
    fill(*form);
    child<QSpinBox>(*form, "steps")->setValue(400);
    form->startButton()->click();
    auto* live = window->findChild<LiveRunPage*>();
    ASSERT_NE(live, nullptr);
    ASSERT_TRUE(test::waitUntil([&] { return live->lossChart()->history().size() >= 2; }, 30000));
    live->pauseButton()->click();
    EXPECT_EQ(live->pauseButton()->text(), QStringLiteral("Resume"));
    // The engine stops at its next cancellation point; after that no step is added.
    ASSERT_TRUE(test::waitUntil(
        [&] {
            return child<QPlainTextEdit>(*window, "liveLog")
                ->toPlainText()
                .contains(QStringLiteral("paused"));
        },
        10000));
    const std::size_t heldAt = live->lossChart()->history().size();
    QTest::qWait(500);
    EXPECT_EQ(live->lossChart()->history().size(), heldAt);
    EXPECT_LT(heldAt, 400U);

    live->pauseButton()->click();
    EXPECT_EQ(live->pauseButton()->text(), QStringLiteral("Pause"));
    ASSERT_TRUE(test::waitUntil([&] { return form->startButton()->isEnabled(); }, 120000));
    EXPECT_EQ(live->lossChart()->history().points().back().x(), 400.0);
    auto check = RunStore::open(db, StoreMode::ReadOnly);
    const auto runs = check->listRuns();
    ASSERT_EQ(runs->size(), 1U);
    EXPECT_EQ(runs->front().status, RunStatus::Succeeded);
    window.reset();
}

TEST_F(TrainFormTest, ExportedConfigRunsInTheCommandLineAndImportsBackIntoTheWindow)
{
    TrainForm form;
    fill(form);
    const std::filesystem::path file = m_dir / "exported" / "run.json";
    std::filesystem::create_directories(file.parent_path());
    ASSERT_TRUE(form.exportConfig(file).isOk());
    // `ftw train --config` reads the file to the same config.
    const QByteArray cli =
        runFtw({QStringLiteral("train"), QStringLiteral("--config"),
                QString::fromStdString(file.string()), QStringLiteral("--print-config")});
    EXPECT_EQ(nlohmann::json::parse(cli.toStdString()),
              nlohmann::json::parse(runConfigJson(form.trainSpec())));

    auto window = openWindow(m_dir / "ftw.db");
    ASSERT_NE(window, nullptr);
    auto* windowForm = window->findChild<TrainForm*>();
    ASSERT_NE(windowForm, nullptr);
    ASSERT_TRUE(window->importRunConfig(file).isOk());
    EXPECT_EQ(runConfigJson(windowForm->trainSpec()), runConfigJson(form.trainSpec()));

    // A broken file names itself and leaves the form as it was.
    const std::filesystem::path broken = m_dir / "broken.json";
    std::ofstream(broken) << R"({"model": 3})";
    const Status failed = window->importRunConfig(broken);
    ASSERT_FALSE(failed.isOk());
    EXPECT_NE(failed.error().message.find("broken.json"), std::string::npos)
        << failed.error().message;
    EXPECT_EQ(runConfigJson(windowForm->trainSpec()), runConfigJson(form.trainSpec()));
}

} // namespace
} // namespace ftw::ui
