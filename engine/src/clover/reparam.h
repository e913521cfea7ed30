// SPDX-License-Identifier: MIT
#pragma once
// CLOVER on a whole model (seed-papers.md 2.2-2.6): absorb-decompose every head of a loaded
// decoder, write the CLOVER form back as standard weights (S folded into one factor), and prune
// directions by singular value (with the vanilla baseline that prunes original head dimensions by
// their norms).
//
// Orientation: a head's factor is written as the paper does, x W with W [D, d] (the projection's
// [out, in] rows of that head, transposed). A projection with a bias gets the bias appended as an
// extra row ([W; b] acting on [x, 1], section 2.2), so its factor is [D + 1, d] and the bias comes
// back out of the last row.

#include "decomposition.h"

#include "model/model_config.h"
#include "nn/decoder.h"

#include <cstdint>
#include <vector>

namespace ftw::clover {

/// How the Q-K pair of a layer is decomposed. The default value means "not chosen".
enum class QkPath {
    Unknown,
    Absorbed, ///< W_Q^h W_K^h^T = U S V^T per head (absolute positions: GPT-2)
    KeyQr,    ///< RoPE (or a q/k norm) sits between Q and K: W_K^g = Q R per KV head (2.6)
};

/// How the V-O pair of a layer is decomposed. The default value means "not chosen".
enum class VoPath {
    Unknown,
    Absorbed, ///< W_V^h W_O^h = U S V^T per head (as many KV heads as heads)
    ValueQr,  ///< grouped-query attention: W_V^g = Q R per KV head, R pushed into each W_O^h
};

[[nodiscard]] QkPath qkPathOf(const model::ModelConfig& config);
[[nodiscard]] VoPath voPathOf(const model::ModelConfig& config);

/// One layer's decomposition, float64.
struct LayerDecomposition {
    std::vector<ThinSvd> qk;    ///< Absorbed: per head, U [Dq, d] query side, V [Dk, d] key side
    std::vector<ThinQr> keys;   ///< KeyQr: per KV head, W_K^g = Q R
    std::vector<ThinSvd> vo;    ///< Absorbed: per head, U [Dv, d] value side, V [Dout, d]
    std::vector<ThinQr> values; ///< ValueQr: per KV head, W_V^g = Q R
    std::vector<at::Tensor> outputHeads; ///< ValueQr: the original W_O^h [d, Dout] per head
};

/// Every layer's decomposition and the shapes it was made for.
struct ModelDecomposition {
    QkPath qkPath = QkPath::Unknown;
    VoPath voPath = VoPath::Unknown;
    std::int64_t numHeads = 0;
    std::int64_t numKvHeads = 0;
    std::int64_t headDim = 0;
    std::int64_t hiddenSize = 0;
    bool hasQkvBias = false;
    std::vector<LayerDecomposition> layers;
};

/// Decomposes every attention layer of `decoder` (weights read in float64).
[[nodiscard]] ModelDecomposition decompose(nn::DecoderImpl& decoder);

/// Which directions of each absorbed pair survive: [layer][head] -> bool [d], true = kept. An
/// empty outer vector keeps everything.
struct KeptDirections {
    std::vector<std::vector<at::Tensor>> qk;
    std::vector<std::vector<at::Tensor>> vo;
};

/// Writes `decomposition` into `decoder`'s weights: Q-K absorbed: W_Q^h = U sqrt(S),
/// W_K^h = V sqrt(S) (the pruning code's split); V-O absorbed: W_V^h = U S, W_O^h = V^T; K per KV
/// head: W_K^g = Q R; V per KV head: W_V^g = Q and W_O^h = R_g W_O^h for each head of group g.
/// Directions not in `kept` become zero columns (and zero rows of W_O), so the model computes
/// exactly what the same model with those directions removed computes, with the original
/// 1/sqrt(d) attention scale.
void writeFolded(nn::DecoderImpl& decoder, const ModelDecomposition& decomposition,
                 const KeptDirections& kept = {});

/// How directions are chosen for removal. Exactly one of ratio and threshold is used.
struct PruneOptions {
    /// > 0: remove round(ratio * d) directions with the smallest singular values in every head of
    /// every absorbed pair (the same count everywhere, as the GPT-2-XL experiment). [0, 1).
    double ratio = 0.0;
    /// > 0: remove every direction whose singular value is at most this (Whisper's rule).
    double threshold = 0.0;
};

/// CLOVER's choice: the directions of each absorbed pair with the smallest singular values.
/// Throws Error{InvalidArgument} when the options are out of range, both or neither are set, or
/// the model has no absorbed pair (RoPE with grouped-query attention: nothing can be pruned).
[[nodiscard]] KeptDirections cloverKept(const ModelDecomposition& decomposition,
                                        const PruneOptions& options);

/// The vanilla baseline on the ORIGINAL weights of `decoder`: in each head, as many original head
/// dimensions as `clover` removes there, those with the smallest ||q col|| ||k col|| (Q-K; bias
/// rows included) or ||v col|| ||o row|| (V-O). Returns the original dimensions kept.
[[nodiscard]] KeptDirections vanillaKept(nn::DecoderImpl& decoder,
                                         const ModelDecomposition& decomposition,
                                         const KeptDirections& clover);

/// Zeroes the original head dimensions `kept` drops in `decoder` (q, k and their bias entries;
/// v, its bias entry and the matching row of W_O).
void writeVanillaPruned(nn::DecoderImpl& decoder, const ModelDecomposition& decomposition,
                        const KeptDirections& kept);

/// What pruning removes, counted from the shapes: per removed Q-K direction one column of W_Q and
/// of W_K with their bias entries, 2 (D + b); per removed V-O direction a column of W_V with its
/// bias entry and a row of W_O, D + b + D_out.
struct PruneCount {
    std::int64_t qkDirections = 0; ///< directions of every head of every layer
    std::int64_t voDirections = 0;
    std::int64_t qkRemovedDirections = 0;
    std::int64_t voRemovedDirections = 0;
    std::int64_t qkParamsPerDirection = 0;
    std::int64_t voParamsPerDirection = 0;
    std::int64_t qkRemovedParams = 0;
    std::int64_t voRemovedParams = 0;
    std::int64_t qkParams = 0; ///< the Q and K weights and biases of the absorbed pairs
    std::int64_t voParams = 0; ///< the V and O weights of the absorbed pairs (and V's bias)
    [[nodiscard]] std::int64_t removedParams() const { return qkRemovedParams + voRemovedParams; }
};
[[nodiscard]] PruneCount countPruned(const ModelDecomposition& decomposition,
                                     const KeptDirections& kept);

// ---- head slices (shared with the fine-tuning adapter) ------------------------------------

/// Output features [start, start + width) of `p` as a factor [in (+1), width] in float64: the
/// rows of its [out, in] weight, transposed, with the bias entries as a last row when
/// `withBias` (and the projection has a bias).
[[nodiscard]] at::Tensor outputColumns(const nn::ProjectionImpl& p, std::int64_t start,
                                       std::int64_t width, bool withBias = true);
/// Writes a factor made by outputColumns() back (weight rows and, with a bias row, the bias).
void setOutputColumns(nn::ProjectionImpl& p, std::int64_t start, const at::Tensor& factor);
/// Input features [start, start + width) of `p` (W_O^h) as [width, out] in float64.
[[nodiscard]] at::Tensor inputRows(const nn::ProjectionImpl& p, std::int64_t start,
                                   std::int64_t width);
void setInputRows(nn::ProjectionImpl& p, std::int64_t start, const at::Tensor& rows);

} // namespace ftw::clover
