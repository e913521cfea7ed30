// SPDX-License-Identifier: MIT
#include "model/model_loader.h"
#include "model/safetensors.h"
#include "model/tiny_model.h"

#include "support/temp_dir.h"

#include <ftw/error.h>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <numbers>

namespace ftw::model {

// gtest prints architectures by name.
void PrintTo(ArchId arch, std::ostream* os);
void PrintTo(ArchId arch, std::ostream* os)
{
    *os << archName(arch);
}

namespace {

using StateDict = std::map<std::string, at::Tensor>;

/// An independent float64 forward, written tensor by tensor from the state dict and the formulas of
/// each architecture (Hugging Face's modelling code), sharing no code with nn::Decoder.
class ReferenceModel {
public:
    ReferenceModel(const ModelConfig& c, StateDict weights) : m_c(c), m_w(std::move(weights)) {}

    at::Tensor logits(const at::Tensor& tokens) const // [T] -> [T, V]
    {
        return m_c.arch == ArchId::Gpt2 ? gpt2(tokens) : llama(tokens);
    }

private:
    at::Tensor w(const std::string& name) const { return m_w.at(name); }

    at::Tensor rmsNorm(const at::Tensor& x, const std::string& weight) const
    {
        return x / at::sqrt(x.pow(2).mean(-1, true) + m_c.normEps) * w(weight);
    }

    at::Tensor inverseFrequencies() const
    {
        const std::int64_t d = m_c.headDim;
        std::vector<double> inv;
        for (std::int64_t i = 0; i < d / 2; ++i) {
            double f = 1.0 / std::pow(m_c.ropeTheta, 2.0 * i / d);
            if (m_c.ropeScaling) {
                const RopeScaling& s = *m_c.ropeScaling;
                const double wavelen = 2 * std::numbers::pi / f;
                const double low = s.originalMaxPositions / s.lowFreqFactor;
                const double high = s.originalMaxPositions / s.highFreqFactor;
                if (wavelen > low) {
                    f /= s.factor;
                } else if (wavelen >= high) {
                    const double smooth = (s.originalMaxPositions / wavelen - s.lowFreqFactor) /
                                          (s.highFreqFactor - s.lowFreqFactor);
                    f = (1 - smooth) * f / s.factor + smooth * f;
                }
            }
            inv.push_back(f);
        }
        return at::tensor(inv, at::kDouble);
    }

    // x: [heads, T, d]; rotate pairs (i, i + d/2) by angle position * inv[i].
    at::Tensor rope(const at::Tensor& x) const
    {
        const std::int64_t t = x.size(1);
        const std::int64_t half = x.size(2) / 2;
        const at::Tensor angles =
            at::arange(t, at::kDouble).unsqueeze(1) * inverseFrequencies().unsqueeze(0);
        const at::Tensor c = angles.cos();
        const at::Tensor s = angles.sin();
        const at::Tensor a = x.narrow(2, 0, half);
        const at::Tensor b = x.narrow(2, half, half);
        return at::cat({a * c - b * s, b * c + a * s}, 2);
    }

    // q [H, T, d], k/v [Hkv, T, d] -> [T, H * d]; head h reads KV head h / (H / Hkv).
    at::Tensor attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v) const
    {
        const std::int64_t heads = q.size(0);
        const std::int64_t t = q.size(1);
        const std::int64_t group = heads / k.size(0);
        std::vector<at::Tensor> outputs;
        for (std::int64_t h = 0; h < heads; ++h) {
            const at::Tensor kh = k[h / group];
            at::Tensor scores = q[h].matmul(kh.t()) / std::sqrt(static_cast<double>(q.size(2)));
            for (std::int64_t i = 0; i < t; ++i) {
                for (std::int64_t j = i + 1; j < t; ++j) {
                    scores[i][j] = -1e300;
                }
            }
            outputs.push_back(scores.softmax(-1).matmul(v[h / group]));
        }
        return at::cat(outputs, 1);
    }

    at::Tensor heads(const at::Tensor& x, std::int64_t n) const // [T, n*d] -> [n, T, d]
    {
        return x.view({x.size(0), n, -1}).permute({1, 0, 2});
    }

    at::Tensor linear(const at::Tensor& x, const std::string& name) const
    {
        at::Tensor y = x.matmul(w(name + ".weight").t());
        return m_w.count(name + ".bias") == 1 ? y + w(name + ".bias") : y;
    }

