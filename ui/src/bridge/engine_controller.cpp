// SPDX-License-Identifier: MIT
#include "engine_controller.h"

#include "qt_convert.h"

#include <QMetaObject>

namespace ftw::ui {

EngineController::EngineController(Engine& engine, QObject* parent)
    : QObject(parent), m_engine(engine), m_registration(engine.addObserver(*this))
{
}

EngineController::~EngineController() = default;

JobId EngineController::submit(const JobSpec& spec)
{
    const JobId id = m_engine.submit(spec).id;
    m_activeJob = id;
    return id;
}

bool EngineController::requestCancel(JobId id)
{
    return m_engine.requestCancel(id);
}

void EngineController::onEvent(const JobEvent& event)
{
    // NOTE: `this` is the context object: if the controller is gone when the post arrives, Qt drops
    // it; the registration token guarantees no call after destruction starts.
    QMetaObject::invokeMethod(
        this, [this, event] { dispatch(event); }, Qt::QueuedConnection);
}

void EngineController::dispatch(const JobEvent& event)
{
    if (const auto* started = std::get_if<JobStarted>(&event)) {
        Q_EMIT jobStarted(started->jobId, toQString(started->name));
    } else if (const auto* progress = std::get_if<JobProgress>(&event)) {
        Q_EMIT progressChanged(*progress);
    } else if (const auto* log = std::get_if<JobLog>(&event)) {
        Q_EMIT logMessage(log->jobId, toQString(logLevelName(log->level)), toQString(log->message));
    } else if (const auto* finished = std::get_if<JobFinished>(&event)) {
        if (m_activeJob == finished->jobId) {
            m_activeJob.reset();
        }
        Q_EMIT jobFinished(finished->jobId, finished->result);
    }
}

} // namespace ftw::ui
