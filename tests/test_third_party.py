"""Captchas from a generator we did not write (the `captcha` package): how the benchmark draws and judges them."""
import cv2
import pytest

from benchmarks.common import bar_verdict
from benchmarks.third_party import BY_NAME, write_captchas
from captcha_core.choice import resolve_model
from captcha_core.config import DEFAULT
from captcha_core.data import load_path
from captcha_core.labels import stem_label

FIVE = BY_NAME["five-19"]


@pytest.fixture(scope="module")
def five_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("five")
    return folder, write_captchas(FIVE, 40, folder, seed=3)


def test_files_are_named_by_their_text_and_drawn_at_the_style_size(five_folder):
    _, paths = five_folder
    texts = [stem_label(p.stem) for p in paths]
    assert all(len(t) == FIVE.length for t in texts)
    assert set("".join(texts)) <= set(FIVE.alphabet)
    image = cv2.imread(str(paths[0]), cv2.IMREAD_COLOR)
    assert image.shape[:2] == (FIVE.height, FIVE.width)
    # Random colours: not gray stored in three channels.
    assert (image[..., 0] != image[..., 2]).any()


def test_one_seed_draws_the_same_set_and_the_fresh_seed_another(tmp_path, five_folder):
    _, paths = five_folder
    again = write_captchas(FIVE, 40, tmp_path / "again", seed=3)
    other = write_captchas(FIVE, 40, tmp_path / "other", seed=4)
    assert [p.name for p in again] == [p.name for p in paths]
    assert (cv2.imread(str(again[0])) == cv2.imread(str(paths[0]))).all()
    assert [p.name for p in other] != [p.name for p in paths]


def test_auto_sends_this_style_to_the_sequence_model(five_folder):
    folder, paths = five_folder
    dataset = load_path(folder, DEFAULT)
    assert sorted(dataset.texts) == sorted(stem_label(p.stem) for p in paths)
    config, choice = resolve_model(dataset, DEFAULT.with_(model="auto"))
    # Warped, overlapping characters with a curve through them rarely fall apart into five clean pieces.
    assert config.model == "sequence" and choice["chosen"] == "sequence"
    assert choice["yield"] < DEFAULT.auto_yield_threshold


def test_verdict_names_what_is_missing():
    assert bar_verdict(FIVE.target, FIVE.minutes, 0.975, 5.5 * 60) == "met"
    assert bar_verdict(FIVE.target, FIVE.minutes, 0.965, 5.5 * 60) == "**not met**: 0.5 points short"
    assert bar_verdict(FIVE.target, FIVE.minutes, 0.98, 6.5 * 60) == "**not met**: 0.5 min too long"
    assert bar_verdict(0.97, None, 0.98, 9999) == "met"  # no time bar
    assert bar_verdict(None, None, 0.1, 9999) == ""
