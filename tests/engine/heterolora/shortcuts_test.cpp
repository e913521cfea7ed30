// SPDX-License-Identifier: MIT
// HeteroLoRA's LoRA-adapted shortcut connections (seed-papers.md 3.5) on tiny Llama and GPT-2
// models: at init they leave the logits exactly unchanged; with random B each shortcut adds what
// an independent float64 forward of the formulas gives (written here tensor by tensor, sharing no
// code with nn::Decoder); a shortcut that is off gets no gradient and changes nothing; GRAD-NORM
// and SNIP of a shortcut equal float64 autograd through that reference; the combined and
// separated budgets switch on floor(p N_lora) + round(p N_shortcut) units; the trainable counts
// are 2 r D per shortcut; a saved adapter with shortcuts loads back to the same logits; and a
// heterolora run with shortcuts re-allocates and saves them beside the PEFT LoRA.
#include "heterolora/allocation.h"
#include "heterolora/proxies.h"
#include "heterolora/reallocator.h"
#include "heterolora/shortcuts.h"

#include "adapters/adapter_set.h"
#include "adapters/counts.h"
#include "adapters/peft_files.h"
#include "model/projections.h"
#include "model/tiny_model.h"
#include "train/training_data.h"

#include "support/temp_dir.h"
#include "support/train_fixture.h"

#include <ftw/engine.h>
#include <ftw/run_store.h>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/autograd.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>
#include <map>
#include <numbers>

namespace ftw::heterolora {
namespace {

using model::ArchId;
using model::ModelConfig;

constexpr std::array<const char*, 4> kKeys = {"residual1", "residual2", "shortcut_sa",
                                              "shortcut_ffn"};

nn::Decoder tinyDecoder(ArchId arch, std::uint64_t seed)
{
    nn::Decoder decoder(model::tinyConfig(arch));
    model::initializeRandom(*decoder, seed);
    return decoder;
}

/// Units of heterolora with shortcuts: one module kind per layer and the 4 L - 1 = 7 shortcuts,
/// rank 4 and shortcut alpha 8 (scale 2, so that a wrong scale shows).
AdapterConfig shortcutConfig(ArchId arch)
{
    AdapterConfig c;
    c.method = AdapterMethod::HeteroLora;
    c.r = 4;
    c.alpha = 8.0;
    c.shortcuts = true;
    c.shortcutAlpha = 8.0;
    c.seed = 3;
    c.targetModules = {arch == ArchId::Gpt2 ? "c_attn" : "v_proj"};
    return c;
}

std::vector<Unit> shortcutUnits(const std::vector<Unit>& units)
{
    std::vector<Unit> found;
    std::copy_if(units.begin(), units.end(), std::back_inserter(found),
                 [](const Unit& u) { return isShortcut(u.adapter->target()); });
    return found;
}

/// Gives every shortcut unit a seeded non-zero B, keeping A.
void randomizeShortcutB(const std::vector<Unit>& units, std::uint64_t seed)
{
    at::Generator generator = at::detail::createCPUGenerator(seed);
    for (const Unit& u : shortcutUnits(units)) {
        u.adapter->setFactors(u.adapter->a(), 0.05 * at::randn(u.adapter->b().sizes(), generator));
    }
}

at::Tensor randomTokens(std::int64_t length, std::uint64_t seed)
{
    at::Generator generator = at::detail::createCPUGenerator(seed);
    return at::randint(0, 256, {1, length}, generator, at::kLong);
}

/// A shortcut's float64 factors and scale, for the reference.
struct RefShortcut {
    at::Tensor a; ///< [r, D]
    at::Tensor b; ///< [D, r]
    double scale = 0.0;
};

/// An independent float64 forward of one sequence [T] -> logits [T, V], from the decoder's state
/// dict and the formulas of each architecture, with the shortcuts of seed-papers.md 3.5 added to
/// the residual stream before the next normalisation:
///   h_mid = h_in + Attn(LN1(h_in)) + s B1 A1 h_in + s B4 A4 h_mid^(l-1)
///   h_out = h_mid + FFN(LN2(h_mid)) + s B2 A2 h_mid + s B3 A3 h_in
/// Shortcuts missing from the map add nothing.
class ReferenceModel {
public:
    ReferenceModel(const ModelConfig& c, const nn::DecoderImpl& decoder,
                   std::map<std::string, RefShortcut> shortcuts)
        : m_c(c), m_shortcuts(std::move(shortcuts))
    {
        for (const auto& item : decoder.named_parameters()) {
            m_w.emplace(item.key(), item.value().detach().to(at::kDouble));
        }
    }

