"""Hostile uploads, timed: how fast the bombs are refused, and how much memory refusing them takes.

Run alone with `python -m benchmarks.hostile`; `python -m benchmarks` includes it in the README table.
"""
from __future__ import annotations

import io
import json
import struct
import sys
import time
import zipfile
import zlib

from PIL import Image

from captcha_core.archive import read_zip
from captcha_core.imageio import InputRejected, decode_image

from .common import read_status_kb, reset_peak_rss, summarize_ms

RUNS = 20
BOMB_SIDE = 30000  # the example: a small file whose header claims 30000x30000 pixels
ZIP_BOMB_BYTES = 1024**3  # a zip that would inflate to 1 GB
MEGABYTE = 1024**2


def png_claiming(width: int, height: int) -> bytes:
    """A 1x1 PNG whose header is rewritten (CRC included) to claim width x height pixels."""
    buffer = io.BytesIO()
    Image.new("L", (1, 1), 255).save(buffer, "PNG")
    data = bytearray(buffer.getvalue())
    data[16:24] = struct.pack(">II", width, height)  # IHDR body starts after signature, length and type
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def zip_inflating_to(total: int) -> bytes:
    """A real deflated zip of zeros that expands to `total` bytes, written in streamed chunks."""
    buffer = io.BytesIO()
    chunk = bytes(16 * MEGABYTE)
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive, archive.open("zeros.png", "w", force_zip64=True) as member:
        for _ in range(total // len(chunk)):
            member.write(chunk)
    return buffer.getvalue()


def time_refusal(action, runs: int = RUNS) -> dict:
    """Durations of `action` refusing its input, plus the peak memory above the resident size before it."""
    before_kb = read_status_kb("VmRSS") or 0
    peak_known = reset_peak_rss()
    durations, message = [], ""
    for _ in range(runs):
        start = time.perf_counter()
        try:
            action()
            message = "accepted (should have been refused)"
        except InputRejected as exc:
            message = str(exc)
        durations.append(time.perf_counter() - start)
    peak_kb = read_status_kb("VmHWM") if peak_known else None
    return {
        **summarize_ms(durations),
        "peak_rss_growth_mb": None if peak_kb is None else max(0.0, (peak_kb - before_kb) / 1024),
        "message": message,
    }


def measure_hostile() -> dict:
    """Refusal time and memory for an image bomb and a zip bomb."""
    png = png_claiming(BOMB_SIDE, BOMB_SIDE)
    zip_bomb = zip_inflating_to(ZIP_BOMB_BYTES)
    return {
        "image_bomb": {"file_bytes": len(png), "claims": f"{BOMB_SIDE}x{BOMB_SIDE}", **time_refusal(lambda: decode_image(png, "bomb.png"))},
        "zip_bomb": {"file_bytes": len(zip_bomb), "inflates_to_bytes": ZIP_BOMB_BYTES, **time_refusal(lambda: read_zip(zip_bomb))},
    }


if __name__ == "__main__":
    json.dump(measure_hostile(), sys.stdout, indent=2)
    print()
