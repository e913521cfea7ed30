// SPDX-License-Identifier: MIT
#include "model/checkpoint.h"
#include "model/safetensors.h"

#include "support/temp_dir.h"

#include <ftw/error.h>

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstring>
#include <fstream>

namespace ftw::model {
namespace {

/// Writes a safetensors file byte by byte from a header text and raw data, independent of the
/// writer.
void writeRaw(const std::filesystem::path& path, const std::string& header, const std::string& data,
              std::uint64_t declaredHeaderBytes = 0)
{
    const std::uint64_t n = declaredHeaderBytes != 0 ? declaredHeaderBytes : header.size();
    std::ofstream out(path, std::ios::binary);
    for (int i = 0; i < 8; ++i) {
        out.put(static_cast<char>((n >> (8 * i)) & 0xFF));
    }
    out << header << data;
}

std::string floatBytes(std::initializer_list<float> values)
{
    std::string bytes(values.size() * sizeof(float), '\0');
    std::memcpy(bytes.data(), values.begin(), bytes.size());
    return bytes;
}

/// Expects SafetensorsFile::open() to throw ModelFormat whose message names the file and `part`.
void expectMalformed(const std::filesystem::path& path, const std::string& part)
{
    try {
        (void)SafetensorsFile::open(path);
        FAIL() << "opened a malformed file; expected: " << part;
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::ModelFormat) << e.what();
        const std::string message = e.what();
        EXPECT_NE(message.find(path.string()), std::string::npos) << message;
        EXPECT_NE(message.find(part), std::string::npos) << message;
    }
}

class SafetensorsTest : public ::testing::Test {
protected:
    test::TempDir m_dir;
};

TEST_F(SafetensorsTest, ReadsAHandWrittenFile)
{
    // Two F32 tensors laid out by hand, as the format's specification describes.
    const std::string header = R"({"__metadata__":{"format":"pt"},)"
                               R"("b":{"dtype":"F32","shape":[2],"data_offsets":[16,24]},)"
                               R"("a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}})";
    writeRaw(m_dir / "hand.safetensors", header, floatBytes({1, 2, 3, 4, 5.5F, -6}));

    const SafetensorsFile file = SafetensorsFile::open(m_dir / "hand.safetensors");
    ASSERT_EQ(file.tensors().size(), 2U);
    EXPECT_EQ(file.tensors()[0].name, "a"); // in offset order
    EXPECT_EQ(file.metadata().at("format"), "pt");
    const at::Tensor a = file.load("a");
    EXPECT_EQ(a.sizes(), (std::vector<std::int64_t>{2, 2}));
    EXPECT_EQ(a.scalar_type(), at::kFloat);
    EXPECT_FLOAT_EQ(a[1][0].item<float>(), 3.0F);
    const at::Tensor b = file.load("b");
    EXPECT_FLOAT_EQ(b[0].item<float>(), 5.5F);
    EXPECT_FLOAT_EQ(b[1].item<float>(), -6.0F);
}

TEST_F(SafetensorsTest, LoadIntoReadsTheTensorsBytesIntoItsDestination)
{
    // loadInto() reads with pread at the tensor's offset; load() copies from the mapping.
    const std::string header = R"({"b":{"dtype":"F32","shape":[2],"data_offsets":[16,24]},)"
                               R"("a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}})";
    writeRaw(m_dir / "hand.safetensors", header, floatBytes({1, 2, 3, 4, 5.5F, -6}));
    const SafetensorsFile file = SafetensorsFile::open(m_dir / "hand.safetensors");
    at::Tensor b = at::zeros({2}, at::kFloat);
    file.loadInto("b", b);
    EXPECT_FLOAT_EQ(b[0].item<float>(), 5.5F);
    EXPECT_FLOAT_EQ(b[1].item<float>(), -6.0F);
    at::Tensor a = at::zeros({2, 2}, at::kFloat);
    file.loadInto("a", a);
    EXPECT_TRUE(at::equal(a, file.load("a")));
    EXPECT_FLOAT_EQ(a[1][1].item<float>(), 4.0F);

    at::Tensor wrongSize = at::zeros({3}, at::kFloat);
    try {
        file.loadInto("b", wrongSize);
        FAIL() << "a destination of another size was accepted";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("tensor 'b' has 8 bytes"), std::string::npos)
            << e.what();
    }
}

