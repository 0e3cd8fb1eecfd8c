"""Solving with the product's Predictor, in this process: one captcha at a time, and a folder in one call."""
from __future__ import annotations

import time

from captcha_core.labels import stem_label
from captcha_core.imageio import read_image_file

from .common import summarize_ms


def measure_solving(model_dir: str, files: list[str], warmup: int, runs: int) -> dict:
    """p50/p95 of Predictor.solve after warm-up, and captchas per second of one solve_many over every file."""
    from pathlib import Path

    from captcha_core.prediction import Predictor

    start = time.perf_counter()
    predictor = Predictor.from_folder(model_dir)
    load_seconds = time.perf_counter() - start

    start = time.perf_counter()
    images = [read_image_file(p) for p in files]
    read_seconds = time.perf_counter() - start
    truth = [stem_label(Path(p).stem) for p in files]

    for i in range(warmup):
        predictor.solve(images[i % len(images)])
    durations = []
    for i in range(runs):
        image = images[i % len(images)]
        start = time.perf_counter()
        predictor.solve(image)
        durations.append(time.perf_counter() - start)

    # One warm-up of the batch path too: the first call with a new batch size can retrace the graph.
    predictor.solve_many(images[: min(len(images), warmup)])
    start = time.perf_counter()
    readings = predictor.solve_many(images)
    batch_seconds = time.perf_counter() - start
    correct = sum(r.text == t for r, t in zip(readings, truth))
    characters = sum(a == b for r, t in zip(readings, truth) for a, b in zip(r.text, t))
    return {
        "model_load_seconds": load_seconds,
        "single": summarize_ms(durations),
        "batch": {
            "captchas": len(images),
            "seconds": batch_seconds,
            "captchas_per_second": len(images) / batch_seconds,
            "read_seconds": read_seconds,
            "captchas_per_second_with_reading": len(images) / (batch_seconds + read_seconds),
            "captcha_accuracy": correct / len(images),
            "character_accuracy": characters / max(1, sum(map(len, truth))),
        },
    }