    at::Tensor logits(const at::Tensor& tokens) const
    {
        const bool isGpt2 = m_c.arch == ArchId::Gpt2;
        const std::int64_t t = tokens.size(0);
        at::Tensor h = isGpt2 ? w("transformer.wte.weight").index_select(0, tokens) +
                                    w("transformer.wpe.weight").narrow(0, 0, t)
                              : w("model.embed_tokens.weight").index_select(0, tokens);
        at::Tensor previousMid;
        for (std::int64_t l = 0; l < m_c.numLayers; ++l) {
            const at::Tensor input = h;
            at::Tensor mid = input + (isGpt2 ? gpt2Attention(input, l) : llamaAttention(input, l)) +
                             shortcut(l, "residual1", input);
            if (l > 0) {
                mid = mid + shortcut(l, "shortcut_ffn", previousMid);
            }
            h = mid + (isGpt2 ? gpt2Mlp(mid, l) : llamaMlp(mid, l)) +
                shortcut(l, "residual2", mid) + shortcut(l, "shortcut_sa", input);
            previousMid = mid;
        }
        if (isGpt2) {
            return layerNorm(h, "transformer.ln_f").matmul(w("transformer.wte.weight").t());
        }
        return rmsNorm(h, "model.norm.weight").matmul(w("lm_head.weight").t());
    }

private:
    at::Tensor w(const std::string& name) const { return m_w.at(name); }

    std::string prefix(std::int64_t layer) const
    {
        return (m_c.arch == ArchId::Gpt2 ? "transformer.h." : "model.layers.") +
               std::to_string(layer) + ".";
    }

    at::Tensor shortcut(std::int64_t layer, const std::string& key, const at::Tensor& x) const
    {
        const auto found = m_shortcuts.find(prefix(layer) + "shortcut." + key);
        if (found == m_shortcuts.end()) {
            return at::zeros_like(x);
        }
        const RefShortcut& s = found->second;
        return s.scale * x.matmul(s.a.t()).matmul(s.b.t());
    }

    at::Tensor rmsNorm(const at::Tensor& x, const std::string& weight) const
    {
        return x / at::sqrt(x.pow(2).mean(-1, true) + m_c.normEps) * w(weight);
    }

    at::Tensor layerNorm(const at::Tensor& x, const std::string& p) const
    {
        const at::Tensor mean = x.mean(-1, true);
        const at::Tensor var = (x - mean).pow(2).mean(-1, true);
        return (x - mean) / at::sqrt(var + m_c.normEps) * w(p + ".weight") + w(p + ".bias");
    }

    at::Tensor linear(const at::Tensor& x, const std::string& name) const
    {
        at::Tensor y = x.matmul(w(name + ".weight").t());
        return m_w.count(name + ".bias") == 1 ? y + w(name + ".bias") : y;
    }

    at::Tensor conv1d(const at::Tensor& x, const std::string& p) const // weight [in, out]
    {
        return x.matmul(w(p + ".weight")) + w(p + ".bias");
    }

    static at::Tensor heads(const at::Tensor& x, std::int64_t n) // [T, n*d] -> [n, T, d]
    {
        return x.view({x.size(0), n, -1}).permute({1, 0, 2});
    }

    /// Llama 3 scaled inverse frequencies (Hugging Face's _compute_llama3_parameters).
    at::Tensor inverseFrequencies() const
    {
        const std::int64_t d = m_c.headDim;
        std::vector<double> inv;
        for (std::int64_t i = 0; i < d / 2; ++i) {
            double f = 1.0 / std::pow(m_c.ropeTheta,
                                      2.0 * static_cast<double>(i) / static_cast<double>(d));
            if (m_c.ropeScaling) {
                const model::RopeScaling& s = *m_c.ropeScaling;
                const double wavelen = 2 * std::numbers::pi / f;
                const double low = static_cast<double>(s.originalMaxPositions) / s.lowFreqFactor;
                const double high = static_cast<double>(s.originalMaxPositions) / s.highFreqFactor;
                if (wavelen > low) {
                    f /= s.factor;
                } else if (wavelen >= high) {
                    const double smooth =
                        (static_cast<double>(s.originalMaxPositions) / wavelen - s.lowFreqFactor) /
                        (s.highFreqFactor - s.lowFreqFactor);
                    f = (1 - smooth) * f / s.factor + smooth * f;
                }
            }
            inv.push_back(f);
        }
        return at::tensor(inv, at::kDouble);
    }

