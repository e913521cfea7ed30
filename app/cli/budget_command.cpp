// SPDX-License-Identifier: MIT
// `ftw budget`: the analytic parameter budget, memory estimate and equal-budget solver.
#include "cli.h"
#include "commands.h"
#include "format.h"

#include <ftw/budget.h>
#include <ftw/format.h>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <functional>
#include <iomanip>
#include <iterator>
#include <string>
#include <vector>

namespace ftw::cli {
namespace {

std::string joined(const std::vector<std::string>& items)
{
    std::string text;
    for (const std::string& item : items) {
        text += (text.empty() ? "" : ", ") + item;
    }
    return text;
}

std::string methodList()
{
    std::vector<std::string> names;
    for (const AdapterMethod method : allAdapterMethods()) {
        names.emplace_back(adapterMethodName(method));
    }
    return joined(names);
}

/// "16", "0.5": as short as the value allows.
std::string compact(double value)
{
    std::array<char, 64> buffer{};
    std::snprintf(buffer.data(), buffer.size(), "%g", value);
    return buffer.data();
}

std::string signedPercent(double fraction)
{
    return (fraction >= 0.0 ? "+" : "") + formatFixed(100.0 * fraction, 2) + "%";
}

/// The rank range of a kind: "16", or "4-8" when rank_pattern varies it.
std::string rankText(const BudgetKindTotal& k)
{
    if (k.rMax == 0) {
        return "-";
    }
    return k.rMin == k.rMax ? std::to_string(k.rMin)
                            : std::to_string(k.rMin) + "-" + std::to_string(k.rMax);
}

nlohmann::json settingsJson(const BudgetRequest& request, const BudgetReport& r)
{
    const AdapterConfig& a = request.adapter;
    nlohmann::json json = {
        {"knob", r.knob.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.knob)},
        {"value", r.rank},
        {"alpha", a.alpha},
        {"use_rslora", a.useRslora},
        {"target_modules", a.targetModules},
        {"target_regex", a.targetRegex},
        {"exclude_modules", a.excludeModules},
        {"layers_to_transform", a.layersToTransform}};
    if (r.method == AdapterMethod::AdaLora) {
        json["init_r"] = a.initR;
        json["target_r"] = a.targetR;
    }
    return json;
}

nlohmann::json matchesJson(const BudgetRequest& request, const std::vector<BudgetMatch>& matches)
{
    nlohmann::json rows = nlohmann::json::array();
    for (const BudgetMatch& m : matches) {
        rows.push_back({{"method", adapterMethodName(m.method)},
                        {"knob", m.knob.empty() ? nlohmann::json(nullptr) : nlohmann::json(m.knob)},
                        {"value", m.value},
                        {"trainable_params", m.trainableParams},
                        {"relative_error", m.relativeError},
                        {"fixed", m.isFixed},
                        {"at_limit", m.isAtLimit},
                        {"unavailable", m.unavailable.empty() ? nlohmann::json(nullptr)
                                                              : nlohmann::json(m.unavailable)}});
    }
    const bool isPercent = request.target.kind == BudgetTargetKind::PercentOfBase;
    return {
        {"target",
         {{"kind", isPercent ? "percent_of_base" : "parameters"}, {"value", request.target.value}}},
        {"matches", rows}};
}

nlohmann::json reportJson(const BudgetRequest& request, const BudgetReport& r)
{
    nlohmann::json modules = nlohmann::json::array();
    for (const BudgetModule& m : r.modules) {
        modules.push_back({{"name", m.name},
                           {"kind", m.kind},
                           {"layer", m.layer},
                           {"in", m.in},
                           {"out", m.out},
                           {"r", m.r},
                           {"trainable_params", m.trainableParams}});
    }
    nlohmann::json kinds = nlohmann::json::array();
    for (const BudgetKindTotal& k : r.kinds) {
        kinds.push_back({{"kind", k.kind},
                         {"in", k.in},
                         {"out", k.out},
                         {"r_min", k.rMin},
                         {"r_max", k.rMax},
                         {"modules", k.modules},
                         {"trainable_params", k.trainableParams}});
    }
    nlohmann::json layers = nlohmann::json::array();
    for (const BudgetLayerTotal& l : r.layers) {
        layers.push_back({{"layer", l.layer}, {"trainable_params", l.trainableParams}});
    }
    const MemoryEstimate& m = r.memory;
    return {{"model",
             {{"path", r.modelDir.string()},
              {"architecture", r.architecture},
              {"layers", r.numLayers},
              {"dtype", r.configDtype},
              {"parameters", r.baseParams}}},
            {"method", adapterMethodName(r.method)},
            {"settings", settingsJson(request, r)},
            {"trainable_params", r.trainableParams},
            {"percent_of_base", r.percentOfBase},
            {"shared_frozen_params", r.sharedFrozenParams},
            {"other_trainable_params", r.otherTrainableParams},
            {"modules", modules},
            {"kinds", kinds},
            {"layers", layers},
            {"memory",
             {{"weight_dtype", m.weightDtype},
              {"batch_size", m.batchSize},
              {"seq_len", m.seqLen},
              {"base_weight_bytes", m.baseWeightBytes},
              {"adapter_weight_bytes", m.adapterWeightBytes},
              {"gradient_bytes", m.gradientBytes},
              {"optimizer_bytes", m.optimizerBytes},
              {"activation_bytes", m.activationBytes},
              {"total_bytes", m.totalBytes}}}};
}

std::string settingsText(const BudgetRequest& request, const BudgetReport& r)
{
    const AdapterConfig& a = request.adapter;
    std::string text(adapterMethodName(r.method));
    switch (r.method) {
    case AdapterMethod::Full:
        return text + ": every parameter";
    case AdapterMethod::Clover:
        return text + ": a full core per head (d x d; 64 x 64 on up projections)";
    case AdapterMethod::AdaLora:
        return text + ": init_r " + std::to_string(a.initR) + ", target_r " +
               std::to_string(a.targetR) + ", alpha " + compact(a.alpha);
    case AdapterMethod::Vera:
    case AdapterMethod::Bone:
    case AdapterMethod::Bat:
        return text + ": " + r.knob + " " + std::to_string(r.rank);
    default:
        return text + ": r " + std::to_string(r.rank) + ", alpha " + compact(a.alpha) +
               (a.useRslora ? ", rsLoRA" : "");
    }
}

void printKinds(std::ostream& out, const BudgetReport& r)
{
    out << '\n'
        << std::left << std::setw(20) << "module kind" << std::right << std::setw(9) << "in"
        << " -> " << std::left << std::setw(7) << "out" << std::right << std::setw(4) << "r"
        << std::setw(16) << "per module" << std::setw(9) << "modules" << std::setw(18) << "total"
        << '\n';
    for (const BudgetKindTotal& k : r.kinds) {
        const bool isUniform = k.rMin == k.rMax && k.modules > 0;
        out << std::left << std::setw(20) << k.kind << std::right << std::setw(9) << k.in << " -> "
            << std::left << std::setw(7) << k.out << std::right << std::setw(4) << rankText(k)
            << std::setw(16) << (isUniform ? formatGrouped(k.trainableParams / k.modules) : "mixed")
            << std::setw(9) << k.modules << std::setw(18) << formatGrouped(k.trainableParams)
            << '\n';
    }
    if (r.otherTrainableParams != 0) {
        out << std::left << std::setw(69) << "embeddings and norms" << std::right << std::setw(18)
            << formatGrouped(r.otherTrainableParams) << '\n';
    }
    out << std::left << std::setw(69) << "total" << std::right << std::setw(18)
        << formatGrouped(r.trainableParams) << '\n';
}

void printLayers(std::ostream& out, const BudgetReport& r)
{
    std::vector<BudgetLayerTotal> adapted;
    std::copy_if(r.layers.begin(), r.layers.end(), std::back_inserter(adapted),
                 [](const BudgetLayerTotal& l) { return l.trainableParams > 0 && l.layer >= 0; });
    if (adapted.empty() || r.method == AdapterMethod::Full) {
        return;
    }
    const bool isEven = std::all_of(adapted.begin(), adapted.end(), [&](const BudgetLayerTotal& l) {
        return l.trainableParams == adapted.front().trainableParams;
    });
    if (isEven) {
        out << "Per layer: " << formatGrouped(adapted.front().trainableParams) << " in each of "
            << adapted.size() << " of " << r.numLayers << " layers\n";
        return;
    }
    out << "Per layer:\n";
    for (const BudgetLayerTotal& l : adapted) {
        out << "  layer " << std::setw(4) << l.layer << std::setw(18)
            << formatGrouped(l.trainableParams) << '\n';
    }
}

void printMemory(std::ostream& out, const BudgetReport& r)
{
    const MemoryEstimate& m = r.memory;
    const bool isFull = r.method == AdapterMethod::Full;
    const std::array<std::pair<const char*, std::int64_t>, 6> parts{{
        {"base weights", m.baseWeightBytes},
        {isFull ? "master weights (fp32)" : "adapter weights (fp32)", m.adapterWeightBytes},
        {"gradients (fp32)", m.gradientBytes},
        {"AdamW states (fp32)", m.optimizerBytes},
        {"activations", m.activationBytes},
        {"total", m.totalBytes},
    }};
    out << "\nMemory estimate for training (batch " << m.batchSize << " x " << m.seqLen
        << " tokens, base weights " << m.weightDtype << "):\n";
    for (const auto& [name, bytes] : parts) {
        out << "  " << std::left << std::setw(24) << name << std::right << std::setw(12)
            << formatBytes(bytes) << '\n';
    }
}

void printMatches(std::ostream& out, const BudgetRequest& request,
                  const std::vector<BudgetMatch>& matches)
{
    out << "\nEqual-budget solver, target ";
    if (request.target.kind == BudgetTargetKind::PercentOfBase) {
        out << formatFixed(request.target.value, 4) << "% of the base parameters:\n";
    } else {
        out << formatGrouped(std::llround(request.target.value)) << " trainable parameters:\n";
    }
    out << "  " << std::left << std::setw(10) << "method" << std::setw(12) << "knob" << std::right
        << std::setw(8) << "value" << std::setw(18) << "trainable" << std::setw(12) << "error"
        << '\n';
    for (const BudgetMatch& m : matches) {
        out << "  " << std::left << std::setw(10) << adapterMethodName(m.method);
        if (!m.unavailable.empty()) {
            out << "unavailable: " << m.unavailable << '\n';
            continue;
        }
        out << std::setw(12) << (m.isFixed ? "(fixed)" : m.knob) << std::right << std::setw(8)
            << (m.isFixed ? "-" : std::to_string(m.value)) << std::setw(18)
            << formatGrouped(m.trainableParams) << std::setw(12) << signedPercent(m.relativeError)
            << (m.isAtLimit && !m.isFixed ? "  (out of reach)" : "") << '\n';
    }
}

void printReport(std::ostream& out, const BudgetRequest& request, const BudgetReport& r)
{
    out << "Model      " << r.modelDir.string() << ": " << r.architecture << ", " << r.numLayers
        << " layers, " << formatGrouped(r.baseParams) << " parameters (" << r.configDtype << ")\n"
        << "Method     " << settingsText(request, r) << '\n'
        << "Trainable  " << formatGrouped(r.trainableParams) << " parameters, "
        << formatFixed(r.percentOfBase, 4) << "% of the base, in " << r.modules.size()
        << " modules\n";
    if (r.sharedFrozenParams > 0) {
        out << "Shared     " << formatGrouped(r.sharedFrozenParams)
            << " frozen parameters (vera_A and vera_B, one pair for the whole model)\n";
    }
    printKinds(out, r);
    printLayers(out, r);
    printMemory(out, r);
}

std::string upper(std::string text)
{
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    return text;
}

} // namespace

