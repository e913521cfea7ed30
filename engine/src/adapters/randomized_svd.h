// SPDX-License-Identifier: MIT
#pragma once

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <tuple>

namespace ftw::adapters {

/// A rank-q approximation A ~ U diag(S) V^T of a 2-D matrix by the randomised range finder with
/// `niter` subspace (power) iterations (Halko, Martinsson and Tropp 2009, algorithms 4.4 and 5.1),
/// as torch.svd_lowrank does in PyTorch 2.x, without oversampling. Returns U [m, q], S [q],
/// V [n, q]. Computed in the input's dtype; the Gaussian test matrix is drawn from `generator`.
[[nodiscard]] std::tuple<at::Tensor, at::Tensor, at::Tensor>
randomizedSvd(const at::Tensor& a, std::int64_t q, int niter, at::Generator generator);

} // namespace ftw::adapters
