"""Segmentation on captchas drawn here with cv2.putText, so a fresh clone needs no shared data."""
from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest

from captcha_core.config import DEFAULT
from captcha_core.segmentation import Segmentation, normalize_letter, segment_captcha, segment_variants, segmentation_yield

FONT = cv2.FONT_HERSHEY_SIMPLEX
SCALE = 1.4
THICKNESS = 4
HEIGHT = 64


def draw_letter(ch: str, x: int, width: int, y: int = 46, scale: float = SCALE, thickness: int = THICKNESS) -> np.ndarray:
    """One character on its own white canvas, so its exact pixels are known."""
    canvas = np.full((HEIGHT, width), 255, np.uint8)
    cv2.putText(canvas, ch, (x, y), FONT, scale, 0, thickness, cv2.LINE_AA)
    return canvas


def advance(ch: str, scale: float = SCALE, thickness: int = THICKNESS) -> int:
    return cv2.getTextSize(ch, FONT, scale, thickness)[0][0]


def draw_captcha(text: str, gap: int = 10, margin: int = 12, overlap: int = 0) -> tuple[np.ndarray, list[np.ndarray]]:
    """Letters left to right with `gap` pixels between advances (negative overlap pushes them together)."""
    width = 2 * margin + sum(advance(ch) + gap for ch in text)
    x = margin
    letters = []
    for ch in text:
        letters.append(draw_letter(ch, x, width))
        x += advance(ch) + gap - overlap
    return np.minimum.reduce(letters), [letter < 128 for letter in letters]


def ink_columns(mask: np.ndarray) -> tuple[int, int]:
    xs = np.nonzero(mask.any(axis=0))[0]
    return int(xs.min()), int(xs.max()) + 1


def owner_share(box: tuple[int, int, int, int], mask: np.ndarray) -> float:
    """Share of a letter's ink that falls inside a box."""
    x, y, w, h = box
    return mask[y : y + h, x : x + w].sum() / mask.sum()


# --------------------------------------------------------------------------- normalize_letter


def test_normalize_letter_is_polarity_invariant():
    black_on_white = draw_letter("R", 20, 90)
    white_on_black = 255 - black_on_white
    a = normalize_letter(black_on_white)
    b = normalize_letter(white_on_black)
    assert a.shape == (DEFAULT.letter_size, DEFAULT.letter_size) and a.dtype == np.uint8
    assert np.array_equal(a, b)
    assert a[0, 0] == 255 and a[-1, -1] == 255  # paper is white
    assert a.min() < 40  # ink is dark


