// SPDX-License-Identifier: MIT
#pragma once
// TODO(helper): writing a merged Hugging Face folder and verifying it (#5)
