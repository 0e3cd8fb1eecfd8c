"""Prediction: read letters and solve captchas, all crops of a batch in one model call."""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from .config import DEFAULT, Config
from .data import path_in_zip, plural
from .inspect import has_ink
from .labels import counter_problem, labels_from_names, readable_text
from .models import reads_whole
from .persistence import LoadedModel, load_model, reading_lengths
from .segmentation import normalize_letter, segment_variants


@dataclass
class LetterReading:
    """What the model reads in one letter image."""

    label: str
    confidence: float
    top: list[tuple[str, float]]
    image: np.ndarray  # the normalized input the model saw


@dataclass
class CaptchaReading:
    """What the model reads in one captcha."""

    text: str
    confidences: list[float]
    boxes: list[tuple[int, int, int, int]]
    crops: np.ndarray
    top: list[list[tuple[str, float]]]
    segmented_ok: bool

    @property
    def confidence(self) -> float:
        """The whole text's confidence: the product of its characters' confidences."""
        return float(np.prod(self.confidences)) if self.confidences else 0.0


NO_LETTER = "no letter found: the image is blank or almost one tone"
NOTHING_READ = "the model read no characters in it: the picture may be blank, or unlike its training captchas"


def truths_in_names(names: list[str], labels, lengths=()) -> list[str | None]:
    """Per file name, the text it gives, read as the loader reads a folder's names (`abcd_2.png` gives abcd, and a
    counter in front is skipped), when this model could read it: every character one of its `labels`, and the length
    one it learnt (any, when `lengths` is empty); else None. A zip's member (`caps.zip:abcd.png`) is named by its
    own path."""
    known = {str(label) for label in labels}
    texts = texts_in_names(names)
    if texts is None:
        return [None] * len(names)  # 00000.jpg, 00001.jpg, ...: the names count the images, as the loader says
    return [text if readable_text(text, known, lengths) else None for text in texts]


def unmarked_reasons(names: list[str], labels, lengths=()) -> list[str]:
    """Per file name, why a reading is not marked against it (see unmarked_because), or "" when it gives no text
    to speak of or is marked."""
    texts = texts_in_names(names)
    if texts is None:
        return ["its name counts the images rather than giving its text, so the reading is not marked"] * len(names)
    return [unmarked_because(text, labels, lengths) for text in texts]


def texts_in_names(names: list[str]) -> list[str] | None:
    """The text each file name gives, read as the loader reads a folder's names; None when the names count the
    images (00000.jpg, img_0001.png) rather than give their texts, which the loader refuses."""
    inside = [path_in_zip(name) for name in names]
    texts = labels_from_names(inside)
    given = [texts[name] for name in inside]
    return None if counter_problem(given, inside, "") else given


def unmarked_because(text: str, labels, lengths=()) -> str:
    """Why a reading is not marked against the text its file name gives (truths_in_names gave None), or "" when
    the name looks like no captcha's text for this model: one wrong in both characters and length (`photo.png`)."""
    if not text:
        return ""
    unknown = sorted(set(text) - {str(label) for label in labels})
    if unknown and lengths and len(text) not in lengths:
        return ""
    if unknown:
        return (f"its name reads {text}, but this model never learnt {', '.join(unknown)}, so the reading is not "
                "marked right or wrong")
    if lengths and len(text) not in lengths:
        learnt = " or ".join(str(n) for n in sorted(lengths))
        return (f"its name reads {text}, {len(text)} characters, but this model learnt captchas of {learnt}, so the "
                "reading is not marked right or wrong")
    return ""


def right_by_names(texts: list[str], truths: list[str | None]) -> tuple[int, int]:
    """(readings equal to their truth, readings that have one), for texts beside what truths_in_names gave."""
    named = [(text, truth) for text, truth in zip(texts, truths) if truth is not None]
    return sum(text == truth for text, truth in named), len(named)


def cut_problem(found: int, expected: int | None) -> str:
    """Why a captcha's pieces are not the model's letters: no ink at all, or too few or too many of them."""
    if not found:
        return "the cutter found no letters at all: the picture looks blank, or its ink is as pale as its paper"
    where = f", where {expected} were expected" if expected else ""
    return f"the cutter found {plural(found, 'character')}{where}, so some letters are merged or split"


def letter_problem(gray: np.ndarray) -> str:
    """Why an image cannot be read as a letter (it is blank), or "" when it can."""
    return "" if has_ink(gray) else NO_LETTER