def test_normalize_letter_tight_crop_of_wide_letter_keeps_polarity():
    # An H cropped to its ink has stems running down two edges, which fools a border-only check.
    letter = draw_letter("H", 5, 80, scale=2.0, thickness=8)
    ys, xs = np.nonzero(letter < 128)
    tight = letter[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    out = normalize_letter(tight)
    assert out[0, 0] == 255
    assert np.array_equal(out, normalize_letter(255 - tight))


@pytest.mark.parametrize("blank", [np.full((30, 20), 200, np.uint8), np.zeros((12, 40), np.uint8)])
def test_normalize_letter_blank_input_is_white(blank):
    out = normalize_letter(blank, size=32)
    assert out.shape == (32, 32)
    assert (out == 255).all()


def test_normalize_letter_centres_ink_and_keeps_aspect():
    canvas = np.full((120, 200), 255, np.uint8)
    cv2.rectangle(canvas, (150, 10), (159, 49), 0, -1)  # a 10x40 bar in the top-right corner
    out = normalize_letter(canvas, size=60)
    ys, xs = np.nonzero(out < 128)
    assert abs((ys.min() + ys.max()) / 2 - 29.5) <= 1.5
    assert abs((xs.min() + xs.max()) / 2 - 29.5) <= 1.5
    height, width = ys.max() - ys.min() + 1, xs.max() - xs.min() + 1
    assert height > 40  # fills the square's height, less the margin
    assert 3.0 <= height / width <= 5.0  # still a 1:4 bar, not stretched to a square


def test_normalize_letter_rejects_colour_images():
    with pytest.raises(ValueError):
        normalize_letter(np.zeros((10, 10, 3), np.uint8))


# --------------------------------------------------------------------------- segment_captcha


@pytest.mark.parametrize("text", ["ab3K", "wxyz7", "HMbqAZ"])
def test_separate_letters_give_one_box_each_left_to_right(text):
    image, masks = draw_captcha(text)
    result = segment_captcha(image, expected=len(text))
    assert result.ok and result.pieces_found == len(text)
    xs = [box[0] for box in result.boxes]
    assert xs == sorted(xs)
    for box, mask in zip(result.boxes, masks):
        assert owner_share(box, mask) > 0.95
    assert result.crops.shape == (len(text), DEFAULT.letter_size, DEFAULT.letter_size)
    assert result.crops.dtype == np.uint8


def test_dots_of_i_and_j_join_their_letters():
    text = "aijb"
    image, masks = draw_captcha(text)
    result = segment_captcha(image)
    assert len(result.boxes) == len(text)
    for box, mask in zip(result.boxes, masks):
        assert owner_share(box, mask) > 0.95


def test_light_text_on_dark_background_is_cut_the_same():
    image, _ = draw_captcha("k4Pe")
    assert segment_captcha(255 - image).boxes == segment_captcha(image).boxes


def test_touching_pair_is_split_near_the_true_boundary():
    image, masks = draw_captcha("xo", gap=0, overlap=8)
    assert len(segment_captcha(image).boxes) == 1  # really touching, or the test proves nothing
    result = segment_captcha(image, expected=2)
    assert result.ok and result.pieces_found == 1
    left, right = (ink_columns(mask) for mask in masks)
    true_boundary = (left[1] + right[0]) / 2
    cut = result.boxes[1][0]
    letter_width = (left[1] - left[0] + right[1] - right[0]) / 2
    assert abs(cut - true_boundary) <= 0.2 * letter_width
    for box, mask in zip(result.boxes, masks):
        assert owner_share(box, mask) > 0.8


def test_forced_cuts_come_in_shifted_variants_for_the_model_to_choose():
    image, masks = draw_captcha("Mr", gap=0, overlap=8)  # a wide M leaning on a narrow r
    variants = segment_variants(image, expected=2)
    assert 3 <= len(variants) <= 1 + len(DEFAULT.segmentation.cut_shifts)
    assert variants[0].boxes == segment_captcha(image, expected=2).boxes
    assert all(v.ok and v.pieces_found == 1 for v in variants)
    assert len({v.crops.tobytes() for v in variants}) == len(variants)  # no cut offered twice
    # The right cut is among them: each letter's ink almost wholly in its own box.
    assert max(min(owner_share(box, mask) for box, mask in zip(v.boxes, masks)) for v in variants) > 0.9


def test_a_clean_captcha_is_cut_once():
    image, _ = draw_captcha("Mr", gap=10)
    assert len(segment_variants(image, expected=2)) == 1
    assert len(segment_variants(image)) == 1


def test_wide_blob_is_split_rather_than_a_wide_single_letter():
    # "W" alone is wider than either of the touching "n"s: the cut must go into the pair, by width.
    w_img, w_masks = draw_captcha("W")
    pair_img, pair_masks = draw_captcha("nn", gap=0, overlap=6)
    image = np.hstack([w_img, pair_img])
    assert len(segment_captcha(image).boxes) == 2
    result = segment_captcha(image, expected=3)
    assert result.ok
    masks = [np.hstack([w_masks[0], np.zeros_like(pair_masks[0])])]
    masks += [np.hstack([np.zeros_like(w_masks[0]), m]) for m in pair_masks]
    for box, mask in zip(result.boxes, masks):
        assert owner_share(box, mask) > 0.8


def test_letter_broken_into_stacked_pieces_is_joined_without_being_told_the_count():
    image, masks = draw_captcha("TEL")
    # Erase a band across the middle of the E and the L: each falls into an upper and a lower piece
    # sharing columns, which must be read as one character each even with no expected count.
    for mask in masks[1:]:
        ys, xs = np.nonzero(mask)
        middle = (ys.min() + ys.max()) // 2
        image[middle - 2 : middle + 2, xs.min() : xs.max() + 1] = 255
    assert cv2.connectedComponents((image < 128).astype(np.uint8))[0] - 1 == 5  # really broken
    result = segment_captcha(image)
    assert len(result.boxes) == 3
    for box, mask in zip(result.boxes, masks):
        assert owner_share(box, mask) > 0.85


def test_extra_pieces_beyond_expected_are_merged_with_the_nearest():
    image, masks = draw_captcha("FHA", gap=14)
    h_left, h_right = ink_columns(masks[1])
    image[:, (h_left + h_right) // 2 - 1 : (h_left + h_right) // 2 + 2] = 255  # cut the H's crossbar
    assert len(segment_captcha(image).boxes) == 4
    result = segment_captcha(image, expected=3)
    assert result.ok and result.pieces_found == 4
    for box, mask in zip(result.boxes, masks):
        assert owner_share(box, mask) > 0.9


def test_thin_line_and_noise_dots_through_the_text_are_removed():
    text = "bdhk"
    image, masks = draw_captcha(text, gap=8)
    rows, cols = image.shape
    cv2.line(image, (0, rows // 2 + 2), (cols - 1, rows // 2 - 4), 0, 1, cv2.LINE_AA)
    assert cv2.connectedComponents((image < 128).astype(np.uint8))[0] - 1 == 1  # the line joins them all
    rng = np.random.default_rng(0)
    image[rng.integers(0, rows, 40), rng.integers(0, cols, 40)] = 0
    result = segment_captcha(image)
    assert len(result.boxes) == len(text)
    for box, mask in zip(result.boxes, masks):
        x, y, w, h = box
        assert owner_share(box, mask) > 0.95
        letter_left, letter_right = ink_columns(mask)
        assert letter_left - 2 <= x and x + w <= letter_right + 2  # the line's stubs are not in the box


def test_noise_line_crops_look_like_the_clean_ones():
    text = "bdhk"
    clean, _ = draw_captcha(text, gap=8)
    noisy = clean.copy()
    rows, cols = noisy.shape
    cv2.line(noisy, (0, rows // 2 + 2), (cols - 1, rows // 2 - 4), 0, 1, cv2.LINE_AA)
    near = np.ones((5, 5), np.uint8)
    for clean_crop, noisy_crop in zip(segment_captcha(clean, 4).crops, segment_captcha(noisy, 4).crops):
        clean_ink, noisy_ink = clean_crop < 128, noisy_crop < 128
        # A pixel of rescaling jitter is fine; line ink away from the letter's strokes is not.
        assert np.mean(cv2.dilate(clean_ink.astype(np.uint8), near)[noisy_ink]) > 0.98
        assert np.mean(cv2.dilate(noisy_ink.astype(np.uint8), near)[clean_ink]) > 0.98


def test_without_a_line_through_the_text_no_letter_loses_a_flat_stroke():
    # Built-in easy captchas have no lines. Their thin-font letters' flat strokes are thinner than the typical
    # stroke, and removing them cut 'e's out as 'c's; only a line's flat pieces, across the text, may go.
    from captcha_core.generator import generate_captchas

    no_line_removal = dataclasses.replace(DEFAULT, segmentation=dataclasses.replace(DEFAULT.segmentation, line_aspect=np.inf))
    for text, image in generate_captchas(150, seed=0, difficulty="easy"):
        cut = segment_captcha(image, len(text))
        untouched = segment_captcha(image, len(text), no_line_removal)
        assert np.array_equal(cut.crops, untouched.crops), text


def test_a_count_far_above_the_letters_is_not_forced():
    # Ten labels on four well separated letters: cutting each letter in three would be a lie.
    image, _ = draw_captcha("kbsb")
    result = segment_captcha(image, expected=10)
    assert not result.ok and len(result.boxes) < 10 and result.pieces_found == 4


def test_max_segments_caps_the_number_of_pieces():
    image, _ = draw_captcha("abcdefghkm", gap=8)
    config = dataclasses.replace(DEFAULT, limits=dataclasses.replace(DEFAULT.limits, max_segments=5))
    assert len(segment_captcha(image).boxes) == 10
    capped = segment_captcha(image, config=config)
    assert len(capped.boxes) == 5 and capped.crops.shape[0] == 5
    xs = [box[0] for box in capped.boxes]
    assert xs == sorted(xs)
    asked_too_many = segment_captcha(image, expected=12, config=config)
    assert len(asked_too_many.boxes) == 5 and not asked_too_many.ok


def test_letter_size_follows_the_config():
    image, _ = draw_captcha("ab")
    result = segment_captcha(image, config=DEFAULT.with_(letter_size=28))
    assert result.crops.shape == (2, 28, 28)


def test_blank_captcha_gives_no_boxes():
    result = segment_captcha(np.full((40, 120), 230, np.uint8), expected=4)
    assert result.boxes == [] and result.crops.shape == (0, DEFAULT.letter_size, DEFAULT.letter_size)
    assert not result.ok


@pytest.mark.parametrize(
    "bad, expected",
    [(np.zeros((10, 10, 3), np.uint8), None), (np.zeros((10, 10), np.float32), None), (np.zeros((10, 10), np.uint8), 0)],
)
def test_bad_input_is_refused(bad, expected):
    with pytest.raises(ValueError):
        segment_captcha(bad, expected)


def test_generated_easy_captchas_are_cut_into_the_right_count():
    generator = pytest.importorskip("captcha_core.generator")
    for length in (4, 6):
        captchas = generator.generate_captchas(40, length=length, difficulty="easy", seed=3)
        results = [segment_captcha(image) for _, image in captchas]
        natural = [Segmentation(r.boxes, r.crops, length) for r in results]
        assert segmentation_yield(natural) >= 0.95


def test_segmentation_yield_counts_ok_results():
    crops = np.zeros((0, 4, 4), np.uint8)
    results = [
        Segmentation([(0, 0, 1, 1)] * 4, crops, 4),
        Segmentation([(0, 0, 1, 1)] * 3, crops, 4),
        Segmentation([], crops, None),
        Segmentation([(0, 0, 1, 1)] * 4, crops, 4),
    ]
    assert segmentation_yield(results) == 0.75
    assert segmentation_yield(iter(results)) == 0.75
    assert segmentation_yield([]) == 0.0
