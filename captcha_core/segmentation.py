"""Cut captchas into single letters and normalize any letter image into the model's square input."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import cv2
import numpy as np

from .config import DEFAULT, Config

PAPER = 255  # white: the background every normalized letter is drawn on
HALO = 1  # pixels of paper-side rim kept around a character's ink when it is cut out


@dataclass
class Segmentation:
    """One captcha cut into characters: their boxes, their normalized crops, and the count we hoped for."""

    boxes: list[tuple[int, int, int, int]]  # (x, y, w, h) in the original image, left to right
    crops: np.ndarray  # (k, S, S) uint8, each a normalized letter
    expected: int | None
    # Characters the ink fell into before any split or merge towards `expected`. `ok` is true by
    # construction whenever cutting can reach the count, so this is the honest measure of how clean
    # a captcha style is: pieces_found == expected means nothing had to be guessed.
    pieces_found: int | None = None

    @property
    def ok(self) -> bool:
        """True when no count was expected or exactly that many characters were found."""
        return self.expected is None or len(self.boxes) == self.expected


# --------------------------------------------------------------------------- letters


def normalize_letter(gray: np.ndarray, size: int = DEFAULT.letter_size) -> np.ndarray:
    """Turn any single-letter grayscale image into the model's SxS uint8 input: dark ink on white, ink bbox centred, aspect kept, padded to square."""
    gray = _checked_gray(gray)
    if size < 1:
        raise ValueError(f"size must be positive, not {size}")
    tuning = DEFAULT.segmentation
    if _contrast(gray) < tuning.min_contrast:
        return np.full((size, size), PAPER, np.uint8)
    oriented = dark_on_light(gray)
    ink = _significant_ink(_otsu_ink(oriented), tuning.letter_speck_share)
    stretched = _stretch_to_white(oriented, ink)
    square = _square_around(stretched, ink, tuning.letter_margin)
    # INTER_AREA averages when shrinking, but when enlarging it repeats pixels; small captcha letters
    # would then look blocky next to smooth hand-drawn ones, so enlarging interpolates instead.
    interpolation = cv2.INTER_AREA if square.shape[0] >= size else cv2.INTER_LINEAR
    return cv2.resize(square, (size, size), interpolation=interpolation)


def _checked_gray(gray: np.ndarray) -> np.ndarray:
    gray = np.asarray(gray)
    if gray.ndim != 2 or gray.size == 0:
        raise ValueError(f"expected a non-empty 2-D grayscale image, got shape {gray.shape}")
    if gray.dtype != np.uint8:
        raise ValueError(f"expected a uint8 image, got {gray.dtype}")
    return np.ascontiguousarray(gray)


def _contrast(gray: np.ndarray) -> int:
    return int(gray.max()) - int(gray.min())


def _border(gray: np.ndarray) -> np.ndarray:
    return np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])


def _otsu_threshold(gray: np.ndarray) -> float:
    threshold, _ = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return threshold


def dark_on_light(gray: np.ndarray) -> np.ndarray:
    """Invert when the background is dark, judged by the border and by the pixel majority together.

    The border alone misjudges a tightly cropped H, whose stems run along two edges; the pixel count
    alone misjudges a bold letter. Averaging the two dark shares gets both right, and it is symmetric,
    so an image and its negative always end up the same way round.
    """
    dark = _otsu_ink(gray)
    dark_share = (_border(dark).mean() + dark.mean()) / 2
    return 255 - gray if dark_share > 0.5 else gray


def _otsu_ink(gray: np.ndarray) -> np.ndarray:
    return gray <= _otsu_threshold(gray)


