// SPDX-License-Identifier: MIT
#include <ftw/run_store.h>

#include "run_repository.h"
#include "store.h"

#include "core/api_guard.h"
#include "core/enum_names.h"

#include <array>
#include <cstdlib>
#include <utility>

namespace ftw {
namespace {

constexpr core::NameTable<RunStatus, 7> kRunStatusNames{{
    {RunStatus::Unknown, "unknown"},
    {RunStatus::Queued, "queued"},
    {RunStatus::Running, "running"},
    {RunStatus::Succeeded, "succeeded"},
    {RunStatus::Failed, "failed"},
    {RunStatus::Cancelled, "cancelled"},
    {RunStatus::Interrupted, "interrupted"},
}};

} // namespace

std::string_view runStatusName(RunStatus status)
{
    return core::nameOf(kRunStatusNames, status, "unknown");
}

RunStatus parseRunStatus(std::string_view name)
{
    return core::valueOf(kRunStatusNames, name).value_or(RunStatus::Unknown);
}

std::int64_t RunSummary::durationMs(std::int64_t nowMs) const
{
    if (!startedAtMs) {
        return 0;
    }
    const std::int64_t end =
        finishedAtMs ? *finishedAtMs : (status == RunStatus::Running ? nowMs : updatedAtMs);
    return end > *startedAtMs ? end - *startedAtMs : 0;
}

struct RunStore::Impl {
    storage::Database db;
    storage::RunRepository runs{db};

    explicit Impl(storage::Database database) : db(std::move(database)) {}
};

RunStore::RunStore(std::unique_ptr<Impl> impl) : m_impl(std::move(impl))
{
}
RunStore::RunStore(RunStore&& other) noexcept = default;
RunStore& RunStore::operator=(RunStore&& other) noexcept = default;
RunStore::~RunStore() = default;

Expected<RunStore> RunStore::open(const std::filesystem::path& path, StoreMode mode)
{
    return core::captureErrors([&] {
        auto impl = std::make_unique<Impl>(storage::openStore(path, mode));
        if (mode == StoreMode::ReadWrite) {
            impl->runs.markInterruptedRuns();
        }
        return RunStore(std::move(impl));
    });
}

const std::filesystem::path& RunStore::path() const
{
    return m_impl->db.path();
}

Expected<std::vector<RunSummary>> RunStore::listRuns() const
{
    return core::captureErrors([&] { return m_impl->runs.listRuns(); });
}

Expected<RunDetail> RunStore::run(RunId id) const
{
    return core::captureErrors([&] {
        std::optional<RunDetail> detail = m_impl->runs.findRun(id);
        if (!detail) {
            throw Error(ErrorCode::NotFound, "no run with id " + std::to_string(id) + " in '" +
                                                 m_impl->db.path().string() + "'");
        }
        return std::move(*detail);
    });
}

Expected<std::vector<MetricPoint>> RunStore::metrics(RunId id, std::string_view name,
                                                     std::int64_t afterStep) const
{
    return core::captureErrors([&] { return m_impl->runs.metrics(id, name, afterStep); });
}

Expected<std::vector<std::pair<std::string, std::string>>> RunStore::params(RunId id) const
{
    return core::captureErrors([&] { return m_impl->runs.params(id); });
}

Expected<std::vector<CheckpointInfo>> RunStore::checkpoints(RunId id) const
{
    return core::captureErrors([&] { return m_impl->runs.checkpoints(id); });
}

Expected<std::vector<ExportInfo>> RunStore::exports(RunId id) const
{
    return core::captureErrors([&] { return m_impl->runs.exports(id); });
}

Expected<std::vector<RunEvent>> RunStore::events(RunId id) const
{
    return core::captureErrors([&] { return m_impl->runs.events(id); });
}

Expected<std::vector<AdapterLayoutEntry>> RunStore::adapterLayout(RunId id) const
{
    return core::captureErrors([&] { return m_impl->runs.adapterLayout(id); });
}

Expected<std::vector<RunId>> RunStore::runsWithAdapterLayout() const
{
    return core::captureErrors([&] { return m_impl->runs.runsWithAdapterLayout(); });
}

Expected<std::vector<RunGroup>> RunStore::groups() const
{
    return core::captureErrors([&] { return m_impl->runs.groups(); });
}

std::filesystem::path resolveDatabasePath(const std::filesystem::path& explicitPath)
{
    if (!explicitPath.empty()) {
        return explicitPath;
    }
    if (const char* env = std::getenv("FTW_DB"); env != nullptr && *env != '\0') {
        return env;
    }
    if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg != nullptr && *xdg != '\0') {
        return std::filesystem::path(xdg) / "ftw" / "ftw.db";
    }
    const char* home = std::getenv("HOME");
    const std::filesystem::path base = home != nullptr && *home != '\0' ? home : ".";
    return base / ".local" / "share" / "ftw" / "ftw.db";
}

std::filesystem::path runDirectory(const std::filesystem::path& databasePath, RunId id)
{
    const std::filesystem::path folder =
        databasePath.has_parent_path() ? databasePath.parent_path() : std::filesystem::path(".");
    return folder / "runs" / std::to_string(id);
}

} // namespace ftw