def captcha_shape_note(gray: np.ndarray, config: Config = DEFAULT) -> str:
    """A note when a 'letter' is as wide as a row of letters, or "" for a letter-shaped image."""
    height, width = gray.shape[:2]
    if width < config.captcha_aspect * height:
        return ""
    return f"this looks like a whole captcha ({width / height:.0f} times wider than tall), read here as one letter"


def size_note(gray: np.ndarray, sizes: dict | None, tolerance: float) -> str:
    """A note when a captcha is far smaller, larger, wider or narrower than every one the model learnt from (the
    `image_sizes` of its metadata: none for models saved before them, and for letter data), else ""."""
    if not sizes:
        return ""
    height, width = gray.shape[:2]
    (low, high), (narrowest, widest) = sizes["height"], sizes["aspect"]
    learnt = f"its training captchas were {low}" + (f" to {high}" if high != low else "") + " pixels tall"
    if height * tolerance < low or height > high * tolerance:
        return f"this picture is {height} pixels tall, where {learnt}: it may be read worse"
    aspect = width / height
    if aspect * tolerance < narrowest or aspect > widest * tolerance:
        shape = f"{narrowest:.1f}" + (f" to {widest:.1f}" if widest != narrowest else "")
        return (f"this picture is {aspect:.1f} times wider than tall, where its training captchas were {shape}: it may "
                "be read worse")
    return ""


def most_confident_score(rows: np.ndarray, seg) -> tuple[bool, float]:
    """Rank a cut by whether it has the expected count, then by the log-likelihood of its best readings."""
    if not len(rows):
        return (seg.ok, -np.inf)
    return (seg.ok, float(np.log(np.maximum(rows.max(axis=1), 1e-12)).sum()))