def _significant_ink(ink: np.ndarray, speck_share: float) -> np.ndarray:
    """Drop specks so a stray dot in an upload does not stretch the letter's box (the largest part stays)."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(ink.astype(np.uint8), connectivity=8)
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep = np.zeros(count, bool)
    keep[1:] = areas >= min(speck_share * areas.sum(), areas.max())
    return keep[labels]


def _stretch_to_white(gray: np.ndarray, ink: np.ndarray) -> np.ndarray:
    """Map the darkest ink to black and the paper to white, so tinted captchas look like pen on paper."""
    darkest = float(gray[ink].min())
    paper = float(np.median(gray[~ink])) if (~ink).any() else 255.0
    if paper - darkest < 1:
        return gray.copy()
    scaled = (gray.astype(np.float32) - darkest) * (255.0 / (paper - darkest))
    return np.clip(scaled, 0, 255).astype(np.uint8)


def _square_around(gray: np.ndarray, ink: np.ndarray, margin_share: float) -> np.ndarray:
    """Cut a white-padded square centred on the ink's box, taking real pixels where the image has them."""
    ys, xs = np.nonzero(ink)
    top, bottom, left, right = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    longer = max(bottom - top, right - left)
    side = longer + 2 * max(1, round(margin_share * longer))
    y0 = (top + bottom - side) // 2
    x0 = (left + right - side) // 2
    square = np.full((side, side), PAPER, np.uint8)
    sy0, sx0 = max(y0, 0), max(x0, 0)
    sy1, sx1 = min(y0 + side, gray.shape[0]), min(x0 + side, gray.shape[1])
    square[sy0 - y0 : sy1 - y0, sx0 - x0 : sx1 - x0] = gray[sy0:sy1, sx0:sx1]
    return square


# --------------------------------------------------------------------------- captchas


@dataclass
class _Piece:
    """Some ink believed to be one character: a boolean mask cut to its own bounding box."""

    mask: np.ndarray
    x: int
    y: int

    @property
    def width(self) -> int:
        return self.mask.shape[1]

    @property
    def height(self) -> int:
        return self.mask.shape[0]

    @property
    def right(self) -> int:
        return self.x + self.width

    @property
    def box(self) -> tuple[int, int, int, int]:
        return (self.x, self.y, self.width, self.height)


def _piece_from(mask: np.ndarray, x: int, y: int) -> _Piece | None:
    """Shrink a mask placed at (x, y) to its ink, or None when it holds none."""
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return None
    top, left = int(ys.min()), int(xs.min())
    return _Piece(mask[top : ys.max() + 1, left : xs.max() + 1].copy(), x + left, y + top)


def _join(a: _Piece, b: _Piece) -> _Piece:
    x, y = min(a.x, b.x), min(a.y, b.y)
    right, bottom = max(a.right, b.right), max(a.y + a.height, b.y + b.height)
    mask = np.zeros((bottom - y, right - x), bool)
    for piece in (a, b):
        mask[piece.y - y : piece.y - y + piece.height, piece.x - x : piece.right - x] |= piece.mask
    return _Piece(mask, x, y)


def _placed(piece: _Piece, shape: tuple[int, int]) -> np.ndarray:
    out = np.zeros(shape, bool)
    out[piece.y : piece.y + piece.height, piece.x : piece.right] = piece.mask
    return out


def segment_captcha(gray: np.ndarray, expected: int | None = None, config: Config = DEFAULT) -> Segmentation:
    """Cut a grayscale captcha (2-D uint8, dark text on a light background) into one crop per character, left to right."""
    return segment_variants(gray, expected, config, shifts=(0.0,))[0]


