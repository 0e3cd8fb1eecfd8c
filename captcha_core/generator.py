"""The built-in, offline captcha generator: deterministic, imbalanced, three difficulty levels."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .config import DEFAULT
from .progress import DRAWING, ProgressReport, reporting

DIFFICULTIES = ("easy", "medium", "hard", "lined")
# What each level looks like, in the words the Data page and the command line's help both use.
LEVEL_LOOKS = {
    "easy": "separate upright letters",
    "medium": "closer, rotated, noisy",
    "hard": "touching letters, lines, clutter",
    "lined": "a wavy line through every letter",
}


def describe_levels(separator: str) -> str:
    """Every difficulty level and what it looks like, joined by `separator`."""
    return separator.join(f"{level}: {LEVEL_LOOKS[level]}" for level in DIFFICULTIES)

# Hershey faces that read as ordinary letters; the script faces are too unlike the seed's captchas.
HERSHEY_FACES = (
    cv2.FONT_HERSHEY_SIMPLEX,
    cv2.FONT_HERSHEY_DUPLEX,
    cv2.FONT_HERSHEY_COMPLEX,
    cv2.FONT_HERSHEY_TRIPLEX,
)
PIL_FACE = -1  # marks Pillow's bundled FreeType font among the faces


@dataclass(frozen=True)
class Style:
    """How one difficulty level draws a captcha."""

    letter_height: tuple[int, int]  # ink height range in pixels
    gap: tuple[int, int]  # horizontal gap between letters; negative means overlap
    rotation: float  # max absolute rotation in degrees
    jitter: int  # max vertical offset in pixels
    dots: int  # noise dots per captcha
    lines: int  # lines drawn through the text
    clutter: int  # random arcs and blobs in the background
    ink: tuple[int, int]  # gray level range of the ink
    paper: tuple[int, int]  # gray level range of the background
    curves: int = 0  # wavy lines drawn across the whole captcha, through the letters


STYLES = {
    # Separate, upright letters with clear gaps, like the seed's "Einfach" set.
    "easy": Style((28, 36), (6, 14), 6.0, 3, 0, 0, 0, (0, 60), (235, 255)),
    # Closer letters, some rotation and sprinkled noise.
    "medium": Style((26, 38), (1, 5), 18.0, 5, 60, 0, 0, (0, 90), (200, 255)),
    # Touching letters, a line through the text and background clutter.
    "hard": Style((26, 40), (-7, -1), 25.0, 6, 120, 1, 3, (0, 110), (180, 240)),
    # Letters mostly apart, a thick wavy line through all of them and noise dots, like many public captcha sets.
    "lined": Style((26, 34), (-1, 4), 10.0, 4, 80, 0, 0, (0, 90), (200, 255), curves=1),
}


def class_weights(alphabet: str) -> np.ndarray:
    """Uneven letter frequencies, so classes are imbalanced as in the seed: later letters are rarer."""
    ranks = np.arange(len(alphabet), dtype=np.float64)
    weights = 1.0 / (1.0 + 0.2 * ranks)
    return weights / weights.sum()


def alphabet_problem(alphabet: str) -> str | None:
    """Why an alphabet cannot be drawn, or None when it can. Only letters and digits: a captcha's text becomes its
    file name, where '/', '.' or '_' would write elsewhere, hide the file or cut its label short."""
    if len(alphabet) < 2:
        return "The alphabet needs at least two characters: a classifier tells classes apart."
    if not (alphabet.isascii() and alphabet.isalnum()):
        return "The alphabet may only hold plain letters and digits (a-z, A-Z, 0-9)."
    if len(set(alphabet)) != len(alphabet):
        return "Each character may appear only once in the alphabet."
    return None


def generate_captchas(
    count: int = DEFAULT.generate_count,
    *,
    length: int = DEFAULT.captcha_length,
    alphabet: str = DEFAULT.alphabet,
    difficulty: str = DEFAULT.difficulty,
    seed: int = DEFAULT.seed,
    report: ProgressReport | None = None,
) -> list[tuple[str, np.ndarray]]:
    """Make `count` labelled captchas as (text, grayscale uint8 image), the same for the same arguments.

    report: told how many are drawn as it goes (see captcha_core.progress).
    """
    if difficulty not in STYLES:
        raise ValueError(f"difficulty must be one of {', '.join(DIFFICULTIES)}, not {difficulty!r}")
    if length < 1:
        raise ValueError("length must be at least 1")
    problem = alphabet_problem(alphabet)
    if problem:
        raise ValueError(problem)
    style = STYLES[difficulty]
    rng = np.random.default_rng(seed)
    weights = class_weights(alphabet)
    chars = list(alphabet)
    out = []
    for _ in reporting(range(count), DRAWING, report):
        text = "".join(rng.choice(chars, size=length, p=weights))
        out.append((text, render_captcha(text, style, rng)))
    return out


def render_captcha(text: str, style: Style, rng: np.random.Generator) -> np.ndarray:
    """Draw one captcha text in the given style."""
    ink = int(rng.integers(*style.ink, endpoint=True))
    letters = [render_letter(ch, style, rng, ink) for ch in text]
    height = max(style.letter_height) + 2 * style.jitter + 16
    gaps = [int(rng.integers(*style.gap, endpoint=True)) for _ in letters[1:]]
    margin = 10
    width = 2 * margin + sum(im.shape[1] for im in letters) + sum(gaps)
    paper = int(rng.integers(*style.paper, endpoint=True))
    # Letters are stamped with a darken blend, so overlapping letters touch instead of erasing each other.
    canvas = np.full((height, max(width, 2 * margin + 1)), 255, np.uint8)
    x = margin
    for i, letter in enumerate(letters):
        h, w = letter.shape
        y = (height - h) // 2 + int(rng.integers(-style.jitter, style.jitter, endpoint=True))
        y = int(np.clip(y, 0, height - h))
        region = canvas[y : y + h, x : x + w]
        np.minimum(region, letter, out=region)
        x += w + (gaps[i] if i < len(gaps) else 0)
    canvas = add_clutter(canvas, style, rng, ink)
    # Paper tone last, so the background is even and the ink keeps its level.
    return np.where(canvas == 255, paper, np.minimum(canvas, paper)).astype(np.uint8)


def render_letter(ch: str, style: Style, rng: np.random.Generator, ink: int) -> np.ndarray:
    """Draw one character, tightly cropped, in a random face, size and rotation (white background)."""
    face = int(rng.choice(HERSHEY_FACES + (PIL_FACE,)))
    target = int(rng.integers(*style.letter_height, endpoint=True))
    glyph = draw_pil_glyph(ch, target) if face == PIL_FACE else draw_hershey_glyph(ch, face, target, rng)
    glyph = np.where(glyph < 128, ink, 255).astype(np.uint8)
    angle = float(rng.uniform(-style.rotation, style.rotation))
    return crop_to_ink(rotate_white(glyph, angle))


def draw_hershey_glyph(ch: str, face: int, target: int, rng: np.random.Generator) -> np.ndarray:
    """Draw a character with an OpenCV Hershey face at roughly `target` pixels of cap height."""
    thickness = int(rng.integers(2, 4, endpoint=True))
    scale = target / 22.0  # a Hershey face at scale 1 is about 22 pixels tall
    (w, h), base = cv2.getTextSize(ch, face, scale, thickness)
    pad = thickness + 4
    img = np.full((h + base + 2 * pad, w + 2 * pad), 255, np.uint8)
    cv2.putText(img, ch, (pad, pad + h), face, scale, 0, thickness, cv2.LINE_AA)
    return crop_to_ink(img)


@lru_cache(maxsize=64)
def _pil_font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=size)


def draw_pil_glyph(ch: str, target: int) -> np.ndarray:
    """Draw a character with Pillow's bundled font (no download, ships with Pillow)."""
    font = _pil_font(int(target * 1.3))
    left, top, right, bottom = font.getbbox(ch)
    img = Image.new("L", (right - left + 8, bottom - top + 8), 255)
    ImageDraw.Draw(img).text((4 - left, 4 - top), ch, fill=0, font=font)
    return crop_to_ink(np.asarray(img))


