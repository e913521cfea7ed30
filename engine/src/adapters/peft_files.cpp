// SPDX-License-Identifier: MIT
#include "peft_files.h"

#include "adalora.h"
#include "lora.h"

#include "clover/segments.h"
#include "core/atomic_file.h"
#include "heterolora/shortcuts.h"
#include "model/projections.h"
#include "model/safetensors.h"

#include <ftw/error.h>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>
#include <torch/autograd.h>

#include <cmath>
#include <fstream>
#include <set>

namespace ftw::adapters {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::string kPrefix = "base_model.model.";
constexpr const char* kConfigFile = "adapter_config.json";
constexpr const char* kWeightsFile = "adapter_model.safetensors";

bool rewritesBase(Method method)
{
    return method == Method::Pissa || method == Method::Olora || method == Method::LoraGa;
}

std::string lastSegment(const std::string& name)
{
    const auto dot = name.rfind('.');
    return dot == std::string::npos ? name : name.substr(dot + 1);
}

/// target_modules as PEFT reads it: the regex when one was given, otherwise the shortest suffix
/// of each chosen kind that chooses no other kind ("q_proj", but "attn.c_proj" when GPT-2's
/// mlp.c_proj is not chosen).
json targetModulesJson(const AdapterSet& adapters, const std::vector<model::ProjectionSpec>& all)
{
    if (!adapters.config().targetRegex.empty()) {
        return adapters.config().targetRegex;
    }
    std::set<std::string> chosenKinds;
    for (const auto& m : adapters.modules()) {
        if (m.adapter->isEnabled()) {
            chosenKinds.insert(m.adapter->target().spec.kind);
        }
    }
    if (chosenKinds.empty()) {
        // Shortcuts only (HeteroLoRA chose no module): the candidates' kinds, all excluded, so
        // that the folder still adapts no module when it is loaded again.
        if (adapters.modules().empty()) {
            return json(adapters.config().targetModules);
        }
        for (const auto& m : adapters.modules()) {
            chosenKinds.insert(m.adapter->target().spec.kind);
        }
    }
    std::set<std::string> names;
    for (const std::string& kind : chosenKinds) {
        const std::string last = lastSegment(kind);
        const bool ambiguous = std::any_of(all.begin(), all.end(), [&](const auto& spec) {
            return lastSegment(spec.kind) == last && chosenKinds.count(spec.kind) == 0;
        });
        names.insert(ambiguous ? kind : last);
    }
    return json(std::vector<std::string>(names.begin(), names.end()));
}

/// A regular expression that matches exactly `name`.
std::string escapedName(const std::string& name)
{
    std::string escaped;
    for (const char ch : name) {
        escaped += ch == '.' ? std::string("\\.") : std::string(1, ch);
    }
    return escaped;
}

/// exclude_modules: the config's exclusions plus every module that is switched off (a
/// HeteroLoRA unit not chosen), by its full name; null when there are none.
json excludeModulesJson(const AdapterSet& adapters)
{
    const AdapterConfig& c = adapters.config();
    std::vector<std::string> off;
    for (const auto& m : adapters.modules()) {
        if (!m.adapter->isEnabled()) {
            off.push_back(m.name);
        }
    }
    if (!c.excludeRegex.empty()) {
        if (off.empty()) {
            return c.excludeRegex;
        }
        std::string regex = "(?:" + c.excludeRegex + ")";
        for (const std::string& name : off) {
            regex += "|" + escapedName(name);
        }
        return regex;
    }
    std::vector<std::string> all = c.excludeModules;
    all.insert(all.end(), off.begin(), off.end());
    return all.empty() ? json(nullptr) : json(all);
}

json layersJson(const AdapterConfig& c)
{
    return c.layersToTransform.empty() ? json(nullptr) : json(c.layersToTransform);
}

/// The fields every PEFT config shares.
json commonConfig(const AdapterSet& adapters, const SaveOptions& options, const std::string& type,
                  const std::vector<model::ProjectionSpec>& all)
{
    const AdapterConfig& c = adapters.config();
    json j;
    j["peft_type"] = type;
    j["task_type"] = "CAUSAL_LM";
    j["base_model_name_or_path"] =
        options.baseModelName.empty() ? json(nullptr) : json(options.baseModelName);
    j["inference_mode"] = true;
    j["bias"] = "none";
    j["modules_to_save"] = nullptr;
    j["revision"] = nullptr;
    j["layers_pattern"] = nullptr;
    j["layers_to_transform"] = layersJson(c);
    j["target_modules"] = targetModulesJson(adapters, all);
    if (json exclude = excludeModulesJson(adapters); !exclude.is_null()) {
        j["exclude_modules"] = std::move(exclude);
    }
    const bool conv1d =
        !adapters.modules().empty() && adapters.modules().front().adapter->target().spec.conv1d;
    j["fan_in_fan_out"] = conv1d;
    return j;
}

std::string loraInitName(const AdapterConfig& c)
{
    switch (c.method) {
    case Method::Pissa:
        return c.pissaNiter > 0 ? "pissa_niter_" + std::to_string(c.pissaNiter) : "pissa";
    case Method::Olora:
        return "olora";
    case Method::LoraGa:
        return "lora_ga";
    default:
        return c.gaussianInit ? "gaussian" : "";
    }
}

json loraConfig(const AdapterSet& adapters, const SaveOptions& options,
                const std::vector<model::ProjectionSpec>& all, bool converted)
{
    const AdapterConfig& c = adapters.config();
    json j = commonConfig(adapters, options, "LORA", all);
    const std::int64_t factor = converted ? 2 : 1;
    const double alphaFactor = !converted ? 1.0 : c.useRslora ? std::sqrt(2.0) : 2.0;
    j["r"] = effectiveRank(c) * factor;
    j["lora_alpha"] = c.alpha * alphaFactor;
    json ranks = json::object();
    for (const auto& [key, r] : c.rankPattern) {
        ranks[key] = r * factor;
    }
    json alphas = json::object();
    for (const auto& [key, alpha] : c.alphaPattern) {
        alphas[key] = alpha * (converted ? 2.0 : 1.0);
    }
    j["rank_pattern"] = ranks;
    j["alpha_pattern"] = alphas;
    j["lora_dropout"] = c.dropout;
    j["use_rslora"] = c.useRslora;
    j["use_dora"] = c.method == Method::Dora;
    const std::string init = converted ? "" : loraInitName(c);
    j["init_lora_weights"] = init.empty() ? json(true) : json(init);
    if (!converted && c.method == Method::LoraGa) {
        j["lora_ga_config"] = {{"direction", c.loraGaDirection},
                               {"scale", c.loraGaScale},
                               {"stable_gamma", c.loraGaGamma}};
    }
    return j;
}

json adaloraPattern(const AdapterSet& adapters)
{
    const AdaLoraAllocator* allocator = adapters.allocator();
    if (allocator == nullptr || allocator->rankPattern().empty()) {
        return nullptr;
    }
    json pattern = json::object();
    for (const auto& [key, kept] : allocator->rankPattern()) {
        pattern[key] = kept;
    }
    return pattern;
}

/// The directions of an AdaLoRA module that are saved: those its rank pattern keeps.
at::Tensor keptDirections(const AdapterSet& adapters, const std::string& module, std::int64_t r)
{
    const AdaLoraAllocator* allocator = adapters.allocator();
    if (allocator != nullptr) {
        const auto found = allocator->rankPattern().find(module + ".lora_E");
        if (found != allocator->rankPattern().end()) {
            std::vector<std::int64_t> kept;
            for (std::size_t i = 0; i < found->second.size(); ++i) {
                if (found->second[i]) {
                    kept.push_back(static_cast<std::int64_t>(i));
                }
            }
            return at::tensor(kept, at::kLong);
        }
    }
    return at::arange(r, at::kLong);
}

std::vector<std::pair<std::string, at::Tensor>> adapterTensors(const AdapterSet& adapters,
                                                               bool converted)
{
    const torch::NoGradGuard noGrad;
    std::vector<std::pair<std::string, at::Tensor>> tensors;
    auto add = [&](const std::string& key, const at::Tensor& t) {
        tensors.emplace_back(key, t.detach().to(at::kCPU, at::kFloat).contiguous());
    };
    for (const auto& m : adapters.modules()) {
        if (!m.adapter->isEnabled()) {
            continue; // excluded in adapter_config.json
        }
        const std::string prefix = kPrefix + m.name + ".";
        if (converted) {
            const auto& lora = dynamic_cast<const LoraAdapter&>(*m.adapter);
            add(prefix + "lora_A.weight", at::cat({lora.a(), lora.initialA()}, 0));
            add(prefix + "lora_B.weight", at::cat({lora.b(), -lora.initialB()}, 1));
            continue;
        }
        if (auto* adalora = dynamic_cast<AdaLoraAdapter*>(m.adapter.get())) {
            const at::Tensor kept = keptDirections(adapters, m.name, adalora->a().size(0));
            add(prefix + "lora_A", adalora->a().index_select(0, kept));
            add(prefix + "lora_E", adalora->e().index_select(0, kept));
            add(prefix + "lora_B", adalora->b().index_select(1, kept));
            continue;
        }
        for (const NamedTensor& t : m.adapter->tensors()) {
            add(prefix + t.name, t.tensor);
        }
    }
    if (adapters.veraProjections() && adapters.config().saveProjection) {
        add("base_model.vera_A", adapters.veraProjections()->a);
        add("base_model.vera_B", adapters.veraProjections()->b);
    }
    return tensors;
}

bool shouldConvert(const AdapterSet& adapters, const SaveOptions& options)
{
    const AdapterConfig& c = adapters.config();
    if (!options.convertToLora || !rewritesBase(c.method)) {
        return false;
    }
    if (c.useRslora && (!c.rankPattern.empty() || !c.alphaPattern.empty())) {
        throw Error(ErrorCode::InvalidArgument,
                    "a plain-LoRA export of rsLoRA with rank_pattern/alpha_pattern cannot keep "
                    "every scaling (PEFT refuses it too); save without conversion");
    }
    for (const auto& m : adapters.modules()) {
        const auto& lora = dynamic_cast<const LoraAdapter&>(*m.adapter);
        if (!lora.initialA().defined()) {
            throw Error(ErrorCode::InvalidArgument,
                        "the initial factors of '" + m.name +
                            "' are unknown (the adapter was loaded, not initialised here), so it "
                            "cannot be converted to a plain LoRA");
        }
    }
    return true;
}

/// Writes the files into a fresh sibling folder and swaps it in.
void writeFolder(const fs::path& dir, const json& config,
                 const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                 const heterolora::Shortcuts* shortcuts)
{
    const fs::path target = dir.has_filename() ? dir : dir.parent_path();
    const fs::path staging = fs::path(target.string() + ".partial");
    const fs::path previous = fs::path(target.string() + ".previous");
    std::error_code ec;
    fs::remove_all(staging, ec);
    fs::create_directories(staging, ec);
    if (ec) {
        throw Error(ErrorCode::Io, "cannot create '" + staging.string() + "': " + ec.message());
    }
    model::writeSafetensors(staging / kWeightsFile, tensors, {{"format", "pt"}});
    if (shortcuts != nullptr) {
        // PEFT cannot express HeteroLoRA's shortcuts: they go in a file of their own, so that
        // PEFT loads the module LoRA part of the folder alone.
        heterolora::writeShortcutsFile(*shortcuts, staging / heterolora::kShortcutsFile);
    }
    core::writeFileAtomically(staging / kConfigFile, config.dump(2) + "\n");
    fs::remove_all(previous, ec);
    if (fs::exists(target)) {
        fs::rename(target, previous, ec);
        if (ec) {
            throw Error(ErrorCode::Io, "cannot replace '" + target.string() + "': " + ec.message());
        }
    }
    fs::rename(staging, target, ec);
    if (ec) {
        throw Error(ErrorCode::Io, "cannot write '" + target.string() + "': " + ec.message());
    }
    fs::remove_all(previous, ec);
}

/// Copies the file's tensors into the adapters; collects every problem before throwing.
void loadTensors(AdapterSet& set, const model::SafetensorsFile& file, bool bone)
{
    const torch::NoGradGuard noGrad;
    std::vector<std::string> problems;
    std::set<std::string> used;
    auto copyInto = [&](const std::string& key, at::Tensor& destination) {
        const model::TensorInfo* info = file.find(key);
        if (info == nullptr) {
            problems.push_back("missing '" + key + "'");
            return;
        }
        used.insert(key);
        if (info->shape != destination.sizes().vec()) {
            problems.push_back("'" + key + "' has shape " + json(info->shape).dump() +
                               ", expected " + json(destination.sizes().vec()).dump());
            return;
        }
        destination.copy_(file.load(key));
    };
    for (const auto& m : set.modules()) {
        for (NamedTensor& t : m.adapter->tensors()) {
            std::string name = t.name;
            if (bone && name == "miss_block") {
                name = "bone_block";
            }
            copyInto(kPrefix + m.name + "." + name, t.tensor);
        }
    }
    if (set.veraProjections()) {
        copyInto("base_model.vera_A", set.veraProjections()->a);
        copyInto("base_model.vera_B", set.veraProjections()->b);
    }
    for (const model::TensorInfo& info : file.tensors()) {
        if (used.count(info.name) == 0) {
            problems.push_back("unexpected '" + info.name + "'");
        }
    }
    if (!problems.empty()) {
        std::string message =
            file.path().string() + " does not fit the model and its " + "adapter_config.json:";
        for (const std::string& p : problems) {
            message += "\n  " + p;
        }
        throw Error(ErrorCode::ModelFormat, message);
    }
}

} // namespace

