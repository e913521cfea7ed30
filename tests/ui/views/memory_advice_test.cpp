// SPDX-License-Identifier: MIT
// What the window advises when a run runs out of memory, against the budget's own estimate.
#include "views/budget_panel.h"
#include "views/memory_advice.h"

#include "support/temp_dir.h"

#include <ftw/budget.h>
#include <ftw/models.h>

#include <gtest/gtest.h>

namespace ftw::ui {
namespace {

std::int64_t estimateOf(const TrainSpec& spec)
{
    const auto budget = computeBudget(spec.modelDir, spec.adapter, memoryOptionsFor(spec));
    EXPECT_TRUE(budget.hasValue()) << budget.error().message;
    return budget ? budget->memory.totalBytes : 0;
}

class MemoryAdviceTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        ASSERT_TRUE(makeTinyModel(m_dir / "model", "llama", 1).isOk());
        m_spec.modelDir = m_dir / "model";
        m_spec.train.batchSize = 16;
        m_spec.train.gradAccumulation = 1;
        m_spec.data.maxLength = 512;
    }

    test::TempDir m_dir;
    TrainSpec m_spec;
};

TEST_F(MemoryAdviceTest, ReadsTheDeviceMemoryFromLibTorchsMessages)
{
    EXPECT_EQ(deviceMemoryFromError("CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 79.35 "
                                    "GiB total capacity; 3.00 GiB already allocated)"),
              static_cast<std::int64_t>(79.35 * 1024 * 1024 * 1024));
    EXPECT_EQ(deviceMemoryFromError("CUDA out of memory. Tried to allocate 20.00 MiB. GPU 0 has a "
                                    "total capacity of 8 GiB of which 1 MiB is free."),
              8LL << 30);
    EXPECT_FALSE(deviceMemoryFromError("std::bad_alloc").has_value());
}

TEST_F(MemoryAdviceTest, NamesTheLargestSmallerBatchThatFitsAndKeepsTheEffectiveBatch)
{
    // A device just large enough for batch 4 by the estimate: batch 8 must not fit.
    TrainSpec four = m_spec;
    four.train.batchSize = 4;
    TrainSpec eight = m_spec;
    eight.train.batchSize = 8;
    const std::int64_t memory = estimateOf(four);
    ASSERT_GT(estimateOf(eight), memory);
    const QString advice = outOfMemoryAdvice(m_spec, memory);
    EXPECT_TRUE(advice.contains(QStringLiteral("batch size 4 with gradient accumulation 4")))
        << advice.toStdString();
}

TEST_F(MemoryAdviceTest, FallsBackToAShorterLengthThenSaysNothingFits)
{
    TrainSpec one = m_spec;
    one.train.batchSize = 1;
    TrainSpec shortOne = one;
    shortOne.data.maxLength = 128;
    TrainSpec longerOne = one;
    longerOne.data.maxLength = 256;
    const std::int64_t memory = estimateOf(shortOne);
    ASSERT_GT(estimateOf(longerOne), memory);
    const QString shorter = outOfMemoryAdvice(m_spec, memory);
    EXPECT_TRUE(shorter.contains(QStringLiteral("maximum length of 128 tokens")))
        << shorter.toStdString();

    const QString nothing = outOfMemoryAdvice(m_spec, 1024);
    EXPECT_TRUE(nothing.contains(QStringLiteral("does not fit"))) << nothing.toStdString();
    // Unknown memory: the general hint.
    EXPECT_TRUE(outOfMemoryAdvice(m_spec, 0).contains(QStringLiteral("gradient checkpointing")));
}

TEST_F(MemoryAdviceTest, OnlyOutOfMemoryFailuresOfTrainingRunsGetAdvice)
{
    JobResult result;
    result.status = JobStatus::Failed;
    result.error = ErrorInfo{ErrorCode::InvalidConfig, "bad config", {}};
    EXPECT_EQ(jobFailureMessage(result, m_spec, {}), QStringLiteral("bad config"));

    result.error = ErrorInfo{ErrorCode::OutOfMemory, "the device ran out of memory",
                             "Tried to allocate 2.00 GiB (GPU 0; 1.00 KiB total capacity)"};
    EXPECT_EQ(jobFailureMessage(result, std::nullopt, {}),
              QStringLiteral("the device ran out of memory"));
    const QString advised = jobFailureMessage(result, m_spec, {});
    EXPECT_TRUE(advised.startsWith(QStringLiteral("the device ran out of memory\n\n")));
    EXPECT_TRUE(advised.contains(QStringLiteral("does not fit in the device's 1.00 KiB")))
        << advised.toStdString();
    // Host memory (no size in the message): the CPU's memory from the engine's devices.
    result.error.detail.clear();
    m_spec.train.device = "cpu";
    TrainSpec four = m_spec;
    four.train.batchSize = 4;
    const std::vector<DeviceInfo> devices = {DeviceInfo{"cpu", "CPU", false, estimateOf(four)}};
    EXPECT_TRUE(jobFailureMessage(result, m_spec, devices)
                    .contains(QStringLiteral("batch size 4 with gradient accumulation 4")));
}

} // namespace
} // namespace ftw::ui
