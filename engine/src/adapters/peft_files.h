// SPDX-License-Identifier: MIT
#pragma once

#include "adapter_set.h"
#include "peft_config.h"

#include <nlohmann/json_fwd.hpp>

#include <filesystem>
#include <string>

namespace ftw::adapters {

/// How an adapter is written.
struct SaveOptions {
    /// For PiSSA, OLoRA and LoRA-GA (which rewrite the base weight): write a plain LoRA of rank 2r
    /// that loads on the original base (adapter-methods.md 1.10, option C). When false the init
    /// string is kept, and the adapter is only valid on the residual base (or, for exact PiSSA and
    /// OLoRA, re-initialised at load).
    bool convertToLora = true;
    /// base_model_name_or_path in adapter_config.json.
    std::string baseModelName;
};

/// Writes `adapter_config.json` and `adapter_model.safetensors` in PEFT's layout and key names
/// (`base_model.model.<module>.lora_A.weight`, ...; Bone and Bat as MISS) into `dir`. HeteroLoRA's
/// shortcuts that are on go into `heterolora_shortcuts.safetensors` beside them (keys
/// `base_model.model.model.layers.3.shortcut.residual1.lora_A.weight`, settings in its metadata):
/// PEFT cannot express them and loads the module LoRA part alone. The folder
/// is written under a temporary name and renamed when complete. Throws Error{InvalidArgument} for
/// full fine-tuning (it has no adapter: export the merged model) or an impossible conversion,
/// Error{Io} when writing fails.
void saveAdapter(const AdapterSet& adapters, const std::filesystem::path& dir,
                 const SaveOptions& options = {});

/// The adapter_config.json object saveAdapter writes (converted or not).
[[nodiscard]] nlohmann::json adapterConfigJson(const AdapterSet& adapters,
                                               const SaveOptions& options);

/// Attaches the adapter saved in `dir` (PEFT's layout) to `decoder` and loads its tensors, with
/// the HeteroLoRA shortcuts of its `heterolora_shortcuts.safetensors` when it has one.
/// Throws Error{ModelFormat} listing every missing, unexpected and mis-shaped tensor at once,
/// Error{NotFound} when the folder has no adapter_config.json or weights.
[[nodiscard]] AdapterSet loadAdapter(nn::DecoderImpl& decoder, const std::filesystem::path& dir);

} // namespace ftw::adapters
