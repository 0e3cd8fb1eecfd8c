"""Choosing between the letter CNN and the whole-captcha sequence model from how well segmentation works."""
from __future__ import annotations

import numpy as np

from .config import Config
from .data import Dataset

AUTO = "auto"


def training_yield(dataset: Dataset, config: Config) -> float | None:
    """Share of clean cuts on the captchas outside the held-out test share, so the choice never looks at test data.

    Clean means the ink fell into as many pieces as the label has characters. The plain yield is no
    signal here: the cutter forces the expected count whenever it can, so it reads near 100% on any style.
    """
    if not dataset.is_captchas or dataset.clean_cut is None or not len(dataset.clean_cut):
        return None
    from .sequence import split_captchas

    split = split_captchas(len(dataset.texts), config)
    rows = np.concatenate([split.train, split.val])
    return float(np.mean(dataset.clean_cut[rows]))


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
