// SPDX-License-Identifier: MIT
// TODO(helper): merge/export job tests (#5)
