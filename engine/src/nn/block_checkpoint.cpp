// SPDX-License-Identifier: MIT
#include "block_checkpoint.h"

#include "decoder.h"

#include "core/autocast.h"

#include <ATen/ATen.h>
#include <ATen/Context.h>
#include <torch/autograd.h>

#include <mutex>

namespace ftw::nn {
namespace {

enum BlockKind : std::int64_t { kLlama = 1, kGpt2 = 2 };

/// The state of the generator dropout draws from on `device` (the CPU's or the GPU's).
at::Tensor randomState(const c10::Device& device)
{
    at::Generator generator = at::globalContext().defaultGenerator(device);
    const std::lock_guard lock(generator.mutex());
    return generator.get_state();
}

void setRandomState(const c10::Device& device, const at::Tensor& state)
{
    at::Generator generator = at::globalContext().defaultGenerator(device);
    const std::lock_guard lock(generator.mutex());
    generator.set_state(state);
}

at::Tensor runBlock(std::int64_t kind, std::int64_t address, const at::Tensor& hidden,
                    const at::Tensor& rope)
{
    // NOTE: the address is the block's, stored as an integer because autograd's saved data holds
    // only IValues; the decoder owns the block for longer than any backward pass.
    if (kind == kLlama) {
        auto* block = reinterpret_cast<LlamaBlockImpl*>(address); // NOLINT
        return block->forward(hidden, rope, nullptr, nullptr);
    }
    auto* block = reinterpret_cast<Gpt2BlockImpl*>(address); // NOLINT
    return block->forward(hidden, nullptr, nullptr);
}

class CheckpointFunction : public torch::autograd::Function<CheckpointFunction> {
public:
    static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx,
                                                  const at::Tensor& hidden, std::int64_t kind,
                                                  std::int64_t address, const at::Tensor& rope)
    {
        ctx->saved_data["kind"] = kind;
        ctx->saved_data["address"] = address;
        ctx->saved_data["rope"] = rope;
        ctx->saved_data["rng"] = randomState(hidden.device());
        ctx->saved_data["autocast"] =
            static_cast<std::int64_t>(core::activeAutocastDtype(hidden.device()));
        ctx->save_for_backward({hidden});
        return {runBlock(kind, address, hidden, rope)};
    }

    static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                   torch::autograd::variable_list gradOutputs)
    {
        const at::Tensor input = ctx->get_saved_variables()[0].detach().requires_grad_(true);
        const c10::Device device = input.device();
        const at::Tensor current = randomState(device);
        setRandomState(device, ctx->saved_data["rng"].toTensor());
        at::Tensor output;
        {
            const torch::AutoGradMode gradients(true);
            const core::AutocastGuard autocast(
                device, static_cast<c10::ScalarType>(ctx->saved_data["autocast"].toInt()));
            output = runBlock(ctx->saved_data["kind"].toInt(), ctx->saved_data["address"].toInt(),
                              input, ctx->saved_data["rope"].toTensor());
        }
        setRandomState(device, current);
        torch::autograd::backward({output}, {gradOutputs[0]});
        return {input.grad(), at::Tensor(), at::Tensor(), at::Tensor()};
    }
};

/// The first block's input comes from frozen embeddings; it must require gradients for the
/// checkpointed blocks' backward to run at all.
at::Tensor trackedInput(const at::Tensor& hidden)
{
    return hidden.requires_grad() ? hidden : hidden.detach().requires_grad_(true);
}

} // namespace

at::Tensor checkpointedBlock(LlamaBlockImpl& block, const at::Tensor& hidden,
                             const at::Tensor& rope)
{
    return CheckpointFunction::apply(trackedInput(hidden), kLlama,
                                     reinterpret_cast<std::int64_t>(&block), rope)[0];
}

at::Tensor checkpointedBlock(Gpt2BlockImpl& block, const at::Tensor& hidden)
{
    return CheckpointFunction::apply(trackedInput(hidden), kGpt2,
                                     reinterpret_cast<std::int64_t>(&block),
                                     at::empty({0}, hidden.options()))[0];
}

} // namespace ftw::nn
