// SPDX-License-Identifier: MIT
#include "unicode_normalize.h"

#include <ftw/error.h>

#include <unicode/unorm2.h>
#include <unicode/ustring.h>

#include <vector>

namespace ftw::data {
namespace {

const UNormalizer2* normalizerFor(NormalForm form, UErrorCode& status)
{
    switch (form) {
    case NormalForm::Nfc:
        return unorm2_getNFCInstance(&status);
    case NormalForm::Nfd:
        return unorm2_getNFDInstance(&status);
    case NormalForm::Nfkc:
        return unorm2_getNFKCInstance(&status);
    case NormalForm::Nfkd:
        return unorm2_getNFKDInstance(&status);
    case NormalForm::Unknown:
        break;
    }
    status = U_ILLEGAL_ARGUMENT_ERROR;
    return nullptr;
}

void check(UErrorCode status, const char* step)
{
    if (U_FAILURE(status)) {
        throw Error(ErrorCode::InvalidArgument, std::string("cannot normalise the text (") + step +
                                                    "): " + u_errorName(status));
    }
}

} // namespace

std::string normalizeUnicode(std::string_view text, NormalForm form)
{
    if (text.empty()) {
        return {};
    }
    UErrorCode status = U_ZERO_ERROR;
    const UNormalizer2* normalizer = normalizerFor(form, status);
    check(status, "normaliser");

    int32_t utf16Length = 0;
    u_strFromUTF8(nullptr, 0, &utf16Length, text.data(), static_cast<int32_t>(text.size()),
                  &status);
    if (status == U_BUFFER_OVERFLOW_ERROR) {
        status = U_ZERO_ERROR;
    }
    check(status, "reading UTF-8");
    std::vector<UChar> utf16(static_cast<std::size_t>(utf16Length));
    u_strFromUTF8(utf16.data(), utf16Length, nullptr, text.data(),
                  static_cast<int32_t>(text.size()), &status);
    check(status, "reading UTF-8");

    // Normalised text can grow (NFD, NFKD); ask for the size first.
    int32_t normalizedLength =
        unorm2_normalize(normalizer, utf16.data(), utf16Length, nullptr, 0, &status);
    if (status == U_BUFFER_OVERFLOW_ERROR) {
        status = U_ZERO_ERROR;
    }
    check(status, "normalising");
    std::vector<UChar> normalized(static_cast<std::size_t>(normalizedLength));
    normalizedLength = unorm2_normalize(normalizer, utf16.data(), utf16Length, normalized.data(),
                                        normalizedLength, &status);
    check(status, "normalising");

    int32_t utf8Length = 0;
    u_strToUTF8(nullptr, 0, &utf8Length, normalized.data(), normalizedLength, &status);
    if (status == U_BUFFER_OVERFLOW_ERROR) {
        status = U_ZERO_ERROR;
    }
    check(status, "writing UTF-8");
    std::string out(static_cast<std::size_t>(utf8Length), '\0');
    u_strToUTF8(out.data(), utf8Length, nullptr, normalized.data(), normalizedLength, &status);
    check(status, "writing UTF-8");
    return out;
}

} // namespace ftw::data
