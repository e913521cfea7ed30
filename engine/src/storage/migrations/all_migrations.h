// SPDX-License-Identifier: MIT
#pragma once

#include "storage/migrations.h"

namespace ftw::storage::migrations {

// One declaration per file in this folder, in version order.
extern const Migration kCreateSchema; // 0001_create_schema.cpp
extern const Migration kRunGroups;    // 0002_run_groups.cpp

} // namespace ftw::storage::migrations
