// SPDX-License-Identifier: MIT
#include "randomized_svd.h"

#include <ATen/ATen.h>

namespace ftw::adapters {
namespace {

at::Tensor orthonormalBasis(const at::Tensor& x)
{
    return std::get<0>(at::linalg_qr(x, "reduced"));
}

} // namespace

std::tuple<at::Tensor, at::Tensor, at::Tensor>
randomizedSvd(const at::Tensor& input, std::int64_t q, int niter, at::Generator generator)
{
    // Work on the tall orientation; swap U and V back at the end.
    const bool wide = input.size(0) < input.size(1);
    const at::Tensor a = wide ? input.t() : input;
    const at::Tensor r = at::empty({a.size(1), q}, a.options()).normal_(0.0, 1.0, generator);
    at::Tensor basis = orthonormalBasis(at::matmul(a, r));
    for (int i = 0; i < niter; ++i) {
        basis = orthonormalBasis(at::matmul(a.t(), basis));
        basis = orthonormalBasis(at::matmul(a, basis));
    }
    const at::Tensor small = at::matmul(basis.t(), a); // [q, n]
    auto [ub, s, vh] = at::linalg_svd(small, /*full_matrices=*/false);
    at::Tensor u = at::matmul(basis, ub);
    at::Tensor v = vh.t();
    if (wide) {
        std::swap(u, v);
    }
    return {u, s, v};
}

} // namespace ftw::adapters
