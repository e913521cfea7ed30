// SPDX-License-Identifier: MIT
#pragma once

#include <ftw/run_config.h>

#include <QString>
#include <QStringList>

namespace ftw::ui {

/// The `ftw train` command line that makes the same run config as `spec`, as far as `ftw train`
/// has options for it (see trainConfigKeysWithoutOption()). Arguments that hold spaces or quotes
/// are single-quoted for a POSIX shell. Options left at their default are left out, except the
/// model, data, method and the main loop settings, which are always written.
[[nodiscard]] QString trainCommandLine(const TrainSpec& spec);

/// The run-config keys ("adapter.d_initial", "train.gradient_checkpointing") whose values in
/// `spec` differ from the defaults and that `ftw train` has no option for: trainCommandLine()
/// cannot express them, `ftw train --config FILE` can. Empty when the command line is complete.
[[nodiscard]] QStringList trainConfigKeysWithoutOption(const TrainSpec& spec);

} // namespace ftw::ui
