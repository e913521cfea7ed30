// SPDX-License-Identifier: MIT
#pragma once

#include "module_adapter.h"

#include <ATen/core/Generator.h>

namespace ftw::adapters {

/// LoRA (adapter-methods.md 2): y = base(x) + s * (drop(x) A^T) B^T with A [r, in], B [out, r].
/// PiSSA, OLoRA and LoRA-GA are LoRA with another init that also rewrites the base weight; the
/// factors they start from are kept so that the trained adapter can be converted to a plain LoRA
/// of rank 2r on the original base (1.10).
class LoraAdapter : public ModuleAdapter {
public:
    LoraAdapter(Target target, double dropout);

    at::Tensor forward(nn::ProjectionImpl& base, const at::Tensor& input) override;
    [[nodiscard]] bool addsToBase() const override { return true; }
    at::Tensor forwardOnBase(nn::ProjectionImpl& base, const at::Tensor& input,
                             const at::Tensor& baseOutput) override;
    [[nodiscard]] at::Tensor deltaWeight(const at::Tensor& weightOutIn) const override;
    /// W <- W + s B A: on an fp32 weight, one matrix product that accumulates into W in place
    /// (no temporaries of W's size); otherwise ModuleAdapter's fp32 round trip.
    void merge(nn::ProjectionImpl& base) override;
    void unmerge(nn::ProjectionImpl& base) override;
    [[nodiscard]] std::vector<NamedTensor> tensors() const override;
    void to(const c10::Device& device) override;

    /// Microsoft LoRA: A ~ U(-1/sqrt(in), 1/sqrt(in)) (kaiming_uniform, a = sqrt 5), B = 0; or with
    /// `gaussian`, A ~ N(0, 1/r).
    void initDefault(bool gaussian, at::Generator generator);
    /// PiSSA: the top r singular triplets of W (exact SVD, or randomised with niter > 0) become
    /// A0 = sqrt(S/s) Vh, B0 = U sqrt(S/s); W <- W - s B0 A0.
    void initPissa(nn::ProjectionImpl& base, int niter, at::Generator generator);
    /// OLoRA: Q, R = qr(W); B0 = Q[:, :r], A0 = R[:r]; W <- W - s B0 A0.
    void initOlora(nn::ProjectionImpl& base);
    /// LoRA-GA (PEFT's variant): factors from the SVD of the mean gradient `gradOutIn` [out, in],
    /// chosen by `direction` and scaled by `scale`; W <- W - s B A.
    void initLoraGa(nn::ProjectionImpl& base, const at::Tensor& gradOutIn,
                    const std::string& direction, const std::string& scale, double gamma,
                    at::Generator generator);
    /// Sets A and B (fp32 copies), e.g. from a saved file.
    void setFactors(const at::Tensor& a, const at::Tensor& b);

    [[nodiscard]] const at::Tensor& a() const { return m_a; }
    [[nodiscard]] const at::Tensor& b() const { return m_b; }
    /// The factors the init started from when it rewrote the base weight (undefined otherwise).
    [[nodiscard]] const at::Tensor& initialA() const { return m_initialA; }
    [[nodiscard]] const at::Tensor& initialB() const { return m_initialB; }

protected:
    /// s * (drop(x) A^T) B^T.
    [[nodiscard]] at::Tensor loraBranch(const at::Tensor& x) const;
    /// B (A x) without the scaling.
    [[nodiscard]] at::Tensor loraProduct(const at::Tensor& x) const;
    /// s * B A in fp32 [out, in].
    [[nodiscard]] at::Tensor scaledProduct() const;

    double m_dropout;

private:
    /// W <- W + sign s B A in place when W is fp32; false (nothing done) otherwise.
    bool accumulateIntoWeight(nn::ProjectionImpl& base, double sign) const;
    /// Keeps (a, b) as the adapter and its initial factors, and subtracts s B A from the base.
    void startFromResidual(nn::ProjectionImpl& base, const at::Tensor& a, const at::Tensor& b);

    at::Tensor m_a;
    at::Tensor m_b;
    at::Tensor m_initialA;
    at::Tensor m_initialB;
};

/// DoRA (adapter-methods.md 7): the LoRA update plus a magnitude m [out] per output feature,
/// y = (m / ||W + s B A||_row) (x (W + s B A)^T) + b with the norm detached.
class DoraAdapter : public LoraAdapter {
public:
    DoraAdapter(Target target, double dropout);

    at::Tensor forward(nn::ProjectionImpl& base, const at::Tensor& input) override;
    [[nodiscard]] bool addsToBase() const override { return false; } // it rescales the base
    /// The merged weight minus W: (m / n - 1) W + (m / n) s B A.
    [[nodiscard]] at::Tensor deltaWeight(const at::Tensor& weightOutIn) const override;
    void merge(nn::ProjectionImpl& base) override;
    void unmerge(nn::ProjectionImpl& base) override;
    [[nodiscard]] std::vector<NamedTensor> tensors() const override;
    void to(const c10::Device& device) override;

    /// m = ||W + s B A||_row for the current factors (call after the LoRA init).
    void initMagnitude(const nn::ProjectionImpl& base);
    void setMagnitude(const at::Tensor& magnitude);
    [[nodiscard]] const at::Tensor& magnitude() const { return m_magnitude; }

private:
    at::Tensor m_magnitude;
    at::Tensor m_mergeNorm; ///< the row norms computed at merge, used by unmerge
};

} // namespace ftw::adapters
