// SPDX-License-Identifier: MIT
#pragma once

#include "gated_lora.h"

#include "adapters/module_adapter.h"
#include "adapters/targets.h"
#include "model/model_config.h"
#include "nn/decoder.h"

#include <ftw/adapter_config.h>

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ftw::heterolora {

/// The four LoRA-adapted shortcut connections of a decoder layer (seed-papers.md 3.5), named by
/// the paper code's config keys: residual1, residual2, shortcut_sa, shortcut_ffn.
enum class ShortcutKind { Residual1, Residual2, ShortcutSa, ShortcutFfn };

[[nodiscard]] std::string_view shortcutKindName(ShortcutKind kind);

/// The file of an adapter folder that holds its shortcuts (PEFT cannot express them, so they are
/// kept out of adapter_model.safetensors and adapter_config.json, which PEFT loads as the module
/// LoRA alone).
inline constexpr const char* kShortcutsFile = "heterolora_shortcuts.safetensors";

/// Every shortcut a model can have, in order: per layer residual1, residual2, shortcut_sa and
/// (from layer 1 on) shortcut_ffn, so 4 L - 1 in all. Each is hidden x hidden, with kind
/// "shortcut.<key>" and the name "<layer>.shortcut.<key>" ("model.layers.3.shortcut.shortcut_sa",
/// "transformer.h.0.shortcut.residual1").
[[nodiscard]] std::vector<model::ProjectionSpec> shortcutSpecs(const model::ModelConfig& config);

/// Whether a target is a shortcut (its kind starts with "shortcut.").
[[nodiscard]] bool isShortcut(const adapters::Target& target);

/// The shortcuts `adapter` trains on `model`: every one for heterolora with shortcuts, those named
/// in shortcut_modules otherwise (usually none). Rank effectiveRank(adapter), alpha shortcut_alpha,
/// scaling alpha / r. Throws Error{InvalidArgument} naming a shortcut the model does not have.
[[nodiscard]] std::vector<adapters::Target> shortcutTargets(const model::ModelConfig& model,
                                                            const AdapterConfig& adapter);

/// One LoRA-adapted shortcut (seed-papers.md 3.5): a frozen D x D base, the identity (residual1,
/// residual2) or zero (shortcut_sa, shortcut_ffn), never materialised, plus s B A with A [r, D],
/// B [D, r]. The identity's term is the block's own skip, so what a shortcut adds to the residual
/// stream is branch(x) = s (x A^T) B^T. No dropout. A unit that is off adds nothing, gets no
/// gradient and keeps its weights.
class ShortcutLora : public SwitchableLora {
public:
    ShortcutLora(adapters::Target target, ShortcutKind kind);

    [[nodiscard]] const adapters::Target& target() const override { return m_target; }
    [[nodiscard]] const at::Tensor& a() const override { return m_a; }
    [[nodiscard]] const at::Tensor& b() const override { return m_b; }
    void setFactors(const at::Tensor& a, const at::Tensor& b) override;
    [[nodiscard]] bool isEnabled() const override { return m_isEnabled; }
    void setEnabled(bool isEnabled) override { m_isEnabled = isEnabled; }
    [[nodiscard]] ShortcutKind kind() const { return m_kind; }

    /// A as LoRA's default init (kaiming-uniform with bound 1/sqrt(D), or N(0, 1/r) with
    /// `gaussian`), B = 0: the shortcut starts at its base.
    void initDefault(bool gaussian, at::Generator generator);
    /// s (x A^T) B^T in A's dtype.
    [[nodiscard]] at::Tensor branch(const at::Tensor& x) const;
    /// lora_A.weight and lora_B.weight.
    [[nodiscard]] std::vector<adapters::NamedTensor> tensors() const;
    void to(const c10::Device& device);

private:
    adapters::Target m_target;
    ShortcutKind m_kind;
    at::Tensor m_a;
    at::Tensor m_b;
    bool m_isEnabled = true;
};

/// The shortcuts of one decoder, installed as its residual hooks. Per layer l (pre-LN blocks):
///
///   residual1:    h_mid  = h_in + s B1 A1 h_in + Attn(LN1(h_in))
///   shortcut_ffn: h_mid += s B4 A4 h_mid^(l-1)                    (absent in layer 0)
///   residual2:    h_out  = h_mid + s B2 A2 h_mid + FFN(LN2(h_mid))
///   shortcut_sa:  h_out += s B3 A3 h_in
///
/// where h_mid^(l-1) is the previous layer's h_mid with its own shortcuts. Every term enters the
/// residual stream before the next normalisation reads it (the spec's "clean" choice, 3.5): at
/// init (B = 0), or with every unit off, the model is exactly the base model. The released code's
/// LayerNorm applied again after adding shortcut_sa / shortcut_ffn is not reproduced.
class Shortcuts : public nn::ResidualHooks {
public:
    struct Entry {
        std::string name; ///< "model.layers.3.shortcut.residual1"
        std::shared_ptr<ShortcutLora> unit;
    };

    /// Units for `targets` (from shortcutTargets), with A and B at zero; call initDefault.
    explicit Shortcuts(const std::vector<adapters::Target>& targets);

    at::Tensor middle(std::int64_t layer, const at::Tensor& input, const at::Tensor& previousMid,
                      const at::Tensor& mid) override;
    at::Tensor output(std::int64_t layer, const at::Tensor& input, const at::Tensor& mid,
                      const at::Tensor& output) override;

    [[nodiscard]] const std::vector<Entry>& entries() const { return m_entries; }
    /// Every unit's A (kaiming-uniform or gaussian) and B = 0, drawn in order from `generator`.
    void initDefault(bool gaussian, at::Generator generator);
    /// Every tensor by its full name ("model.layers.0.shortcut.residual1.lora_A.weight").
    [[nodiscard]] std::vector<std::pair<std::string, at::Tensor>> namedTensors() const;
    /// Whether any unit is on.
    [[nodiscard]] bool hasEnabled() const;
    void to(const c10::Device& device);

private:
    /// h + branch(source) when the unit exists and is on; h otherwise.
    [[nodiscard]] at::Tensor added(std::int64_t layer, ShortcutKind kind, const at::Tensor& h,
                                   const at::Tensor& source) const;

    std::vector<Entry> m_entries;
    std::vector<std::array<ShortcutLora*, 4>> m_byLayer; ///< [layer][kind], null where absent
};

/// Writes the shortcuts that are on to `path` (kShortcutsFile) under PEFT-style keys
/// "base_model.model.<name>.lora_A.weight" / ".lora_B.weight" (fp32), with the metadata
/// "shortcut_modules" (a JSON list of their names), "r" and "shortcut_alpha". Throws Error{Io}.
void writeShortcutsFile(const Shortcuts& shortcuts, const std::filesystem::path& path);

/// Reads the settings of a shortcuts file into `config`: shortcut_modules and shortcut_alpha.
/// Throws Error{ModelFormat} naming the file and the field when they are missing or malformed, or
/// when its rank is not the config's.
void readShortcutsConfig(const std::filesystem::path& path, AdapterConfig& config);

/// Copies the tensors of a shortcuts file into `shortcuts`. Throws Error{ModelFormat} listing every
/// missing, unexpected and mis-shaped tensor at once.
void loadShortcutsFile(const Shortcuts& shortcuts, const std::filesystem::path& path);

} // namespace ftw::heterolora
