// SPDX-License-Identifier: MIT
// Dataset file readers: .jsonl, .json, .csv and .txt into SourceRecords with their line numbers.
#include "dataset.h"

#include <ftw/error.h>

#include <fstream>
#include <sstream>

namespace ftw::data {
namespace {

[[noreturn]] void badRow(const std::filesystem::path& file, std::size_t line,
                         const std::string& what)
{
    throw Error(ErrorCode::ModelFormat,
                "'" + file.string() + "' line " + std::to_string(line) + ": " + what);
}

std::string readAll(const std::filesystem::path& file)
{
    std::ifstream in(file, std::ios::binary);
    if (!in) {
        throw Error(ErrorCode::NotFound, "cannot read the dataset '" + file.string() + "'");
    }
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

/// Calls `fn(lineNumber, line)` for every line of `text`, without its line ending.
template <typename Fn>
void forEachLine(const std::string& text, Fn&& fn)
{
    std::istringstream lines(text);
    std::string line;
    std::size_t number = 0;
    while (std::getline(lines, line)) {
        ++number;
        if (!line.empty() && line.back() == '\r') {
            line.pop_back();
        }
        fn(number, line);
    }
}

std::vector<SourceRecord> readJsonLines(const std::filesystem::path& file, const std::string& text)
{
    std::vector<SourceRecord> records;
    forEachLine(text, [&](std::size_t number, const std::string& line) {
        if (line.find_first_not_of(" \t") == std::string::npos) {
            return;
        }
        try {
            nlohmann::json value = nlohmann::json::parse(line);
            if (!value.is_object()) {
                badRow(file, number,
                       "expected a JSON object, got " + std::string(value.type_name()));
            }
            records.push_back(SourceRecord{std::move(value), number});
        } catch (const nlohmann::json::exception& e) {
            // parse_error, and out_of_range for a number beyond a double's range.
            badRow(file, number, std::string("not valid JSON (") + e.what() + ")");
        }
    });
    return records;
}

std::vector<SourceRecord> readJsonArray(const std::filesystem::path& file, const std::string& text)
{
    const nlohmann::json json = nlohmann::json::parse(text, nullptr, false);
    if (json.is_discarded() || !json.is_array()) {
        throw Error(ErrorCode::ModelFormat, "'" + file.string() +
                                                "' must hold a JSON array of records "
                                                "(for one record per line, use .jsonl)");
    }
    std::vector<SourceRecord> records;
    for (std::size_t i = 0; i < json.size(); ++i) {
        if (!json[i].is_object()) {
            throw Error(ErrorCode::ModelFormat, "'" + file.string() + "' item " +
                                                    std::to_string(i + 1) +
                                                    ": expected a JSON object");
        }
        records.push_back(SourceRecord{json[i], i + 1});
    }
    return records;
}

/// RFC 4180: comma-separated, fields in double quotes may hold commas, newlines and "" for a quote.
std::vector<SourceRecord> readCsv(const std::filesystem::path& file, const std::string& text)
{
    std::vector<std::vector<std::string>> rows;
    std::vector<std::size_t> rowLines;
    std::vector<std::string> row;
    std::string field;
    bool isQuoted = false;
    bool isRowEmpty = true;
    std::size_t line = 1;
    std::size_t rowStart = 1;
    const auto endRow = [&] {
        row.push_back(std::move(field));
        field.clear();
        if (!isRowEmpty || row.size() > 1 || !row.front().empty()) {
            rows.push_back(std::move(row));
            rowLines.push_back(rowStart);
        }
        row.clear();
        isRowEmpty = true;
    };
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (isQuoted) {
            if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
                field += '"';
                ++i;
            } else if (c == '"') {
                isQuoted = false;
            } else {
                line += c == '\n' ? 1 : 0;
                field += c;
            }
            continue;
        }
        if (c == '"' && field.empty()) {
            isQuoted = true;
            isRowEmpty = false;
        } else if (c == ',') {
            row.push_back(std::move(field));
            field.clear();
            isRowEmpty = false;
        } else if (c == '\n' || c == '\r') {
            if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
                ++i;
            }
            endRow();
            rowStart = ++line;
        } else {
            field += c;
            isRowEmpty = false;
        }
    }
    if (isQuoted) {
        badRow(file, rowStart, "a quoted field is not closed");
    }
    if (!field.empty() || !row.empty()) {
        endRow();
    }
    if (rows.empty()) {
        return {};
    }
    const std::vector<std::string>& header = rows.front();
    std::vector<SourceRecord> records;
    for (std::size_t r = 1; r < rows.size(); ++r) {
        if (rows[r].size() != header.size()) {
            badRow(file, rowLines[r],
                   "has " + std::to_string(rows[r].size()) + " fields but the header has " +
                       std::to_string(header.size()));
        }
        nlohmann::json fields = nlohmann::json::object();
        for (std::size_t c = 0; c < header.size(); ++c) {
            fields[header[c]] = rows[r][c];
        }
        records.push_back(SourceRecord{std::move(fields), rowLines[r]});
    }
    return records;
}

std::vector<SourceRecord> readText(const std::string& text)
{
    std::vector<SourceRecord> records;
    forEachLine(text, [&](std::size_t number, const std::string& line) {
        if (!line.empty()) {
            records.push_back(SourceRecord{{{"text", line}}, number});
        }
    });
    return records;
}

} // namespace

std::vector<SourceRecord> readRecords(const std::filesystem::path& file)
{
    const std::string extension = file.extension().string();
    if (extension != ".jsonl" && extension != ".json" && extension != ".csv" &&
        extension != ".txt") {
        throw Error(ErrorCode::InvalidConfig, "'" + file.string() +
                                                  "': dataset files must end in .jsonl, "
                                                  ".json, .csv or .txt");
    }
    const std::string text = readAll(file);
    if (extension == ".jsonl") {
        return readJsonLines(file, text);
    }
    if (extension == ".json") {
        return readJsonArray(file, text);
    }
    if (extension == ".csv") {
        return readCsv(file, text);
    }
    return readText(text);
}

} // namespace ftw::data
