// SPDX-License-Identifier: MIT
#include "app_icon.h"

namespace ftw::resources {

const char* appIconPath()
{
    return ":/ftw/icons/ftw-256.png";
}

} // namespace ftw::resources
