// SPDX-License-Identifier: MIT
#pragma once

namespace ftw::resources {

/// The Qt resource path of the application icon (256 px PNG).
[[nodiscard]] const char* appIconPath();

} // namespace ftw::resources
