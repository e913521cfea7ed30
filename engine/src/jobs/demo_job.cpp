// SPDX-License-Identifier: MIT
#include "demo_job.h"

#include "core/check.h"

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>
#include <torch/nn/functional/loss.h>
#include <torch/optim/adam.h>
#include <torch/utils.h>

#include <chrono>
#include <cmath>
#include <string>

namespace ftw::jobs {
namespace {

constexpr std::int64_t kSamples = 256;
constexpr std::int64_t kInputs = 16;
constexpr std::int64_t kOutputs = 4;
constexpr double kLearningRate = 0.05;

void validate(const DemoJobSpec& spec)
{
    FTW_CHECK(spec.steps >= 1 && spec.steps <= 1'000'000, ErrorCode::InvalidConfig,
              "demo job: steps must be between 1 and 1000000, got " + std::to_string(spec.steps));
    FTW_CHECK(spec.stepDelayMs >= 0 && spec.stepDelayMs <= 10'000, ErrorCode::InvalidConfig,
              "demo job: step delay must be between 0 and 10000 ms, got " +
                  std::to_string(spec.stepDelayMs));
    FTW_CHECK(!spec.runName.empty(), ErrorCode::InvalidConfig, "demo job: the run name is empty");
}

std::string configJson(const DemoJobSpec& spec)
{
    const nlohmann::json config = {
        {"kind", "demo"},
        {"name", spec.runName},
        {"steps", spec.steps},
        {"step_delay_ms", spec.stepDelayMs},
        {"seed", spec.seed},
        {"learning_rate", kLearningRate},
        {"shape", {{"samples", kSamples}, {"inputs", kInputs}, {"outputs", kOutputs}}},
    };
    return config.dump(2);
}

void runDemo(const DemoJobSpec& spec, JobContext& ctx)
{
    validate(spec);
    torch::manual_seed(spec.seed);
    const at::Tensor x = torch::randn({kSamples, kInputs});
    const at::Tensor trueWeight = torch::randn({kInputs, kOutputs});
    const at::Tensor y = x.matmul(trueWeight) + 0.05 * torch::randn({kSamples, kOutputs});
    at::Tensor weight = torch::zeros({kInputs, kOutputs}, torch::requires_grad());
    torch::optim::Adam optimizer({weight}, torch::optim::AdamOptions(kLearningRate));

    ctx.createRun(storage::NewRun{
        .name = spec.runName,
        .kind = std::string(jobKindName(JobKind::Demo)),
        .method = "demo",
        .model = "linear regression " + std::to_string(kInputs) + "x" + std::to_string(kOutputs),
        .dataset = "random, " + std::to_string(kSamples) + " samples",
        .configJson = configJson(spec),
        .seed = static_cast<std::int64_t>(spec.seed),
        .groupId = std::nullopt, // a sweep sets its members' group in their context
    });
    ctx.setTrainableParams(weight.numel(), weight.numel());
    ctx.log(LogLevel::Info, "demo: fitting a " + std::to_string(kInputs) + "x" +
                                std::to_string(kOutputs) + " linear model for " +
                                std::to_string(spec.steps) + " steps");

    const auto startedAt = std::chrono::steady_clock::now();
    for (int step = 1; step <= spec.steps; ++step) {
        ctx.throwIfCancelled();
        FTW_CHECK(step != spec.failAtStep, ErrorCode::InvalidArgument,
                  "demo job failed on purpose at step " + std::to_string(step) +
                      " (failAtStep is set)");
        optimizer.zero_grad();
        const at::Tensor loss = torch::nn::functional::mse_loss(x.matmul(weight), y);
        loss.backward();
        const double gradNorm = weight.grad().norm().item<double>();
        optimizer.step();

        const double lossValue = loss.item<double>();
        const double elapsedS =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - startedAt).count();
        const auto wallMs = static_cast<std::int64_t>(elapsedS * 1000.0);
        const std::int64_t samplesSeen = step * kSamples;
        ctx.recordMetric("train/loss",
                         {step, 1.0 * step / spec.steps, samplesSeen, wallMs, lossValue});
        ctx.recordMetric("train/grad_norm",
                         {step, 1.0 * step / spec.steps, samplesSeen, wallMs, gradNorm});
        ctx.recordMetric("train/learning_rate",
                         {step, 1.0 * step / spec.steps, samplesSeen, wallMs, kLearningRate});

        JobProgress progress;
        progress.step = step;
        progress.totalSteps = spec.steps;
        progress.epoch = 1.0 * step / spec.steps;
        progress.loss = lossValue;
        progress.learningRate = kLearningRate;
        progress.gradNorm = gradNorm;
        progress.tokensPerSecond = elapsedS > 0.0 ? samplesSeen / elapsedS : JobProgress::kNone;
        progress.etaSeconds = elapsedS / step * (spec.steps - step);
        ctx.reportProgress(progress);
        if (step < spec.steps) {
            ctx.sleepFor(std::chrono::milliseconds(spec.stepDelayMs));
        }
    }
    ctx.log(LogLevel::Info, "demo: finished");
}

} // namespace

Job makeDemoJob(const DemoJobSpec& spec)
{
    return Job{JobKind::Demo, spec.runName, [spec](JobContext& ctx) { runDemo(spec, ctx); }};
}

} // namespace ftw::jobs
