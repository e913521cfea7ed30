// SPDX-License-Identifier: MIT
#pragma once
// Causal grouped-query attention in float64, head by head, from its definition: the reference the
// engine's attention is checked against (on the CPU, and on CUDA in the gpu tests).

#include <ATen/ATen.h>

#include <cmath>
#include <limits>
#include <vector>

namespace ftw::test {

/// q [B, H, T, D], k and v [B, Hkv, S, D]; query t sits at position S - T + t and sees keys
/// 0 .. that position; query head h uses KV head h / (H / Hkv). Returns [B, H, T, D] float64.
inline at::Tensor referenceAttention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v)
{
    const at::Tensor qd = q.to(at::kDouble).cpu();
    const at::Tensor kd = k.to(at::kDouble).cpu();
    const at::Tensor vd = v.to(at::kDouble).cpu();
    const std::int64_t heads = q.size(1);
    const std::int64_t groups = heads / k.size(1);
    const std::int64_t queries = q.size(2);
    const std::int64_t total = k.size(2);
    std::vector<at::Tensor> outputs;
    for (std::int64_t h = 0; h < heads; ++h) {
        const at::Tensor qh = qd.select(1, h);          // [B, T, D]
        const at::Tensor kh = kd.select(1, h / groups); // [B, S, D]
        const at::Tensor vh = vd.select(1, h / groups);
        at::Tensor scores = at::bmm(qh, kh.transpose(1, 2)) / std::sqrt(double(q.size(3)));
        for (std::int64_t t = 0; t < queries; ++t) {
            const std::int64_t position = total - queries + t;
            if (position + 1 < total) {
                scores.select(1, t)
                    .narrow(1, position + 1, total - position - 1)
                    .fill_(-std::numeric_limits<double>::infinity());
            }
        }
        outputs.push_back(at::bmm(at::softmax(scores, -1), vh));
    }
    return at::stack(outputs, 1);
}

} // namespace ftw::test
