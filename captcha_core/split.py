"""Split first: stratified, seeded train/validation/test splits that keep a captcha's letters together."""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold, train_test_split

from .config import DEFAULT, Config
from .data import Dataset, DatasetError


@dataclass
class Split:
    """Letter indices of each split, plus the test captchas (including ones segmentation failed on)."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    test_captchas: np.ndarray  # captcha indices, empty for letter data

    def sizes(self) -> dict[str, int]:
        """Letters per split, and test captchas when there are any."""
        out = {"train": len(self.train), "validation": len(self.val), "test": len(self.test)}
        if len(self.test_captchas):
            out["test captchas"] = len(self.test_captchas)
        return out


def holdout(
    labels: np.ndarray, groups: np.ndarray, share: float, seed: int, purpose: str = "testing"
) -> tuple[np.ndarray, np.ndarray]:
    """Hold out about `share` of the rows, stratified by label, never splitting a group.

    purpose: what the held-out rows are for, named when there are too few groups to hold any out.
    """
    rows = np.arange(len(labels))
    if share <= 0:
        return rows, rows[:0]
    if len(np.unique(groups)) == len(groups):
        # Every letter is its own group: an exact stratified split, falling back when a class is too rare.
        _, counts = np.unique(labels, return_counts=True)
        stratify = labels if counts.min() >= 2 else None
        keep, held = train_test_split(rows, test_size=share, random_state=seed, stratify=stratify)
        return np.sort(keep), np.sort(held)
    folds = max(2, round(1 / share))
    captchas = len(np.unique(groups))
    if captchas < folds:
        raise DatasetError(
            f"only {captchas} captcha{'s' if captchas != 1 else ''} with cut letters left to split: holding out "
            f"{share:.0%} of them for {purpose} needs at least {folds}"
        )
    with warnings.catch_warnings():
        # Rare classes cannot sit in every fold; sklearn warns, and the split is still the best available.
        warnings.simplefilter("ignore", UserWarning)
        splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
        keep, held = next(splitter.split(rows, labels, groups))
    return np.sort(keep), np.sort(held)


def split_dataset(dataset: Dataset, config: Config = DEFAULT) -> Split:
    """Split the letters into train, validation and test before any resampling."""
    letters = dataset.letters
    rest, test = holdout(letters.labels, letters.groups, config.test_size, config.seed)
    train_rel, val_rel = holdout(
        letters.labels[rest], letters.groups[rest], config.val_size, config.seed + 1, purpose="validation"
    )
    train, val = rest[train_rel], rest[val_rel]
    test_captchas = np.zeros(0, np.int64)
    if dataset.is_captchas:
        test_captchas = np.unique(letters.groups[test])
        # Captchas that segmentation could not cut have no letters; a seeded draw sends the same share
        # of them to the test split so whole-captcha accuracy counts those failures honestly.
        failed = np.flatnonzero(~dataset.segment_ok)
        rng = np.random.default_rng(config.seed)
        failed_test = failed[rng.random(len(failed)) < config.test_size]
        test_captchas = np.sort(np.concatenate([test_captchas, failed_test]))
    return Split(train, val, test, test_captchas)