    at::Tensor rope(const at::Tensor& x) const // [heads, T, d], rotate-half pairs
    {
        const std::int64_t half = x.size(2) / 2;
        const at::Tensor angles =
            at::arange(x.size(1), at::kDouble).unsqueeze(1) * inverseFrequencies().unsqueeze(0);
        const at::Tensor c = angles.cos();
        const at::Tensor s = angles.sin();
        const at::Tensor a = x.narrow(2, 0, half);
        const at::Tensor b = x.narrow(2, half, half);
        return at::cat({a * c - b * s, b * c + a * s}, 2);
    }

    // q [H, T, d], k/v [Hkv, T, d] -> [T, H * d]; head h reads KV head h / (H / Hkv).
    static at::Tensor attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v)
    {
        const std::int64_t t = q.size(1);
        const std::int64_t group = q.size(0) / k.size(0);
        const at::Tensor causal = at::ones({t, t}, at::kBool).triu(1);
        std::vector<at::Tensor> outputs;
        for (std::int64_t h = 0; h < q.size(0); ++h) {
            const at::Tensor scores =
                q[h].matmul(k[h / group].t()) / std::sqrt(static_cast<double>(q.size(2)));
            outputs.push_back(scores.masked_fill(causal, -1e300).softmax(-1).matmul(v[h / group]));
        }
        return at::cat(outputs, 1);
    }

    at::Tensor llamaAttention(const at::Tensor& h, std::int64_t l) const
    {
        const std::string p = prefix(l);
        const at::Tensor x = rmsNorm(h, p + "input_layernorm.weight");
        const at::Tensor q = heads(linear(x, p + "self_attn.q_proj"), m_c.numHeads);
        const at::Tensor k = heads(linear(x, p + "self_attn.k_proj"), m_c.numKvHeads);
        const at::Tensor v = heads(linear(x, p + "self_attn.v_proj"), m_c.numKvHeads);
        return linear(attention(rope(q), rope(k), v), p + "self_attn.o_proj");
    }

    at::Tensor llamaMlp(const at::Tensor& h, std::int64_t l) const
    {
        const std::string p = prefix(l);
        const at::Tensor y = rmsNorm(h, p + "post_attention_layernorm.weight");
        const at::Tensor gate = linear(y, p + "mlp.gate_proj");
        return linear(gate * at::sigmoid(gate) * linear(y, p + "mlp.up_proj"), p + "mlp.down_proj");
    }

    at::Tensor gpt2Attention(const at::Tensor& h, std::int64_t l) const
    {
        const std::string p = prefix(l);
        const std::int64_t c = m_c.hiddenSize;
        const at::Tensor qkv = conv1d(layerNorm(h, p + "ln_1"), p + "attn.c_attn");
        return conv1d(attention(heads(qkv.narrow(1, 0, c), m_c.numHeads),
                                heads(qkv.narrow(1, c, c), m_c.numHeads),
                                heads(qkv.narrow(1, 2 * c, c), m_c.numHeads)),
                      p + "attn.c_proj");
    }

    at::Tensor gpt2Mlp(const at::Tensor& h, std::int64_t l) const
    {
        const std::string p = prefix(l);
        const at::Tensor u = conv1d(layerNorm(h, p + "ln_2"), p + "mlp.c_fc");
        const at::Tensor gelu =
            0.5 * u * (1 + at::tanh(std::sqrt(2 / std::numbers::pi) * (u + 0.044715 * u.pow(3))));
        return conv1d(gelu, p + "mlp.c_proj");
    }