def rotate_white(img: np.ndarray, angle: float) -> np.ndarray:
    """Rotate about the centre, growing the canvas so no ink is cut, filling with white."""
    h, w = img.shape
    side = int(np.ceil(np.hypot(h, w)))
    padded = np.full((side, side), 255, np.uint8)
    y0, x0 = (side - h) // 2, (side - w) // 2
    padded[y0 : y0 + h, x0 : x0 + w] = img
    matrix = cv2.getRotationMatrix2D((side / 2, side / 2), angle, 1.0)
    return cv2.warpAffine(padded, matrix, (side, side), flags=cv2.INTER_LINEAR, borderValue=255)


def crop_to_ink(img: np.ndarray, threshold: int = 200) -> np.ndarray:
    """Crop an image to the bounding box of its dark pixels."""
    ys, xs = np.nonzero(img < threshold)
    if len(xs) == 0:
        return img
    return img[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]


def add_clutter(canvas: np.ndarray, style: Style, rng: np.random.Generator, ink: int) -> np.ndarray:
    """Add noise dots, lines through the text and background arcs, as the style asks."""
    h, w = canvas.shape
    for _ in range(style.lines):
        y1, y2 = (int(v) for v in rng.integers(h // 3, 2 * h // 3, size=2))
        cv2.line(canvas, (0, y1), (w - 1, y2), ink, int(rng.integers(1, 3)), cv2.LINE_AA)
    for _ in range(style.curves):
        cv2.polylines(canvas, [wavy_line(h, w, rng)], False, ink, int(rng.integers(2, 4)), cv2.LINE_AA)
    for _ in range(style.clutter):
        center = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        axes = (int(rng.integers(5, 20)), int(rng.integers(3, 10)))
        cv2.ellipse(canvas, center, axes, float(rng.uniform(0, 180)), 0, 180, 170, 1, cv2.LINE_AA)
    if style.dots:
        ys = rng.integers(0, h, size=style.dots)
        xs = rng.integers(0, w, size=style.dots)
        canvas[ys, xs] = np.minimum(canvas[ys, xs], rng.integers(0, 160, size=style.dots)).astype(np.uint8)
    return canvas


def wavy_line(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """Points of a sine across the full width, around the text's middle, as int32 (x, y) for cv2.polylines."""
    xs = np.arange(w, dtype=np.float64)
    middle = rng.uniform(0.4, 0.6) * h
    amplitude = rng.uniform(0.08, 0.2) * h
    period = rng.uniform(0.6, 1.5) * w
    ys = middle + amplitude * np.sin(2 * np.pi * xs / period + rng.uniform(0, 2 * np.pi))
    return np.stack([xs, ys], axis=1).round().astype(np.int32)
