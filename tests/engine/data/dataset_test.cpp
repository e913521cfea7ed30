// SPDX-License-Identifier: MIT
#include "data/dataset.h"
#include "model/tiny_model.h"

#include "support/temp_dir.h"

#include <ftw/error.h>

#include <gtest/gtest.h>

#include <fstream>

namespace ftw::data {
namespace {

using Ids = std::vector<std::int64_t>;
using Mask = std::vector<std::uint8_t>;

class DatasetTest : public ::testing::Test {
protected:
    std::filesystem::path write(const std::string& name, const std::string& content)
    {
        const std::filesystem::path path = m_dir / name;
        std::ofstream(path, std::ios::binary) << content;
        return path;
    }

    void expectError(const std::filesystem::path& file, const std::string& part)
    {
        try {
            (void)readRecords(file);
            FAIL() << "read a malformed file";
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find(file.string()), std::string::npos) << e.what();
            EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
        }
    }

    std::vector<RenderedExample> render(const std::filesystem::path& file,
                                        ChatTemplate t = ChatTemplate::Plain)
    {
        std::vector<RenderedExample> examples;
        for (const SourceRecord& r : readRecords(file)) {
            examples.push_back(renderExample(r, DatasetFormat::Auto, m_columns, t, file));
        }
        return examples;
    }

    test::TempDir m_dir;
    ColumnMapping m_columns;
    // One token per byte (ids = byte values), <|begin_of_text|> 256, <|end_of_text|> 257.
    Tokenizer m_bytes = Tokenizer::fromJsonText(model::tinyTokenizerJson(), "tiny tokenizer");
};

TEST_F(DatasetTest, ReadsJsonLinesWithTheirLineNumbers)
{
    const auto records =
        readRecords(write("d.jsonl", "{\"text\": \"a\"}\n\n{\"text\": \"b\"}\r\n"));
    ASSERT_EQ(records.size(), 2U);
    EXPECT_EQ(records[0].line, 1U);
    EXPECT_EQ(records[1].line, 3U);
    EXPECT_EQ(records[1].fields["text"], "b");
}

TEST_F(DatasetTest, MalformedRowsNameTheFileAndLine)
{
    expectError(write("bad.jsonl", "{\"text\": \"a\"}\n{\"text\": \n"), "line 2: not valid JSON");
    expectError(write("array.jsonl", "[1, 2]\n"), "line 1: expected a JSON object");
    // A number beyond a double's range (found by the dataset fuzz target): JSON's out_of_range,
    // not its parse_error.
    expectError(write("huge.jsonl", "{\"text\": \"a\"}\n{\"score\": 1.5E99999}\n"),
                "line 2: not valid JSON");
    expectError(write("bad.json", "{\"text\": \"a\"}"), "must hold a JSON array");
    expectError(write("bad.csv", "prompt,completion\na,b\nc,d,e\n"),
                "line 3: has 3 fields but the header has 2");
    expectError(write("open.csv", "text\n\"never closed\n"),
                "line 2: a quoted field is not closed");
    EXPECT_THROW((void)readRecords(write("d.parquet", "")), Error);
}

TEST_F(DatasetTest, CsvQuotesCommasNewlinesAndEscapedQuotes)
{
    const auto records = readRecords(
        write("d.csv", "prompt,completion\r\n\"a, b\",\"line1\nline2 \"\"q\"\"\"\nx,y\n"));
    ASSERT_EQ(records.size(), 2U);
    EXPECT_EQ(records[0].fields["prompt"], "a, b");
    EXPECT_EQ(records[0].fields["completion"], "line1\nline2 \"q\"");
    EXPECT_EQ(records[1].fields["prompt"], "x");
    EXPECT_EQ(records[1].line, 4U);
}

TEST_F(DatasetTest, JsonArraysAndTextFilesAreRecordsToo)
{
    EXPECT_EQ(readRecords(write("d.json", R"([{"text": "a"}, {"text": "b"}])")).size(), 2U);
    const auto lines = readRecords(write("d.txt", "first\n\nthird\n"));
    ASSERT_EQ(lines.size(), 2U);
    EXPECT_EQ(lines[1].fields["text"], "third");
    EXPECT_EQ(lines[1].line, 3U);
}

TEST_F(DatasetTest, FormatIsDetectedAndColumnsCanBeMapped)
{
    const std::filesystem::path f = "f.jsonl";
    EXPECT_EQ(detectFormat({{{"text", "x"}}, 1}, m_columns, f), DatasetFormat::Text);
    EXPECT_EQ(detectFormat({{{"instruction", "x"}, {"output", "y"}}, 1}, m_columns, f),
              DatasetFormat::Alpaca);
    EXPECT_EQ(detectFormat({{{"prompt", "x"}, {"completion", "y"}}, 1}, m_columns, f),
              DatasetFormat::PromptCompletion);
    EXPECT_EQ(detectFormat({{{"messages", nlohmann::json::array()}}, 1}, m_columns, f),
              DatasetFormat::Chat);
    try {
        (void)detectFormat({{{"question", "x"}, {"answer", "y"}}, 7}, m_columns, f);
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find(
                      "line 7: cannot tell the format from the fields (answer, question)"),
                  std::string::npos)
            << e.what();
    }
    ColumnMapping mapped;
    mapped.prompt = "question";
    mapped.completion = "answer";
    EXPECT_EQ(detectFormat({{{"question", "x"}, {"answer", "y"}}, 1}, mapped, f),
              DatasetFormat::PromptCompletion);
}