void addBudgetCommand(CLI::App& app, BudgetRequest& request, bool& isJson,
                      std::function<int(const CliContext&)>& action)
{
    CLI::App* budget = app.add_subcommand(
        "budget", "trainable parameters, memory estimate and equal-budget ranks of an adapter");
    AdapterConfig& a = request.adapter;
    budget->add_option("--model", request.modelDir, "model folder (only config.json is read)")
        ->required();
    budget->add_option("--method", request.method, methodList())->required();
    budget->add_option("--r,--rank", a.r, "rank (LoRA family, VeRA) or block size (Bone, Bat)");
    budget->add_option("--alpha", a.alpha, "lora_alpha")->capture_default_str();
    budget->add_flag("--rslora", a.useRslora, "scale by alpha / sqrt(r)");
    budget->add_option("--init-r", a.initR, "AdaLoRA's initial rank")->capture_default_str();
    budget->add_option("--target-r", a.targetR, "AdaLoRA's average final rank")
        ->capture_default_str();
    budget->add_option("--total-step", a.totalStep, "AdaLoRA's training steps (not needed here)");
    auto* targets = budget
                        ->add_option("--targets", a.targetModules,
                                     "module names or suffixes, comma-separated (default: "
                                     "every projection of the blocks)")
                        ->delimiter(',');
    budget->add_option("--target-regex", a.targetRegex, "regular expression of whole module names")
        ->excludes(targets);
    budget->add_option("--exclude", a.excludeModules, "module names or suffixes never adapted")
        ->delimiter(',');
    budget->add_option("--layers", a.layersToTransform, "only these layers, e.g. 0,1,2")
        ->delimiter(',');
    auto* params = budget
                       ->add_option("--target-params", request.targetParams,
                                    "solve every method for this many trainable parameters")
                       ->check(CLI::PositiveNumber);
    budget
        ->add_option("--target-percent", request.targetPercent,
                     "solve every method for this percentage of the base parameters")
        ->check(CLI::Range(0.0, 100.0))
        ->excludes(params);
    budget->add_option("--batch-size", request.memory.batchSize, "for the memory estimate")
        ->capture_default_str()
        ->check(CLI::Range(1, 1'000'000));
    budget->add_option("--seq-len", request.memory.seqLen, "for the memory estimate")
        ->capture_default_str()
        ->check(CLI::Range(1, 10'000'000));
    budget
        ->add_option("--dtype", request.memory.weightDtype,
                     "f32, f16 or bf16 for the base weights (default: config.json's)")
        ->check(CLI::IsMember({"f32", "f16", "bf16"}, CLI::ignore_case));
    budget->add_flag("--json", isJson, "print JSON");
    budget->callback(
        [&] { action = [&request](const CliContext& c) { return cli::budget(c, request); }; });
}

