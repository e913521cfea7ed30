// SPDX-License-Identifier: MIT
// A training run on the CPU records its peak memory per logged step (what Compare plots).
#include "core/process.h"

#include "support/temp_dir.h"
#include "support/train_fixture.h"

#include <ftw/engine.h>
#include <ftw/run_store.h>

#include <gtest/gtest.h>

#include <filesystem>

namespace ftw {
namespace {

TEST(PeakMemoryTest, ACpuRunRecordsANonDecreasingPeakWithinTheProcesssOwn)
{
    const test::TempDir dir;
    TrainSpec spec = test::tinyTrainSpec(dir, model::ArchId::Llama, AdapterMethod::Lora);
    spec.train.maxSteps = 4;
    spec.train.device = "cpu";
    const auto db = dir / "ftw.db";
    JobResult result;
    {
        auto engine = Engine::create(EngineOptions{db, 0});
        ASSERT_TRUE(engine.hasValue()) << engine.error().message;
        result = (*engine)->wait((*engine)->submit(spec).id);
    }
    ASSERT_EQ(result.status, JobStatus::Succeeded) << result.error.message;
    // Read here, after the run: the process's peak since the run reset it. Linux folds the
    // resident size into VmHWM lazily (when memory is unmapped, not when the allocator hands
    // pages back with madvise), so a peak read during the run can exceed this by the few pages
    // freed that way since: 1 MiB of slack.
    const std::int64_t processPeak = core::peakResidentMemoryBytes() + (std::int64_t{1} << 20U);

    auto store = RunStore::open(db, StoreMode::ReadOnly);
    ASSERT_TRUE(store.hasValue());
    const auto peaks = store->metrics(result.runId, "train/peak_memory_bytes");
    ASSERT_TRUE(peaks.hasValue());
    ASSERT_EQ(peaks->size(), 4U); // every step is logged by default
    const auto weights =
        static_cast<double>(std::filesystem::file_size(spec.modelDir / "model.safetensors"));
    double previous = 0.0;
    for (const MetricPoint& p : *peaks) {
        EXPECT_GE(p.value, previous) << "step " << p.step;
        EXPECT_GT(p.value, weights) << "step " << p.step; // the model is in memory
        EXPECT_LE(p.value, static_cast<double>(processPeak)) << "step " << p.step;
        previous = p.value;
    }
}

} // namespace
} // namespace ftw
