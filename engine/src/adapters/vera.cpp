// SPDX-License-Identifier: MIT
#include "vera.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/autograd.h>

#include <cmath>

namespace ftw::adapters {

VeraProjections makeVeraProjections(std::int64_t r, std::int64_t maxIn, std::int64_t maxOut,
                                    std::uint64_t seed)
{
    at::Generator generator = at::detail::createCPUGenerator(seed);
    VeraProjections p;
    const double boundA = std::sqrt(6.0 / static_cast<double>(maxIn));
    p.a = at::empty({r, maxIn}).uniform_(-boundA, boundA, generator);
    const double boundB = std::sqrt(6.0 / static_cast<double>(r));
    p.b = at::empty({maxOut, r}).uniform_(-boundB, boundB, generator);
    return p;
}

VeraAdapter::VeraAdapter(Target target, std::shared_ptr<VeraProjections> projections,
                         double dInitial, double dropout)
    : ModuleAdapter(std::move(target)), m_projections(std::move(projections)), m_dropout(dropout)
{
    const Target& t = this->target();
    m_lambdaB = trainableLeaf(at::zeros({t.spec.out}));
    m_lambdaD = trainableLeaf(at::full({t.r}, dInitial));
}

at::Tensor VeraAdapter::sliceA() const
{
    return m_projections->a.narrow(1, 0, target().spec.in);
}

at::Tensor VeraAdapter::sliceB() const
{
    return m_projections->b.narrow(0, 0, target().spec.out);
}

at::Tensor VeraAdapter::forward(nn::ProjectionImpl& base, const at::Tensor& input)
{
    const at::Tensor output = base.baseForward(input);
    const at::Tensor x = dropout(input, m_dropout, base.is_training()).to(m_lambdaD.scalar_type());
    const at::Tensor h = at::linear(at::linear(x, sliceA()) * m_lambdaD, sliceB()) * m_lambdaB;
    return output + h.to(output.scalar_type());
}

at::Tensor VeraAdapter::deltaWeight(const at::Tensor& /*weightOutIn*/) const
{
    const torch::NoGradGuard noGrad;
    return m_lambdaB.unsqueeze(1) * at::matmul(sliceB() * m_lambdaD.unsqueeze(0), sliceA());
}

std::vector<NamedTensor> VeraAdapter::tensors() const
{
    return {{"vera_lambda_b", m_lambdaB}, {"vera_lambda_d", m_lambdaD}};
}

void VeraAdapter::to(const c10::Device& device)
{
    moveLeaf(m_lambdaB, device);
    moveLeaf(m_lambdaD, device);
}

} // namespace ftw::adapters
