// SPDX-License-Identifier: MIT
#include "merged_model.h"