TEST_F(SafetensorsTest, EmptyTensorsSitBetweenOthersAtTheSameOffset)
{
    // An AdaLoRA module pruned to rank 0 saves [0, in] tensors: zero bytes at some offset.
    const std::string header = R"({"z":{"dtype":"F32","shape":[0,3],"data_offsets":[8,8]},)"
                               R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                               R"("b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})";
    writeRaw(m_dir / "empty.safetensors", header, floatBytes({1, 2, 3}));
    const SafetensorsFile file = SafetensorsFile::open(m_dir / "empty.safetensors");
    EXPECT_EQ(file.load("z").sizes(), (std::vector<std::int64_t>{0, 3}));
    EXPECT_FLOAT_EQ(file.load("b")[0].item<float>(), 3.0F);
}

TEST_F(SafetensorsTest, RoundTripKeepsDtypesShapesValuesAndMetadata)
{
    at::manual_seed(3);
    const std::vector<std::pair<std::string, at::Tensor>> tensors{
        {"f32", at::randn({3, 5})},
        {"f16", at::randn({4}).to(at::kHalf)},
        {"bf16", at::randn({2, 3}).to(at::kBFloat16)},
        {"i64", at::arange(6, at::kLong).reshape({2, 3})},
        {"transposed", at::randn({4, 3}).t()}, // not contiguous
        {"empty", at::zeros({0, 7})},
        {"scalar", at::scalar_tensor(2.5)},
    };
    writeSafetensors(m_dir / "rt.safetensors", tensors, {{"format", "pt"}, {"note", "ftw"}});

    EXPECT_FALSE(std::filesystem::exists(m_dir / "rt.safetensors.partial"));
    const SafetensorsFile file = SafetensorsFile::open(m_dir / "rt.safetensors");
    EXPECT_EQ(file.metadata().at("note"), "ftw");
    for (const auto& [name, expected] : tensors) {
        const at::Tensor actual = file.load(name);
        EXPECT_EQ(actual.scalar_type(), expected.scalar_type()) << name;
        EXPECT_EQ(actual.sizes(), expected.sizes()) << name;
        EXPECT_TRUE(at::equal(actual, expected)) << name;
    }
    // The data section starts 8-byte aligned.
    std::ifstream in(m_dir / "rt.safetensors", std::ios::binary);
    std::uint64_t headerBytes = 0;
    in.read(reinterpret_cast<char*>(&headerBytes), 8);
    EXPECT_EQ(headerBytes % 8, 0U);
}

TEST_F(SafetensorsTest, WriterRefusesDuplicateNames)
{
    const std::vector<std::pair<std::string, at::Tensor>> tensors{{"x", at::ones({1})},
                                                                  {"x", at::ones({1})}};
    EXPECT_THROW(writeSafetensors(m_dir / "dup.safetensors", tensors), Error);
    EXPECT_FALSE(std::filesystem::exists(m_dir / "dup.safetensors"));
}

TEST_F(SafetensorsTest, TruncatedFilesAreRefused)
{
    writeRaw(m_dir / "tiny.safetensors", "", "", 0);
    std::filesystem::resize_file(m_dir / "tiny.safetensors", 5);
    expectMalformed(m_dir / "tiny.safetensors", "fewer than the 8-byte header length");

    const std::string header = R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})";
    writeRaw(m_dir / "short.safetensors", header, floatBytes({1, 2}));
    expectMalformed(m_dir / "short.safetensors", "run past the data section");

    writeRaw(m_dir / "cut-header.safetensors", header.substr(0, 10), "", header.size());
    expectMalformed(m_dir / "cut-header.safetensors", "runs past the end of the file");
}

TEST_F(SafetensorsTest, BadHeadersAreRefused)
{
    writeRaw(m_dir / "huge.safetensors", "{}", "", 200'000'000);
    expectMalformed(m_dir / "huge.safetensors", "exceeds the limit");
    writeRaw(m_dir / "notjson.safetensors", "{not json", "");
    expectMalformed(m_dir / "notjson.safetensors", "not a JSON object");
    writeRaw(m_dir / "array.safetensors", "[1,2]", "");
    expectMalformed(m_dir / "array.safetensors", "does not start with '{'");
    writeRaw(m_dir / "dtype.safetensors",
             R"({"a":{"dtype":"F8","shape":[1],"data_offsets":[0,1]}})", "x");
    expectMalformed(m_dir / "dtype.safetensors", "unsupported dtype \"F8\"");
    writeRaw(m_dir / "shape.safetensors",
             R"({"a":{"dtype":"U8","shape":[-1],"data_offsets":[0,1]}})", "x");
    expectMalformed(m_dir / "shape.safetensors", "non-negative integers");
    writeRaw(m_dir / "nooffsets.safetensors", R"({"a":{"dtype":"U8","shape":[1]}})", "x");
    expectMalformed(m_dir / "nooffsets.safetensors", "data_offsets");
    writeRaw(m_dir / "meta.safetensors", R"({"__metadata__":{"n":1}})", "");
    expectMalformed(m_dir / "meta.safetensors", "metadata \"n\" must be a string");
}

