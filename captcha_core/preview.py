"""Pictures of a dataset for people: letter samples per class and captchas with their cut boxes drawn on."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import cv2
import numpy as np

from .config import DEFAULT, Config
from .data import Dataset, LetterSet
from .resample import Resampled, resample

if TYPE_CHECKING:  # split pulls in scikit-learn (seconds to import); pictures of the data do not need it
    from .split import Split

# Box colours in RGB: green where the ink fell into the label's number of letters, amber where forced cuts got
# there, red where the cut failed.
BOX_OK = (40, 160, 70)
BOX_FAILED = (220, 50, 50)
BOX_FORCED = (225, 135, 0)  # the right count, but only after a forced split or merge: a guess
BOX_THICKNESS = 1
# Enlarged captchas get thicker boxes, so they read from a distance, but not so thick that they hide thin letters.
BOX_GROWTH_LIMIT = 2
# White gap between tiled letters, so neighbouring crops do not read as one word.
TILE_GAP = 4


def class_samples(letters: LetterSet, per_class: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Up to `per_class` seeded-random letter rows for every class, in sorted label order."""
    rng = np.random.default_rng(seed)
    out = {}
    for label in sorted(set(letters.labels.tolist())):
        rows = np.flatnonzero(letters.labels == label)
        out[label] = np.sort(rng.choice(rows, size=min(per_class, len(rows)), replace=False))
    return out


def tile(images: np.ndarray, gap: int = TILE_GAP, slots: int = 0) -> np.ndarray:
    """Lay equally sized grayscale images side by side on white, with a gap between them.

    slots: the strip is made as wide as this many images even when there are fewer, so that a rare class's
    strip is not stretched larger than the others when all are shown at one width.
    """
    if len(images) == 0:
        raise ValueError("nothing to tile")
    height, width = images.shape[1:3]
    places = max(len(images), slots)
    strip = np.full((height, places * (width + gap) - gap), 255, np.uint8)
    for i, image in enumerate(images):
        strip[:, i * (width + gap) : i * (width + gap) + width] = image
    return strip


def draw_boxes(
    gray: np.ndarray, boxes: list[tuple[int, int, int, int]], ok: bool, clean: bool = True, scale: int = 1
) -> np.ndarray:
    """An RGB copy of a captcha with its cut boxes drawn on: green for a clean cut, amber when the count was
    only reached by forcing cuts or merges, red when the cut failed.

    scale: a whole-number enlargement (see enlarge); the boxes thicken with it, up to BOX_GROWTH_LIMIT times.
    """
    rgb = cv2.cvtColor(np.ascontiguousarray(enlarge(gray, scale)), cv2.COLOR_GRAY2RGB)
    colour = BOX_FAILED if not ok else BOX_OK if clean else BOX_FORCED
    for x, y, w, h in scale_boxes(boxes, scale):
        cv2.rectangle(rgb, (x, y), (x + w - 1, y + h - 1), colour, BOX_THICKNESS * min(max(scale, 1), BOX_GROWTH_LIMIT))
    return rgb


def enlarge(image: np.ndarray, factor: int) -> np.ndarray:
    """The image enlarged by repeating each pixel factor times each way: a browser smooths what it enlarges
    itself, which blurs small letters and captchas."""
    if factor <= 1:
        return image
    return np.repeat(np.repeat(image, factor, axis=0), factor, axis=1)


def scale_boxes(boxes, factor: int) -> list[tuple[int, int, int, int]]:
    """(x, y, w, h) boxes on an image enlarged `factor` times."""
    return [tuple(int(v) * factor for v in box) for box in boxes]


def crisp_scale(width: int, shown_width: int) -> int:
    """The largest whole-number enlargement that keeps a picture within the width it is shown at (at least 1),
    so that it is shown pixel for pixel instead of being resampled."""
    return max(1, shown_width // max(width, 1))


def paper_colour(image: np.ndarray) -> tuple[int, ...]:
    """The colour (or gray level) along a picture's edges, their median, taken as its paper."""
    edges = np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]])
    return tuple(int(v) for v in np.atleast_1d(np.median(edges, axis=0)))


def pad_to_size(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """The picture centred on its own paper colour, grown to height x width (never cut), so pictures of
    different sizes shown side by side line up and look alike."""
    rows, columns = image.shape[:2]
    top, left = max(0, height - rows) // 2, max(0, width - columns) // 2
    return cv2.copyMakeBorder(
        image, top, max(0, height - rows) - top, left, max(0, width - columns) - left, cv2.BORDER_CONSTANT,
        value=paper_colour(image),
    )


def preview_captchas(dataset: Dataset, count: int, draw: int = 0, seed: int = 0) -> tuple[int, ...]:
    """Indices of `count` captchas the cutter did cut, in file order: half of them, where there are enough, forced to
    their count, since those are the cuts worth checking. Files come sorted by name, so they are drawn at random;
    each `draw` number gives another handful."""
    ok = np.ones(len(dataset.texts), bool) if dataset.segment_ok is None else dataset.segment_ok
    clean = np.ones_like(ok) if dataset.clean_cut is None else dataset.clean_cut
    rng = np.random.default_rng([seed, draw])
    forced = rng.permutation(np.flatnonzero(ok & ~clean))
    cleanly = rng.permutation(np.flatnonzero(ok & clean))
    n_forced = min(len(forced), max(count // 2, count - len(cleanly)))
    chosen = np.concatenate([forced[:n_forced], cleanly[: count - n_forced]])
    return tuple(sorted(int(i) for i in chosen))


def failed_captchas(dataset: Dataset) -> np.ndarray:
    """Indices of the captchas segmentation could not cut into their label's number of letters."""
    if dataset.segment_ok is None:
        return np.zeros(0, np.int64)
    return np.flatnonzero(~dataset.segment_ok)


@dataclass
class Balance:
    """The split sizes and the training split's class counts before and after resampling."""

    split: "Split"
    resampled: Resampled

    @property
    def sizes(self) -> dict[str, int]:
        """Letters per split, with the training split counted after resampling too."""
        sizes = self.split.sizes()
        sizes["train after resampling"] = len(self.resampled.index)
        return sizes


def training_balance(dataset: Dataset, config: Config = DEFAULT, split: "Split | None" = None) -> Balance:
    """Split as training will (or reuse a split made with the same config), then resample the training split only."""
    from .split import split_dataset

    split = split if split is not None else split_dataset(dataset, config)
    labels = dataset.letters.labels[split.train]
    return Balance(split, resample(labels, config.resample, config.per_class, config.seed))
