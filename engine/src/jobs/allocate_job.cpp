// SPDX-License-Identifier: MIT
// The allocate job: HeteroLoRA's zero-cost proxies for every candidate module, the static
// allocation under a budget, the layout in the store and the run config that trains it.
#include "allocate_job.h"

#include "adapters/adapter_set.h"
#include "core/atomic_file.h"
#include "core/autocast.h"
#include "core/check.h"
#include "core/device.h"
#include "data/tokenizer.h"
#include "heterolora/allocation.h"
#include "heterolora/proxies.h"
#include "heterolora/shortcuts.h"
#include "model/model_loader.h"
#include "model/projections.h"
#include "storage/run_repository.h"
#include "train/training_data.h"

#include <ftw/run_config.h>

#include <nlohmann/json.hpp>
#include <torch/utils.h>

#include <algorithm>

namespace ftw::jobs {
namespace {

using nlohmann::json;

/// The candidates as a heterolora adapter (every module on at rank r).
TrainSpec candidateSpec(const AllocateSpec& spec)
{
    TrainSpec candidates = spec.train;
    candidates.adapter.method = AdapterMethod::HeteroLora;
    candidates.adapter.seed = candidates.train.seed;
    return candidates;
}

void validate(const AllocateSpec& spec, const TrainSpec& candidates)
{
    FTW_CHECK(!spec.runName.empty(), ErrorCode::InvalidConfig, "allocate: the run name is empty");
    if (const Status valid = validateTrainSpec(candidates); !valid) {
        throw Error(ErrorCode::InvalidConfig, "allocate: " + valid.error().message);
    }
    const AdapterConfig& a = candidates.adapter;
    FTW_CHECK(a.rankPattern.empty() && a.alphaPattern.empty(), ErrorCode::InvalidConfig,
              "allocate: the allocation sets each module's rank; leave adapter.rank_pattern and "
              "adapter.alpha_pattern empty");
    FTW_CHECK(spec.budgetParams >= 0, ErrorCode::InvalidConfig,
              "allocate: the parameter budget must be 0 (use budget_fraction) or more");
    FTW_CHECK(std::all_of(spec.rankSet.begin(), spec.rankSet.end(),
                          [](std::int64_t r) { return r >= 0; }) &&
                  (spec.rankSet.empty() ||
                   *std::max_element(spec.rankSet.begin(), spec.rankSet.end()) > 0),
              ErrorCode::InvalidConfig,
              "allocate: the rank set needs ranks of 0 or more, at least one above 0");
    const std::int64_t r = effectiveRank(a);
    const bool isOnOrOff =
        spec.rankSet.empty() || std::all_of(spec.rankSet.begin(), spec.rankSet.end(),
                                            [r](auto q) { return q == 0 || q == r; });
    FTW_CHECK(!a.shortcuts || isOnOrOff, ErrorCode::InvalidConfig,
              "allocate: a shortcut is on at rank r or off; a rank set other than {0, r} does not "
              "apply with heterolora_shortcuts");
    FTW_CHECK(!a.separateBudgets || spec.budgetParams == 0, ErrorCode::InvalidConfig,
              "allocate: separate budgets apply budget_fraction to modules and shortcuts each; "
              "they do not combine with a parameter budget");
}

std::string configJson(const AllocateSpec& spec, const TrainSpec& candidates)
{
    json config = json::parse(runConfigJson(candidates));
    config["name"] = spec.runName;
    config["allocate"] = {{"budget_params", spec.budgetParams},
                          {"rank_set", spec.rankSet},
                          {"train_name", spec.train.runName}};
    return config.dump(2);
}

json scoreJson(const std::optional<double>& value)
{
    return value ? json(*value) : json(nullptr);
}

void run(const AllocateSpec& spec, JobContext& ctx)
{
    const TrainSpec candidates = candidateSpec(spec);
    validate(spec, candidates);
    const TrainConfig& t = candidates.train;
    const AdapterConfig& adapter = candidates.adapter;
    const c10::Device device = core::resolveDevice(t.device);
    const c10::ScalarType computeDtype = core::resolvePrecision(t.precision, device);
    torch::manual_seed(t.seed);

    const std::string config = configJson(spec, candidates);
    ctx.createRun(storage::NewRun{
        .name = spec.runName,
        .kind = std::string(jobKindName(JobKind::Allocate)),
        .method = std::string(adapterMethodName(AdapterMethod::HeteroLora)),
        .model = candidates.modelDir.string(),
        .dataset = candidates.data.path.string(),
        .configJson = config,
        .seed = static_cast<std::int64_t>(t.seed),
        .groupId = std::nullopt,
    });
    ctx.setRunConfig(config);

    model::LoadedModel loaded = model::loadModel(candidates.modelDir);
    const std::filesystem::path tokenizerFile = candidates.modelDir / "tokenizer.json";
    FTW_CHECK(std::filesystem::exists(tokenizerFile), ErrorCode::NotFound,
              "'" + candidates.modelDir.string() +
                  "' has no tokenizer.json to read the dataset with");
    const data::Tokenizer tokenizer = data::Tokenizer::fromFile(tokenizerFile);
    const train::EncodedDataset dataset = train::encodeDataset(
        candidates.data, candidates.modelDir, tokenizer, loaded.config.eosTokenIds);
    const train::TrainingSplit split = train::splitExamples(dataset, candidates.data, t.seed);
    // The first k batches of the training split in its order (unshuffled), as the paper does.
    const std::vector<train::Batch> batches =
        heterolora::firstBatches(split.train, t.batchSize, adapter.scoreBatches, dataset.padId);
    FTW_CHECK(!batches.empty(), ErrorCode::InvalidConfig,
              "allocate: the dataset leaves no training example to score the modules on");

    adapters::AdapterSet set = adapters::AdapterSet::attach(*loaded.decoder, adapter);
    loaded.decoder->to(device);
    set.to(device);
    const std::vector<heterolora::Unit> units = heterolora::unitsOf(set);
    std::vector<adapters::Target> targets;
    for (const heterolora::Unit& u : units) {
        targets.push_back(u.adapter->target());
    }
    ctx.log(
        LogLevel::Info,
        "scoring " + std::to_string(units.size()) + " candidate modules (" +
            std::to_string(std::count_if(targets.begin(), targets.end(), heterolora::isShortcut)) +
            " of them shortcuts) at rank " + std::to_string(effectiveRank(adapter)) + " on " +
            std::to_string(batches.size()) + " batches of " + std::to_string(t.batchSize) +
            " (warm-up of " + std::to_string(adapter.scoreWarmupSteps) +
            " steps before SNIP and SYNFLOW)");

    heterolora::ScoringOptions options;
    options.proxies = {ZeroCostProxy::GradNorm, ZeroCostProxy::Snip, ZeroCostProxy::Synflow,
                       ZeroCostProxy::Random};
    options.warmupSteps = adapter.scoreWarmupSteps;
    options.warmupLearningRate = t.learningRate;
    options.seed = t.seed;
    options.device = device;
    options.computeDtype = computeDtype;
    options.checkCancelled = [&ctx] { ctx.throwIfCancelled(); };
    options.onPass = [&ctx](std::int64_t done, std::int64_t total) {
        JobProgress progress;
        progress.step = done;
        progress.totalSteps = total;
        ctx.reportProgress(progress);
    };
    const std::vector<heterolora::UnitScores> scores =
        heterolora::scoreUnits(*loaded.decoder, units, batches, options);

    std::vector<double> chosenScores;
    std::vector<double> tieBreak;
    for (const heterolora::UnitScores& s : scores) {
        chosenScores.push_back(adapter.proxy == ZeroCostProxy::Random ? 1.0 : s.of(adapter.proxy));
        tieBreak.push_back(s.random.value_or(0.0));
    }
    const std::int64_t r = effectiveRank(adapter);
    const std::vector<std::int64_t> rankSet =
        spec.rankSet.empty() ? std::vector<std::int64_t>{0, r} : spec.rankSet;
    const std::int64_t largest = *std::max_element(rankSet.begin(), rankSet.end());
    std::int64_t candidateParams = 0;
    std::int64_t largestParams = 0;
    for (const adapters::Target& target : targets) {
        candidateParams += heterolora::loraParams(target, r);
        largestParams += heterolora::loraParams(target, largest);
    }
    heterolora::Budget budget;
    const auto shortcutCount = static_cast<std::size_t>(
        std::count_if(targets.begin(), targets.end(), heterolora::isShortcut));
    std::vector<std::int64_t> ranks;
    if (spec.budgetParams == 0 && (spec.rankSet.empty() || adapter.shortcuts)) {
        // The paper's budget: floor(p N_lora) + round(p N_shortcut) units, in one ranking or two.
        budget.units = heterolora::unitBudget(adapter.budgetFraction,
                                              targets.size() - shortcutCount, shortcutCount)
                           .total();
        ranks = heterolora::chooseUnits(targets, chosenScores, tieBreak, adapter.budgetFraction,
                                        adapter.separateBudgets);
    } else {
        if (spec.budgetParams > 0) {
            budget.params = spec.budgetParams;
        } else {
            budget.params = static_cast<std::int64_t>(adapter.budgetFraction *
                                                      static_cast<double>(largestParams));
        }
        ranks = heterolora::allocateRanks(targets, chosenScores, tieBreak, rankSet, budget);
    }
    const auto enabled = std::count_if(ranks.begin(), ranks.end(), [](auto q) { return q > 0; });
    FTW_CHECK(enabled > 0, ErrorCode::InvalidConfig,
              "allocate: the budget switches no module on (" + std::to_string(units.size()) +
                  " candidates, the smallest costs " +
                  std::to_string(heterolora::loraParams(
                      *std::min_element(targets.begin(), targets.end(),
                                        [](const auto& a, const auto& b) {
                                            return a.spec.in + a.spec.out < b.spec.in + b.spec.out;
                                        }),
                      r)) +
                  " parameters at rank " + std::to_string(r) + "); raise the budget");
    std::int64_t allocatedParams = 0;
    for (std::size_t i = 0; i < targets.size(); ++i) {
        allocatedParams += heterolora::loraParams(targets[i], ranks[i]);
    }

    storage::RunRepository(ctx.database())
        .replaceAdapterLayout(ctx.runId(), heterolora::allocationLayout(targets, ranks, scores));
    ctx.setTrainableParams(allocatedParams, model::modelParameterCount(loaded.config));

    TrainSpec allocated = spec.train;
    allocated.adapter = heterolora::allocatedConfig(adapter, targets, ranks);
    if (const Status valid = validateTrainSpec(allocated); !valid) {
        throw Error(ErrorCode::Internal,
                    "allocate: the allocated config is not valid: " + valid.error().message);
    }
    const std::string allocatedJson = runConfigJson(allocated);
    const std::filesystem::path configPath = ctx.runDir() / "allocated_config.json";
    core::writeFileAtomically(configPath, allocatedJson + "\n");

    json modules = json::array();
    for (std::size_t i = 0; i < targets.size(); ++i) {
        modules.push_back({{"name", targets[i].spec.name},
                           {"layer", targets[i].spec.layer},
                           {"module", targets[i].spec.kind},
                           {"rank", ranks[i]},
                           {"enabled", ranks[i] > 0},
                           {"grad_norm", scoreJson(scores[i].gradNorm)},
                           {"snip", scoreJson(scores[i].snip)},
                           {"synflow", scoreJson(scores[i].synflow)},
                           {"random", scoreJson(scores[i].random)}});
    }
    const json output = {
        {"run_id", ctx.runId()},
        {"proxy", zeroCostProxyName(adapter.proxy)},
        {"candidates", units.size()},
        {"enabled", enabled},
        {"rank", r},
        {"rank_set", rankSet},
        {"budget",
         {{"units", budget.units >= 0 ? json(budget.units) : json(nullptr)},
          {"params", budget.params >= 0 ? json(budget.params) : json(nullptr)},
          {"fraction", spec.budgetParams > 0 ? json(nullptr) : json(adapter.budgetFraction)}}},
        {"trainable_params", allocatedParams},
        {"candidate_params", candidateParams},
        {"score_batches", batches.size()},
        {"score_warmup_steps", adapter.scoreWarmupSteps},
        {"config_path", configPath.string()},
        {"config", json::parse(allocatedJson)},
        {"modules", modules},
    };
    ctx.setOutputJson(output.dump());
    ctx.log(LogLevel::Info, std::string(zeroCostProxyName(adapter.proxy)) + " switched on " +
                                std::to_string(enabled) + " of " + std::to_string(units.size()) +
                                " modules (" + std::to_string(allocatedParams) +
                                " trainable parameters); run config: " + configPath.string());
}

} // namespace

Job makeAllocateJob(const AllocateSpec& spec)
{
    return Job{JobKind::Allocate, spec.runName, [spec](JobContext& ctx) { run(spec, ctx); }};
}

} // namespace ftw::jobs