    at::Tensor llama(const at::Tensor& tokens) const
    {
        at::Tensor h = w("model.embed_tokens.weight").index_select(0, tokens);
        for (std::int64_t l = 0; l < m_c.numLayers; ++l) {
            const std::string p = "model.layers." + std::to_string(l) + ".";
            const at::Tensor x = rmsNorm(h, p + "input_layernorm.weight");
            at::Tensor q = heads(linear(x, p + "self_attn.q_proj"), m_c.numHeads);
            at::Tensor k = heads(linear(x, p + "self_attn.k_proj"), m_c.numKvHeads);
            const at::Tensor v = heads(linear(x, p + "self_attn.v_proj"), m_c.numKvHeads);
            if (m_c.hasQkNorm) {
                q = rmsNorm(q, p + "self_attn.q_norm.weight");
                k = rmsNorm(k, p + "self_attn.k_norm.weight");
            }
            h = h + linear(attention(rope(q), rope(k), v), p + "self_attn.o_proj");
            const at::Tensor y = rmsNorm(h, p + "post_attention_layernorm.weight");
            const at::Tensor gate = linear(y, p + "mlp.gate_proj");
            h = h + linear(gate * at::sigmoid(gate) * linear(y, p + "mlp.up_proj"),
                           p + "mlp.down_proj");
        }
        h = rmsNorm(h, "model.norm.weight");
        const std::string head =
            m_c.tieWordEmbeddings ? "model.embed_tokens.weight" : "lm_head.weight";
        return h.matmul(w(head).t());
    }

    at::Tensor layerNorm(const at::Tensor& x, const std::string& p) const
    {
        const at::Tensor mean = x.mean(-1, true);
        const at::Tensor var = (x - mean).pow(2).mean(-1, true);
        return (x - mean) / at::sqrt(var + m_c.normEps) * w(p + ".weight") + w(p + ".bias");
    }

    at::Tensor conv1d(const at::Tensor& x, const std::string& p) const // weight [in, out]
    {
        return x.matmul(w(p + ".weight")) + w(p + ".bias");
    }

    at::Tensor gpt2(const at::Tensor& tokens) const
    {
        const std::int64_t t = tokens.size(0);
        at::Tensor h = w("transformer.wte.weight").index_select(0, tokens) +
                       w("transformer.wpe.weight").narrow(0, 0, t);
        const std::int64_t c = m_c.hiddenSize;
        for (std::int64_t l = 0; l < m_c.numLayers; ++l) {
            const std::string p = "transformer.h." + std::to_string(l) + ".";
            const at::Tensor qkv = conv1d(layerNorm(h, p + "ln_1"), p + "attn.c_attn");
            const at::Tensor q = heads(qkv.narrow(1, 0, c), m_c.numHeads);
            const at::Tensor k = heads(qkv.narrow(1, c, c), m_c.numHeads);
            const at::Tensor v = heads(qkv.narrow(1, 2 * c, c), m_c.numHeads);
            h = h + conv1d(attention(q, k, v), p + "attn.c_proj");
            const at::Tensor u = conv1d(layerNorm(h, p + "ln_2"), p + "mlp.c_fc");
            const at::Tensor gelu =
                0.5 * u *
                (1 + at::tanh(std::sqrt(2 / std::numbers::pi) * (u + 0.044715 * u.pow(3))));
            h = h + conv1d(gelu, p + "mlp.c_proj");
        }
        return layerNorm(h, "transformer.ln_f").matmul(w("transformer.wte.weight").t());
    }

    ModelConfig m_c;
    StateDict m_w;
};

class DecoderTest : public ::testing::TestWithParam<ArchId> {
protected:
    at::Tensor tokens(std::initializer_list<std::int64_t> ids) const
    {
        return at::tensor(std::vector<std::int64_t>(ids), at::kLong).unsqueeze(0);
    }

