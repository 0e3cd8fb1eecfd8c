"""Smoke test of the benchmark's pure helpers on tiny sizes; the speed figures themselves live only in the benchmark."""
import cv2
import numpy as np
import pytest

from benchmarks.common import percentile, summarize_ms
from benchmarks.product import letter_scores
from benchmarks.report import update_readme
from benchmarks.seed_recipe import class_target, encode_labels, load_letters, shuffle_and_split

# 30 letters over three classes, uneven like the seed's data.
COUNTS = {"a": 15, "b": 10, "c": 5}
SIDE = 60


@pytest.fixture
def letter_folder(tmp_path):
    rng = np.random.default_rng(0)
    for label, n in COUNTS.items():
        (tmp_path / label).mkdir()
        for i in range(n):
            cv2.imwrite(str(tmp_path / label / f"{i}.png"), rng.integers(0, 256, (SIDE, SIDE), dtype=np.uint8))
    return tmp_path


def test_seed_loader_bootstraps_every_class_to_the_largest(letter_folder):
    target = class_target(letter_folder)
    data, labels = load_letters(letter_folder, target)
    assert target == max(COUNTS.values())
    assert len(data) == target * len(COUNTS)
    assert {label: labels.count(label) for label in COUNTS} == {label: target for label in COUNTS}
    assert data[0].shape == (SIDE, SIDE, 1) and data[0].dtype == np.uint8
    # Bootstrapped classes repeat images; the largest one is read once each.
    assert len({d.tobytes() for d, l in zip(data, labels) if l == "c"}) <= COUNTS["c"]
    assert len({d.tobytes() for d, l in zip(data, labels) if l == "a"}) == COUNTS["a"]


def test_seed_split_is_the_blogs_overlapping_slices(letter_folder):
    data, labels = load_letters(letter_folder, class_target(letter_folder))
    onehot, ohe, reverse = encode_labels(labels)
    assert onehot.shape == (len(labels), len(COUNTS)) and onehot.sum(axis=1).tolist() == [1.0] * len(labels)
    assert sorted(reverse.values()) == sorted(COUNTS)
    (x_train, _), (x_val, _), (x_test, _) = shuffle_and_split(data, onehot)
    assert len(x_train) + len(x_test) == len(data)
    assert len(x_train) == round(len(data) * 2 / 3)
    # The blog's validation slice lies inside its training slice.
    train_ids = {id(x) for x in x_train}
    assert all(id(x) in train_ids for x in x_val)


def test_percentiles_and_summary():
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile(list(range(101)), 95) == 95
    summary = summarize_ms([0.001, 0.002, 0.003])
    assert summary["p50_ms"] == pytest.approx(2.0) and summary["runs"] == 3
    with pytest.raises(ValueError):
        percentile([], 50)


def test_letter_scores_count_uncut_captchas_as_wrong():
    labels = np.array(list("abcdabcd"))
    predicted = np.array(list("abcdabcx"))
    groups = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    scores = letter_scores(predicted, labels, groups, np.array([True, True, False]), ["abcd", "abcd", "efgh"])
    assert scores["letter_accuracy"] == pytest.approx(7 / 8)
    assert scores["captcha_accuracy"] == pytest.approx(1 / 3)


def test_readme_section_only_touches_its_markers(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# Title\n\nText by someone else.\n")
    update_readme(readme, "first")
    update_readme(readme, "| a | b |")
    text = readme.read_text()
    assert text.startswith("# Title\n\nText by someone else.\n")
    assert text.count("<!-- bench:start -->") == 1 and "first" not in text and "| a | b |" in text


def test_hostile_benchmark_inputs_are_what_they_claim_and_get_refused():
    import io
    import struct
    import zipfile
    import zlib

    from benchmarks.hostile import png_claiming, time_refusal, zip_inflating_to
    from captcha_core.archive import read_zip
    from captcha_core.imageio import decode_image

    png = png_claiming(30000, 30000)
    assert len(png) < 100 and png[12:16] == b"IHDR"
    assert struct.unpack(">II", png[16:24]) == (30000, 30000)
    assert struct.unpack(">I", png[29:33])[0] == zlib.crc32(png[12:29])  # a valid header, not a broken file
    bomb = zip_inflating_to(64 * 1024**2)
    assert len(bomb) < 1024**2
    assert zipfile.ZipFile(io.BytesIO(bomb)).infolist()[0].file_size == 64 * 1024**2
    refused = time_refusal(lambda: decode_image(png, "bomb.png"), runs=3)
    assert refused["runs"] == 3 and "not decoded" in refused["message"]
    from captcha_core.config import Limits

    small_cap = Limits(max_zip_total_bytes=1024**2)
    assert "more than the 1,048,576 allowed" in time_refusal(lambda: read_zip(bomb, small_cap), runs=1)["message"]


def test_hard_benchmark_rescores_a_saved_model_on_its_own_test_split(tiny_model_dir):
    from benchmarks import hard
    from captcha_core.persistence import load_model

    stored = load_model(tiny_model_dir).metadata
    summary = hard.rescore(str(tiny_model_dir), fresh=12)
    assert summary["test"]["n"] == stored["metrics"]["n_test_captchas"]
    assert summary["test"]["captcha_accuracy"] == stored["metrics"]["captcha_accuracy"]
    assert summary["fresh"]["n"] == 12 and 0 <= summary["fresh"]["captcha_accuracy"] <= 1
    assert summary["model_kind"] == "cnn" and summary["epochs_run"] == stored["config"]["epochs"]
    assert summary["settings"] == {"epochs": 2, "batch_size": 64}  # the tiny model's departures from the defaults
    assert summary["level"] == "easy"


def test_hard_benchmark_text_says_which_bar_was_missed():
    from benchmarks import hard

    summary = {
        "level": "lined", "captchas": 1040, "model_kind": "sequence", "model_choice": None, "epochs_run": 40, "epoch_limit": 60,
        "seconds": {"training": 480.0}, "test": {"captcha_accuracy": 0.95, "character_accuracy": 0.99, "n": 208},
        "fresh": {"captcha_accuracy": 0.98, "character_accuracy": 0.995, "n": 500},
    }
    text = hard.as_markdown(summary, "cmd")
    assert "| fresh captchas (500): whole captchas / characters | 98.00% / 99.50% |" in text
    assert "97% of whole fresh captchas from at most 6 min of training | **not met**, 2.0 min too long |" in text
    assert "40 epochs (ended before the limit)" in text
    quick = {**summary, "seconds": {"training": 300.0}, "epochs_run": 60}
    assert "| met |" in hard.as_markdown(quick, "cmd") and "all epochs allowed" in hard.as_markdown(quick, "cmd")
    weak = {**summary, "level": "hard", "fresh": {**summary["fresh"], "captcha_accuracy": 0.94}}
    assert "| 95% of whole fresh captchas | **not met**, 1.0 points short |" in hard.as_markdown(weak, "cmd").replace("target: ", "")
