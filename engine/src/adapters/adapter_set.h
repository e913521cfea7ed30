// SPDX-License-Identifier: MIT
#pragma once

#include "adalora.h"
#include "module_adapter.h"
#include "vera.h"

#include "nn/decoder.h"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace ftw::heterolora {
class Shortcuts;
} // namespace ftw::heterolora

namespace ftw::adapters {

/// What attaching needs beyond the config.
struct AttachOptions {
    /// LoRA-GA's gradient estimate: runs the forward and backward pass of the next batch on the
    /// model (loss.backward()); called lora_ga_batches times with only the target weights
    /// requiring gradients. Required for lora-ga.
    std::function<void(nn::DecoderImpl&)> backwardOnNextBatch;
    /// False when loading saved tensors: the init that only draws random values is skipped, but
    /// inits that rewrite the base weight deterministically (PiSSA with exact SVD, OLoRA) still
    /// run.
    bool initialise = true;
};

/// The adapters of one run on one decoder: the model-level step that selects targets, freezes
/// everything else and installs a ModuleAdapter on each chosen projection (adapter-methods.md 1).
class AdapterSet {
public:
    struct Module {
        std::string name; ///< "model.layers.0.self_attn.q_proj"
        nn::Projection projection{nullptr};
        std::shared_ptr<ModuleAdapter> adapter;
    };

    /// Selects the targets of `config` among the decoder's projections, freezes every parameter
    /// (full fine-tuning instead makes every parameter train) and installs the adapters,
    /// initialised with a CPU generator seeded by config.seed. HeteroLoRA's shortcuts (heterolora
    /// with shortcuts, or lora with shortcut_modules) are installed as the decoder's residual
    /// hooks, initialised after the modules; a config with shortcut_modules may select no module
    /// at all. The decoder must be on the CPU; move both afterwards with to(). Throws
    /// Error{InvalidArgument} for bad settings or targets.
    static AdapterSet attach(nn::DecoderImpl& decoder, const AdapterConfig& config,
                             const AttachOptions& options = {});

    AdapterSet(AdapterSet&& other) noexcept;
    AdapterSet& operator=(AdapterSet&& other) noexcept;
    AdapterSet(const AdapterSet&) = delete;
    AdapterSet& operator=(const AdapterSet&) = delete;
    /// Uninstalls the adapters from the projections and the shortcuts from the decoder, which
    /// must still exist (the base weights stay as they are).
    ~AdapterSet();

    [[nodiscard]] const AdapterConfig& config() const { return m_config; }
    [[nodiscard]] const std::vector<Module>& modules() const { return m_modules; }
    [[nodiscard]] const Module* find(const std::string& moduleName) const;
    /// Every projection of the model (targets or not), as config.json describes them.
    [[nodiscard]] const std::vector<model::ProjectionSpec>& allProjections() const
    {
        return m_allProjections;
    }

    /// Every tensor that trains, with its full in-model name ("model.layers.0.self_attn.q_proj.
    /// lora_A.weight"; for full fine-tuning the decoder's own parameter names); the shortcuts'
    /// ("model.layers.0.shortcut.residual1.lora_A.weight") after the modules'.
    [[nodiscard]] std::vector<std::pair<std::string, at::Tensor>> trainableParameters() const;
    /// Elements of trainableParameters().
    [[nodiscard]] std::int64_t trainableCount() const;

    /// Merges every adapter into its base weight / undoes it. No-ops when already so. Shortcuts
    /// are in no weight: they keep running as the decoder's residual hooks.
    void merge();
    void unmerge();
    [[nodiscard]] bool merged() const { return m_merged; }

    /// Moves the adapters (and VeRA's projections) to `device`; move the decoder separately.
    void to(const c10::Device& device);

    /// VeRA's shared projections; null for other methods.
    [[nodiscard]] const std::shared_ptr<VeraProjections>& veraProjections() const { return m_vera; }
    /// AdaLoRA's rank allocator; null for other methods.
    [[nodiscard]] AdaLoraAllocator* allocator() const { return m_allocator.get(); }
    /// HeteroLoRA's shortcut units (heterolora/shortcuts.h); null when the config has none.
    [[nodiscard]] const std::shared_ptr<heterolora::Shortcuts>& shortcuts() const
    {
        return m_shortcuts;
    }

private:
    AdapterSet() = default;
    void uninstall();

    AdapterConfig m_config;
    nn::DecoderImpl* m_decoder = nullptr;
    std::vector<Module> m_modules;
    std::vector<model::ProjectionSpec> m_allProjections;
    std::shared_ptr<VeraProjections> m_vera;
    std::unique_ptr<AdaLoraAllocator> m_allocator;
    std::shared_ptr<heterolora::Shortcuts> m_shortcuts;
    bool m_merged = false;
};

/// LoRA+ optimiser groups (adapter-methods.md 6): B matrices and every 1-D adapter tensor at
/// lr * ratio, the rest at lr; weight decay on all but biases.
struct ParameterGroup {
    std::string name; ///< "A" or "B"
    std::vector<at::Tensor> parameters;
    double learningRate = 0.0;
    double weightDecay = 0.0;
};
[[nodiscard]] std::vector<ParameterGroup>
loraPlusGroups(const AdapterSet& adapters, double learningRate, double ratio, double weightDecay);

} // namespace ftw::adapters
