// SPDX-License-Identifier: MIT
#include <ftw/adapter_config.h>

#include "core/enum_names.h"

#include <ftw/error.h>

#include <algorithm>
#include <array>
#include <cmath>

namespace ftw {
namespace {

constexpr core::NameTable<AdapterMethod, 12> kMethodNames{{
    {AdapterMethod::Lora, "lora"},
    {AdapterMethod::Pissa, "pissa"},
    {AdapterMethod::Olora, "olora"},
    {AdapterMethod::LoraGa, "lora-ga"},
    {AdapterMethod::Dora, "dora"},
    {AdapterMethod::Vera, "vera"},
    {AdapterMethod::Bone, "bone"},
    {AdapterMethod::Bat, "bat"},
    {AdapterMethod::AdaLora, "adalora"},
    {AdapterMethod::HeteroLora, "heterolora"},
    {AdapterMethod::Clover, "clover"},
    {AdapterMethod::Full, "full"},
}};

constexpr core::NameTable<ZeroCostProxy, 4> kProxyNames{{
    {ZeroCostProxy::GradNorm, "grad-norm"},
    {ZeroCostProxy::Snip, "snip"},
    {ZeroCostProxy::Synflow, "synflow"},
    {ZeroCostProxy::Random, "random"},
}};

void require(bool ok, const std::string& field, const std::string& expected)
{
    if (!ok) {
        throw Error(ErrorCode::InvalidArgument,
                    "adapter setting '" + field + "': expected " + expected);
    }
}

} // namespace

std::string_view adapterMethodName(AdapterMethod method)
{
    return core::nameOf(kMethodNames, method, "unknown");
}

std::optional<AdapterMethod> parseAdapterMethod(std::string_view name)
{
    return core::valueOf(kMethodNames, name);
}

std::vector<AdapterMethod> allAdapterMethods()
{
    std::vector<AdapterMethod> methods;
    for (const auto& [method, name] : kMethodNames) {
        methods.push_back(method);
    }
    return methods;
}

bool isLoraFamily(AdapterMethod method)
{
    return method == AdapterMethod::Lora || method == AdapterMethod::Pissa ||
           method == AdapterMethod::Olora || method == AdapterMethod::LoraGa ||
           method == AdapterMethod::Dora || method == AdapterMethod::HeteroLora;
}

std::string_view zeroCostProxyName(ZeroCostProxy proxy)
{
    return core::nameOf(kProxyNames, proxy, "unknown");
}

std::optional<ZeroCostProxy> parseZeroCostProxy(std::string_view name)
{
    return core::valueOf(kProxyNames, name);
}

std::int64_t effectiveRank(const AdapterConfig& config)
{
    if (config.method == AdapterMethod::AdaLora) {
        return config.initR;
    }
    if (config.method == AdapterMethod::Clover) {
        return 0; // every head trains a full d x d core: nothing to choose
    }
    if (config.r > 0) {
        return config.r;
    }
    switch (config.method) {
    case AdapterMethod::Vera:
        return 256;
    case AdapterMethod::Bone:
    case AdapterMethod::Bat:
        return 64;
    default:
        return 8;
    }
}

void validateAdapterConfig(const AdapterConfig& c)
{
    require(c.r >= 0, "r", "a rank of at least 1 (or 0 for the method's default)");
    require(c.alpha > 0.0, "lora_alpha", "a positive number");
    require(c.dropout >= 0.0 && c.dropout < 1.0, "lora_dropout", "a probability in [0, 1)");
    require(c.pissaNiter >= 0, "pissa_niter", "0 (exact SVD) or a positive number of iterations");
    require(c.loraPlusRatio >= 0.0, "loraplus_lr_ratio", "0 (off) or a positive ratio");
    constexpr std::array directions{"ArBr", "A2rBr", "ArB2r", "random"};
    require(std::find(directions.begin(), directions.end(), c.loraGaDirection) != directions.end(),
            "lora_ga_config.direction", "one of ArBr, A2rBr, ArB2r, random");
    constexpr std::array scales{"stable", "weight_svd", "gd_scale", "unit"};
    require(std::find(scales.begin(), scales.end(), c.loraGaScale) != scales.end(),
            "lora_ga_config.scale", "one of stable, weight_svd, gd_scale, unit");
    require(c.loraGaGamma > 0.0, "lora_ga_config.stable_gamma", "a positive number");
    require(c.loraGaBatches >= 1, "lora_ga_batches", "at least one batch");
    require(c.dInitial > 0.0 || c.method != AdapterMethod::Vera, "d_initial", "a positive number");
    if (c.method == AdapterMethod::HeteroLora) {
        require(c.budgetFraction > 0.0 && c.budgetFraction <= 1.0, "budget_fraction",
                "a share of the modules in (0, 1]");
        require(c.reallocEvery >= 0, "realloc_every", "0 (allocate once) or a number of steps");
        require(c.scoreBatches >= 1, "score_batches", "at least one batch");
        require(c.scoreWarmupSteps >= 0, "score_warmup_steps", "0 or more steps");
        require(c.shortcuts || !c.separateBudgets, "heterolora_separate_budgets",
                "false unless heterolora_shortcuts is true (it splits the budget between "
                "modules and shortcuts)");
    }
    require(c.method == AdapterMethod::HeteroLora || !c.shortcuts, "heterolora_shortcuts",
            "false for " + std::string(adapterMethodName(c.method)) +
                " (shortcut units belong to heterolora)");
    require(c.method == AdapterMethod::Lora || c.shortcutModules.empty(),
            "heterolora_shortcut_modules",
            "empty for " + std::string(adapterMethodName(c.method)) +
                " (a static HeteroLoRA allocation with shortcuts trains as lora)");
    require(c.shortcutAlpha > 0.0 && std::isfinite(c.shortcutAlpha), "heterolora_shortcut_alpha",
            "a positive number");
    if (c.method == AdapterMethod::AdaLora) {
        require(c.r == 0, "r", "none for adalora, whose starting rank is init_r (--init-r)");
        require(c.initR >= 1, "init_r", "a rank of at least 1");
        require(c.targetR >= 1 && c.targetR <= c.initR, "target_r", "a rank between 1 and init_r");
        require(c.totalStep > 0, "total_step", "the number of training steps (> 0)");
        require(c.tinit >= 0 && c.tfinal >= 0 && c.tinit < c.totalStep - c.tfinal, "tinit/tfinal",
                "tinit < total_step - tfinal");
        require(c.deltaT >= 1, "deltaT", "an interval of at least 1 step");
        require(c.beta1 >= 0.0 && c.beta1 < 1.0 && c.beta2 >= 0.0 && c.beta2 < 1.0, "beta1/beta2",
                "numbers in [0, 1)");
    }
}

} // namespace ftw
