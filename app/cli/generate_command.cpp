// SPDX-License-Identifier: MIT
#include "cli.h"
#include "commands.h"

#include <nlohmann/json.hpp>

namespace ftw::cli {

int generate(const CliContext& ctx, GenerateRequest request, const std::string& adapterDir)
{
    request.adapterDir = adapterDir;
    // An adapter's own base model, else the bundled one.
    if (const Status base = useAdapterBaseModel(request.modelDir, request.adapterDir); !base) {
        return fail(ctx, base.error().message);
    }
    if (const Status defaults = useBundledDefaults(request.modelDir); !defaults) {
        return fail(ctx, defaults.error().message);
    }
    const auto generated = ftw::generateText(request);
    if (!generated) {
        return fail(ctx, generated.error().message);
    }
    if (ctx.isJson) {
        ctx.out << nlohmann::json{{"text", generated->text},
                                  {"ids", generated->ids},
                                  {"prompt_ids", generated->promptIds},
                                  {"stopped_by_eos", generated->isStoppedByEos}}
                       .dump(2)
                << '\n';
    } else {
        ctx.out << generated->text << '\n';
    }
    return kExitOk;
}

} // namespace ftw::cli