def segment_variants(
    gray: np.ndarray, expected: int | None = None, config: Config = DEFAULT, shifts: tuple[float, ...] | None = None
) -> list[Segmentation]:
    """Cut a captcha once per cut shift (the first is the plain cut); a single cut when nothing had to be split.

    A shift moves every forced cut by that share of a character's even width, so a wide M touching a
    narrow 2 can be cut where it really ends. Which variant is right is for a classifier to judge.
    """
    gray = _checked_gray(gray)
    if expected is not None and expected < 1:
        raise ValueError(f"expected must be a positive count or None, not {expected}")
    tuning = config.segmentation
    shifts = (0.0, *tuning.cut_shifts) if shifts is None else shifts
    limit = config.limits.max_segments
    if _contrast(gray) < tuning.min_contrast:
        return [Segmentation([], _no_crops(config.letter_size), expected, 0)]
    oriented = dark_on_light(gray)
    raw_ink = _binarize(oriented, tuning.blur_kernel)
    clean = _remove_specks(_remove_thin_strokes(raw_ink, tuning), tuning)
    pieces = _merge_overlapping(_components(clean, tuning.max_pieces), tuning)
    found = len(pieces)
    target = limit if expected is None else min(expected, limit)
    needs_cuts = expected is not None and 0 < len(pieces) < target
    darkness = _darkness(oriented, raw_ink) if needs_cuts else None
    variants, seen = [], set()
    for shift in shifts if needs_cuts else shifts[:1]:
        cut = _merge_to_count(_split_to_count(pieces, darkness, target, tuning, shift) if needs_cuts else pieces, target)
        key = tuple((p.x, p.y, p.mask.shape, p.mask.tobytes()) for p in cut)
        if key in seen:
            continue  # a shift that lands on the very same cuts gives the model nothing new to judge
        seen.add(key)
        variants.append(Segmentation([p.box for p in cut], _crops(oriented, raw_ink, cut, config.letter_size), expected, found))
    return variants


def segmentation_yield(results: Iterable[Segmentation]) -> float:
    """Share of segmentations that found the expected number of characters (0.0 for none)."""
    flags = [result.ok for result in results]
    return sum(flags) / len(flags) if flags else 0.0


def _no_crops(size: int) -> np.ndarray:
    return np.zeros((0, size, size), np.uint8)


def _binarize(gray: np.ndarray, blur_kernel: int) -> np.ndarray:
    """Ink mask by Otsu; the light blur keeps anti-aliased edges from fraying into specks."""
    if blur_kernel > 1:
        gray = cv2.GaussianBlur(gray, (blur_kernel, blur_kernel), 0)
    return _otsu_ink(gray)


def _stroke_width(ink: np.ndarray) -> float:
    """Typical stroke width: twice the distance to paper along the ink's ridges, where most ink is letters."""
    dist = cv2.distanceTransform(ink.astype(np.uint8), cv2.DIST_L2, 3)
    ridge = ink & (dist >= cv2.dilate(dist, np.ones((3, 3), np.uint8)))
    if not ridge.any():
        return 0.0
    return 2.0 * float(np.median(dist[ridge]))


