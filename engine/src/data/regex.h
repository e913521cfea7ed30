// SPDX-License-Identifier: MIT
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ftw::data {

/// A compiled PCRE2 pattern with UTF-8 and Unicode properties (\p{L}, \p{N}, \s as Unicode).
/// Immutable after construction; match() is safe to call from several threads.
class Regex {
public:
    /// Throws Error{ModelFormat} with PCRE2's message when the pattern does not compile.
    explicit Regex(const std::string& pattern);
    Regex(Regex&&) noexcept;
    Regex& operator=(Regex&&) noexcept;
    ~Regex();

    /// Every non-overlapping match in `text`, as [begin, end) byte offsets, left to right.
    /// Throws Error{InvalidArgument} when `text` is not valid UTF-8.
    [[nodiscard]] std::vector<std::pair<std::size_t, std::size_t>>
    findAll(std::string_view text) const;

private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

} // namespace ftw::data
