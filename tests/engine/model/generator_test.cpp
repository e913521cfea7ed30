// SPDX-License-Identifier: MIT
#include "core/cpu_allocator.h"
#include "model/generator.h"
#include "model/tiny_model.h"

#include <ftw/error.h>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

namespace ftw::model {
namespace {

class GeneratorTest : public ::testing::Test {
protected:
    void SetUp() override { initializeRandom(*m_decoder, 21); }

    /// Greedy continuation by re-running the full forward each step (no cache): the reference.
    std::vector<std::int64_t> greedyWithoutCache(std::vector<std::int64_t> tokens, int count)
    {
        const at::NoGradGuard noGrad;
        std::vector<std::int64_t> produced;
        for (int i = 0; i < count; ++i) {
            const at::Tensor logits =
                m_decoder->forward(at::tensor(tokens, at::kLong).unsqueeze(0));
            const std::int64_t next = logits[0][-1].argmax().item<std::int64_t>();
            produced.push_back(next);
            tokens.push_back(next);
        }
        return produced;
    }

    nn::Decoder m_decoder{tinyConfig(ArchId::Llama)};
};

TEST(SampleTopPTest, HandWorkedDraws)
{
    const std::vector<double> p{0.15, 0.5, 0.05, 0.3};
    // top-p 0.8 keeps tokens 1 (0.5) and 3 (0.3): renormalised 0.625 and 0.375.
    EXPECT_EQ(sampleTopP(p, 0.8, 0.0), 1);
    EXPECT_EQ(sampleTopP(p, 0.8, 0.62), 1);
    EXPECT_EQ(sampleTopP(p, 0.8, 0.63), 3);
    EXPECT_EQ(sampleTopP(p, 0.8, 0.999), 3);
    // top-p 1.0 keeps all: cumulative 0.5, 0.8, 0.95, 1.0 in order 1, 3, 0, 2.
    EXPECT_EQ(sampleTopP(p, 1.0, 0.81), 0);
    EXPECT_EQ(sampleTopP(p, 1.0, 0.96), 2);
    // A tiny top-p still keeps the most likely token.
    EXPECT_EQ(sampleTopP(p, 0.01, 0.9), 1);
}

TEST_F(GeneratorTest, GreedyWithTheCacheEqualsGreedyWithFullForwards)
{
    const std::vector<std::int64_t> prompt{5, 9, 13, 2, 77};
    SamplingOptions options;
    options.maxNewTokens = 12;
    const Generation generated = generate(*m_decoder, prompt, options);
    EXPECT_EQ(generated.tokens, greedyWithoutCache(prompt, 12));
    EXPECT_FALSE(generated.isStoppedByToken);
}

TEST_F(GeneratorTest, StopsAfterAStopToken)
{
    const std::vector<std::int64_t> prompt{5, 9, 13};
    const std::vector<std::int64_t> greedy = greedyWithoutCache(prompt, 4);
    SamplingOptions options;
    options.maxNewTokens = 20;
    options.stopTokenIds = {greedy[2]};
    const Generation generated = generate(*m_decoder, prompt, options);
    ASSERT_TRUE(generated.isStoppedByToken);
    const auto firstStop = std::find(greedy.begin(), greedy.end(), greedy[2]);
    EXPECT_EQ(generated.tokens, std::vector<std::int64_t>(greedy.begin(), firstStop + 1));
}

TEST_F(GeneratorTest, SamplingIsReproducibleForASeedAndStaysInTheVocabulary)
{
    SamplingOptions options;
    options.maxNewTokens = 16;
    options.temperature = 1.5;
    options.topP = 0.9;
    options.seed = 4;
    const Generation a = generate(*m_decoder, {1, 2, 3}, options);
    const Generation b = generate(*m_decoder, {1, 2, 3}, options);
    EXPECT_EQ(a.tokens, b.tokens);
    ASSERT_EQ(a.tokens.size(), 16U);
    for (const std::int64_t id : a.tokens) {
        EXPECT_GE(id, 0);
        EXPECT_LT(id, 259);
    }
}

TEST_F(GeneratorTest, RespectsThePositionLimitAndTheStopCallback)
{
    SamplingOptions options;
    options.maxNewTokens = 1000;
    const std::vector<std::int64_t> prompt(60, 7);
    EXPECT_EQ(generate(*m_decoder, prompt, options).tokens.size(), 4U); // 64 positions in all
    int calls = 0;
    const Generation stopped = generate(*m_decoder, {1, 2}, options, [&] { return ++calls > 3; });
    EXPECT_EQ(stopped.tokens.size(), 3U);
}

TEST_F(GeneratorTest, RefusesAnEmptyPromptAndUnknownTokens)
{
    EXPECT_THROW((void)generate(*m_decoder, {}, {}), Error);
    try {
        (void)generate(*m_decoder, {1, 500}, {});
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("token id 500 is outside the vocabulary of 259"),
                  std::string::npos);
    }
}

TEST(GeneratorMemoryTest, TheGrowingKvCacheLeavesNoStaleBlocksInTheCpuCache)
{
    if (!core::installCachingCpuAllocator()) {
        GTEST_SKIP() << "FTW_CPU_CACHE_MIB=0: the caching allocator is off";
    }
    // One layer whose K and V grow by 1 KiB per token: past 1,024 tokens they are cached blocks
    // that change size class every eighth of their size, and the prompt's attention scores
    // (4 x 1,000 x 1,000 floats) are freed after the first step. Without a trim per token, every
    // outgrown block would stay cached until the job ends.
    ModelConfig config = tinyConfig(ArchId::Llama);
    config.numLayers = 1;
    config.hiddenSize = 256;
    config.numHeads = 4;
    config.numKvHeads = 4;
    config.headDim = 64;
    config.intermediateSize = 256;
    config.maxPositions = 2048;
    nn::Decoder decoder(config);
    initializeRandom(*decoder, 5);
    decoder->eval();
    std::vector<std::int64_t> prompt(1000);
    for (std::size_t i = 0; i < prompt.size(); ++i) {
        prompt[i] = static_cast<std::int64_t>(i * 7 % static_cast<std::size_t>(config.vocabSize));
    }
    core::releaseCachedCpuMemory();
    SamplingOptions options;
    options.maxNewTokens = 400;
    const Generation generation = generate(*decoder, prompt, options, {});
    ASSERT_EQ(generation.tokens.size(), 400U);
    // What the last token freed (K, V and the attention's copies, all of the current size class,
    // 1.375 MiB) stays for the next token; nothing older does (60 MB without the trim).
    EXPECT_LE(core::cpuCacheStats().cachedBytes, std::int64_t{8} << 20U);
    core::releaseCachedCpuMemory();
}

} // namespace
} // namespace ftw::model
