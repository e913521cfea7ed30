// SPDX-License-Identifier: MIT
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

namespace ftw::nn {

/// How a projection stores its weight: PyTorch's Linear ([out, in]) or GPT-2's Conv1D ([in, out]).
enum class WeightLayout { Unknown, OutIn, InOut };

class ProjectionImpl;

/// What an adapter installs on a projection: it computes the adapted output from the input and
/// the frozen base layer. Implemented by the adapter library (engine/src/adapters).
class ProjectionAdapter {
public:
    virtual ~ProjectionAdapter() = default;
    virtual at::Tensor forward(ProjectionImpl& base, const at::Tensor& input) = 0;
    /// Whether forward() is the base layer's output plus a term of the input alone (LoRA), so that
    /// forwardOnBase() can start from a base output computed elsewhere (a packed product).
    [[nodiscard]] virtual bool addsToBase() const { return false; }
    /// forward() given the base layer's output for `input`; only called where addsToBase().
    virtual at::Tensor forwardOnBase(ProjectionImpl& base, const at::Tensor& input,
                                     const at::Tensor& /*baseOutput*/)
    {
        return forward(base, input);
    }
};

/// A linear projection with the registered names "weight" and "bias" of the checkpoint format, so
/// that `model.layers.3.self_attn.q_proj` is the module an adapter wraps.
class ProjectionImpl : public torch::nn::Module {
public:
    ProjectionImpl(std::int64_t inFeatures, std::int64_t outFeatures, bool hasBias,
                   WeightLayout layout);

    /// The adapter's output when one is installed and not merged; the plain layer otherwise.
    at::Tensor forward(const at::Tensor& input);
    /// x W^T + b with the stored weight, whatever adapter is installed.
    at::Tensor baseForward(const at::Tensor& input);
    /// Whether forwardOnBase() can use a base output computed elsewhere: no adapter, a merged
    /// one, or one that adds to the base output.
    [[nodiscard]] bool takesBaseOutput() const;
    /// forward(input) from `baseOutput` = baseForward(input); only where takesBaseOutput().
    at::Tensor forwardOnBase(const at::Tensor& input, const at::Tensor& baseOutput);
    /// The weight as [out, in], whatever the stored layout (a view for InOut).
    [[nodiscard]] at::Tensor weightOutIn() const;

    std::int64_t inFeatures;
    std::int64_t outFeatures;
    WeightLayout layout;
    at::Tensor weight;
    at::Tensor bias;                            ///< undefined when the projection has none
    std::shared_ptr<ProjectionAdapter> adapter; ///< installed by the adapter library, or null
    bool merged = false; ///< the adapter's update is in `weight`; forward is the plain layer
};
TORCH_MODULE(Projection);

/// Root-mean-square normalisation over the last dimension, computed in fp32 (registered "weight").
class RmsNormImpl : public torch::nn::Module {
public:
    RmsNormImpl(std::int64_t dim, double eps);
    at::Tensor forward(const at::Tensor& input);

    double eps;
    at::Tensor weight;
};
TORCH_MODULE(RmsNorm);

/// Makes the weights (and biases) of projections that read the same input consecutive [out, in]
/// blocks of one buffer (PyTorch layout, same input size, dtype and device; otherwise, or when
/// already packed, it does nothing), so that packedBaseForward() computes their base outputs with
/// one matrix product. The parameters stay registered as they were, as views of that buffer; an
/// in-place write (merge, an init that rewrites the base) keeps the packing, a replaced or moved
/// tensor ends it, which packedBaseForward() notices. Without `isKeepingValues` the packed
/// weights are left uninitialised (before a checkpoint is loaded into them: no copy).
void packProjections(const std::vector<ProjectionImpl*>& projections, bool isKeepingValues = true);

/// The base outputs of `projections` for `input` as views of one product when their weights (and
/// biases) are still consecutive blocks of one buffer, every one takesBaseOutput() and none that
/// requires a gradient is being recorded (full fine-tuning); otherwise std::nullopt (the caller
/// then runs them one by one).
[[nodiscard]] std::optional<std::vector<at::Tensor>>
packedBaseForward(const std::vector<ProjectionImpl*>& projections, const at::Tensor& input);

/// Rotary position embedding tables (Llama's rotate-half convention).
struct RopeOptions {
    std::int64_t headDim = 0;
    double theta = 10000.0;
    /// Llama 3 frequency scaling; factor <= 0 means none.
    double scalingFactor = 0.0;
    double lowFreqFactor = 1.0;
    double highFreqFactor = 4.0;
    std::int64_t originalMaxPositions = 8192;
};

/// The inverse frequencies [headDim / 2], with Llama 3 scaling applied when set.
[[nodiscard]] at::Tensor ropeInverseFrequencies(const RopeOptions& options);

/// The cosines and sines of the rotary angles of positions start .. start + length - 1, stacked
/// [2, length, headDim] in fp32 on `device`: computed once per forward pass, used by every layer.
[[nodiscard]] at::Tensor ropeTable(const at::Tensor& inverseFrequencies, std::int64_t start,
                                   std::int64_t length, const c10::Device& device);

/// Rotates `x` [batch, heads, seq, headDim] by a ropeTable() of its seq positions.
[[nodiscard]] at::Tensor applyRope(const at::Tensor& x, const at::Tensor& table);

/// GPT-2's "gelu_new": the tanh approximation of GELU.
[[nodiscard]] at::Tensor geluTanh(const at::Tensor& x);

/// Whether causalAttention() gives q, k, v to SDPA's flash kernel with enable_gqa (LibTorch 2.5
/// and later, grouped heads, T == S, and PyTorch's kernel choice picks flash for them: on CUDA
/// in fp16/bf16 with a supported head size; not on the CPU as of 2.6).
[[nodiscard]] bool isGroupedAttentionFused(const at::Tensor& q, const at::Tensor& k,
                                           const at::Tensor& v);

/// Causal attention of q [B, H, T, D] over k, v [B, Hkv, S, D] where the T queries sit at the last
/// T of the S positions; each KV head serves H / Hkv query heads (grouped-query attention).
/// LibTorch 2.x: scaled_dot_product_attention (flash or memory-efficient kernels where the
/// device has them); from 2.5, where isGroupedAttentionFused(), its flash kernel reads the KV
/// heads as they are (enable_gqa), otherwise each is repeated for its query heads first.
/// LibTorch 1.x: the query heads of a KV head are folded into its rows, so K and V are never
/// copied per query head; softmax in fp32.
[[nodiscard]] at::Tensor causalAttention(const at::Tensor& q, const at::Tensor& k,
                                         const at::Tensor& v);

} // namespace ftw::nn
