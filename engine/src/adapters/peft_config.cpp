// SPDX-License-Identifier: MIT
// adapter_config.json read into FTW's adapter settings. Free of LibTorch, so the fuzz targets
// build it alone.
#include "peft_config.h"

#include "clover/segments.h"

#include <ftw/error.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <map>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <vector>

namespace ftw::adapters {
namespace {

using nlohmann::json;

[[noreturn]] void badField(const std::string& source, const std::string& field,
                           const std::string& expected)
{
    throw Error(ErrorCode::ModelFormat, source + ": field '" + field + "': expected " + expected);
}

/// Whether T holds whole numbers (alone, in a list or as a map's values): JSON's 2.5 or 1e30
/// must not reach them (nlohmann converts a float with a cast, undefined beyond the range).
template <typename T>
constexpr bool kIsWholeNumbers = std::is_integral_v<T> && !std::is_same_v<T, bool>;
template <typename T>
constexpr bool kIsWholeNumbers<std::vector<T>> = kIsWholeNumbers<T>;
template <typename K, typename V>
constexpr bool kIsWholeNumbers<std::map<K, V>> = kIsWholeNumbers<V>;

/// No number in `value` is a float, and none is negative where `isUnsigned`.
bool holdsWholeNumbers(const json& value, bool isUnsigned)
{
    if (value.is_number()) {
        return value.is_number_integer() && (!isUnsigned || value.is_number_unsigned());
    }
    if (value.is_structured()) {
        return std::all_of(value.begin(), value.end(), [isUnsigned](const json& item) {
            return holdsWholeNumbers(item, isUnsigned);
        });
    }
    return true; // another type: get<T>() says so below
}

template <typename T>
T field(const json& j, const std::string& source, const std::string& name, T fallback)
{
    const auto it = j.find(name);
    if (it == j.end() || it->is_null()) {
        return fallback;
    }
    if constexpr (kIsWholeNumbers<T>) {
        if (!holdsWholeNumbers(*it, std::is_unsigned_v<T>)) {
            badField(source, name,
                     std::string(std::is_unsigned_v<T> ? "whole numbers >= 0" : "whole numbers") +
                         ", got " + it->dump().substr(0, 80));
        }
    }
    try {
        return it->get<T>();
    } catch (const json::exception& e) {
        // nlohmann's message says which type it found and which it needed.
        badField(source, name, std::string("another type: ") + e.what());
    }
}

void readTargets(const json& j, const std::string& source, AdapterConfig& c)
{
    const auto targets = j.find("target_modules");
    if (targets == j.end() || targets->is_null()) {
        c.targetModules.clear(); // FTW's default: every block projection
    } else if (targets->is_string()) {
        const std::string value = *targets;
        if (value == "all-linear") {
            c.targetModules = {value};
        } else {
            c.targetRegex = value;
        }
    } else if (targets->is_array()) {
        c.targetModules = field<std::vector<std::string>>(j, source, "target_modules", {});
    } else {
        badField(source, "target_modules", "a list of module names or a regular expression");
    }
    const auto exclude = j.find("exclude_modules");
    if (exclude != j.end() && exclude->is_string()) {
        c.excludeRegex = *exclude;
    } else if (exclude != j.end() && exclude->is_array()) {
        c.excludeModules = field<std::vector<std::string>>(j, source, "exclude_modules", {});
    }
    const auto layers = j.find("layers_to_transform");
    if (layers != j.end() && layers->is_number_integer()) {
        c.layersToTransform = {layers->get<std::int64_t>()};
    } else if (layers != j.end() && layers->is_array()) {
        c.layersToTransform =
            field<std::vector<std::int64_t>>(j, source, "layers_to_transform", {});
    }
}

void readLora(const json& j, const std::string& source, AdapterConfig& c)
{
    c.r = field<std::int64_t>(j, source, "r", 8);
    c.alpha = field<double>(j, source, "lora_alpha", 8.0);
    c.dropout = field<double>(j, source, "lora_dropout", 0.0);
    c.useRslora = field<bool>(j, source, "use_rslora", false);
    c.rankPattern = field<std::map<std::string, std::int64_t>>(j, source, "rank_pattern", {});
    c.alphaPattern = field<std::map<std::string, double>>(j, source, "alpha_pattern", {});
    const bool dora = field<bool>(j, source, "use_dora", false);
    const auto init = j.find("init_lora_weights");
    std::string initName;
    if (init != j.end() && init->is_string()) {
        initName = *init;
    }
    if (initName == "gaussian") {
        c.gaussianInit = true;
    } else if (initName == "pissa" || initName.rfind("pissa_niter_", 0) == 0) {
        c.method = Method::Pissa;
        c.pissaNiter = 0;
        if (initName != "pissa") {
            const std::string_view digits = std::string_view(initName).substr(12);
            const auto [end, error] =
                std::from_chars(digits.data(), digits.data() + digits.size(), c.pissaNiter);
            if (error != std::errc() || end != digits.data() + digits.size() || c.pissaNiter < 0) {
                badField(source, "init_lora_weights",
                         "\"pissa_niter_N\" with N a whole number >= 0, not '" + initName + "'");
            }
        }
    } else if (initName == "olora") {
        c.method = Method::Olora;
    } else if (initName == "lora_ga") {
        c.method = Method::LoraGa;
    } else if (!initName.empty()) {
        badField(source, "init_lora_weights",
                 "true, false, \"gaussian\", \"pissa\", \"pissa_niter_N\", \"olora\" or "
                 "\"lora_ga\" (FTW does not build '" +
                     initName + "')");
    }
    if (dora) {
        if (c.method != Method::Lora) {
            badField(source, "use_dora", "false with init_lora_weights '" + initName + "'");
        }
        c.method = Method::Dora;
    }
}

} // namespace

AdapterConfig parseAdapterConfig(const json& j, const std::string& source)
{
    if (!j.is_object()) {
        throw Error(ErrorCode::ModelFormat, source + ": expected a JSON object");
    }
    const std::string type = field<std::string>(j, source, "peft_type", "");
    AdapterConfig c;
    c.method = Method::Lora;
    readTargets(j, source, c);
    if (type == "LORA") {
        readLora(j, source, c);
    } else if (type == "VERA") {
        c.method = Method::Vera;
        c.r = field<std::int64_t>(j, source, "r", 256);
        c.projectionPrngKey = field<std::uint64_t>(j, source, "projection_prng_key", 0);
        c.saveProjection = field<bool>(j, source, "save_projection", true);
        c.dropout = field<double>(j, source, "vera_dropout", 0.0);
        c.dInitial = field<double>(j, source, "d_initial", 0.1);
        if (!c.saveProjection) {
            badField(source, "save_projection",
                     "true: FTW reads VeRA's projections from the file, it does not regenerate "
                     "them from the seed");
        }
    } else if (type == "MISS" || type == "BONE") {
        c.r = field<std::int64_t>(j, source, "r", 64);
        c.dropout = field<double>(j, source, "miss_dropout", 0.0);
        const auto init = j.find("init_weights");
        const bool bat = init != j.end() && init->is_string() && *init == "bat";
        if (init != j.end() && init->is_string() && !bat) {
            badField(source, "init_weights", "true or \"bat\" (FTW does not build MiSS 'mini')");
        }
        c.method = bat ? Method::Bat : Method::Bone;
    } else if (type == "ADALORA") {
        c.method = Method::AdaLora;
        c.alpha = field<double>(j, source, "lora_alpha", 8.0);
        c.dropout = field<double>(j, source, "lora_dropout", 0.0);
        c.initR = field<std::int64_t>(j, source, "init_r", 12);
        c.targetR = field<std::int64_t>(j, source, "target_r", 8);
        c.tinit = field<std::int64_t>(j, source, "tinit", 0);
        c.tfinal = field<std::int64_t>(j, source, "tfinal", 0);
        c.deltaT = field<std::int64_t>(j, source, "deltaT", 1);
        c.beta1 = field<double>(j, source, "beta1", 0.85);
        c.beta2 = field<double>(j, source, "beta2", 0.85);
        c.orthRegWeight = field<double>(j, source, "orth_reg_weight", 0.5);
        c.totalStep = field<std::int64_t>(j, source, "total_step", 0);
        // The kept directions set each module's saved rank.
        for (const auto& [key, kept] :
             field<std::map<std::string, std::vector<bool>>>(j, source, "rank_pattern", {})) {
            std::string module = key.substr(0, key.rfind(".lora_E"));
            std::string escaped;
            for (const char ch : module) {
                escaped += ch == '.' ? std::string("\\.") : std::string(1, ch);
            }
            c.rankPattern[escaped] = std::count(kept.begin(), kept.end(), true);
        }
    } else if (type == "CLOVER") {
        c.method = Method::Clover;
        c.dropout = field<double>(j, source, "clover_dropout", 0.0);
        if (field<std::int64_t>(j, source, "mlp_block_size", clover::kMlpBlockSize) !=
            clover::kMlpBlockSize) {
            badField(source, "mlp_block_size", std::to_string(clover::kMlpBlockSize));
        }
    } else {
        badField(source, "peft_type",
                 "LORA, VERA, MISS, BONE, ADALORA or CLOVER (got '" + type + "')");
    }
    return c;
}

} // namespace ftw::adapters
