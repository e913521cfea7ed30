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

#include <cmath>
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
    const auto version = json.is_object() ? json.find("format_version") : json.end();
    FTW_CHECK(json.is_object() && version != json.end() && version->is_number_integer() &&
                  version->get<std::int64_t>() == kFormatVersion,
              ErrorCode::ModelFormat,
              "'" + stateFile.string() + "' is not an FTW checkpoint state of format version " +
                  std::to_string(kFormatVersion));
    // A whole number of at least 0: a count, a step or milliseconds.
    const auto count = [&](const char* key) {
        const auto it = json.find(key);
        FTW_CHECK(it != json.end() && it->is_number_integer() && it->get<std::int64_t>() >= 0,
                  ErrorCode::ModelFormat,
                  "'" + stateFile.string() + "': \"" + key +
                      "\" must be a whole number of at least 0");
        return it->get<std::int64_t>();
    };
    LoopState state;
    state.step = count("step");
    state.microBatches = count("micro_batches");
    state.tokensSeen = count("tokens_seen");
    state.elapsedMs = count("elapsed_ms");
    state.goodSteps = count("good_steps");
    const auto scale = json.find("loss_scale");
    FTW_CHECK(scale != json.end() && scale->is_number() && std::isfinite(scale->get<double>()) &&
                  scale->get<double>() >= 0.0,
              ErrorCode::ModelFormat,
              "'" + stateFile.string() + "': \"loss_scale\" must be a number of at least 0");
    state.lossScale = scale->get<double>();

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
