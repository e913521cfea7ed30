// SPDX-License-Identifier: MIT
// Fuzz target: a sharded checkpoint's model.safetensors.index.json, opened as loading a model
// does, in a folder that also holds two small, valid shards for it to name.
#include "fuzz_input.h"

#include "model/checkpoint.h"

#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>

namespace {

/// A safetensors file of F32 tensors of 2 values each, named `names`.
std::string shardBytes(std::initializer_list<std::string_view> names)
{
    std::string header = "{";
    std::size_t offset = 0;
    for (const std::string_view name : names) {
        std::ostringstream entry;
        entry << (header.size() > 1 ? "," : "") << '"' << name
              << R"(":{"dtype":"F32","shape":[2],"data_offsets":[)" << offset << ',' << offset + 8
              << "]}";
        header += entry.str();
        offset += 8;
    }
    header += "}";
    header.append((8 - header.size() % 8) % 8, ' ');
    std::string bytes(8, '\0');
    const std::uint64_t length = header.size();
    std::memcpy(bytes.data(), &length, sizeof length); // little-endian, as on every FTW target
    bytes += header;
    bytes.append(offset, '\0');
    return bytes;
}

/// The folder, made once per process with its two shards; the index is rewritten each time.
const ftw::test::TempDir& modelFolder()
{
    static const ftw::test::TempDir dir;
    static const bool isWritten = [] {
        for (const auto& [name, bytes] :
             {std::pair{"model-00001-of-00002.safetensors",
                        shardBytes({"model.embed_tokens.weight", "model.norm.weight"})},
              std::pair{"model-00002-of-00002.safetensors", shardBytes({"lm_head.weight"})}}) {
            std::ofstream(dir / name, std::ios::binary) << bytes;
        }
        return true;
    }();
    (void)isWritten;
    return dir;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const ftw::test::TempDir& folder = modelFolder();
    std::filesystem::rename(ftw::fuzz::writeInput(folder, {data, size}, ".json"),
                            folder / "model.safetensors.index.json");
    return ftw::fuzz::expectOnlyFtwErrors([&] {
        const auto checkpoint = ftw::model::Checkpoint::open(folder.path());
        for (const std::string& name : checkpoint.tensorNames()) {
            (void)checkpoint.find(name);
        }
        (void)checkpoint.metadata();
    });
}
