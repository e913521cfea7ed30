// SPDX-License-Identifier: MIT
#pragma once
// CLOVER fine-tuning (seed-papers.md 2.5, the v2 / ICML setting) as an adapter on one projection:
// frozen orthonormal factors and a trainable full d x d core per head.
//
// Each segment (segments.h) of the projection's outputs is computed as [x, 1] F C T per block:
//   - head-wise QR path (K per KV head; V per KV head under GQA; Q; MLP up blocks of 64):
//     W^g = F R with F orthonormal, the core C starts at R, T is absent;
//   - V-O path (as many KV heads as heads): W_V^h W_O^h = U S V^T (QR-then-small-SVD route),
//     F = U, C starts at diag(S), and T = V^T pinv(W_O^h) (a frozen d x d matrix), so that the
//     o_proj that follows turns C T into C V^T exactly. The paper instead rewrites W_O^h to V^T;
//     both compute the same function of C with the same gradients, and this way the adapter
//     touches only its own projection and loads on the original base model.
// [x, 1] means a projection with a bias gets it as an extra row of F (section 2.2). Folding back
// (merge) writes F C T into the projection's weight rows and bias: plain standard weights.
//
// Saved in PEFT's layout with peft_type "CLOVER" (PEFT has no CLOVER); per adapted module and
// segment role ("q", "k", "v", "up"), relative to `base_model.model.<module>.`:
//   clover_<role>_basis [in (+1 with a bias), groups * block]  frozen F, head g in columns
//                                                             g*block .. (g+1)*block - 1
//   clover_<role>_core  [groups, block, block]                trainable C
//   clover_<role>_post  [groups, block, block]                frozen T (V-O path only)
// adapter_config.json: {"peft_type": "CLOVER", "target_modules", "clover_dropout",
// "mlp_block_size": 64, ...} (peft_files.cpp).

#include "segments.h"

#include "adapters/module_adapter.h"
#include "nn/decoder.h"

#include <memory>
#include <vector>

namespace ftw::clover {

class CloverAdapter : public adapters::ModuleAdapter {
public:
    /// Zero tensors of the right shapes for `plans`; `isValueOutput[i]` selects the V-O path for
    /// segment i. Fill them with init() or by loading saved tensors.
    CloverAdapter(adapters::Target target, std::vector<SegmentPlan> plans,
                  const std::vector<bool>& isValueOutput, double dropout);

    /// Computes F, C and T from the base weights in float64. `output` is the layer's o_proj (or
    /// GPT-2's attn.c_proj), needed by V-O segments. Throws Error{InvalidArgument} when a W_O^h
    /// is rank-deficient.
    void init(const nn::ProjectionImpl& base, const nn::ProjectionImpl* output);

    at::Tensor forward(nn::ProjectionImpl& base, const at::Tensor& input) override;
    [[nodiscard]] at::Tensor deltaWeight(const at::Tensor& weightOutIn) const override;
    /// Folds: the segments' weight rows and bias entries become F C T (the unmerged values are
    /// kept for unmerge()).
    void merge(nn::ProjectionImpl& base) override;
    void unmerge(nn::ProjectionImpl& base) override;
    [[nodiscard]] std::vector<adapters::NamedTensor> tensors() const override;
    [[nodiscard]] std::vector<adapters::NamedTensor> trainable() const override;
    void to(const c10::Device& device) override;

    /// F C T of every segment as [in (+1), width] (float32), in segment order.
    [[nodiscard]] std::vector<at::Tensor> foldedSegments() const;

private:
    struct Segment {
        SegmentPlan plan;
        at::Tensor basis;    ///< F [in (+1), width]
        at::Tensor core;     ///< C [groups, block, block], trains
        at::Tensor post;     ///< T [groups, block, block], or undefined
        at::Tensor unmerged; ///< the segment's [in (+1), width] before merge(); set while merged
    };

    [[nodiscard]] at::Tensor segmentOutput(const Segment& s, const at::Tensor& x,
                                           bool training) const;

    std::vector<Segment> m_segments;
    std::int64_t m_inFeatures = 0;
    bool m_hasBiasRow = false;
    double m_dropout = 0.0;
};

/// The CLOVER adapter of `target` on `base`, a projection of `decoder`: its segments, with the
/// V-O path for V when the model has as many KV heads as heads. Initialised from the weights
/// (finding the layer's output projection) when `initialise`; zeros to load into otherwise.
[[nodiscard]] std::shared_ptr<CloverAdapter> makeCloverAdapter(const adapters::Target& target,
                                                               nn::ProjectionImpl& base,
                                                               nn::DecoderImpl& decoder,
                                                               bool initialise, double dropout);

} // namespace ftw::clover