json adapterConfigJson(const AdapterSet& adapters, const SaveOptions& options)
{
    const AdapterConfig& c = adapters.config();
    const std::vector<model::ProjectionSpec>& all = adapters.allProjections();
    switch (c.method) {
    case Method::Lora:
    case Method::Dora:
    case Method::Pissa:
    case Method::Olora:
    case Method::LoraGa:
    case Method::HeteroLora: // a plain LoRA of the units that are on
        return loraConfig(adapters, options, all, shouldConvert(adapters, options));
    case Method::Vera: {
        json j = commonConfig(adapters, options, "VERA", all);
        j["r"] = effectiveRank(c);
        j["projection_prng_key"] = c.projectionPrngKey;
        j["save_projection"] = c.saveProjection;
        j["vera_dropout"] = c.dropout;
        j["d_initial"] = c.dInitial;
        j["init_weights"] = true;
        return j;
    }
    case Method::Bone:
    case Method::Bat: {
        json j = commonConfig(adapters, options, "MISS", all);
        j.erase("fan_in_fan_out");
        j["r"] = effectiveRank(c);
        j["miss_dropout"] = c.method == Method::Bone ? c.dropout : 0.0;
        j["mini_r"] = 1;
        j["init_weights"] = c.method == Method::Bat ? json("bat") : json(true);
        return j;
    }
    case Method::AdaLora: {
        json j = commonConfig(adapters, options, "ADALORA", all);
        j["r"] = 8; // LoRA's r; AdaLoRA ignores it (and warns when it is not 8)
        j["lora_alpha"] = c.alpha;
        j["lora_dropout"] = c.dropout;
        j["init_lora_weights"] = true;
        j["use_rslora"] = false;
        j["use_dora"] = false;
        j["init_r"] = c.initR;
        j["target_r"] = c.targetR;
        j["tinit"] = c.tinit;
        j["tfinal"] = c.tfinal;
        j["deltaT"] = c.deltaT;
        j["beta1"] = c.beta1;
        j["beta2"] = c.beta2;
        j["orth_reg_weight"] = c.orthRegWeight;
        j["total_step"] = c.totalStep;
        j["rank_pattern"] = adaloraPattern(adapters);
        j["alpha_pattern"] = json::object();
        return j;
    }
    case Method::Clover: {
        // PEFT has no CLOVER: FTW's own peft_type, with the tensors of clover_adapter.h.
        json j = commonConfig(adapters, options, "CLOVER", all);
        j["clover_dropout"] = c.dropout;
        j["mlp_block_size"] = clover::kMlpBlockSize;
        j["init_weights"] = "absorb_decompose";
        return j;
    }
    case Method::Full:
        break;
    }
    throw Error(ErrorCode::InvalidArgument,
                "full fine-tuning has no adapter to save; export the merged model instead");
}

