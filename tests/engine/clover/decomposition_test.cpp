// SPDX-License-Identifier: MIT
// CLOVER's per-head linear algebra against direct float64 computations: the QR-core route gives
// the singular values of a full SVD of the D x D product, and every factorisation reconstructs
// what it factors to float64 precision.
#include "clover/decomposition.h"

#include <ftw/error.h>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

namespace ftw::clover {
namespace {

double maxDiff(const at::Tensor& a, const at::Tensor& b)
{
    return (a - b).abs().max().item<double>();
}

at::Tensor randomDouble(std::int64_t rows, std::int64_t cols, std::uint64_t seed)
{
    at::manual_seed(seed);
    return at::randn({rows, cols}, at::kDouble);
}

TEST(CloverDecompositionTest, QrCoreRouteHasTheSingularValuesOfAFullSvdOfTheProduct)
{
    // A head of GPT-2 with its bias row: D + 1 = 65 rows, d = 16.
    const at::Tensor a = randomDouble(65, 16, 1);
    const at::Tensor b = randomDouble(65, 16, 2);
    const ThinSvd svd = absorbDecompose(a, b);

    const at::Tensor product = at::matmul(a, b.t()); // [65, 65], rank 16
    const at::Tensor direct = at::linalg_svdvals(product);
    ASSERT_EQ(svd.s.size(0), 16);
    EXPECT_LT(maxDiff(svd.s, direct.narrow(0, 0, 16)), 1e-12 * direct[0].item<double>());
    // The rest of the full spectrum is zero: the product has rank d.
    EXPECT_LT(direct.narrow(0, 16, 65 - 16).abs().max().item<double>(),
              1e-12 * direct[0].item<double>());
}

TEST(CloverDecompositionTest, AbsorbDecomposeReconstructsTheProductWithOrthonormalFactors)
{
    const at::Tensor a = randomDouble(65, 16, 3);
    const at::Tensor b = randomDouble(64, 16, 4); // V-O: the output side has D rows
    const ThinSvd svd = absorbDecompose(a, b);

    EXPECT_EQ(svd.u.sizes(), (std::vector<std::int64_t>{65, 16}));
    EXPECT_EQ(svd.v.sizes(), (std::vector<std::int64_t>{64, 16}));
    const at::Tensor product = at::matmul(a, b.t());
    EXPECT_LT(maxDiff(reconstruct(svd), product), 1e-12 * product.abs().max().item<double>());
    const at::Tensor eye = at::eye(16, at::kDouble);
    EXPECT_LT(maxDiff(at::matmul(svd.u.t(), svd.u), eye), 1e-13);
    EXPECT_LT(maxDiff(at::matmul(svd.v.t(), svd.v), eye), 1e-13);
    // Descending and non-negative.
    EXPECT_TRUE((svd.s.narrow(0, 0, 15) >= svd.s.narrow(0, 1, 15)).all().item<bool>());
    EXPECT_GE(svd.s.min().item<double>(), 0.0);
}

TEST(CloverDecompositionTest, SingularVectorsSpanTheDirectSvdsSubspaces)
{
    const at::Tensor a = randomDouble(40, 8, 5);
    const at::Tensor b = randomDouble(40, 8, 6);
    const ThinSvd svd = absorbDecompose(a, b);
    auto [u, s, vh] = at::linalg_svd(at::matmul(a, b.t()), /*full_matrices=*/false);
    // Distinct singular values: each vector pair agrees with the direct one up to a shared sign.
    for (std::int64_t j = 0; j < 8; ++j) {
        const double sign = at::dot(svd.u.select(1, j), u.select(1, j)).item<double>() > 0 ? 1 : -1;
        EXPECT_LT(maxDiff(svd.u.select(1, j), sign * u.select(1, j)), 1e-10) << "direction " << j;
        EXPECT_LT(maxDiff(svd.v.select(1, j), sign * vh.select(0, j)), 1e-10) << "direction " << j;
    }
}

TEST(CloverDecompositionTest, Float32InputsAreDecomposedInFloat64)
{
    const at::Tensor a = randomDouble(33, 8, 7);
    const at::Tensor b = randomDouble(33, 8, 8);
    const ThinSvd svd = absorbDecompose(a.to(at::kFloat), b.to(at::kFloat));
    EXPECT_EQ(svd.u.scalar_type(), at::kDouble);
    const at::Tensor product =
        at::matmul(a.to(at::kFloat).to(at::kDouble), b.to(at::kFloat).to(at::kDouble).t());
    EXPECT_LT(maxDiff(reconstruct(svd), product), 1e-12 * product.abs().max().item<double>());
}

TEST(CloverDecompositionTest, ThinQrReconstructsWithAnOrthonormalQAndAPositiveTriangularR)
{
    const at::Tensor a = randomDouble(65, 16, 9);
    const ThinQr qr = thinQr(a);
    EXPECT_LT(maxDiff(at::matmul(qr.q, qr.r), a), 1e-13 * a.abs().max().item<double>());
    EXPECT_LT(maxDiff(at::matmul(qr.q.t(), qr.q), at::eye(16, at::kDouble)), 1e-13);
    EXPECT_EQ(maxDiff(qr.r.tril(-1), at::zeros({16, 16}, at::kDouble)), 0.0);
    EXPECT_GT(qr.r.diagonal().min().item<double>(), 0.0);
}

TEST(CloverDecompositionTest, FactorsWithFewerRowsThanColumnsAreRefused)
{
    EXPECT_THROW((void)thinQr(at::zeros({4, 8}, at::kDouble)), Error);
    EXPECT_THROW(
        (void)absorbDecompose(at::zeros({16, 8}, at::kDouble), at::zeros({16, 4}, at::kDouble)),
        Error);
}

} // namespace
} // namespace ftw::clover
