// SPDX-License-Identifier: MIT
#pragma once
// CLOVER's per-head linear algebra (seed-papers.md 2.2-2.3), in float64: the head-wise QR of a
// thin factor and the absorb-decompose of a product of two thin factors through the exact
// QR-then-small-SVD route, never forming the D x D product.

#include <ATen/core/Tensor.h>

namespace ftw::clover {

/// A = Q R with Q [m, d] orthonormal columns and R [d, d] upper triangular with a non-negative
/// diagonal (so the factorisation is unique for a full-rank A). float64.
struct ThinQr {
    at::Tensor q;
    at::Tensor r;
};

/// M = U diag(S) V^T with U [m, d] and V [n, d] orthonormal columns and S [d] descending.
/// float64. Each pair of singular vectors has the sign that makes the largest |entry| of the
/// U column positive (unique for distinct singular values).
struct ThinSvd {
    at::Tensor u;
    at::Tensor s;
    at::Tensor v;
};

/// The head-wise QR of a thin factor `a` [m, d] (m >= d), computed in float64.
/// Throws Error{InvalidArgument} when `a` is not 2-D or has fewer rows than columns.
[[nodiscard]] ThinQr thinQr(const at::Tensor& a);

/// The SVD of A B^T for A [m, d] and B [n, d] (m, n >= d) by CLOVER's exact route: A = Q1 R1,
/// B = Q2 R2, R1 R2^T = Uc S Vc^T (a d x d SVD), U = Q1 Uc, V = Q2 Vc. Cost O((m + n) d^2)
/// instead of O(m n min(m, n)). Computed in float64 whatever the input type.
/// Throws Error{InvalidArgument} for shapes that do not fit.
[[nodiscard]] ThinSvd absorbDecompose(const at::Tensor& a, const at::Tensor& b);

/// The same decomposition together with the QR of B (B = Q2 R2), which the V-O fine-tuning
/// path needs to express V^T through the original W_O (see clover_adapter.h).
struct AbsorbedPair {
    ThinSvd svd;
    ThinQr second;
};
[[nodiscard]] AbsorbedPair absorbDecomposeWithQr(const at::Tensor& a, const at::Tensor& b);

/// U diag(S) V^T [m, n] in float64 (for checks and folding).
[[nodiscard]] at::Tensor reconstruct(const ThinSvd& svd);

} // namespace ftw::clover