void saveAdapter(const AdapterSet& adapters, const fs::path& dir, const SaveOptions& options)
{
    const json config = adapterConfigJson(adapters, options);
    const bool converted = shouldConvert(adapters, options);
    const heterolora::Shortcuts* shortcuts =
        adapters.shortcuts() && adapters.shortcuts()->hasEnabled() ? adapters.shortcuts().get()
                                                                   : nullptr;
    writeFolder(dir, config, adapterTensors(adapters, converted), shortcuts);
}

AdapterSet loadAdapter(nn::DecoderImpl& decoder, const fs::path& dir)
{
    const fs::path configPath = dir / kConfigFile;
    const fs::path weightsPath = dir / kWeightsFile;
    if (!fs::exists(configPath)) {
        throw Error(ErrorCode::NotFound,
                    "'" + dir.string() + "' is not an adapter folder: it has no " + kConfigFile);
    }
    if (!fs::exists(weightsPath)) {
        const bool pickle = fs::exists(dir / "adapter_model.bin");
        throw Error(ErrorCode::NotFound,
                    "'" + dir.string() + "' has no " + kWeightsFile +
                        (pickle ? " (only a pickle adapter_model.bin, which FTW does not execute; "
                                  "convert it with PEFT: load it and save_pretrained it with "
                                  "safe_serialization=True)"
                                : ""));
    }
    json j;
    try {
        std::ifstream in(configPath);
        j = json::parse(in);
    } catch (const json::exception& e) {
        throw Error(ErrorCode::ModelFormat, configPath.string() + ": not valid JSON: " + e.what());
    }
    AdapterConfig config = parseAdapterConfig(j, configPath.string());
    const fs::path shortcutsPath = dir / heterolora::kShortcutsFile;
    if (fs::exists(shortcutsPath)) {
        heterolora::readShortcutsConfig(shortcutsPath, config);
    }
    AttachOptions options;
    options.initialise = false;
    AdapterSet set = AdapterSet::attach(decoder, config, options);
    const model::SafetensorsFile file = model::SafetensorsFile::open(weightsPath);
    loadTensors(set, file, j.value("peft_type", "") == "BONE");
    if (set.shortcuts()) {
        heterolora::loadShortcutsFile(*set.shortcuts(), shortcutsPath);
    }
    return set;
}

} // namespace ftw::adapters