class Predictor:
    """A loaded model ready to answer quickly: warmed up once, batched always."""

    def __init__(self, loaded: LoadedModel, config: Config = DEFAULT):
        self.loaded = loaded
        self.classifier = loaded.classifier
        self.labels = np.asarray(loaded.labels)
        self.metadata = loaded.metadata
        self.letter_size = int(self.metadata.get("letter_size", config.letter_size))
        self.captcha_length = self.metadata.get("captcha_length")
        self.captcha_lengths = reading_lengths(self.metadata)
        self.config = config.with_(letter_size=self.letter_size)
        self.reads_whole = reads_whole(self.classifier)
        self.image_sizes = (self.metadata.get("data") or {}).get("image_sizes")
        # The first call builds the graph; pay for it at load time, not on a student's first click.
        blank = np.full((1, self.letter_size, self.letter_size), 255, np.uint8)
        if self.reads_whole:
            self.classifier.predict_texts(list(blank))
        else:
            self.probabilities(blank)

    @classmethod
    def from_folder(cls, folder: str | os.PathLike, config: Config = DEFAULT) -> "Predictor":
        """Load a model folder and warm it up."""
        return cls(load_model(folder), config)

    def probabilities(self, letters: np.ndarray) -> np.ndarray:
        """Class probabilities for (N, S, S) normalized letters, in one call."""
        return np.asarray(self.classifier.predict_proba(letters), dtype=np.float64)

    def top(self, probs: np.ndarray, k: int) -> list[tuple[str, float]]:
        """The k most likely labels of one probability row."""
        order = np.argsort(probs)[::-1][:k]
        return [(str(self.labels[i]), float(probs[i])) for i in order]

    def read_letters(self, images: list[np.ndarray], k: int | None = None) -> list[LetterReading]:
        """Read single-letter grayscale images of any size and polarity (read_normalized refuses sequence models)."""
        if not images:
            return []
        return self.read_normalized(np.stack([normalize_letter(im, self.letter_size) for im in images]), k)

    def read_normalized(self, batch: np.ndarray, k: int | None = None) -> list[LetterReading]:
        """Read (N, S, S) letters already in the model's input form, such as crops cut from captchas.

        Normalizing a crop again re-centres it on its ink and can change the answer, so it is read as it is.
        """
        if self.reads_whole:
            raise ValueError("this model reads whole captchas (sequence model); solve them instead of single letters")
        k = k or self.config.top_k
        probs = self.probabilities(batch)
        out = []
        for image, row in zip(batch, probs):
            best = int(np.argmax(row))
            out.append(LetterReading(str(self.labels[best]), float(row[best]), self.top(row, k), image))
        return out

    def solve(self, image: np.ndarray, length: int | None = None) -> CaptchaReading:
        """Read one captcha."""
        return self.solve_many([image], length)[0]

    def solve_many(self, images: list[np.ndarray], length: int | None = None, k: int = 3) -> list[CaptchaReading]:
        """Read many captchas: cut them a chunk at a time while the model reads the previous chunk."""
        if self.reads_whole:
            return self.read_whole(images, length)
        expected = length or self.captcha_length
        chunk = max(1, self.config.predict_batch_size // max(int(expected or 1), 1))
        if len(images) <= chunk:
            cuts = self.cut_chunk(images, expected)
            return self.readings(cuts, self.probabilities_of(cuts), k)
        # Cutting is mostly Python and holds the GIL, so two cutting threads were slower than one
        # (2.2 ms vs 1.05 ms a captcha); the model's graph releases it, so one cutter and one model
        # thread overlap instead.
        with ThreadPoolExecutor(1) as model_thread:
            pending = []
            for start in range(0, len(images), chunk):
                cuts = self.cut_chunk(images[start : start + chunk], expected)
                pending.append((cuts, model_thread.submit(self.probabilities_of, cuts)))
            return [reading for cuts, probs in pending for reading in self.readings(cuts, probs.result(), k)]

    def cut_chunk(self, images: list[np.ndarray], expected: int | None) -> list[list]:
        """Cut each captcha; one with forced cuts comes back in every shifted variant, for the model to choose."""
        if expected is None and self.captcha_lengths:
            return [self.cut_to_a_learnt_length(im) for im in images]
        return [segment_variants(im, expected=expected, config=self.config) for im in images]

    def cut_to_a_learnt_length(self, image: np.ndarray) -> list:
        """Cut a captcha for a model that learnt several lengths: as its ink falls apart, or, when that gives a
        count it never learnt (noise dots taken for letters, two letters touching), again to the nearest one."""
        free = segment_variants(image, expected=None, config=self.config)
        found = len(free[0].boxes)
        if not found or found in self.captcha_lengths:
            return free
        nearest = min(self.captcha_lengths, key=lambda n: (abs(n - found), n))
        return segment_variants(image, expected=nearest, config=self.config)

    def probabilities_of(self, cuts: list[list]) -> np.ndarray:
        """Class probabilities of every crop of every variant of every captcha, in one call."""
        crops = [seg.crops for variants in cuts for seg in variants if len(seg.crops)]
        if not crops:
            return np.zeros((0, len(self.labels)))
        return self.probabilities(np.concatenate(crops))

    def readings(self, cuts: list[list], probs: np.ndarray, k: int) -> list[CaptchaReading]:
        """For each captcha the variant read most confidently, as a reading, in order."""
        out, start = [], 0
        for variants in cuts:
            scored = []
            for seg in variants:
                n = len(seg.crops)
                rows = probs[start : start + n]
                start += n
                scored.append((most_confident_score(rows, seg), seg, rows))
            _, seg, rows = max(scored, key=lambda item: item[0])
            best = np.argmax(rows, axis=1) if len(rows) else np.zeros(0, int)
            out.append(
                CaptchaReading(
                    text="".join(str(self.labels[i]) for i in best),
                    confidences=[float(r[i]) for r, i in zip(rows, best)],
                    boxes=list(seg.boxes),
                    crops=seg.crops,
                    top=[self.top(r, k) for r in rows],
                    segmented_ok=seg.ok,
                )
            )
        return out

    def read_whole(self, images: list[np.ndarray], length: int | None = None) -> list[CaptchaReading]:
        """Read captchas with the sequence model: no segmentation, so no boxes or crops, all in one model call.

        length: keep readings to this many characters (default: the lengths the model was trained on).
        """
        size = self.letter_size
        lengths = [length] if length else None
        readings = self.classifier.predict_texts(list(images), lengths) if len(images) else []
        return [
            CaptchaReading(
                text=text,
                confidences=[float(c) for c in confidences],
                boxes=[],
                crops=np.zeros((0, size, size), np.uint8),
                top=[[(ch, float(c))] for ch, c in zip(text, confidences)],
                segmented_ok=True,
            )
            for text, confidences in readings
        ]