    test::TempDir m_dir;
};

std::string archLabel(const ::testing::TestParamInfo<ArchId>& param)
{
    return std::string(archName(param.param));
}

TEST_P(DecoderTest, WrittenModelLoadsBackWithIdenticalLogits)
{
    nn::Decoder written = writeTinyModel(m_dir.path(), GetParam(), 11);
    LoadedModel loaded = loadModel(m_dir.path());
    EXPECT_EQ(loaded.config.arch, GetParam());
    const at::NoGradGuard noGrad;
    const at::Tensor input = tokens({5, 17, 99, 3, 64, 127, 0, 42});
    // Loading packs q, k, v (and gate, up) for one product each, which rounds differently from
    // separate products: pack the written decoder too, so that the check stays bit-exact.
    written->packProjections();
    EXPECT_TRUE(at::equal(written->forward(input), loaded.decoder->forward(input)));
}

TEST_P(DecoderTest, PackedProjectionsGiveTheSameLogitsAsSeparateOnes)
{
    nn::Decoder separate = writeTinyModel(m_dir.path(), GetParam(), 11);
    LoadedModel packed = loadModel(m_dir.path());
    const at::NoGradGuard noGrad;
    const at::Tensor input = tokens({5, 17, 99, 3, 64, 127, 0, 42});
    const at::Tensor expected = separate->forward(input);
    EXPECT_LT((packed.decoder->forward(input) - expected).abs().max().item<double>(), 1e-5);
    if (GetParam() == ArchId::Gpt2) {
        return; // c_attn is one product already: nothing is packed
    }
    // A weight written in place (as a merge writes it) stays packed and the product sees it.
    auto& block = *packed.decoder->named_modules()["model.layers.0"]->as<nn::LlamaBlockImpl>();
    auto& separateBlock = *separate->named_modules()["model.layers.0"]->as<nn::LlamaBlockImpl>();
    EXPECT_TRUE(block.vProj->weight.storage().is_alias_of(block.qProj->weight.storage()));
    block.vProj->weight.mul_(0.5); // v: Qwen3 normalises k
    separateBlock.vProj->weight.mul_(0.5);
    const at::Tensor changed = separate->forward(input);
    EXPECT_GT((changed - expected).abs().max().item<double>(), 1e-3);
    EXPECT_LT((packed.decoder->forward(input) - changed).abs().max().item<double>(), 1e-5);
}

TEST_P(DecoderTest, PackedWeightsThatTrainGetTheirOwnGradients)
{
    nn::Decoder separate = writeTinyModel(m_dir.path(), GetParam(), 11);
    LoadedModel packed = loadModel(m_dir.path());
    const at::Tensor input = tokens({5, 17, 99, 3, 64, 127, 0, 42});
    for (nn::DecoderImpl* decoder : {separate.get(), packed.decoder.get()}) {
        decoder->train();
        for (at::Tensor& p : decoder->parameters()) {
            p.set_requires_grad(true);
        }
        decoder->forward(input).pow(2).mean().backward();
    }
    const auto expected = separate->named_parameters();
    const auto actual = packed.decoder->named_parameters();
    for (const auto& item : expected) {
        const at::Tensor& grad = actual[item.key()].grad();
        ASSERT_TRUE(grad.defined()) << item.key();
        EXPECT_LT((grad - item.value().grad()).abs().max().item<double>(),
                  1e-5 * (1.0 + item.value().grad().abs().max().item<double>()))
            << item.key();
    }
}

TEST_P(DecoderTest, MatchesAnIndependentFloat64Computation)
{
    (void)writeTinyModel(m_dir.path(), GetParam(), 12);
    LoadedModel loaded = loadModel(m_dir.path());
    const SafetensorsFile file = SafetensorsFile::open(m_dir / "model.safetensors");
    StateDict weights;
    for (const TensorInfo& t : file.tensors()) {
        weights[t.name] = file.load(t.name).to(at::kDouble);
    }
    const ReferenceModel reference(parseModelConfig(m_dir / "config.json"), weights);

    const at::NoGradGuard noGrad;
    const at::Tensor input = tokens({7, 1, 88, 31, 2, 120, 64, 9, 9, 50, 3, 77});
    const at::Tensor actual = loaded.decoder->forward(input)[0].to(at::kDouble);
    const at::Tensor expected = reference.logits(input[0]);
    ASSERT_EQ(actual.sizes(), expected.sizes());
    const double maxDiff = (actual - expected).abs().max().item<double>();
    EXPECT_LT(maxDiff, 1e-4) << "largest logit difference " << maxDiff;
    EXPECT_GT(expected.abs().max().item<double>(),
              0.1); // the comparison is not of near-zero values
}

TEST_P(DecoderTest, LaterTokensLeaveEarlierLogitsUnchanged)
{
    nn::Decoder decoder = writeTinyModel(m_dir.path(), GetParam(), 13);
    const at::NoGradGuard noGrad;
    const at::Tensor a = decoder->forward(tokens({4, 8, 15, 16, 23, 42, 7, 7}));
    const at::Tensor b = decoder->forward(tokens({4, 8, 15, 16, 23, 99, 1, 100}));
    EXPECT_TRUE(at::allclose(a.narrow(1, 0, 5), b.narrow(1, 0, 5), 1e-5, 1e-6));
    EXPECT_FALSE(at::allclose(a.narrow(1, 5, 1), b.narrow(1, 5, 1), 1e-5, 1e-6));
}

TEST_P(DecoderTest, KvCacheGivesTheLogitsOfTheFullForward)
{
    nn::Decoder decoder = writeTinyModel(m_dir.path(), GetParam(), 14);
    const at::NoGradGuard noGrad;
    const at::Tensor input = tokens({3, 1, 4, 1, 5, 9, 2, 6, 5, 3});
    const at::Tensor full = decoder->forward(input);

    nn::KvCache cache;
    std::vector<at::Tensor> pieces{decoder->forward(input.narrow(1, 0, 6), &cache)};
    for (std::int64_t i = 6; i < input.size(1); ++i) {
        pieces.push_back(decoder->forward(input.narrow(1, i, 1), &cache));
    }
    EXPECT_EQ(cache.length(), input.size(1));
    const at::Tensor incremental = at::cat(pieces, 1);
    EXPECT_LT((incremental - full).abs().max().item<double>(), 1e-5);
}

TEST_P(DecoderTest, EveryProjectionIsANamedModuleWithTheCheckpointName)
{
    nn::Decoder decoder(tinyConfig(GetParam()));
    const std::vector<std::string> names = decoder->projectionNames();
    const auto has = [&](const std::string& name) {
        return std::find(names.begin(), names.end(), name) != names.end();
    };
    if (GetParam() == ArchId::Gpt2) {
        EXPECT_EQ(names.size(), 8U); // 4 per layer, tied head
        EXPECT_TRUE(has("transformer.h.0.attn.c_attn"));
        EXPECT_TRUE(has("transformer.h.1.mlp.c_proj"));
    } else {
        const bool isTied = tinyConfig(GetParam()).tieWordEmbeddings;
        EXPECT_EQ(names.size(), isTied ? 14U : 15U); // 7 per layer (+ lm_head)
        EXPECT_TRUE(has("model.layers.1.self_attn.q_proj"));
        EXPECT_TRUE(has("model.layers.0.mlp.down_proj"));
    }
}

TEST_P(DecoderTest, LoaderListsEveryMissingUnexpectedAndMisShapedTensorAtOnce)
{
    nn::Decoder decoder = writeTinyModel(m_dir.path(), GetParam(), 15);
    std::vector<std::pair<std::string, at::Tensor>> tensors;
    std::string dropped;
    std::string reshaped;
    for (const auto& item : decoder->named_parameters()) {
        if (dropped.empty()) {
            dropped = item.key();
            continue;
        }
        if (reshaped.empty() && item.value().dim() == 2) {
            reshaped = item.key();
            tensors.emplace_back(item.key(), item.value().narrow(0, 0, 1));
            continue;
        }
        tensors.emplace_back(item.key(), item.value());
    }
    tensors.emplace_back("model.extra_thing.weight", at::zeros({2}));
    writeSafetensors(m_dir / "model.safetensors", tensors);

    try {
        (void)loadModel(m_dir.path());
        FAIL() << "a broken checkpoint loaded";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::ModelFormat);
        const std::string message = e.what();
        EXPECT_NE(message.find("missing (1): " + dropped), std::string::npos) << message;
        EXPECT_NE(message.find("unexpected (1): model.extra_thing.weight"), std::string::npos)
            << message;
        EXPECT_NE(message.find("wrong shape or dtype (1): " + reshaped), std::string::npos)
            << message;
    }
}

INSTANTIATE_TEST_SUITE_P(AllArchs, DecoderTest, ::testing::ValuesIn(allArchIds()), archLabel);

} // namespace
} // namespace ftw::model
