// SPDX-License-Identifier: MIT
#pragma once

#include "metatypes.h"

#include <ftw/engine.h>

#include <QObject>
#include <QString>

#include <optional>

namespace ftw::ui {

/// The bridge between the engine and the GUI: receives engine events on the engine thread and
/// re-emits them as Qt signals on the GUI thread (one queued post per event). Lives on the GUI
/// thread; `engine` must outlive it.
class EngineController : public QObject, public JobObserver {
    Q_OBJECT

public:
    explicit EngineController(Engine& engine, QObject* parent = nullptr);
    ~EngineController() override;

    /// Queues a job; the returned id names it in the signals below.
    JobId submit(const JobSpec& spec);
    /// Asks the job to stop (within one step). Returns false when it already finished.
    bool requestCancel(JobId id);

    /// The job that is running or queued from this controller, if any.
    [[nodiscard]] std::optional<JobId> activeJob() const { return m_activeJob; }
    [[nodiscard]] Engine& engine() const { return m_engine; }

    /// Engine thread: posts the event to the GUI thread and returns at once.
    void onEvent(const JobEvent& event) override;

Q_SIGNALS:
    void jobStarted(qint64 jobId, const QString& name);
    void progressChanged(const ftw::JobProgress& progress);
    void logMessage(qint64 jobId, const QString& level, const QString& message);
    void jobFinished(qint64 jobId, const ftw::JobResult& result);

private:
    void dispatch(const JobEvent& event);

    Engine& m_engine;
    std::optional<JobId> m_activeJob;
    ObserverRegistration m_registration; // last: unregisters before the members above go
};

} // namespace ftw::ui
