// SPDX-License-Identifier: MIT
// `ftw runs compare`: the config keys that differ between runs, and their final and best metrics.
#include "cli.h"
#include "commands.h"
#include "format.h"

#include <ftw/run_store.h>

#include <iomanip>
#include <map>
#include <set>

namespace ftw::cli {
namespace {

struct ComparedRun {
    RunDetail detail;
    std::map<std::string, std::string> params;
    std::optional<double> finalLoss;
    std::optional<double> finalEvalLoss;
    std::optional<double> bestEvalLoss;
    std::optional<double> accuracy;
};

std::optional<double> lastValue(const RunStore& store, RunId id, std::string_view name)
{
    auto points = store.metrics(id, name);
    if (!points || points->empty()) {
        return std::nullopt;
    }
    return points->back().value;
}

nlohmann::json optionalJson(const std::optional<double>& value)
{
    return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

} // namespace

int runsCompare(const CliContext& ctx, const std::vector<RunId>& ids)
{
    auto store = RunStore::open(resolveDatabasePath(ctx.databasePath), StoreMode::ReadWrite);
    if (!store) {
        return fail(ctx, store.error().message);
    }
    std::vector<ComparedRun> runs;
    std::set<std::string> keys;
    for (const RunId id : ids) {
        auto detail = store->run(id);
        if (!detail) {
            return fail(ctx, detail.error().message);
        }
        ComparedRun run{*detail, {}, {}, {}, {}, {}};
        if (auto params = store->params(id)) {
            for (const auto& [key, value] : *params) {
                run.params[key] = value;
                keys.insert(key);
            }
        }
        run.finalLoss = lastValue(*store, id, "train/loss");
        run.finalEvalLoss = lastValue(*store, id, "eval/loss");
        run.bestEvalLoss = detail->summary.bestEvalLoss;
        run.accuracy = lastValue(*store, id, "eval/accuracy");
        runs.push_back(std::move(run));
    }
    // Only the keys whose values are not all the same.
    std::map<std::string, std::vector<std::string>> diff;
    for (const std::string& key : keys) {
        std::vector<std::string> values;
        for (const ComparedRun& run : runs) {
            const auto it = run.params.find(key);
            values.push_back(it == run.params.end() ? "-" : it->second);
        }
        if (std::adjacent_find(values.begin(), values.end(), std::not_equal_to<>()) !=
            values.end()) {
            diff[key] = values;
        }
    }

    if (ctx.isJson) {
        nlohmann::json json = {{"runs", nlohmann::json::array()},
                               {"config_diff", nlohmann::json::object()}};
        for (const ComparedRun& run : runs) {
            const RunSummary& s = run.detail.summary;
            json["runs"].push_back(
                {{"id", s.id},
                 {"name", s.name},
                 {"method", s.method},
                 {"status", runStatusName(s.status)},
                 {"trainable_params",
                  s.trainableParams ? nlohmann::json(*s.trainableParams) : nlohmann::json(nullptr)},
                 {"final_train_loss", optionalJson(run.finalLoss)},
                 {"final_eval_loss", optionalJson(run.finalEvalLoss)},
                 {"best_eval_loss", optionalJson(run.bestEvalLoss)},
                 {"accuracy", optionalJson(run.accuracy)}});
        }
        for (const auto& [key, values] : diff) {
            nlohmann::json parsed = nlohmann::json::array();
            for (const std::string& v : values) {
                const nlohmann::json value = nlohmann::json::parse(v, nullptr, false);
                parsed.push_back(value.is_discarded() ? nlohmann::json(v) : value);
            }
            json["config_diff"][key] = parsed;
        }
        ctx.out << json.dump(2) << '\n';
        return kExitOk;
    }

    constexpr int kKeyWidth = 26;
    constexpr int kColumnWidth = 18;
    std::ostream& out = ctx.out;
    auto row = [&](const std::string& label, const auto& valueOf) {
        out << std::left << std::setw(kKeyWidth) << label;
        for (const ComparedRun& run : runs) {
            std::string value = valueOf(run);
            if (value.size() >= kColumnWidth) {
                value = value.substr(0, kColumnWidth - 2) + "~";
            }
            out << std::setw(kColumnWidth) << value;
        }
        out << '\n';
    };
    row("run", [](const ComparedRun& r) { return std::to_string(r.detail.summary.id); });
    row("name", [](const ComparedRun& r) { return r.detail.summary.name; });
    row("method", [](const ComparedRun& r) { return r.detail.summary.method; });
    row("status",
        [](const ComparedRun& r) { return std::string(runStatusName(r.detail.summary.status)); });
    row("trainable params",
        [](const ComparedRun& r) { return formatCount(r.detail.summary.trainableParams); });
    row("final train loss", [](const ComparedRun& r) { return formatLoss(r.finalLoss); });
    row("final eval loss", [](const ComparedRun& r) { return formatLoss(r.finalEvalLoss); });
    row("best eval loss", [](const ComparedRun& r) { return formatLoss(r.bestEvalLoss); });
    if (std::any_of(runs.begin(), runs.end(),
                    [](const ComparedRun& r) { return r.accuracy.has_value(); })) {
        row("accuracy", [](const ComparedRun& r) { return formatLoss(r.accuracy); });
    }
    out << '\n';
    if (diff.empty()) {
        out << "The configs are the same.\n";
        return kExitOk;
    }
    out << "Config differences (" << diff.size() << " keys):\n";
    for (const auto& [key, values] : diff) {
        std::size_t i = 0;
        row(key, [&values, &i](const ComparedRun&) { return values[i++]; });
    }
    return kExitOk;
}

} // namespace ftw::cli
