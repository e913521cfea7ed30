// SPDX-License-Identifier: MIT
#include "decomposition.h"

#include "core/check.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include <string>

namespace ftw::clover {
namespace {

std::string shapeText(const at::Tensor& t)
{
    std::string text = "[";
    for (std::int64_t i = 0; i < t.dim(); ++i) {
        text += (i == 0 ? "" : ", ") + std::to_string(t.size(i));
    }
    return text + "]";
}

void checkThin(const at::Tensor& a, const char* what)
{
    FTW_CHECK(a.defined() && a.dim() == 2 && a.size(0) >= a.size(1) && a.size(1) > 0,
              ErrorCode::InvalidArgument,
              std::string("clover: ") + what +
                  " must be a thin matrix [m, d] with m >= d >= 1, not " +
                  (a.defined() ? shapeText(a) : std::string("undefined")));
}

} // namespace

ThinQr thinQr(const at::Tensor& a)
{
    checkThin(a, "the factor to orthogonalise");
    const at::NoGradGuard noGrad;
    auto [q, r] = at::linalg_qr(a.detach().to(at::kDouble), "reduced");
    // Householder QR leaves the signs free; fix them so that diag(R) >= 0.
    const at::Tensor signs = at::where(r.diagonal() < 0.0, -1.0, 1.0).to(at::kDouble);
    return ThinQr{q * signs.unsqueeze(0), r * signs.unsqueeze(1)};
}

AbsorbedPair absorbDecomposeWithQr(const at::Tensor& a, const at::Tensor& b)
{
    checkThin(a, "the first factor");
    checkThin(b, "the second factor");
    FTW_CHECK(a.size(1) == b.size(1), ErrorCode::InvalidArgument,
              "clover: the factors of a product A B^T must have the same width, not " +
                  shapeText(a) + " and " + shapeText(b));
    const ThinQr first = thinQr(a);
    ThinQr second = thinQr(b);
    const at::NoGradGuard noGrad;
    const at::Tensor core = at::matmul(first.r, second.r.t()); // [d, d]
    auto [uc, s, vch] = at::linalg_svd(core, /*full_matrices=*/false);
    at::Tensor u = at::matmul(first.q, uc);
    at::Tensor v = at::matmul(second.q, vch.t());
    // Deterministic signs: the largest |entry| of each U column is positive.
    const at::Tensor largest = u.abs().argmax(0, /*keepdim=*/true);
    const at::Tensor signs =
        at::where(u.gather(0, largest).squeeze(0) < 0.0, -1.0, 1.0).to(at::kDouble);
    u = u * signs.unsqueeze(0);
    v = v * signs.unsqueeze(0);
    return AbsorbedPair{ThinSvd{u, s, v}, std::move(second)};
}

ThinSvd absorbDecompose(const at::Tensor& a, const at::Tensor& b)
{
    return absorbDecomposeWithQr(a, b).svd;
}

at::Tensor reconstruct(const ThinSvd& svd)
{
    const at::NoGradGuard noGrad;
    return at::matmul(svd.u * svd.s.unsqueeze(0), svd.v.t());
}

} // namespace ftw::clover
