// SPDX-License-Identifier: MIT
// The CUDA path (label gpu; `ctest --preset gpu` on a machine with a CUDA LibTorch and a GPU; each
// test is skipped where LibTorch sees no CUDA device): attention on the device against the float64
// reference, the devices' names and memory, and the bench's train step in bf16 autocast with
// the caching allocator's peak and a merge whose logits match.
#include "core/device.h"
#include "nn/layers.h"
#include "support/attention_reference.h"
#include "support/job_helpers.h"
#include "support/temp_dir.h"

#include <ftw/bench.h>
#include <ftw/engine.h>

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/cuda.h>

namespace ftw {
namespace {

#define FTW_REQUIRE_CUDA()                                                                         \
    if (!torch::cuda::is_available()) {                                                            \
        GTEST_SKIP() << "LibTorch sees no CUDA device";                                            \
    }

TEST(CudaTest, AttentionMatchesTheFloat64ReferenceInFp32AndBf16)
{
    FTW_REQUIRE_CUDA();
    at::Generator generator = at::detail::createCPUGenerator(5);
    const at::Tensor q = at::randn({2, 14, 64, 64}, generator);
    const at::Tensor k = at::randn({2, 2, 64, 64}, generator);
    const at::Tensor v = at::randn({2, 2, 64, 64}, generator);
    const at::Tensor expected = test::referenceAttention(q, k, v);
    for (const auto& [dtype, tolerance] : {std::pair{at::kFloat, 2e-3}, {at::kBFloat16, 5e-2}}) {
        const auto options = at::TensorOptions().device(at::kCUDA).dtype(dtype);
        const at::Tensor actual =
            nn::causalAttention(q.to(options), k.to(options), v.to(options)).cpu();
        EXPECT_LT((actual.to(at::kDouble) - expected).abs().max().item<double>(), tolerance)
            << c10::toString(dtype);
    }
    // A query at the end of a longer cache (generation).
    const auto options = at::TensorOptions().device(at::kCUDA);
    const at::Tensor last = q.narrow(2, 63, 1);
    const at::Tensor actual = nn::causalAttention(last.to(options), k.to(options), v.to(options));
    EXPECT_LT((actual.cpu().to(at::kDouble) - test::referenceAttention(last, k, v))
                  .abs()
                  .max()
                  .item<double>(),
              2e-3);
}

TEST(CudaTest, DevicesHaveANameAndMemory)
{
    FTW_REQUIRE_CUDA();
    EXPECT_TRUE(core::isCudaLibTorch());
    const std::vector<DeviceInfo> devices = core::availableDevices();
    ASSERT_GE(devices.size(), 2U);
    EXPECT_EQ(devices[1].name, "cuda:0");
    EXPECT_GT(devices[1].totalMemoryBytes, std::int64_t{1} << 30);
    EXPECT_GT(devices[1].description.size(), std::string("CUDA device 0").size());
}

TEST(CudaTest, BenchTrainsInBf16AndReportsTheAllocatorPeak)
{
    FTW_REQUIRE_CUDA();
    const test::TempDir dir;
    BenchSpec spec;
    spec.shape = "tiny";
    spec.seqLength = 32;
    spec.steps = 4;
    spec.untimedSteps = 1;
    spec.train.adapter.method = AdapterMethod::Lora;
    spec.train.adapter.r = 4;
    spec.train.train.batchSize = 4;
    spec.train.train.learningRate = 1e-2;
    spec.train.train.device = "cuda";
    spec.train.train.isGradientCheckpointing = true;
    const JobResult result = test::runJob(dir.path() / "ftw.db", spec);
    ASSERT_EQ(result.status, JobStatus::Succeeded) << result.error.message;
    const nlohmann::json output = nlohmann::json::parse(result.outputJson);
    EXPECT_EQ(output["device"], "cuda:0");
    EXPECT_EQ(output["precision"], "bf16");
    const nlohmann::json& train = output["train"];
    EXPECT_EQ(train["peak_memory_kind"], "cuda allocated");
    EXPECT_GT(train["peak_memory_bytes"].get<std::int64_t>(), 0);
    EXPECT_LT(train["last_loss"].get<double>(), train["first_loss"].get<double>());
    EXPECT_GT(train["flops_utilisation"].get<double>(), 0.0);
    EXPECT_GT(output["merge"]["merge_seconds"].get<double>(), 0.0);
}

} // namespace
} // namespace ftw