TEST_F(DatasetTest, AlpacaRendersTheStandardPromptAndTrainsOnTheResponse)
{
    const auto examples =
        render(write("a.jsonl", R"({"instruction": "Add", "input": "2+2", "output": "4"})"
                                "\n"
                                R"({"instruction": "Greet", "output": "Hi"})"));
    ASSERT_EQ(examples[0].segments.size(), 2U);
    EXPECT_EQ(examples[0].segments[0].text,
              "### Instruction:\nAdd\n\n### Input:\n2+2\n\n### Response:\n");
    EXPECT_FALSE(examples[0].segments[0].isTrained);
    EXPECT_EQ(examples[0].segments[1].text, "4");
    EXPECT_TRUE(examples[0].segments[1].isTrained);
    EXPECT_EQ(examples[1].segments[0].text, "### Instruction:\nGreet\n\n### Response:\n");
}

TEST_F(DatasetTest, ChatTemplatesTrainOnlyOnAssistantTurns)
{
    const std::string chat =
        R"({"messages": [{"role": "system", "content": "Be brief."}, )"
        R"({"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]})";
    const auto joined = [](const RenderedExample& e, bool trained) {
        std::string text;
        for (const Segment& s : e.segments) {
            text += s.isTrained == trained ? s.text : "";
        }
        return text;
    };
    const auto file = write("c.jsonl", chat + "\n");
    const RenderedExample chatml = render(file, ChatTemplate::ChatMl)[0];
    EXPECT_EQ(joined(chatml, false),
              "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
              "<|im_start|>assistant\n\n");
    EXPECT_EQ(joined(chatml, true), "Hello<|im_end|>");
    const RenderedExample llama3 = render(file, ChatTemplate::Llama3)[0];
    EXPECT_EQ(joined(llama3, true), "Hello<|eot_id|>");
    EXPECT_FALSE(llama3.shouldAppendEos);
    const RenderedExample llama2 = render(file, ChatTemplate::Llama2)[0];
    EXPECT_EQ(llama2.segments[0].text, "<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi [/INST]");
    EXPECT_EQ(joined(llama2, true), " Hello </s>");
    const RenderedExample mistral = render(file, ChatTemplate::Mistral)[0];
    EXPECT_EQ(mistral.segments[0].text, "<s>[INST] Be brief.\n\nHi [/INST]");
    const RenderedExample plain = render(file, ChatTemplate::Plain)[0];
    EXPECT_EQ(joined(plain, true), "Hello\n");
    EXPECT_TRUE(plain.shouldAppendEos);

    EXPECT_EQ(detectChatTemplate("{% for m in messages %}<|im_start|>{{ m.role }}"),
              ChatTemplate::ChatMl);
    EXPECT_EQ(detectChatTemplate("<|start_header_id|>"), ChatTemplate::Llama3);
    EXPECT_EQ(detectChatTemplate("[INST] <<SYS>>"), ChatTemplate::Llama2);
    EXPECT_EQ(detectChatTemplate("[INST]"), ChatTemplate::Mistral);
    EXPECT_EQ(detectChatTemplate(""), ChatTemplate::Plain);
}

