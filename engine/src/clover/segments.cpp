// SPDX-License-Identifier: MIT
#include "segments.h"

#include "core/check.h"

namespace ftw::clover {
namespace {

SegmentPlan blocks(const model::ProjectionSpec& spec, const std::string& role, std::int64_t start,
                   std::int64_t width, std::int64_t blockSize)
{
    FTW_CHECK(blockSize > 0 && width % blockSize == 0, ErrorCode::InvalidArgument,
              "clover cannot adapt '" + spec.name + "': its " + std::to_string(width) +
                  " outputs do not divide into blocks of " + std::to_string(blockSize));
    return SegmentPlan{role, start, width / blockSize, blockSize};
}

} // namespace

std::vector<SegmentPlan> planSegments(const model::ProjectionSpec& spec)
{
    const std::string& kind = spec.kind;
    const std::int64_t d = spec.headDim;
    if (kind == "self_attn.q_proj") {
        return {blocks(spec, "q", 0, spec.out, d)};
    }
    if (kind == "self_attn.k_proj") {
        return {blocks(spec, "k", 0, spec.out, d)};
    }
    if (kind == "self_attn.v_proj") {
        return {blocks(spec, "v", 0, spec.out, d)};
    }
    if (kind == "mlp.up_proj" || kind == "mlp.c_fc") {
        return {blocks(spec, "up", 0, spec.out, kMlpBlockSize)};
    }
    if (kind == "attn.c_attn") {
        // The fused [q | k | v] of GPT-2: K (per head QR) and V (V-O absorb-decompose), as v2.
        const std::int64_t hidden = spec.out / 3;
        return {blocks(spec, "k", hidden, hidden, d), blocks(spec, "v", 2 * hidden, hidden, d)};
    }
    throw Error(ErrorCode::InvalidArgument,
                "clover cannot adapt '" + spec.name +
                    "': it trains per-head cores of q_proj, k_proj, v_proj and up_proj (Llama "
                    "family) or attn.c_attn and mlp.c_fc (GPT-2)");
}

bool isDefaultTarget(const model::ProjectionSpec& spec)
{
    if (spec.kind == "self_attn.k_proj" || spec.kind == "self_attn.v_proj" ||
        spec.kind == "attn.c_attn") {
        return true;
    }
    return (spec.kind == "mlp.up_proj" || spec.kind == "mlp.c_fc") && spec.out % kMlpBlockSize == 0;
}

std::int64_t blockSizeOf(const model::ProjectionSpec& spec)
{
    return planSegments(spec).front().blockSize;
}

std::int64_t trainableCount(const model::ProjectionSpec& spec)
{
    std::int64_t total = 0;
    for (const SegmentPlan& s : planSegments(spec)) {
        total += s.groups * s.blockSize * s.blockSize;
    }
    return total;
}

} // namespace ftw::clover
