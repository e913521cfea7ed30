// SPDX-License-Identifier: MIT
#pragma once

#include "adapters/adapter_set.h"

#include <ftw/run_store.h>

#include <vector>

namespace ftw::train {

/// The layout of `adapters` as the store records it (adapter_layouts), in model order: one entry
/// per adapted module with its rank or block size and the elements of its trainable tensors. For
/// AdaLoRA, a module the allocator has masked reports the directions it kept (rank), their
/// elements kept * (in + out + 1) (what the saved adapter holds) and is disabled when none is
/// left; before the first masking it reports init_r. Full fine-tuning gives one entry per
/// projection with no rank and in * out (+ out with a bias) elements. HeteroLoRA's shortcuts
/// follow the modules as "shortcut.*" entries of 2 r D elements. No proxy scores. Pure.
[[nodiscard]] std::vector<AdapterLayoutEntry> adapterLayout(const adapters::AdapterSet& adapters);

} // namespace ftw::train