def _remove_thin_strokes(ink: np.ndarray, tuning) -> np.ndarray:
    """Open with a kernel just under the typical stroke width, so thinner lines through the text vanish.

    Captchas mix fonts, and the opening also eats letters drawn thinner than the rest. Only the flat
    stretches it removed stay removed: a line through the text is long and low between the letters,
    while a thin letter's removed strokes are as tall as they are wide. Thin dots come back too, but
    the speck filter that follows drops them. Flat pieces that together cross less than line_min_span of the
    text are flat strokes of letters (an e's bar), and nothing is removed.
    """
    side = _odd_at_most(tuning.open_fraction * _stroke_width(ink))
    if side < 3:
        return ink
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (side, side))
    opened = cv2.morphologyEx(ink.astype(np.uint8), cv2.MORPH_OPEN, kernel).astype(bool)
    count, labels, stats, _ = cv2.connectedComponentsWithStats((ink & ~opened).astype(np.uint8), connectivity=8)
    flat = stats[:, cv2.CC_STAT_WIDTH] >= tuning.line_aspect * stats[:, cv2.CC_STAT_HEIGHT]
    flat[0] = False  # background
    flat_ink = flat[labels]
    if not crosses_the_text(flat_ink, ink, tuning.line_min_span):
        return ink  # flat bits of letters (an e's bar), not a line
    kept = ink & ~flat_ink
    # Where the line met a stroke the opening leaves a stub as long as the kernel's radius; shave the
    # thin edge pixels next to the removed line so boxes end at the letter, not at the stub.
    near_line = cv2.dilate(flat_ink.astype(np.uint8), kernel).astype(bool)
    core = cv2.erode(kept.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    return kept & ~(near_line & ~core)


def crosses_the_text(flat: np.ndarray, ink: np.ndarray, min_span: float) -> bool:
    """Whether the flat pieces cover at least `min_span` of the columns between the ink's first and last."""
    columns = np.flatnonzero(ink.any(axis=0))
    if not len(columns):
        return False
    return flat.any(axis=0).sum() >= min_span * (columns[-1] - columns[0] + 1)


def _odd_at_most(value: float) -> int:
    """Largest odd integer not above value: even kernels make OpenCV's opening shift the image."""
    side = int(value)
    return side if side % 2 else side - 1


def _remove_specks(ink: np.ndarray, tuning) -> np.ndarray:
    """Drop components too small to be part of a letter, judged against the text height."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(ink.astype(np.uint8), connectivity=8)
    if count <= 1:
        return ink
    areas = stats[1:, cv2.CC_STAT_AREA]
    min_area = (tuning.speck_fraction * _text_height(stats[1:, cv2.CC_STAT_HEIGHT], areas)) ** 2
    keep = np.zeros(count, bool)
    keep[1:] = areas >= min_area
    return keep[labels]


def _text_height(heights: np.ndarray, areas: np.ndarray) -> float:
    """Height of the components holding half of the ink: letters outweigh any number of specks."""
    if len(heights) == 0:
        return 0.0
    order = np.argsort(heights)
    cumulative = np.cumsum(areas[order])
    return float(heights[order][np.searchsorted(cumulative, cumulative[-1] / 2)])


def _components(ink: np.ndarray, max_pieces: int) -> list[_Piece]:
    """Connected components as pieces, only the largest few: merging is quadratic in their number."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(ink.astype(np.uint8), connectivity=8)
    largest = 1 + np.argsort(-stats[1:, cv2.CC_STAT_AREA], kind="stable")[:max_pieces]
    pieces = []
    for label in largest:
        x, y, w, h, _ = (int(v) for v in stats[label])
        pieces.append(_Piece(labels[y : y + h, x : x + w] == label, x, y))
    return _left_to_right(pieces)


def _left_to_right(pieces: list[_Piece]) -> list[_Piece]:
    return sorted(pieces, key=lambda p: (p.x, p.right))


def _merge_overlapping(pieces: list[_Piece], tuning) -> list[_Piece]:
    """Join pieces stacked over each other (a j's dot, a stroke broken by the cleaning) into one character."""
    if len(pieces) < 2:
        return pieces
    # The tallest piece is at least one whole letter, even when most letters are broken in two.
    tall = tuning.letter_height_fraction * max(p.height for p in pieces)
    merged = True
    while merged:
        merged = False
        for i in range(len(pieces) - 1):
            if _same_character(pieces[i], pieces[i + 1], tall, tuning):
                pieces = _left_to_right(pieces[:i] + [_join(pieces[i], pieces[i + 1])] + pieces[i + 2 :])
                merged = True
                break
    return pieces


def _same_character(a: _Piece, b: _Piece, tall: float, tuning) -> bool:
    overlap = min(a.right, b.right) - max(a.x, b.x)
    if overlap < tuning.merge_overlap * min(a.width, b.width):
        return False
    # Two full-height pieces side by side are two letters leaning into each other, not one broken letter.
    return not (a.height >= tall and b.height >= tall)


def _split_to_count(pieces: list[_Piece], darkness: np.ndarray, target: int, tuning, shift: float = 0.0) -> list[_Piece]:
    """Cut wide blobs so the total reaches the target, each blob getting characters by its width."""
    narrowest = [tuning.min_char_aspect * p.height for p in pieces]
    counts = _characters_per_piece([p.width for p in pieces], narrowest, target)
    out = []
    for piece, count in zip(pieces, counts):
        out.extend(_cut_piece(piece, darkness, count, tuning, shift) if count > 1 else [piece])
    return _left_to_right(out)


def _characters_per_piece(widths: list[int], narrowest: list[float], target: int) -> list[int]:
    """Hand out extra characters one at a time to the blob whose characters would otherwise be widest.

    So a blob twice as wide as its neighbours gets two characters whatever the absolute sizes. A blob
    never gets so many that its characters would be narrower than `narrowest`; the count then stays
    short, so a wrong label fails instead of being forced.
    """
    counts = [1] * len(widths)
    while sum(counts) < target:
        shares = [w / c if w / (c + 1) >= floor else 0.0 for w, c, floor in zip(widths, counts, narrowest)]
        best = int(np.argmax(shares))
        if shares[best] == 0.0:
            break
        counts[best] += 1
    return counts


def _darkness(oriented: np.ndarray, ink: np.ndarray) -> np.ndarray:
    """How inky each pixel is, 0 for paper to 1 for the darkest ink: touching points are paler than strokes."""
    if not ink.any() or ink.all():
        return ink.astype(np.float64)
    paper = float(np.median(oriented[~ink]))
    darkest = float(oriented[ink].min())
    return np.clip((paper - oriented.astype(np.float64)) / max(paper - darkest, 1.0), 0.0, 1.0)


def _cut_piece(piece: _Piece, darkness: np.ndarray, count: int, tuning, shift: float = 0.0) -> list[_Piece]:
    """Cut a blob holding `count` characters along the palest paths near the even cut positions (moved by `shift`)."""
    x, y, width, height = piece.box
    cost = darkness[y : y + height, x : x + width] * piece.mask
    columns = np.arange(width)
    left_edge = np.zeros(height, int)  # per row, the first column of the part being cut off
    parts = []
    start = 0
    for remaining in range(count, 1, -1):
        start, path = _best_cut(cost, start, remaining, left_edge, tuning, shift)
        parts.append((columns[None, :] >= left_edge[:, None]) & (columns[None, :] < path[:, None]))
        left_edge = path
    parts.append(columns[None, :] >= left_edge[:, None])
    pieces = [_piece_from(piece.mask & part, x, y) for part in parts]
    return [p for p in pieces if p is not None]


def _best_cut(
    cost: np.ndarray, start: int, remaining: int, left_edge: np.ndarray, tuning, shift: float = 0.0
) -> tuple[int, np.ndarray]:
    """The next cut of a blob: anchored at a profile minimum near the ideal column, then free to lean."""
    height, width = cost.shape
    profile = cost.sum(axis=0)
    peak = max(float(profile.max()), 1.0)
    # Re-centre on what is left, so one wide letter early on does not push every later cut.
    share = (width - start) / remaining
    ideal = start + share * (1.0 + shift)
    reach = max(1.0, tuning.cut_window * share)
    lo = max(start + 1, int(np.floor(ideal - reach)))
    hi = max(lo, min(width - remaining + 1, int(np.ceil(ideal + reach))))
    anchors = _profile_minima(profile, lo, hi, ideal, share, peak, tuning)
    paths = _cut_paths(cost, anchors, reach, share, left_edge, tuning)
    crossed = cost[np.arange(height)[None, :], np.minimum(paths, width - 1)].sum(axis=1)
    scores = crossed / peak + tuning.cut_distance_weight * np.abs(anchors - ideal) / share
    best = int(np.argmin(scores))
    return int(anchors[best]), paths[best]


def _profile_minima(
    profile: np.ndarray, lo: int, hi: int, ideal: float, share: float, peak: float, tuning
) -> np.ndarray:
    """The few columns between lo and hi where a straight cut crosses least ink, near the ideal spot."""
    columns = np.arange(lo, hi + 1)
    straight = profile[np.minimum(columns, len(profile) - 1)] / peak
    straight = straight + tuning.cut_distance_weight * np.abs(columns - ideal) / share
    return columns[np.argsort(straight, kind="stable")[: tuning.cut_candidates]]


def _cut_paths(
    cost: np.ndarray, anchors: np.ndarray, reach: float, share: float, left_edge: np.ndarray, tuning
) -> np.ndarray:
    """Top-to-bottom cuts, one column per row, that may lean to slip between slanted letters.

    Dynamic programming over rows, for all anchors at once: each step moves at most one column,
    crossing ink costs its darkness and leaving the anchor costs in proportion. A cut stays within
    reach of its anchor and strictly right of the previous cut, so parts never overlap. Each path
    lists, per row, the first column of the right-hand part.
    """
    height, width = cost.shape
    columns = np.arange(width)
    distance = np.abs(columns[None, :] - anchors[:, None])
    lean = tuning.cut_lean_weight * distance / share
    near_anchor = distance <= reach
    # Forbidden cells cost more than any allowed path, rather than infinity, so a path always exists.
    forbidden = height * (1 + tuning.cut_lean_weight * width)
    allowed = near_anchor[None, :, :] & (columns[None, :] > left_edge[:, None])[:, None, :]
    steps = np.where(allowed, cost[:, None, :] + lean[None, :, :], forbidden)  # rows x anchors x columns

    # Per row, the cheapest of staying, coming from the left and coming from the right, preferred in that
    # order on ties. Few numpy calls per row: the arrays are small, so call overhead is most of the cost.
    # The three are views of one padded row shifted by a column, so writing `stay` moves the other two along.
    padded = np.full((len(anchors), width + 2), np.inf)
    stay, from_left, from_right = padded[:, 1:-1], padded[:, :-2], padded[:, 2:]
    total = steps[0]
    moves = np.zeros((height, len(anchors), width), np.int8)
    for row in range(1, height):
        stay[...] = total
        side = np.minimum(from_left, from_right)
        moves[row] = np.where(side < stay, np.where(from_right < from_left, 1, -1), 0)
        total = np.minimum(stay, side) + steps[row]
    paths = np.empty((len(anchors), height), int)
    paths[:, -1] = np.argmin(total, axis=1)
    for row in range(height - 1, 0, -1):
        paths[:, row - 1] = paths[:, row] + moves[row, np.arange(len(anchors)), paths[:, row]]
    return np.minimum(np.maximum(paths, left_edge[None, :] + 1), width)


def _merge_to_count(pieces: list[_Piece], target: int) -> list[_Piece]:
    """Join neighbours until at most `target` remain, always the pair that makes the narrowest result."""
    while len(pieces) > max(target, 1):
        spans = [max(a.right, b.right) - a.x for a, b in zip(pieces, pieces[1:])]
        i = int(np.argmin(spans))
        pieces = _left_to_right(pieces[:i] + [_join(pieces[i], pieces[i + 1])] + pieces[i + 2 :])
    return pieces


def _crops(oriented: np.ndarray, raw_ink: np.ndarray, pieces: list[_Piece], size: int) -> np.ndarray:
    """Cut each character from the original gray, blanking its neighbours' ink and any removed noise."""
    if not pieces:
        return _no_crops(size)
    paper = np.uint8(np.median(oriented[~raw_ink])) if (~raw_ink).any() else np.uint8(PAPER)
    rows, cols = oriented.shape
    halo_kernel = np.ones((2 * HALO + 1, 2 * HALO + 1), np.uint8)
    crops = []
    for piece in pieces:
        own = _placed(piece, oriented.shape)
        # The halo brings back the anti-aliased rim that Otsu put on the paper side. It adds no ink
        # pixels, so neighbours' strokes and whatever the cleaning removed (lines, stubs) stay out.
        halo = cv2.dilate(own.astype(np.uint8), halo_kernel).astype(bool) & ~raw_ink
        letter = np.where(own | halo, oriented, paper)
        x, y, w, h = piece.box
        letter = letter[max(y - HALO, 0) : min(y + h + HALO, rows), max(x - HALO, 0) : min(x + w + HALO, cols)]
        # A paper frame, so the polarity check sees background on every edge even for a tight box.
        framed = cv2.copyMakeBorder(letter, HALO, HALO, HALO, HALO, cv2.BORDER_CONSTANT, value=int(paper))
        crops.append(normalize_letter(framed, size))
    return np.stack(crops)
