// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ftw {

/// The adapter methods of adapter-methods.md. Names on the command line and in run configs are
/// those of methodName(): lora, pissa, olora, lora-ga, dora, vera, bone, bat, adalora, heterolora,
/// clover, full.
enum class AdapterMethod {
    Lora,
    Pissa,
    Olora,
    LoraGa,
    Dora,
    Vera,
    Bone,
    Bat,
    AdaLora,
    HeteroLora,
    Clover, ///< CLOVER (seed-papers.md 2.5): a trainable d x d core per head; no rank
    Full
};

[[nodiscard]] std::string_view adapterMethodName(AdapterMethod method);
[[nodiscard]] std::optional<AdapterMethod> parseAdapterMethod(std::string_view name);
[[nodiscard]] std::vector<AdapterMethod> allAdapterMethods();

/// Methods of the LoRA family (an A and a B per module; rsLoRA, dropout and LoRA+ apply).
[[nodiscard]] bool isLoraFamily(AdapterMethod method);

/// HeteroLoRA's zero-cost proxies (seed-papers.md 3.3): names grad-norm, snip, synflow, random.
enum class ZeroCostProxy { GradNorm, Snip, Synflow, Random };

[[nodiscard]] std::string_view zeroCostProxyName(ZeroCostProxy proxy);
[[nodiscard]] std::optional<ZeroCostProxy> parseZeroCostProxy(std::string_view name);

/// Everything that selects and shapes the adapter of a run. Field names follow PEFT's configs.
struct AdapterConfig {
    AdapterMethod method = AdapterMethod::Lora;

    // Targets (adapter-methods.md 1.3).
    /// Module names or suffixes ("q_proj", "self_attn.q_proj", a full dotted name); "all-linear"
    /// or an empty list means every projection of the blocks (not lm_head).
    std::vector<std::string> targetModules;
    /// When set, a regular expression that must match a whole module name (replaces the list).
    std::string targetRegex;
    std::vector<std::string> excludeModules;     ///< names or suffixes never adapted
    std::string excludeRegex;                    ///< or a regular expression of whole names
    std::vector<std::int64_t> layersToTransform; ///< empty: every layer
    std::map<std::string, std::int64_t> rankPattern;
    std::map<std::string, double> alphaPattern;

    /// Rank (LoRA family, DoRA, VeRA) or block size (Bone, Bat); 0 means the method's default:
    /// 8 for the LoRA family, 256 for VeRA, 64 for Bone and Bat. AdaLoRA uses initR; CLOVER has
    /// no rank (its cores are head_dim x head_dim, or 64 x 64 on up projections) and ignores it.
    std::int64_t r = 0;
    double alpha = 16.0;
    double dropout = 0.0;
    bool useRslora = false;
    bool gaussianInit = false;  ///< LoRA's init_lora_weights="gaussian": A ~ N(0, 1/r)
    int pissaNiter = 0;         ///< > 0: randomised SVD with this many power iterations
    double loraPlusRatio = 0.0; ///< LoRA+ learning-rate ratio of B over A; 0 is off

    // LoRA-GA (PEFT's variant).
    std::string loraGaDirection = "ArB2r"; ///< ArBr, A2rBr, ArB2r, random
    std::string loraGaScale = "stable";    ///< stable, weight_svd, gd_scale, unit
    double loraGaGamma = 16.0;
    int loraGaBatches = 8; ///< batches of the gradient estimate

    // VeRA.
    std::uint64_t projectionPrngKey = 0;
    double dInitial = 0.1;
    bool saveProjection = true;

    // AdaLoRA.
    std::int64_t initR = 12;
    std::int64_t targetR = 8;
    std::int64_t tinit = 0;
    std::int64_t tfinal = 0;
    std::int64_t deltaT = 1;
    double beta1 = 0.85;
    double beta2 = 0.85;
    double orthRegWeight = 0.5;
    std::int64_t totalStep = 0;

    // HeteroLoRA (seed-papers.md 3): every target module is a unit, on at rank r or off.
    ZeroCostProxy proxy = ZeroCostProxy::GradNorm;
    double budgetFraction = 0.25;      ///< turn_on_percentile: floor(p N) of N units are on
    std::int64_t reallocEvery = 0;     ///< re-score every this many steps; 0: once, at step 0
    std::int64_t scoreBatches = 32;    ///< imp_limit_test_batches: training batches a score reads
    std::int64_t scoreWarmupSteps = 2; ///< throwaway AdamW steps before SNIP/SYNFLOW (B != 0)
    /// HeteroLoRA's LoRA-adapted shortcut connections (seed-papers.md 3.5) are units too: four
    /// per layer (residual1, residual2, shortcut_sa, shortcut_ffn; layer 0 has no shortcut_ffn),
    /// each a D x D identity or zero base plus a LoRA pair of rank r. heterolora only.
    bool shortcuts = false;
    double shortcutAlpha = 4.0; ///< the shortcuts' LoRA alpha (scale shortcut_alpha / r)
    /// With shortcuts: floor(p N_lora) modules and round(p N_shortcut) shortcuts are chosen in two
    /// separate rankings; false (combined) ranks both kinds together for the same total.
    bool separateBudgets = false;
    /// The shortcuts a static allocation trains (always on), by full name
    /// ("model.layers.3.shortcut.shortcut_sa"); lora only. Written by `ftw allocate`.
    std::vector<std::string> shortcutModules;

    /// Seeds every random init (A of LoRA, VeRA's projections, randomised SVD).
    std::uint64_t seed = 0;
};

/// The rank or block size the method uses: `r` when set, otherwise the method's default.
[[nodiscard]] std::int64_t effectiveRank(const AdapterConfig& config);

/// Throws Error{InvalidArgument} naming the field when a value is out of range (r < 0, dropout
/// outside [0, 1), an unknown LoRA-GA direction, AdaLoRA without total_step, ...).
void validateAdapterConfig(const AdapterConfig& config);

} // namespace ftw
