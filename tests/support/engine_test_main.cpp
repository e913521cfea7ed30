// SPDX-License-Identifier: MIT
// The main of engine test executables: skips *_CUDA tests when no CUDA device is present.
#include <gtest/gtest.h>
#include <torch/cuda.h>
#include <torch/utils.h>

#include <string>

int main(int argc, char** argv)
{
    ::testing::InitGoogleTest(&argc, argv);
    if (!torch::cuda::is_available()) {
        std::string filter = ::testing::GTEST_FLAG(filter);
        filter += filter.find('-') == std::string::npos ? "-*_CUDA" : ":*_CUDA";
        ::testing::GTEST_FLAG(filter) = filter;
    }
    torch::manual_seed(0);
    return RUN_ALL_TESTS();
}
