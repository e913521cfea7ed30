// SPDX-License-Identifier: MIT
#include "checkpoint.h"

#include <ftw/error.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <fstream>
#include <sstream>
#include <system_error>

namespace ftw::model {
namespace {

constexpr const char* kSingleFile = "model.safetensors";
constexpr const char* kIndexFile = "model.safetensors.index.json";
constexpr std::array<std::string_view, 5> kPickleExtensions{".bin", ".pt", ".pth", ".ckpt", ".pkl"};

[[noreturn]] void refusePickle(const std::filesystem::path& folder,
                               const std::filesystem::path& file)
{
    throw Error(ErrorCode::ModelFormat,
                "'" + folder.string() + "' holds only a pickle checkpoint ('" +
                    file.filename().string() +
                    "'), which FTW does not load because unpickling runs code from the file. "
                    "Convert it to safetensors once, where you trust the file, with: python3 -c "
                    "\"from transformers import AutoModelForCausalLM as M; "
                    "M.from_pretrained('" +
                    folder.string() + "').save_pretrained('" + folder.string() +
                    "', safe_serialization=True)\"");
}

void checkForPickleOnly(const std::filesystem::path& folder)
{
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(folder, ec)) {
        const std::string extension = entry.path().extension().string();
        if (std::find(kPickleExtensions.begin(), kPickleExtensions.end(), extension) !=
            kPickleExtensions.end()) {
            refusePickle(folder, entry.path());
        }
    }
}

/// A shard name from the index must name a file inside the folder, never a path out of it.
bool isPlainFileName(const std::string& name)
{
    return !name.empty() && name.find('/') == std::string::npos &&
           name.find('\\') == std::string::npos && name != "." && name != "..";
}

} // namespace

Checkpoint Checkpoint::open(const std::filesystem::path& modelDir)
{
    Checkpoint checkpoint;
    checkpoint.m_folder = modelDir;
    const std::filesystem::path index = modelDir / kIndexFile;
    const std::filesystem::path single = modelDir / kSingleFile;

    if (std::filesystem::exists(index)) {
        std::ifstream in(index);
        std::stringstream text;
        text << in.rdbuf();
        const nlohmann::json json = nlohmann::json::parse(text.str(), nullptr, false);
        const std::string where = "'" + index.string() + "'";
        if (json.is_discarded() || !json.is_object()) {
            throw Error(ErrorCode::ModelFormat, where + " is not a JSON object");
        }
        const auto weightMap = json.find("weight_map");
        if (weightMap == json.end() || !weightMap->is_object()) {
            throw Error(ErrorCode::ModelFormat, where + " has no \"weight_map\" object");
        }
        if (const auto meta = json.find("metadata"); meta != json.end() && meta->is_object()) {
            for (const auto& [key, value] : meta->items()) {
                checkpoint.m_metadata[key] =
                    value.is_string() ? value.get<std::string>() : value.dump();
            }
        }
        std::map<std::string, std::size_t> fileIndex;
        for (const auto& [tensor, file] : weightMap->items()) {
            if (!file.is_string() || !isPlainFileName(file.get<std::string>())) {
                throw Error(ErrorCode::ModelFormat, where + ": tensor '" + tensor + "' maps to " +
                                                        file.dump() +
                                                        ", which is not a file name in the folder");
            }
            const std::string shard = file.get<std::string>();
            auto [it, isNew] = fileIndex.emplace(shard, checkpoint.m_files.size());
            if (isNew) {
                std::error_code ec; // a name too long for the file system, for one
                if (!std::filesystem::is_regular_file(modelDir / shard, ec)) {
                    const bool isMissing = !ec || ec == std::errc::no_such_file_or_directory;
                    throw Error(ErrorCode::ModelFormat,
                                where + " lists shard '" + shard + "', which is " +
                                    (isMissing ? "missing" : "not readable: " + ec.message()));
                }
                checkpoint.m_files.push_back(SafetensorsFile::open(modelDir / shard));
            }
            if (checkpoint.m_files[it->second].find(tensor) == nullptr) {
                throw Error(ErrorCode::ModelFormat, where + " places tensor '" + tensor + "' in '" +
                                                        shard + "', which does not contain it");
            }
            checkpoint.m_fileOfTensor[tensor] = it->second;
        }
        return checkpoint;
    }
    if (std::filesystem::exists(single)) {
        checkpoint.m_files.push_back(SafetensorsFile::open(single));
        checkpoint.m_metadata = checkpoint.m_files.front().metadata();
        for (const TensorInfo& t : checkpoint.m_files.front().tensors()) {
            checkpoint.m_fileOfTensor[t.name] = 0;
        }
        return checkpoint;
    }
    checkForPickleOnly(modelDir);
    throw Error(ErrorCode::NotFound,
                "'" + modelDir.string() + "' has no " + kSingleFile + " and no " + kIndexFile);
}

std::vector<std::string> Checkpoint::tensorNames() const
{
    std::vector<std::string> names;
    names.reserve(m_fileOfTensor.size());
    for (const auto& [name, file] : m_fileOfTensor) {
        names.push_back(name);
    }
    return names;
}

const TensorInfo* Checkpoint::find(const std::string& name) const
{
    const auto it = m_fileOfTensor.find(name);
    return it == m_fileOfTensor.end() ? nullptr : m_files[it->second].find(name);
}

const SafetensorsFile& Checkpoint::shardHolding(const std::string& name) const
{
    const auto it = m_fileOfTensor.find(name);
    if (it == m_fileOfTensor.end()) {
        throw Error(ErrorCode::ModelFormat,
                    "the checkpoint in '" + m_folder.string() + "' has no tensor '" + name + "'");
    }
    return m_files[it->second];
}

bool Checkpoint::hasBytes(const std::string& name, std::span<const std::byte> expected) const
{
    const auto it = m_fileOfTensor.find(name);
    return it != m_fileOfTensor.end() && m_files[it->second].hasBytes(name, expected);
}

} // namespace ftw::model