int budget(const CliContext& ctx, BudgetRequest request)
{
    const auto method = parseAdapterMethod(request.method);
    if (!method) {
        return fail(ctx, "unknown method '" + request.method + "' (choose " + methodList() + ")");
    }
    request.adapter.method = *method;
    request.memory.weightDtype = upper(request.memory.weightDtype);
    const auto report = computeBudget(request.modelDir, request.adapter, request.memory);
    if (!report) {
        return fail(ctx, report.error().message);
    }
    if (request.targetParams > 0) {
        request.target = {BudgetTargetKind::Parameters, static_cast<double>(request.targetParams)};
    } else if (request.targetPercent > 0.0) {
        request.target = {BudgetTargetKind::PercentOfBase, request.targetPercent};
    }
    std::vector<BudgetMatch> matches;
    if (request.target.kind != BudgetTargetKind::None) {
        auto solved = solveBudget(request.modelDir, request.adapter, request.target);
        if (!solved) {
            return fail(ctx, solved.error().message);
        }
        matches = std::move(*solved);
    }
    if (ctx.isJson) {
        nlohmann::json json = reportJson(request, *report);
        json["solver"] = matches.empty() ? nlohmann::json(nullptr) : matchesJson(request, matches);
        ctx.out << json.dump(2) << '\n';
        return kExitOk;
    }
    printReport(ctx.out, request, *report);
    if (!matches.empty()) {
        printMatches(ctx.out, request, matches);
    }
    return kExitOk;
}

} // namespace ftw::cli
