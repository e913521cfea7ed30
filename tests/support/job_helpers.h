// SPDX-License-Identifier: MIT
#pragma once
// Engine tests that submit one job to a fresh engine on a store file and read back its run.

#include <ftw/engine.h>
#include <ftw/run_store.h>

#include <gtest/gtest.h>

#include <filesystem>

namespace ftw::test {

/// Submits `spec` to an engine on `db` and waits for it; a failure to open the engine fails the
/// test and returns an empty result.
template <typename Spec>
JobResult runJob(const std::filesystem::path& db, const Spec& spec)
{
    auto engine = Engine::create(EngineOptions{db, 0});
    if (!engine) {
        ADD_FAILURE() << engine.error().message;
        return {};
    }
    return (*engine)->wait((*engine)->submit(spec).id);
}

/// The stored run `id` of `db`; a store or run that cannot be read fails the test.
inline RunDetail storedRun(const std::filesystem::path& db, RunId id)
{
    auto store = RunStore::open(db, StoreMode::ReadOnly);
    if (!store) {
        ADD_FAILURE() << store.error().message;
        return {};
    }
    auto found = store->run(id);
    if (!found) {
        ADD_FAILURE() << found.error().message;
        return {};
    }
    return *found;
}

} // namespace ftw::test
