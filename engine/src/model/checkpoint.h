// SPDX-License-Identifier: MIT
#pragma once

#include "safetensors.h"

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace ftw::model {

/// The weights of a Hugging Face model folder: `model.safetensors`, or the shards listed by
/// `model.safetensors.index.json`. Every file is validated and memory-mapped on open. Pickle
/// checkpoints (`*.bin`, `*.pt`, ...) are never read: loading them would run code.
class Checkpoint {
public:
    /// Throws Error{ModelFormat} naming the file for a malformed index or shard, a shard name that
    /// leaves the folder, a tensor listed twice, or a folder with only pickle checkpoints (the
    /// message says how to convert them); Error{NotFound} when the folder holds no weights at all.
    static Checkpoint open(const std::filesystem::path& modelDir);

    [[nodiscard]] const std::filesystem::path& folder() const { return m_folder; }
    /// Every tensor name, sorted.
    [[nodiscard]] std::vector<std::string> tensorNames() const;
    /// nullptr when no shard has this tensor.
    [[nodiscard]] const TensorInfo* find(const std::string& name) const;
    /// A CPU copy in the file's dtype. Throws Error{ModelFormat} for an unknown name.
    [[nodiscard]] at::Tensor load(const std::string& name) const;
    /// SafetensorsFile::loadInto() of the shard that holds `name`.
    void loadInto(const std::string& name, at::Tensor& destination) const;
    /// SafetensorsFile::hasBytes() of the shard that holds `name` (false when none does).
    [[nodiscard]] bool hasBytes(const std::string& name, std::span<const std::byte> expected) const;
    /// The metadata of the index (sharded) or of the single file.
    [[nodiscard]] const std::map<std::string, std::string>& metadata() const { return m_metadata; }
    [[nodiscard]] std::size_t shardCount() const { return m_files.size(); }

private:
    /// The shard that holds `name`. Throws Error{ModelFormat} when none does.
    [[nodiscard]] const SafetensorsFile& shardHolding(const std::string& name) const;

    std::filesystem::path m_folder;
    std::vector<SafetensorsFile> m_files;
    std::map<std::string, std::size_t> m_fileOfTensor;
    std::map<std::string, std::string> m_metadata;
};

} // namespace ftw::model
