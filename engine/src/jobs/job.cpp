// SPDX-License-Identifier: MIT
#include <ftw/job.h>
#include <ftw/job_events.h>

#include <utility>

namespace ftw {

std::string_view jobKindName(JobKind kind)
{
    switch (kind) {
    case JobKind::Demo:
        return "demo";
    case JobKind::Train:
        return "train";
    case JobKind::Evaluate:
        return "evaluate";
    case JobKind::Merge:
        return "merge";
    case JobKind::Allocate:
        return "allocate";
    case JobKind::Decompose:
        return "decompose";
    case JobKind::Generate:
        return "generate";
    case JobKind::Pretrain:
        return "pretrain";
    case JobKind::Bench:
        return "bench";
    case JobKind::Sweep:
        return "sweep";
    case JobKind::Unknown:
        break;
    }
    return "unknown";
}

std::string_view jobStatusName(JobStatus status)
{
    switch (status) {
    case JobStatus::Queued:
        return "queued";
    case JobStatus::Running:
        return "running";
    case JobStatus::Succeeded:
        return "succeeded";
    case JobStatus::Failed:
        return "failed";
    case JobStatus::Cancelled:
        return "cancelled";
    case JobStatus::Unknown:
        break;
    }
    return "unknown";
}

bool isFinished(JobStatus status)
{
    return status == JobStatus::Succeeded || status == JobStatus::Failed ||
           status == JobStatus::Cancelled;
}

ObserverRegistration::ObserverRegistration(std::function<void()> unregister)
    : m_unregister(std::move(unregister))
{
}

ObserverRegistration::ObserverRegistration(ObserverRegistration&& other) noexcept
    : m_unregister(std::exchange(other.m_unregister, nullptr))
{
}

ObserverRegistration& ObserverRegistration::operator=(ObserverRegistration&& other) noexcept
{
    if (this != &other) {
        reset();
        m_unregister = std::exchange(other.m_unregister, nullptr);
    }
    return *this;
}

ObserverRegistration::~ObserverRegistration()
{
    reset();
}

void ObserverRegistration::reset()
{
    if (m_unregister) {
        std::exchange(m_unregister, nullptr)();
    }
}

} // namespace ftw
