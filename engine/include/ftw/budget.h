// SPDX-License-Identifier: MIT
#pragma once

#include <ftw/adapter_config.h>
#include <ftw/expected.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace ftw {

/// One module an adapter would wrap, with what the method trains on it.
struct BudgetModule {
    std::string name;        ///< "model.layers.3.self_attn.q_proj"
    std::string kind;        ///< "self_attn.q_proj"; "lm_head"
    std::int64_t layer = -1; ///< block index; -1 for lm_head
    std::int64_t in = 0;
    std::int64_t out = 0;
    std::int64_t r = 0; ///< rank, block size or init_r after rank_pattern; 0 for full fine-tuning
    std::int64_t trainableParams = 0;
};

/// The modules of one kind added up (one row of the per-kind table).
struct BudgetKindTotal {
    std::string kind;
    std::int64_t in = 0;
    std::int64_t out = 0;
    std::int64_t rMin = 0; ///< rMin < rMax when rank_pattern gives some layers another rank
    std::int64_t rMax = 0;
    std::int64_t modules = 0;
    std::int64_t trainableParams = 0;
};

/// Trainable parameters of the adapted modules of one block (-1: lm_head).
struct BudgetLayerTotal {
    std::int64_t layer = -1;
    std::int64_t trainableParams = 0;
};

/// What the memory estimate assumes. Plain data with defaults.
struct MemoryOptions {
    std::string weightDtype;    ///< "F32", "F16" or "BF16"; empty: config.json's torch_dtype
    std::int64_t batchSize = 1; ///< sequences per optimiser step (no gradient accumulation)
    std::int64_t seqLen = 512;  ///< tokens per sequence
};

/// A rough training-memory estimate in bytes, split as the workbench shows it. NOTE: the figures
/// are analytic (no allocator overhead, CUDA context or fragmentation); expect the real peak to be
/// 10-30 % higher.
struct MemoryEstimate {
    std::string weightDtype; ///< the dtype the base weights are counted at
    std::int64_t batchSize = 0;
    std::int64_t seqLen = 0;
    std::int64_t baseWeightBytes = 0; ///< every base parameter at weightDtype
    /// Adapter weights and VeRA's shared buffers in fp32; for full fine-tuning, the fp32 master
    /// copy of the weights when they are stored in 16 bits (0 when they are fp32).
    std::int64_t adapterWeightBytes = 0;
    std::int64_t gradientBytes = 0;  ///< one fp32 gradient per trainable parameter
    std::int64_t optimizerBytes = 0; ///< AdamW's two fp32 moments per trainable parameter
    /// What autograd keeps for the backward pass, per layer and token at weightDtype: the inputs
    /// and outputs of both norms (4h), q and the attention output (2 n_heads d_head), k and v
    /// (2 n_kv_heads d_head), the MLP's four intermediates (4 I) and the attention scores and
    /// probabilities (2 n_heads T); plus the logits and their log-softmax in fp32 (2 V).
    /// bytes = B T (L (4h + 2q + 2kv + 4I + 2 n_heads T) size(weightDtype) + 2 V 4).
    std::int64_t activationBytes = 0;
    std::int64_t totalBytes = 0; ///< the sum of the five parts
};

/// The analytic parameter budget of one adapter configuration on one model.
struct BudgetReport {
    std::filesystem::path modelDir;
    std::string architecture; ///< config.json model_type
    std::int64_t numLayers = 0;
    std::string configDtype;     ///< torch_dtype as "F32", "F16" or "BF16"
    std::int64_t baseParams = 0; ///< every parameter of the model (a tied lm_head once)
    AdapterMethod method = AdapterMethod::Lora;
    std::string knob;                   ///< "r", "block size", "init_r"; empty for full fine-tuning
    std::int64_t rank = 0;              ///< the knob's value before rank_pattern; 0 for full
    std::vector<BudgetModule> modules;  ///< in model order; every projection for full
    std::vector<BudgetKindTotal> kinds; ///< in order of first appearance
    std::vector<BudgetLayerTotal> layers; ///< every block 0..L-1, then -1 when lm_head is adapted
    /// Trainable parameters outside the modules: embeddings, norms and positions (full only).
    std::int64_t otherTrainableParams = 0;
    std::int64_t trainableParams = 0;
    double percentOfBase = 0.0;          ///< 100 * trainableParams / baseParams
    std::int64_t sharedFrozenParams = 0; ///< VeRA's vera_A and vera_B; 0 for the other methods
    MemoryEstimate memory;
};

/// Computes the budget of `adapter` on the model in `modelDir` from its config.json alone (no
/// weights are read, so the folder may hold nothing else). AdaLoRA's schedule (total_step, tinit,
/// tfinal) does not change the count and is not required. Thread-safe; pure. Returns: NotFound
/// when the folder has no config.json; ModelFormat naming the file and field when config.json is
/// malformed; InvalidArgument for a bad adapter setting, targets that match nothing, or a rank the
/// method cannot use on a chosen module (the message names the module).
[[nodiscard]] Expected<BudgetReport> computeBudget(const std::filesystem::path& modelDir,
                                                   const AdapterConfig& adapter,
                                                   const MemoryOptions& memory = {});

/// What the solver aims at. The default value means "no target".
enum class BudgetTargetKind { None, Parameters, PercentOfBase };

struct BudgetTarget {
    BudgetTargetKind kind = BudgetTargetKind::None;
    double value = 0.0; ///< a parameter count, or a percentage of the base parameters (0-100)
};

/// One method's closest configuration to a target.
struct BudgetMatch {
    AdapterMethod method = AdapterMethod::Lora;
    std::string knob;       ///< "r", "block size", "init_r"; empty for full fine-tuning (fixed)
    std::int64_t value = 0; ///< the knob's value; 0 when there is no match or no knob
    std::int64_t trainableParams = 0;
    double relativeError = 0.0; ///< (trainableParams - target) / target, signed
    bool isFixed = false;       ///< full fine-tuning or CLOVER: nothing to choose
    bool isAtLimit = false;     ///< the target lies outside what the valid values reach
    /// What one step of the knob changes near the target: the counts of the two valid values
    /// around it differ by this many parameters (0 when fixed or with one valid value). A match
    /// is "within one rank step" when |trainableParams - target| <= stepParams.
    std::int64_t stepParams = 0;
    std::string unavailable; ///< non-empty: why the method cannot adapt these targets
};

/// For each of lora, pissa, olora, lora-ga, dora, vera, bone, bat and adalora, the rank, block
/// size or init_r (from 1 up to the largest useful one: min(in, out) of the chosen modules; for
/// VeRA, whose r is unbounded, 16x the widest in or out) whose trainable count is closest to
/// `target`, ties going to the smaller value; CLOVER and full fine-tuning last, fixed. Only valid
/// values are considered: Bat's block size divides in and out of every target, PiSSA/OLoRA keep r
/// <= min(in, out), LoRA-GA 2r <= min(in, out). Every other setting of `base` (targets, exclusions,
/// layers, rank_pattern) is kept. Thread-safe; pure. Returns the errors of computeBudget(), and
/// InvalidArgument when the target is missing or not positive.
[[nodiscard]] Expected<std::vector<BudgetMatch>> solveBudget(const std::filesystem::path& modelDir,
                                                             const AdapterConfig& base,
                                                             const BudgetTarget& target);

} // namespace ftw
