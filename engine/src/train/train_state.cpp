// SPDX-License-Identifier: MIT
#include "train_state.h"

#include "core/atomic_file.h"
#include "core/check.h"
#include "model/safetensors.h"

#include <ATen/ATen.h>
#include <ATen/Context.h>
#include <nlohmann/json.hpp>
#include <torch/optim/optimizer.h>
#include <torch/serialize/archive.h>

#include <fstream>
#include <mutex>

namespace ftw::train {
namespace {

constexpr int kFormatVersion = 1;

std::int64_t folderSize(const std::filesystem::path& dir)
{
    std::int64_t total = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        if (entry.is_regular_file()) {
            total += static_cast<std::int64_t>(entry.file_size());
        }
    }
    return total;
}

} // namespace

std::int64_t saveCheckpoint(const std::filesystem::path& dir, const LoopState& state,
                            const NamedTensors& trainable, const NamedTensors& extra,
                            torch::optim::Optimizer& optimizer, const std::string& configJson)
{
    std::filesystem::path partial = dir;
    partial += ".partial";
    std::error_code ec;
    std::filesystem::remove_all(partial, ec);
    std::filesystem::create_directories(partial);
    try {
        NamedTensors tensors;
        for (const auto& [name, tensor] : trainable) {
            tensors.emplace_back("trainable." + name, tensor.detach());
        }
        for (const auto& [name, tensor] : extra) {
            tensors.emplace_back(name, tensor.detach());
        }
        model::writeSafetensors(partial / "trainable.safetensors", tensors,
                                {{"format", "ftw-checkpoint"}});
        torch::serialize::OutputArchive archive;
        optimizer.save(archive);
        archive.save_to((partial / "optimizer.pt").string());
        const nlohmann::json json = {
            {"format_version", kFormatVersion},
            {"step", state.step},
            {"micro_batches", state.microBatches},
            {"tokens_seen", state.tokensSeen},
            {"elapsed_ms", state.elapsedMs},
            {"loss_scale", state.lossScale},
            {"good_steps", state.goodSteps},
            {"config", nlohmann::json::parse(configJson, nullptr, false)},
        };
        core::writeFileAtomically(partial / "trainer_state.json", json.dump(2) + "\n");
        std::filesystem::remove_all(dir, ec);
        std::filesystem::rename(partial, dir);
    } catch (const c10::Error& e) {
        std::filesystem::remove_all(partial, ec);
        throw Error(ErrorCode::Io, "writing checkpoint '" + dir.string() + "' failed",
                    e.what_without_backtrace());
    } catch (...) {
        std::filesystem::remove_all(partial, ec);
        throw;
    }
    return folderSize(dir);
}

LoopState loadCheckpoint(const std::filesystem::path& dir, const NamedTensors& trainable,
                         NamedTensors& extraOut, torch::optim::Optimizer& optimizer)
{
    const std::filesystem::path stateFile = dir / "trainer_state.json";
    std::ifstream in(stateFile);
    FTW_CHECK(in.good(), ErrorCode::NotFound,
              "checkpoint '" + dir.string() + "' has no trainer_state.json");
    const nlohmann::json json = nlohmann::json::parse(in, nullptr, false);
    FTW_CHECK(json.is_object() && json.value("format_version", 0) == kFormatVersion,
              ErrorCode::ModelFormat,
              "'" + stateFile.string() + "' is not an FTW checkpoint state of format version " +
                  std::to_string(kFormatVersion));
    LoopState state;
    try {
        state.step = json.at("step").get<std::int64_t>();
        state.microBatches = json.at("micro_batches").get<std::int64_t>();
        state.tokensSeen = json.at("tokens_seen").get<std::int64_t>();
        state.elapsedMs = json.at("elapsed_ms").get<std::int64_t>();
        state.lossScale = json.at("loss_scale").get<double>();
        state.goodSteps = json.at("good_steps").get<std::int64_t>();
    } catch (const nlohmann::json::exception& e) {
        throw Error(ErrorCode::ModelFormat, "'" + stateFile.string() + "': " + e.what());
    }

    const std::filesystem::path tensorFile = dir / "trainable.safetensors";
    const model::SafetensorsFile file = model::SafetensorsFile::open(tensorFile);
    {
        at::NoGradGuard noGrad;
        for (const auto& [name, tensor] : trainable) {
            const std::string key = "trainable." + name;
            FTW_CHECK(file.find(key) != nullptr, ErrorCode::ModelFormat,
                      "'" + tensorFile.string() + "' has no tensor '" + key +
                          "': the checkpoint was written for another adapter config");
            const at::Tensor saved = file.load(key);
            FTW_CHECK(saved.sizes() == tensor.sizes(), ErrorCode::ModelFormat,
                      "'" + tensorFile.string() + "': tensor '" + key +
                          "' has another shape "
                          "than the model's");
            tensor.copy_(saved);
        }
    }
    for (const model::TensorInfo& info : file.tensors()) {
        if (!info.name.starts_with("trainable.")) {
            extraOut.emplace_back(info.name, file.load(info.name).clone());
        }
    }
    torch::serialize::InputArchive archive;
    try {
        archive.load_from((dir / "optimizer.pt").string());
        optimizer.load(archive);
    } catch (const c10::Error& e) {
        throw Error(ErrorCode::ModelFormat,
                    "'" + (dir / "optimizer.pt").string() +
                        "' cannot be read as the optimiser "
                        "state of this run",
                    e.what_without_backtrace());
    }
    return state;
}

NamedTensors randomState(const c10::Device& device)
{
    NamedTensors state;
    {
        at::Generator cpu = at::globalContext().defaultGenerator(c10::Device(c10::kCPU));
        const std::lock_guard lock(cpu.mutex());
        state.emplace_back("rng.cpu", cpu.get_state());
    }
    if (device.is_cuda()) {
        at::Generator cuda = at::globalContext().defaultGenerator(device);
        const std::lock_guard lock(cuda.mutex());
        state.emplace_back("rng.cuda", cuda.get_state());
    }
    return state;
}

void restoreRandomState(const NamedTensors& state, const c10::Device& device)
{
    for (const auto& [name, tensor] : state) {
        if (name == "rng.cpu") {
            at::Generator cpu = at::globalContext().defaultGenerator(c10::Device(c10::kCPU));
            const std::lock_guard lock(cpu.mutex());
            cpu.set_state(tensor);
        } else if (name == "rng.cuda" && device.is_cuda()) {
            at::Generator cuda = at::globalContext().defaultGenerator(device);
            const std::lock_guard lock(cuda.mutex());
            cuda.set_state(tensor);
        }
    }
}

} // namespace ftw::train
