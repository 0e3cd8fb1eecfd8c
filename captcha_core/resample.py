"""Resampling of the training split only: bootstrap rare classes up, down-sample common ones, or neither."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

STRATEGIES = ("bootstrap", "downsample", "none")


@dataclass
class Resampled:
    """Row indices into the training split after resampling, with the class counts before and after."""

    index: np.ndarray
    before: dict[str, int]
    after: dict[str, int]
    target: int | None


def default_target(counts: dict[str, int], strategy: str) -> int | None:
    """The seed bootstrapped up to a fixed size; by default we go up to the largest class (or down to the smallest)."""
    if strategy == "bootstrap":
        return max(counts.values())
    if strategy == "downsample":
        return min(counts.values())
    return None


def resample(labels: np.ndarray, strategy: str = "bootstrap", per_class: int | None = None, seed: int = 0) -> Resampled:
    """Return training-row indices balanced by `strategy` towards `per_class` images per class."""
    if strategy not in STRATEGIES:
        raise ValueError(f"resampling must be one of {', '.join(STRATEGIES)}, not {strategy!r}")
    labels = np.asarray(labels)
    before = dict(sorted(Counter(labels.tolist()).items()))
    target = per_class if per_class is not None and strategy != "none" else default_target(before, strategy)
    rng = np.random.default_rng(seed)
    parts = []
    for label in before:
        rows = np.flatnonzero(labels == label)
        if strategy == "bootstrap" and len(rows) < target:
            # Keep every original once and draw only the shortfall with replacement.
            parts += [rows, rng.choice(rows, size=target - len(rows), replace=True)]
        elif strategy == "downsample" and len(rows) > target:
            parts.append(rng.choice(rows, size=target, replace=False))
        else:
            parts.append(rows)
    index = np.concatenate(parts) if parts else np.zeros(0, np.int64)
    # Shuffle for real, so batches mix classes (the seed's "shuffle" left the order as it was).
    index = rng.permutation(index)
    after = dict(sorted(Counter(labels[index].tolist()).items()))
    return Resampled(index, before, after, target)
