// SPDX-License-Identifier: MIT
#pragma once

#include "module_adapter.h"

#include <ATen/core/Generator.h>

namespace ftw::adapters {

/// VeRA's frozen random projections, one pair for the whole model: A [r, max_in] and
/// B [max_out, r], drawn from a CPU generator seeded with projection_prng_key, A first
/// (kaiming-uniform, bound sqrt(6 / max_in)), then B (bound sqrt(6 / r)).
struct VeraProjections {
    at::Tensor a;
    at::Tensor b;
};

[[nodiscard]] VeraProjections makeVeraProjections(std::int64_t r, std::int64_t maxIn,
                                                  std::int64_t maxOut, std::uint64_t seed);

/// VeRA (adapter-methods.md 8): y = base(x) + lambda_b * ((lambda_d * (drop(x) A_s^T)) B_s^T) with
/// A_s the first `in` columns of the shared A and B_s the first `out` rows of the shared B.
class VeraAdapter : public ModuleAdapter {
public:
    VeraAdapter(Target target, std::shared_ptr<VeraProjections> projections, double dInitial,
                double dropout);

    at::Tensor forward(nn::ProjectionImpl& base, const at::Tensor& input) override;
    [[nodiscard]] at::Tensor deltaWeight(const at::Tensor& weightOutIn) const override;
    [[nodiscard]] std::vector<NamedTensor> tensors() const override;
    void to(const c10::Device& device) override;

private:
    [[nodiscard]] at::Tensor sliceA() const;
    [[nodiscard]] at::Tensor sliceB() const;

    std::shared_ptr<VeraProjections> m_projections;
    double m_dropout;
    at::Tensor m_lambdaB; ///< [out], 0 at init
    at::Tensor m_lambdaD; ///< [r], d_initial at init
};

} // namespace ftw::adapters
