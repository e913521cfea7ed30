// SPDX-License-Identifier: MIT
#include "bridge/engine_controller.h"

#include "support/qt_wait.h"
#include "support/temp_dir.h"

#include <gtest/gtest.h>

#include <QCoreApplication>
#include <QSignalSpy>
#include <QThread>

namespace ftw::ui {
namespace {

class EngineControllerTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        auto engine = Engine::create(EngineOptions{m_dir / "ftw.db", 0});
        ASSERT_TRUE(engine.hasValue()) << engine.error().message;
        m_engine = std::move(*engine);
        m_controller = std::make_unique<EngineController>(*m_engine);
    }

    test::TempDir m_dir;
    std::unique_ptr<Engine> m_engine;
    std::unique_ptr<EngineController> m_controller;
};

TEST_F(EngineControllerTest, EveryEventArrivesAsASignalOnTheGuiThread)
{
    QThread* const guiThread = QCoreApplication::instance()->thread();
    std::vector<QThread*> threads;
    std::vector<std::string> order;
    QObject context;
    QObject::connect(m_controller.get(), &EngineController::jobStarted, &context,
                     [&](qint64, const QString&) {
                         threads.push_back(QThread::currentThread());
                         order.push_back("started");
                     });
    QObject::connect(m_controller.get(), &EngineController::progressChanged, &context,
                     [&](const JobProgress&) {
                         threads.push_back(QThread::currentThread());
                         order.push_back("progress");
                     });
    QObject::connect(m_controller.get(), &EngineController::logMessage, &context,
                     [&](qint64, const QString&, const QString&) {
                         threads.push_back(QThread::currentThread());
                     });
    QSignalSpy finished(m_controller.get(), &EngineController::jobFinished);

    DemoJobSpec spec;
    spec.steps = 10;
    spec.stepDelayMs = 1;
    const JobId id = m_controller->submit(spec);
    EXPECT_EQ(m_controller->activeJob(), id);
    ASSERT_TRUE(test::waitUntil([&] { return finished.count() == 1; }));

    ASSERT_FALSE(threads.empty());
    for (QThread* thread : threads) {
        EXPECT_EQ(thread, guiThread);
    }
    EXPECT_EQ(order.front(), "started");
    EXPECT_EQ(order.back(), "progress");
    const auto result = finished.at(0).at(1).value<JobResult>();
    EXPECT_EQ(finished.at(0).at(0).toLongLong(), id);
    EXPECT_EQ(result.status, JobStatus::Succeeded);
    EXPECT_GT(result.runId, 0);
    EXPECT_FALSE(m_controller->activeJob().has_value());
}

TEST_F(EngineControllerTest, CancelThroughTheControllerEndsTheJobCancelled)
{
    QSignalSpy progress(m_controller.get(), &EngineController::progressChanged);
    QSignalSpy finished(m_controller.get(), &EngineController::jobFinished);
    DemoJobSpec spec;
    spec.steps = 100000;
    spec.stepDelayMs = 5;
    const JobId id = m_controller->submit(spec);
    ASSERT_TRUE(test::waitUntil([&] { return progress.count() >= 1; }));

    EXPECT_TRUE(m_controller->requestCancel(id));
    ASSERT_TRUE(test::waitUntil([&] { return finished.count() == 1; }));
    EXPECT_EQ(finished.at(0).at(1).value<JobResult>().status, JobStatus::Cancelled);
}

} // namespace
} // namespace ftw::ui
