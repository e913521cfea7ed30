// SPDX-License-Identifier: MIT
// Fuzz target: a dataset file. The first byte picks the extension (.jsonl, .json, .csv, .txt);
// the rest is the file, read, its format detected and its first records rendered as training does.
#include "fuzz_input.h"

#include "data/dataset.h"

#include <array>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size == 0) {
        return 0;
    }
    static constexpr std::array<std::string_view, 4> kExtensions = {".jsonl", ".json", ".csv",
                                                                    ".txt"};
    static const ftw::test::TempDir dir; // one per process: the input is rewritten each time
    const std::filesystem::path file =
        ftw::fuzz::writeInput(dir, {data + 1, size - 1}, kExtensions[data[0] % 4]);
    return ftw::fuzz::expectOnlyFtwErrors([&] {
        const ftw::data::ColumnMapping columns;
        const std::vector<ftw::data::SourceRecord> records = ftw::data::readRecords(file);
        for (std::size_t i = 0; i < records.size() && i < 8; ++i) {
            const ftw::data::DatasetFormat format =
                ftw::data::detectFormat(records[i], columns, file);
            for (const auto chatTemplate :
                 {ftw::data::ChatTemplate::ChatMl, ftw::data::ChatTemplate::Llama3,
                  ftw::data::ChatTemplate::Plain}) {
                (void)ftw::data::renderExample(records[i], format, columns, chatTemplate, file);
            }
        }
    });
}
