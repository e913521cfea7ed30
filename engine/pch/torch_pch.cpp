// SPDX-License-Identifier: MIT
// Compiled once to produce the torch precompiled header.
