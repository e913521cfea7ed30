// SPDX-License-Identifier: MIT
// The CUDA path (label gpu; `ctest --preset gpu` on a machine with a CUDA LibTorch and a GPU; each
// test is skipped where LibTorch sees no CUDA device): attention on the device against the float64
// reference, the devices' names and memory, and the bench's train step in bf16 autocast with
// the caching allocator's peak and a merge whose logits match; grouped-query attention's flash path
// (LibTorch 2.5+) with its gradients.
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
#include <torch/version.h>

namespace ftw {
namespace {

#define FTW_REQUIRE_CUDA()                                                                         \
    if (!torch::cuda::is_available()) {                                                            \
        GTEST_SKIP() << "LibTorch sees no CUDA device";                                            \
    }

/// Random q [2, 14, length, 64] and k, v [2, 2, length, 64] (Qwen2.5-0.5B's heads), on the CPU.
struct GroupedInputs {
    at::Tensor q;
    at::Tensor k;
    at::Tensor v;
};

GroupedInputs randomGroupedInputs(at::Generator& generator, std::int64_t length)
{
    return {at::randn({2, 14, length, 64}, generator), at::randn({2, 2, length, 64}, generator),
            at::randn({2, 2, length, 64}, generator)};
}

TEST(CudaTest, AttentionMatchesTheFloat64ReferenceInFp32AndBf16)
{
    FTW_REQUIRE_CUDA();
    at::Generator generator = at::detail::createCPUGenerator(5);
    const auto [q, k, v] = randomGroupedInputs(generator, 64);
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

/// The largest |a - b| over the largest |b|.
double relativeError(const at::Tensor& actual, const at::Tensor& expected)
{
    return (actual.cpu().to(at::kDouble) - expected).abs().max().item<double>() /
           expected.abs().max().item<double>();
}

TEST(CudaTest, GroupedAttentionInBf16KeepsOneCopyOfEachKvHeadAndMatchesTheReferenceGradients)
{
    FTW_REQUIRE_CUDA();
    at::Generator generator = at::detail::createCPUGenerator(7);
    const auto [q, k, v] = randomGroupedInputs(generator, 128);
    const at::Tensor upstream = at::randn({2, 14, 128, 64}, generator);
    const auto options = at::TensorOptions().device(at::kCUDA).dtype(at::kBFloat16);
    const at::Tensor qc = q.to(options).requires_grad_();
    const at::Tensor kc = k.to(options).requires_grad_();
    const at::Tensor vc = v.to(options).requires_grad_();
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 5)
    // Flash attention with enable_gqa on the sm80+ GPUs this suite runs on (H100, H200).
    EXPECT_TRUE(nn::isGroupedAttentionFused(qc, kc, vc));
#endif
    const at::Tensor out = nn::causalAttention(qc, kc, vc);
    out.backward(upstream.to(options));

    const at::Tensor qd = q.to(at::kDouble).requires_grad_();
    const at::Tensor kd = k.to(at::kDouble).requires_grad_();
    const at::Tensor vd = v.to(at::kDouble).requires_grad_();
    const at::Tensor expected = test::referenceAttention(qd, kd, vd);
    expected.backward(upstream.to(at::kDouble));
    EXPECT_LT(relativeError(out, expected.detach()), 2e-2);
    EXPECT_LT(relativeError(qc.grad(), qd.grad()), 3e-2);
    EXPECT_LT(relativeError(kc.grad(), kd.grad()), 3e-2);
    EXPECT_LT(relativeError(vc.grad(), vd.grad()), 3e-2);
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
