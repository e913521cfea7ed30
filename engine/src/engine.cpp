// SPDX-License-Identifier: MIT
#include <ftw/engine.h>

#include "core/api_guard.h"
#include "core/cpu_allocator.h"
#include "core/device.h"
#include "jobs/allocate_job.h"
#include "jobs/bench_job.h"
#include "jobs/decompose_job.h"
#include "jobs/demo_job.h"
#include "jobs/eval_job.h"
#include "jobs/job_runner.h"
#include "jobs/merge_job.h"
#include "jobs/pretrain_job.h"
#include "jobs/sweep_job.h"
#include "jobs/train_job.h"
#include "storage/run_repository.h"
#include "storage/store.h"

#include <ftw/log.h>

#include <ATen/Parallel.h>
#include <torch/version.h>

#include <cstdlib>
#include <mutex>
#include <type_traits>
#include <utility>
#include <vector>

#include <unistd.h>

namespace ftw {

struct Engine::Impl {
    explicit Impl(const EngineOptions& engineOptions)
        : options(engineOptions)
        , runner(options.databasePath, [this](const JobEvent& event) { dispatch(event); })
    {
    }

    // Called on the engine thread (or a cancelling thread); holds the observer lock for the whole
    // call so that an unregistered observer is never called afterwards.
    void dispatch(const JobEvent& event)
    {
        const std::lock_guard lock(observersMutex);
        for (const auto& [id, observer] : observers) {
            observer->onEvent(event);
        }
    }

    EngineOptions options;
    std::mutex observersMutex; // guards observers and nextObserverId
    std::vector<std::pair<int, JobObserver*>> observers;
    int nextObserverId = 1;
    jobs::JobRunner runner; // last: its thread is joined before the members above go
};

Engine::Engine(std::unique_ptr<Impl> impl) : m_impl(std::move(impl))
{
}

Engine::~Engine() = default;

Expected<std::unique_ptr<Engine>> Engine::create(const EngineOptions& options)
{
    return core::captureErrors([&] {
        storage::Database db = storage::openStore(options.databasePath, StoreMode::ReadWrite);
        const int interrupted = storage::RunRepository(db).markInterruptedRuns();
        if (interrupted > 0) {
            logWarning(std::to_string(interrupted) +
                       " run(s) were left running by a process that ended; marked interrupted");
        }
        if (options.numThreads > 0) {
            at::set_num_threads(options.numThreads);
        }
        // Before the runner's thread starts allocating.
        (void)core::installCachingCpuAllocator();
        return std::unique_ptr<Engine>(new Engine(std::make_unique<Impl>(options)));
    });
}

JobHandle Engine::submit(const JobSpec& spec)
{
    jobs::Job job = std::visit(
        [](const auto& s) {
            using Spec = std::decay_t<decltype(s)>;
            if constexpr (std::is_same_v<Spec, DemoJobSpec>) {
                return jobs::makeDemoJob(s);
            } else if constexpr (std::is_same_v<Spec, TrainSpec>) {
                return jobs::makeTrainJob(s);
            } else if constexpr (std::is_same_v<Spec, EvalSpec>) {
                return jobs::makeEvalJob(s);
            } else if constexpr (std::is_same_v<Spec, SweepSpec>) {
                return jobs::makeSweepJob(s);
            } else if constexpr (std::is_same_v<Spec, AllocateSpec>) {
                return jobs::makeAllocateJob(s);
            } else if constexpr (std::is_same_v<Spec, DecomposeSpec>) {
                return jobs::makeDecomposeJob(s);
            } else if constexpr (std::is_same_v<Spec, PretrainSpec>) {
                return jobs::makePretrainJob(s);
            } else if constexpr (std::is_same_v<Spec, BenchSpec>) {
                return jobs::makeBenchJob(s);
            } else {
                static_assert(std::is_same_v<Spec, MergeSpec>);
                return jobs::makeMergeJob(s);
            }
        },
        spec);
    return JobHandle{m_impl->runner.submit(std::move(job))};
}

bool Engine::requestCancel(JobId id)
{
    return m_impl->runner.requestCancel(id);
}

bool Engine::setPaused(JobId id, bool isPaused)
{
    return m_impl->runner.setPaused(id, isPaused);
}

bool Engine::isPaused(JobId id) const
{
    return m_impl->runner.isPaused(id);
}

JobStatus Engine::status(JobId id) const
{
    return m_impl->runner.status(id);
}

JobResult Engine::wait(JobId id)
{
    return *m_impl->runner.waitFor(id, std::nullopt);
}

std::optional<JobResult> Engine::waitFor(JobId id, std::chrono::milliseconds timeout)
{
    return m_impl->runner.waitFor(id, timeout);
}

ObserverRegistration Engine::addObserver(JobObserver& observer)
{
    const std::lock_guard lock(m_impl->observersMutex);
    const int id = m_impl->nextObserverId++;
    m_impl->observers.emplace_back(id, &observer);
    Impl* impl = m_impl.get();
    return ObserverRegistration([impl, id] {
        const std::lock_guard innerLock(impl->observersMutex);
        std::erase_if(impl->observers, [id](const auto& entry) { return entry.first == id; });
    });
}

const std::filesystem::path& Engine::databasePath() const
{
    return m_impl->options.databasePath;
}

std::vector<DeviceInfo> Engine::devices() const
{
    return core::availableDevices();
}

std::string Engine::torchVersion()
{
    return TORCH_VERSION;
}

void Engine::restartWithPassiveOpenMpWait(char** argv)
{
    if (argv == nullptr || argv[0] == nullptr || std::getenv("OMP_WAIT_POLICY") != nullptr ||
        at::get_num_threads() <= 1) {
        return;
    }
    if (::setenv("OMP_WAIT_POLICY", "passive", 0) != 0) {
        return;
    }
    ::execv("/proc/self/exe", argv);
    // Still here: the restart failed; go on as started (the variable set changes nothing now).
    ::unsetenv("OMP_WAIT_POLICY");
}

} // namespace ftw
