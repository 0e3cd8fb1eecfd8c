"""Choosing between the letter CNN and the whole-captcha sequence model from how well segmentation works."""
from __future__ import annotations

import numpy as np

from .config import Config
from .data import Dataset

AUTO = "auto"


def training_yield(dataset: Dataset, config: Config) -> float | None:
    """Segmentation yield on the captchas outside the held-out test share, so the choice never looks at test data."""
    if not dataset.is_captchas or dataset.segment_ok is None or not len(dataset.segment_ok):
        return None
    from .sequence import split_captchas

    split = split_captchas(len(dataset.texts), config)
    rows = np.concatenate([split.train, split.val])
    return float(np.mean(dataset.segment_ok[rows]))


def resolve_model(dataset: Dataset, config: Config) -> tuple[Config, dict | None]:
    """The configuration with `auto` replaced by cnn or sequence, and the reasons (None when the user chose)."""
    if config.model != AUTO:
        return config, None
    threshold = config.auto_yield_threshold
    measured = training_yield(dataset, config)
    if measured is None:
        chosen, reason = "cnn", "letter data: already one character per image"
    elif measured >= threshold:
        chosen, reason = "cnn", f"segmentation cut {measured:.1%} of the training captchas cleanly (threshold {threshold:.0%})"
    else:
        chosen, reason = "sequence", (
            f"segmentation cut only {measured:.1%} of the training captchas cleanly (threshold {threshold:.0%}); "
            "the sequence model reads them whole"
        )
    choice = {"chosen": chosen, "yield": measured, "threshold": threshold, "reason": reason}
    return config.with_(model=chosen), choice
