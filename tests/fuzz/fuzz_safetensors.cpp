// SPDX-License-Identifier: MIT
// Fuzz target: a safetensors file (header length, JSON header, dtypes, shapes, byte ranges),
// opened and every byte of every tensor it declares read, through the mapping and through pread.
#include "fuzz_input.h"

#include "model/safetensors.h"

#include <cstdlib>
#include <numeric>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    static const ftw::test::TempDir dir; // one per process: the input is rewritten each time
    const std::filesystem::path file = ftw::fuzz::writeInput(dir, {data, size}, ".safetensors");
    return ftw::fuzz::expectOnlyFtwErrors([&] {
        const auto safetensors = ftw::model::SafetensorsFile::open(file);
        for (const ftw::model::TensorInfo& info : safetensors.tensors()) {
            const std::span<const std::byte> bytes = safetensors.bytes(info);
            const auto sum = std::accumulate(bytes.begin(), bytes.end(), std::size_t{0},
                                             [](std::size_t total, std::byte b) {
                                                 return total + std::to_integer<std::size_t>(b);
                                             });
            if (!safetensors.hasBytes(info.name, bytes) || (sum > 0 && info.numel() == 0)) {
                std::abort(); // the bytes read back differ, or a tensor without elements has data
            }
        }
    });
}
