// SPDX-License-Identifier: MIT
// Causal grouped-query attention against a float64 reference written head by head from the
// definition (softmax(q k^T / sqrt(d)) v with keys after a query's position masked), for the whole
// sequence and for queries that sit at the end of a longer cache; and the gradients of q, k and v
// against the reference's, through autograd in float64.
#include "support/attention_reference.h"

#include "nn/layers.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

namespace ftw {
namespace {

struct AttentionCase {
    std::int64_t heads;
    std::int64_t kvHeads;
    std::int64_t queries;
    std::int64_t total;
};

class CausalAttentionTest : public ::testing::TestWithParam<AttentionCase> {};

TEST_P(CausalAttentionTest, MatchesTheFloat64Reference)
{
    const AttentionCase c = GetParam();
    at::Generator generator = at::detail::createCPUGenerator(3);
    const at::Tensor q = at::randn({2, c.heads, c.queries, 8}, generator);
    const at::Tensor k = at::randn({2, c.kvHeads, c.total, 8}, generator);
    const at::Tensor v = at::randn({2, c.kvHeads, c.total, 8}, generator);
    const at::Tensor actual = nn::causalAttention(q, k, v);
    const at::Tensor expected = test::referenceAttention(q, k, v);
    ASSERT_EQ(actual.sizes(), expected.sizes());
    EXPECT_LT((actual.to(at::kDouble) - expected).abs().max().item<double>(), 1e-5);
}

TEST_P(CausalAttentionTest, GradientsMatchTheFloat64Reference)
{
    const AttentionCase c = GetParam();
    at::Generator generator = at::detail::createCPUGenerator(4);
    const at::Tensor q = at::randn({2, c.heads, c.queries, 8}, generator).requires_grad_();
    const at::Tensor k = at::randn({2, c.kvHeads, c.total, 8}, generator).requires_grad_();
    const at::Tensor v = at::randn({2, c.kvHeads, c.total, 8}, generator).requires_grad_();
    const at::Tensor upstream = at::randn({2, c.heads, c.queries, 8}, generator);
    nn::causalAttention(q, k, v).backward(upstream);
    const at::Tensor qd = q.detach().to(at::kDouble).requires_grad_();
    const at::Tensor kd = k.detach().to(at::kDouble).requires_grad_();
    const at::Tensor vd = v.detach().to(at::kDouble).requires_grad_();
    test::referenceAttention(qd, kd, vd).backward(upstream.to(at::kDouble));
    for (const auto& [actual, expected] :
         {std::pair{q.grad(), qd.grad()}, {k.grad(), kd.grad()}, {v.grad(), vd.grad()}}) {
        ASSERT_TRUE(actual.defined());
        ASSERT_EQ(actual.sizes(), expected.sizes());
        EXPECT_LT((actual.to(at::kDouble) - expected).abs().max().item<double>(), 1e-5);
    }
}

INSTANTIATE_TEST_SUITE_P(Shapes, CausalAttentionTest,
                         ::testing::Values(AttentionCase{4, 4, 6, 6},  // multi-head
                                           AttentionCase{4, 2, 6, 6},  // grouped, 2 per KV head
                                           AttentionCase{14, 2, 5, 5}, // Qwen2.5-0.5B's grouping
                                           AttentionCase{6, 3, 1, 7},  // one new query, cached keys
                                           AttentionCase{4, 1, 3, 9})); // several new queries

} // namespace
} // namespace ftw
