#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Draws FTW's application icon (a rounded tile with a falling loss curve) as PNG files.

Standard library only: python3 resources/icons/make_icon.py  (writes ftw-256.png and ftw-64.png here)
"""
import math
import os
import struct
import zlib


def render(size):
    pixels = bytearray()
    radius = size * 0.18
    for y in range(size):
        pixels.append(0)  # PNG filter: none
        for x in range(size):
            # rounded-square mask with a one-pixel soft edge
            cx = min(max(x + 0.5, radius), size - radius)
            cy = min(max(y + 0.5, radius), size - radius)
            dist = math.hypot(x + 0.5 - cx, y + 0.5 - cy)
            alpha = max(0.0, min(1.0, radius - dist + 0.5))
            # vertical gradient, deep blue to teal
            t = y / (size - 1)
            r, g, b = 0x1d + (0x12 - 0x1d) * t, 0x4e + (0x9c - 0x4e) * t, 0xd8 + (0x9a - 0xd8) * t
            # the falling curve: y = a * exp(-k x) + c, drawn as a thick white line
            u = x / size
            curve = 0.78 - 0.56 * math.exp(-5.0 * (u - 0.15)) if u >= 0.15 else 1.0
            if 0.15 <= u <= 0.85:
                d = abs(y / size - curve)
                w = max(0.0, min(1.0, (0.045 - d) * size / 2.0))
                r, g, b = r + (255 - r) * w, g + (255 - g) * w, b + (255 - b) * w
            # the baseline axis
            if 0.15 <= u <= 0.85 and abs(y / size - 0.82) < 0.018:
                r, g, b = 255, 255, 255
            pixels += bytes((int(r), int(g), int(b), int(alpha * 255)))
    return bytes(pixels)


def write_png(path, size):
    def chunk(tag, data):
        body = tag + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    data = zlib.compress(render(size), 9)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b""))


if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    for size in (256, 64):
        write_png(os.path.join(here, f"ftw-{size}.png"), size)