TEST_F(DatasetTest, BadMessagesNameTheLineAndTheMessage)
{
    const auto file = write(
        "c.jsonl",
        R"({"messages": [{"role": "user", "content": "a"}, {"role": "robot", "content": "b"}]})");
    try {
        (void)render(file);
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("line 1: message 2: role \"robot\""),
                  std::string::npos)
            << e.what();
    }
}

TEST_F(DatasetTest, CompletionOnlyMasksAsWorkedByHand)
{
    const auto examples = render(write("p.jsonl", R"({"prompt": "ab", "completion": "cd"})"));
    EncodeOptions options;
    options.bosId = 256;
    options.eosId = 257;
    DatasetStats stats;
    const auto encoded = encodeExamples(examples, m_bytes, options, stats);
    ASSERT_EQ(encoded.size(), 1U);
    EXPECT_EQ(encoded[0].ids, (Ids{256, 'a', 'b', 'c', 'd', 257}));
    EXPECT_EQ(encoded[0].isTrained, (Mask{0, 0, 0, 1, 1, 1}));
    EXPECT_EQ(stats.tokens, 6U);
    EXPECT_EQ(stats.trainedTokens, 3U);

    options.isCompletionOnly = false;
    EXPECT_EQ(encodeExamples(examples, m_bytes, options, stats)[0].isTrained,
              (Mask{0, 1, 1, 1, 1, 1}));
}

TEST_F(DatasetTest, TruncationAndFullyMaskedExamplesAreCounted)
{
    const auto examples = render(write("p.jsonl", R"({"prompt": "ab", "completion": "cd"})"
                                                  "\n"
                                                  R"({"prompt": "abcdef", "completion": "g"})"));
    EncodeOptions options;
    options.bosId = 256;
    options.eosId = 257;
    options.maxLength = 4;
    DatasetStats stats;
    const auto encoded = encodeExamples(examples, m_bytes, options, stats);
    // First: [BOS a b c] keeps one trained token; second: [BOS a b c] has none and is dropped.
    ASSERT_EQ(encoded.size(), 1U);
    EXPECT_EQ(encoded[0].isTrained, (Mask{0, 0, 0, 1}));
    EXPECT_EQ(stats.records, 2U);
    EXPECT_EQ(stats.truncated, 2U);
    EXPECT_EQ(stats.fullyMasked, 1U);
    EXPECT_EQ(stats.examples, 1U);
}

TEST_F(DatasetTest, PackingFillsChunksOfTheMaximumLength)
{
    const auto examples =
        render(write("t.jsonl", "{\"text\": \"abcde\"}\n{\"text\": \"fghij\"}\n"));
    EncodeOptions options;
    options.eosId = 257;
    options.maxLength = 4;
    options.isPacking = true;
    DatasetStats stats;
    const auto encoded = encodeExamples(examples, m_bytes, options, stats);
    // a b c d | e EOS f g | h i j EOS
    ASSERT_EQ(encoded.size(), 3U);
    EXPECT_EQ(encoded[1].ids, (Ids{'e', 257, 'f', 'g'}));
    EXPECT_EQ(encoded[2].ids, (Ids{'h', 'i', 'j', 257}));
    EXPECT_EQ(stats.truncated, 0U);
    EXPECT_EQ(stats.tokens, 12U);
}

TEST_F(DatasetTest, SplitIsDeterministicDisjointAndComplete)
{
    const SplitIndices a = splitIndices(100, 0.1, 42);
    const SplitIndices b = splitIndices(100, 0.1, 42);
    const SplitIndices c = splitIndices(100, 0.1, 43);
    EXPECT_EQ(a.validation, b.validation);
    EXPECT_NE(a.validation, c.validation);
    EXPECT_EQ(a.validation.size(), 10U);
    EXPECT_EQ(a.train.size(), 90U);
    std::vector<std::size_t> all = a.train;
    all.insert(all.end(), a.validation.begin(), a.validation.end());
    std::sort(all.begin(), all.end());
    for (std::size_t i = 0; i < all.size(); ++i) {
        EXPECT_EQ(all[i], i);
    }
    EXPECT_THROW((void)splitIndices(10, 1.0, 0), Error);
}

} // namespace
} // namespace ftw::data