    ModelConfig m_c;
    std::map<std::string, at::Tensor> m_w;
    std::map<std::string, RefShortcut> m_shortcuts;
};

/// The reference's shortcuts: float64 copies of the units that are on (A and B require gradients).
std::map<std::string, RefShortcut> referenceShortcuts(const std::vector<Unit>& units)
{
    std::map<std::string, RefShortcut> found;
    for (const Unit& u : shortcutUnits(units)) {
        if (u.adapter->isEnabled()) {
            found.emplace(u.name,
                          RefShortcut{u.adapter->a().detach().to(at::kDouble).requires_grad_(true),
                                      u.adapter->b().detach().to(at::kDouble).requires_grad_(true),
                                      u.adapter->target().scaling});
        }
    }
    return found;
}

double maxAbs(const at::Tensor& t)
{
    return t.abs().max().item<double>();
}

class ShortcutsTest : public ::testing::TestWithParam<ArchId> {};

TEST_P(ShortcutsTest, AtInitEveryShortcutLeavesTheLogitsExactlyUnchanged)
{
    const ArchId arch = GetParam();
    nn::Decoder decoder = tinyDecoder(arch, 41);
    const at::Tensor tokens = randomTokens(9, 1);
    const torch::NoGradGuard noGrad;
    const at::Tensor base = decoder->forward(tokens);
    {
        const adapters::AdapterSet set =
            adapters::AdapterSet::attach(*decoder, shortcutConfig(arch));
        const std::vector<Unit> units = unitsOf(set);
        ASSERT_EQ(shortcutUnits(units).size(), 7U); // 4 per layer, no shortcut_ffn in layer 0
        for (const Unit& u : shortcutUnits(units)) {
            EXPECT_TRUE(u.adapter->isEnabled());
            EXPECT_GT(maxAbs(u.adapter->a()), 0.0); // A drawn as LoRA's, B zero
            EXPECT_EQ(maxAbs(u.adapter->b()), 0.0);
        }
        EXPECT_TRUE(decoder->residualHooks != nullptr);
        EXPECT_TRUE(at::equal(decoder->forward(tokens), base));
    }
    // Detaching the set uninstalls the hooks.
    EXPECT_TRUE(decoder->residualHooks == nullptr);
    EXPECT_TRUE(at::equal(decoder->forward(tokens), base));
}

TEST_P(ShortcutsTest, EachShortcutAddsWhatTheFloat64FormulasGive)
{
    const ArchId arch = GetParam();
    nn::Decoder decoder = tinyDecoder(arch, 42);
    const adapters::AdapterSet set = adapters::AdapterSet::attach(*decoder, shortcutConfig(arch));
    const std::vector<Unit> units = unitsOf(set);
    randomizeShortcutB(units, 7);
    const at::Tensor tokens = randomTokens(9, 2);
    const torch::NoGradGuard noGrad;
    const ReferenceModel none(decoder->config(), *decoder, {});
    const at::Tensor baseReference = none.logits(tokens[0]);

    // Each kind alone (every layer's unit of that kind on, the others off), then all together.
    std::vector<std::string> cases(kKeys.begin(), kKeys.end());
    cases.emplace_back("all");
    for (const std::string& key : cases) {
        SCOPED_TRACE(key);
        for (const Unit& u : shortcutUnits(units)) {
            u.adapter->setEnabled(key == "all" || u.name.ends_with(".shortcut." + key));
        }
        const at::Tensor logits = decoder->forward(tokens)[0].to(at::kDouble);
        const ReferenceModel reference(decoder->config(), *decoder, referenceShortcuts(units));
        const at::Tensor expected = reference.logits(tokens[0]);
        // The shortcut matters (the check is not vacuous) and matches the formulas.
        EXPECT_GT(maxAbs(expected - baseReference), 1e-3);
        EXPECT_LT(maxAbs(logits - expected), 2e-5 * (1.0 + maxAbs(expected)));
    }
}

TEST_P(ShortcutsTest, ShortcutSwitchedOffGetsNoGradientAndDoesNotChangeTheOutput)
{
    const ArchId arch = GetParam();
    nn::Decoder decoder = tinyDecoder(arch, 43);
    const adapters::AdapterSet set = adapters::AdapterSet::attach(*decoder, shortcutConfig(arch));
    const std::vector<Unit> shortcuts = shortcutUnits(unitsOf(set));
    randomizeShortcutB(shortcuts, 8);
    const at::Tensor tokens = randomTokens(7, 3);
    // Off: residual2 of layer 0, shortcut_ffn and shortcut_sa of layer 1.
    auto isOff = [](const Unit& u) {
        return u.name.ends_with("0.shortcut.residual2") ||
               u.name.ends_with("1.shortcut.shortcut_ffn") ||
               u.name.ends_with("1.shortcut.shortcut_sa");
    };
    for (const Unit& u : shortcuts) {
        u.adapter->setEnabled(!isOff(u));
    }
    const at::Tensor someOff = decoder->forward(tokens);

    // The same units on with B = 0 (no update): exactly the same logits.
    {
        const torch::NoGradGuard noGrad;
        std::vector<at::Tensor> savedB;
        for (const Unit& u : shortcuts) {
            savedB.push_back(u.adapter->b().detach().clone());
            if (isOff(u)) {
                u.adapter->setFactors(u.adapter->a(), at::zeros_like(u.adapter->b()));
                u.adapter->setEnabled(true);
            }
        }
        EXPECT_TRUE(at::equal(decoder->forward(tokens), someOff.detach()));
        for (std::size_t i = 0; i < shortcuts.size(); ++i) {
            if (isOff(shortcuts[i])) { // the units that are on keep what the backward pass needs
                shortcuts[i].adapter->setFactors(shortcuts[i].adapter->a(), savedB[i]);
                shortcuts[i].adapter->setEnabled(false);
            }
        }
    }

    someOff.pow(2).mean().backward();
    for (const Unit& u : shortcuts) {
        SCOPED_TRACE(u.name);
        const bool isOn = !isOff(u);
        ASSERT_EQ(u.adapter->a().grad().defined(), isOn);
        ASSERT_EQ(u.adapter->b().grad().defined(), isOn);
        if (isOn) {
            EXPECT_GT(maxAbs(u.adapter->a().grad()), 0.0);
            EXPECT_GT(maxAbs(u.adapter->b().grad()), 0.0);
        }
    }
}

TEST_P(ShortcutsTest, GradNormAndSnipOfShortcutsEqualFloat64AutogradAndNeverVanish)
{
    const ArchId arch = GetParam();
    nn::Decoder decoder = tinyDecoder(arch, 44);
    const adapters::AdapterSet set = adapters::AdapterSet::attach(*decoder, shortcutConfig(arch));
    const std::vector<Unit> units = unitsOf(set);
    std::vector<train::Batch> batches;
    for (std::uint64_t seed : {11U, 12U}) {
        train::Batch batch;
        batch.inputIds = randomTokens(9, seed);
        batch.labels = batch.inputIds.clone();
        batch.labels.select(1, 0).fill_(-100);
        batch.tokens = batch.inputIds.numel();
        batch.trainedTokens = batch.labels.slice(1, 1).ne(-100).sum().item<std::int64_t>();
        batches.push_back(std::move(batch));
    }
    ScoringOptions options;
    options.proxies = {ZeroCostProxy::GradNorm, ZeroCostProxy::Snip, ZeroCostProxy::Synflow};

    // At init (B = 0): GRAD-NORM is ||dL/dB|| > 0 for every shortcut, SNIP and SYNFLOW exactly 0;
    // after the warm-up they are not.
    options.warmupSteps = 0;
    const std::vector<UnitScores> atInit = scoreUnits(*decoder, units, batches, options);
    options.warmupSteps = 2;
    options.warmupLearningRate = 1e-3;
    const std::vector<UnitScores> warmed = scoreUnits(*decoder, units, batches, options);
    for (std::size_t i = 0; i < units.size(); ++i) {
        if (!isShortcut(units[i].adapter->target())) {
            continue;
        }
        SCOPED_TRACE(units[i].name);
        EXPECT_GT(*atInit[i].gradNorm, 0.0);
        EXPECT_EQ(*atInit[i].snip, 0.0);
        EXPECT_EQ(*atInit[i].synflow, 0.0);
        EXPECT_GT(*warmed[i].snip, 0.0);
        EXPECT_GT(*warmed[i].synflow, 0.0);
    }

    // With random B (every term matters): the scores against float64 autograd of the reference.
    randomizeShortcutB(units, 9);
    options.warmupSteps = 0;
    const std::vector<UnitScores> scores = scoreUnits(*decoder, units, batches, options);
    std::map<std::string, RefShortcut> refs = referenceShortcuts(units);
    const ReferenceModel reference(decoder->config(), *decoder, refs);
    for (const train::Batch& batch : batches) {
        const at::Tensor logits = reference.logits(batch.inputIds[0]);
        const std::int64_t length = logits.size(0);
        const at::Tensor loss = at::cross_entropy_loss(logits.slice(0, 0, length - 1),
                                                       batch.labels[0].slice(0, 1, length), {},
                                                       at::Reduction::Sum, -100) /
                                static_cast<double>(batch.trainedTokens);
        (loss / static_cast<double>(batches.size())).backward();
    }
    for (std::size_t i = 0; i < units.size(); ++i) {
        if (!isShortcut(units[i].adapter->target())) {
            continue;
        }
        SCOPED_TRACE(units[i].name);
        const RefShortcut& ref = refs.at(units[i].name);
        const double gradNorm =
            ref.a.grad().norm().item<double>() + ref.b.grad().norm().item<double>();
        const double snip = (ref.a * ref.a.grad()).abs().sum().item<double>() +
                            (ref.b * ref.b.grad()).abs().sum().item<double>();
        EXPECT_GT(gradNorm, 0.0);
        EXPECT_NEAR(*scores[i].gradNorm, gradNorm, 1e-4 * gradNorm);
        EXPECT_NEAR(*scores[i].snip, snip, 1e-4 * snip);
    }
}

TEST_P(ShortcutsTest, SavedAdapterWithShortcutsLoadsBackToTheSameLogits)
{
    const ArchId arch = GetParam();
    const test::TempDir dir;
    const at::Tensor tokens = randomTokens(9, 4);
    for (const bool isShortcutsOnly : {false, true}) {
        SCOPED_TRACE(isShortcutsOnly ? "shortcuts only" : "modules and shortcuts");
        const std::filesystem::path adapterDir =
            dir / (isShortcutsOnly ? "shortcuts-only" : "mixed");
        nn::Decoder decoder = tinyDecoder(arch, 45);
        at::Tensor expected;
        std::vector<std::string> onShortcuts;
        {
            const adapters::AdapterSet set =
                adapters::AdapterSet::attach(*decoder, shortcutConfig(arch));
            const std::vector<Unit> units = unitsOf(set);
            at::Generator generator = at::detail::createCPUGenerator(10);
            for (std::size_t i = 0; i < units.size(); ++i) {
                const Unit& u = units[i];
                u.adapter->setFactors(u.adapter->a(),
                                      0.05 * at::randn(u.adapter->b().sizes(), generator));
                const bool isOn =
                    isShortcut(u.adapter->target()) ? i % 2 == 0 : !isShortcutsOnly && i == 0;
                u.adapter->setEnabled(isOn);
                if (isOn && isShortcut(u.adapter->target())) {
                    onShortcuts.push_back(u.name);
                }
            }
            const torch::NoGradGuard noGrad;
            expected = decoder->forward(tokens);
            adapters::saveAdapter(set, adapterDir);
        }
        ASSERT_TRUE(std::filesystem::exists(adapterDir / kShortcutsFile));
        std::ifstream in(adapterDir / "adapter_config.json");
        const nlohmann::json config = nlohmann::json::parse(in);
        EXPECT_EQ(config["peft_type"], "LORA"); // the module part stays PEFT's
        EXPECT_FALSE(config.contains("heterolora_shortcut_modules"));

        nn::Decoder other = tinyDecoder(arch, 45);
        const adapters::AdapterSet loaded = adapters::loadAdapter(*other, adapterDir);
        EXPECT_EQ(loaded.config().method, AdapterMethod::Lora);
        EXPECT_EQ(loaded.config().shortcutModules, onShortcuts);
        EXPECT_EQ(loaded.modules().size(), isShortcutsOnly ? 0U : 1U);
        ASSERT_TRUE(loaded.shortcuts() != nullptr);
        EXPECT_EQ(loaded.shortcuts()->entries().size(), onShortcuts.size());
        const torch::NoGradGuard noGrad;
        EXPECT_TRUE(at::equal(other->forward(tokens), expected));
    }
}

INSTANTIATE_TEST_SUITE_P(LlamaAndGpt2, ShortcutsTest,
                         ::testing::Values(ArchId::Llama, ArchId::Gpt2), [](const auto& param) {
                             return param.param == ArchId::Gpt2 ? std::string("Gpt2")
                                                                : std::string("Llama");
                         });

TEST(ShortcutBudgetTest, CombinedAndSeparatedBudgetsSwitchOnTheFormulasNumberOfUnits)
{
    // floor(p N_lora) + round(p N_shortcut), round as Python's (half to even).
    EXPECT_EQ(unitBudget(0.25, 4, 7).lora, 1);            // floor(1.0)
    EXPECT_EQ(unitBudget(0.25, 4, 7).shortcut, 2);        // round(1.75)
    EXPECT_EQ(unitBudget(0.5, 5, 7).lora, 2);             // floor(2.5)
    EXPECT_EQ(unitBudget(0.5, 5, 7).shortcut, 4);         // round(3.5) = 4
    EXPECT_EQ(unitBudget(0.5, 5, 5).shortcut, 2);         // round(2.5) = 2
    EXPECT_EQ(unitBudget(0.25, 48, 95).total(), 12 + 24); // OPT-350M: q, v and 4 x 24 - 1

    // The tiny Llama: q and v in 2 layers (4 modules) and 7 shortcuts, p = 0.5: 2 + round(3.5).
    nn::Decoder decoder = tinyDecoder(ArchId::Llama, 46);
    AdapterConfig config = shortcutConfig(ArchId::Llama);
    config.targetModules = {"q_proj", "v_proj"};
    config.budgetFraction = 0.5;
    const adapters::AdapterSet set = adapters::AdapterSet::attach(*decoder, config);
    const std::vector<Unit> units = unitsOf(set);
    ASSERT_EQ(units.size(), 11U);
    std::vector<adapters::Target> targets;
    for (const Unit& u : units) {
        targets.push_back(u.adapter->target());
    }
    // Scores that favour the shortcuts: combined takes the top 6 of one ranking (all shortcuts
    // but the lowest one), separated 2 modules and 4 shortcuts.
    std::vector<double> scores;
    for (std::size_t i = 0; i < units.size(); ++i) {
        scores.push_back(isShortcut(targets[i]) ? 10.0 + static_cast<double>(i)
                                                : static_cast<double>(i));
    }
    const std::vector<double> ties(units.size(), 0.0);
    for (const bool isSeparate : {false, true}) {
        SCOPED_TRACE(isSeparate ? "separated" : "combined");
        const std::vector<std::int64_t> ranks = chooseUnits(targets, scores, ties, 0.5, isSeparate);
        std::int64_t modulesOn = 0;
        std::int64_t shortcutsOn = 0;
        for (std::size_t i = 0; i < ranks.size(); ++i) {
            EXPECT_TRUE(ranks[i] == 0 || ranks[i] == 4);
            (isShortcut(targets[i]) ? shortcutsOn : modulesOn) += ranks[i] > 0 ? 1 : 0;
        }
        EXPECT_EQ(modulesOn + shortcutsOn, 6);
        EXPECT_EQ(modulesOn, isSeparate ? 2 : 0);
        EXPECT_EQ(shortcutsOn, isSeparate ? 4 : 6);
    }

    // The dynamic re-allocation with the real GRAD-NORM: exactly the budget in both modes.
    std::vector<train::Batch> batches;
    train::Batch batch;
    batch.inputIds = randomTokens(8, 5);
    batch.labels = batch.inputIds.clone();
    batch.tokens = batch.trainedTokens = 7;
    batches.push_back(batch);
    for (const bool isSeparate : {false, true}) {
        SCOPED_TRACE(isSeparate ? "separated" : "combined");
        config.separateBudgets = isSeparate;
        Reallocator reallocator(*decoder, units, batches, config, ScoringOptions{});
        EXPECT_EQ(reallocator.budgetUnits(), 6);
        const Reallocation& record = reallocator.reallocate(0);
        std::int64_t modulesOn = 0;
        std::int64_t shortcutsOn = 0;
        for (std::size_t i = 0; i < units.size(); ++i) {
            EXPECT_EQ(units[i].adapter->isEnabled(), record.enabled[i]);
            (isShortcut(targets[i]) ? shortcutsOn : modulesOn) += record.enabled[i] ? 1 : 0;
        }
        EXPECT_EQ(modulesOn + shortcutsOn, 6);
        if (isSeparate) {
            EXPECT_EQ(modulesOn, 2);
            EXPECT_EQ(shortcutsOn, 4);
        }
        // 2 r D = 512 per shortcut; q is 64 x 64 and v 64 x 32 in the tiny Llama.
        std::int64_t params = 0;
        for (std::size_t i = 0; i < units.size(); ++i) {
            if (record.enabled[i]) {
                params += isShortcut(targets[i])              ? 2 * 4 * 64
                          : units[i].name.ends_with("q_proj") ? 4 * (64 + 64)
                                                              : 4 * (64 + 32);
            }
        }
        EXPECT_EQ(record.enabledParams, params);
    }
}

TEST(ShortcutCountTest, EveryShortcutTrains2rDAndLayerZeroHasThree)
{
    for (const ArchId arch : {ArchId::Llama, ArchId::Gpt2}) {
        SCOPED_TRACE(model::archName(arch));
        const ModelConfig model = model::tinyConfig(arch);
        const AdapterConfig config = shortcutConfig(arch);
        std::map<std::int64_t, int> perLayer;
        for (const model::ProjectionSpec& spec : shortcutSpecs(model)) {
            perLayer[spec.layer] += 1;
        }
        EXPECT_EQ(perLayer, (std::map<std::int64_t, int>{{0, 3}, {1, 4}}));
        // r = 4, D = 64: 2 r D = 512 each, 7 shortcuts.
        const std::int64_t shortcutParams = 7 * 2 * 4 * 64;
        EXPECT_EQ(adapters::shortcutTrainableCount(model, config), shortcutParams);
        const std::vector<adapters::Target> modules =
            adapters::selectTargets(model::projectionSpecs(model), config);
        std::int64_t moduleParams = 0;
        for (const adapters::Target& t : modules) {
            moduleParams += 4 * (t.spec.in + t.spec.out);
        }
        EXPECT_EQ(adapters::totalTrainableCount(model, config, modules),
                  moduleParams + shortcutParams);
        nn::Decoder decoder = tinyDecoder(arch, 47);
        const adapters::AdapterSet set = adapters::AdapterSet::attach(*decoder, config);
        EXPECT_EQ(set.trainableCount(), moduleParams + shortcutParams);
        std::size_t shortcutTensors = 0;
        for (const auto& [name, tensor] : set.trainableParameters()) {
            shortcutTensors += name.find(".shortcut.") != std::string::npos ? 1 : 0;
        }
        EXPECT_EQ(shortcutTensors, 14U); // A and B of each
    }
}

TEST(ShortcutRunTest, HeteroloraRunWithShortcutsReallocatesTheBudgetAndSavesThem)
{
    const test::TempDir dir;
    TrainSpec spec = test::tinyTrainSpec(dir, ArchId::Llama, AdapterMethod::HeteroLora);
    spec.adapter.targetModules = {"q_proj", "v_proj"};
    spec.adapter.r = 4;
    spec.adapter.shortcuts = true;
    spec.adapter.separateBudgets = true; // 1 module and round(0.25 * 7) = 2 shortcuts
    spec.adapter.budgetFraction = 0.25;
    spec.adapter.reallocEvery = 2;
    spec.adapter.scoreBatches = 1;
    spec.train.maxSteps = 3; // re-allocations before steps 0 and 2
    spec.train.learningRate = 5e-3;
    JobResult result;
    {
        auto engine = Engine::create(EngineOptions{dir / "ftw.db", 0});
        ASSERT_TRUE(engine.hasValue()) << engine.error().message;
        result = (*engine)->wait((*engine)->submit(spec).id);
    }
    ASSERT_EQ(result.status, JobStatus::Succeeded) << result.error.message;
    auto store = RunStore::open(dir / "ftw.db", StoreMode::ReadOnly);
    ASSERT_TRUE(store.hasValue());
    int reallocations = 0;
    const Expected<std::vector<RunEvent>> events = store->events(result.runId);
    ASSERT_TRUE(events.hasValue());
    for (const RunEvent& e : *events) {
        if (e.kind == "reallocate") {
            ++reallocations;
            EXPECT_NE(e.message.find("3 of 11 modules on"), std::string::npos) << e.message;
        }
    }
    EXPECT_EQ(reallocations, 2);
    // Every unit (4 modules, 7 shortcuts) trains in the optimiser's eyes: 2 r D per shortcut.
    const auto run = store->run(result.runId);
    ASSERT_TRUE(run.hasValue());
    EXPECT_EQ(run->summary.trainableParams, 2 * 4 * (64 + 64) + 2 * 4 * (64 + 32) + 7 * 2 * 4 * 64);

    const std::vector<AdapterLayoutEntry> layout = *store->adapterLayout(result.runId);
    ASSERT_EQ(layout.size(), 11U);
    std::vector<std::string> onShortcuts;
    int onModules = 0;
    for (const AdapterLayoutEntry& e : layout) {
        ASSERT_TRUE(e.scoreGradNorm.has_value());
        EXPECT_GT(*e.scoreGradNorm, 0.0) << e.layer << " " << e.module;
        if (e.isEnabled && e.module.starts_with("shortcut.")) {
            onShortcuts.push_back("model.layers." + std::to_string(e.layer) + "." + e.module);
            EXPECT_EQ(e.paramCount, 2 * 4 * 64);
        } else if (e.isEnabled) {
            ++onModules;
        }
    }
    EXPECT_EQ(onModules, 1);
    ASSERT_EQ(onShortcuts.size(), 2U);
    const nlohmann::json output = nlohmann::json::parse(result.outputJson);
    const std::filesystem::path adapterDir = output["adapter_dir"].get<std::string>();
    ASSERT_TRUE(std::filesystem::exists(adapterDir / kShortcutsFile));
    nn::Decoder other(model::tinyConfig(ArchId::Llama));
    const adapters::AdapterSet loaded = adapters::loadAdapter(*other, adapterDir);
    EXPECT_EQ(loaded.modules().size(), 1U);
    EXPECT_EQ(loaded.config().shortcutModules, onShortcuts);

    // No weight of the model can hold a shortcut: merging refuses; the adapter alone exports
    // (and verifies against the adapted model's logits) with its shortcuts.
    auto engine = Engine::create(EngineOptions{dir / "ftw.db", 0});
    ASSERT_TRUE(engine.hasValue()) << engine.error().message;
    MergeSpec merge;
    merge.modelDir = spec.modelDir;
    merge.adapterDir = adapterDir;
    merge.outDir = dir / "merged";
    const JobResult merged = (*engine)->wait((*engine)->submit(merge).id);
    EXPECT_EQ(merged.status, JobStatus::Failed);
    EXPECT_NE(merged.error.message.find("shortcuts"), std::string::npos) << merged.error.message;
    merge.outDir = dir / "exported";
    merge.isAdapterOnly = true;
    const JobResult exported = (*engine)->wait((*engine)->submit(merge).id);
    ASSERT_EQ(exported.status, JobStatus::Succeeded) << exported.error.message;
    EXPECT_TRUE(std::filesystem::exists(dir / "exported" / kShortcutsFile));
}

} // namespace
} // namespace ftw::heterolora
