// SPDX-License-Identifier: MIT
#include "cli.h"
#include "commands.h"

#include <CLI/CLI.hpp>

namespace ftw::cli {

// TODO(helper): `ftw merge` (#5)
void addMergeCommand(CLI::App& app, MergeSpec& spec, bool& isJson,
                     std::function<int(const CliContext&)>& action)
{
    CLI::App* command = app.add_subcommand("merge", "merge an adapter into its base model");
    command->add_flag("--json", isJson, "print JSON");
    command->callback(
        [&] { action = [&spec](const CliContext& c) { return cli::merge(c, spec); }; });
}

int merge(const CliContext& ctx, const MergeSpec& /*spec*/)
{
    return fail(ctx, "ftw merge is not built yet");
}

} // namespace ftw::cli
