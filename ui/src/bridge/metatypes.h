// SPDX-License-Identifier: MIT
#pragma once

#include <ftw/job.h>
#include <ftw/job_events.h>

#include <QMetaType>

// Engine value types that travel as Qt signal arguments.
Q_DECLARE_METATYPE(ftw::JobProgress)
Q_DECLARE_METATYPE(ftw::JobResult)
