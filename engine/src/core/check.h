// SPDX-License-Identifier: MIT
#pragma once

#include <ftw/error.h>

#include <string>

/// Throws ftw::Error(code, message) when `cond` is false. For preconditions checked where a value
/// is used; `message` may be any expression convertible to std::string.
#define FTW_CHECK(cond, code, message)                                                             \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            throw ::ftw::Error((code), std::string(message));                                      \
        }                                                                                          \
    } while (false)
