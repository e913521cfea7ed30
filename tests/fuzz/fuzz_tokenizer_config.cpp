// SPDX-License-Identifier: MIT
// Fuzz target: a model folder's tokenizer_config.json, read for its special tokens and
// add_bos/add_eos switches (as loading a tokenizer does) and for its chat template.
#include "fuzz_input.h"

#include "data/tokenizer_config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    static const ftw::test::TempDir dir; // one per process: the input is rewritten each time
    const std::filesystem::path file = ftw::fuzz::writeInput(dir, {data, size}, ".json");
    return ftw::fuzz::expectOnlyFtwErrors([&] {
        (void)ftw::data::readChatTemplateText(file); // no template is an answer, not an error
        (void)ftw::data::readTokenizerConfig(file);
    });
}