TEST_F(SafetensorsTest, OffsetsMustMatchShapeAndCoverTheDataExactly)
{
    writeRaw(m_dir / "size.safetensors",
             R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", floatBytes({1, 2}));
    expectMalformed(m_dir / "size.safetensors", "F32 [3] needs 12 bytes but data_offsets give 8");

    writeRaw(m_dir / "overlap.safetensors",
             R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
             R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
             floatBytes({1, 2, 3}));
    expectMalformed(m_dir / "overlap.safetensors", "tensor 'b' overlaps");

    writeRaw(m_dir / "gap.safetensors", R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
             floatBytes({1, 2}));
    expectMalformed(m_dir / "gap.safetensors", "gap of 4 unused bytes before tensor 'a'");

    writeRaw(m_dir / "tail.safetensors",
             R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", floatBytes({1, 2}));
    expectMalformed(m_dir / "tail.safetensors", "the tensors cover 4");

    writeRaw(m_dir / "reversed.safetensors",
             R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[4,0]}})", floatBytes({1}));
    expectMalformed(m_dir / "reversed.safetensors", "is before begin");
}

class CheckpointTest : public SafetensorsTest {
protected:
    void writeIndex(const nlohmann::json& weightMap)
    {
        std::ofstream(m_dir / "model.safetensors.index.json")
            << nlohmann::json{{"metadata", {{"total_size", 64}}}, {"weight_map", weightMap}}.dump();
    }
};

TEST_F(CheckpointTest, ShardsListedByTheIndexReadAsOneCheckpoint)
{
    writeSafetensors(m_dir / "model-00001-of-00002.safetensors", {{"a", at::ones({2})}});
    writeSafetensors(m_dir / "model-00002-of-00002.safetensors",
                     {{"b", at::full({3}, 2.0)}, {"c", at::zeros({1})}});
    writeIndex({{"a", "model-00001-of-00002.safetensors"},
                {"b", "model-00002-of-00002.safetensors"},
                {"c", "model-00002-of-00002.safetensors"}});

    const Checkpoint checkpoint = Checkpoint::open(m_dir.path());
    EXPECT_EQ(checkpoint.shardCount(), 2U);
    EXPECT_EQ(checkpoint.tensorNames(), (std::vector<std::string>{"a", "b", "c"}));
    EXPECT_TRUE(at::equal(checkpoint.load("b"), at::full({3}, 2.0)));
    EXPECT_EQ(checkpoint.metadata().at("total_size"), "64");
}

TEST_F(CheckpointTest, IndexErrorsNameTheProblem)
{
    writeSafetensors(m_dir / "shard.safetensors", {{"a", at::ones({2})}});
    writeIndex({{"a", "../outside.safetensors"}});
    EXPECT_THROW(
        {
            try {
                (void)Checkpoint::open(m_dir.path());
            } catch (const Error& e) {
                EXPECT_NE(std::string(e.what()).find("not a file name in the folder"),
                          std::string::npos);
                throw;
            }
        },
        Error);
    writeIndex({{"a", "missing.safetensors"}});
    EXPECT_THROW((void)Checkpoint::open(m_dir.path()), Error);
    // Longer than a file name may be (found by fuzzing): the file system's own error escaped.
    const std::string tooLong(300, 'x');
    writeIndex({{"a", tooLong}});
    try {
        (void)Checkpoint::open(m_dir.path());
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::ModelFormat);
        EXPECT_NE(std::string(e.what()).find("model.safetensors.index.json"), std::string::npos);
        EXPECT_NE(std::string(e.what()).find("which is not readable"), std::string::npos)
            << e.what();
    }
    writeIndex({{"zzz", "shard.safetensors"}});
    try {
        (void)Checkpoint::open(m_dir.path());
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("does not contain it"), std::string::npos) << e.what();
    }
}

TEST_F(CheckpointTest, PickleCheckpointsAreRefusedWithAConversionHint)
{
    std::ofstream(m_dir / "pytorch_model.bin") << "not really pickle";
    try {
        (void)Checkpoint::open(m_dir.path());
        FAIL() << "a pickle-only folder was accepted";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::ModelFormat);
        const std::string message = e.what();
        EXPECT_NE(message.find("pytorch_model.bin"), std::string::npos) << message;
        EXPECT_NE(message.find("unpickling runs code"), std::string::npos) << message;
        EXPECT_NE(message.find("safe_serialization=True"), std::string::npos) << message;
    }
}

TEST_F(CheckpointTest, EmptyFolderIsNotFound)
{
    try {
        (void)Checkpoint::open(m_dir.path());
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::NotFound);
    }
}

} // namespace
} // namespace ftw::model
