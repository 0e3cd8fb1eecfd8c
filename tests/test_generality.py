"""Sets unlike the built-in default, through the command line: alphabet, lengths and sizes come from the data."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from benchmarks.generality import VARIANTS, Variant, render_variant, score, write_folders

ROOT = Path(__file__).resolve().parents[1]
# Upper-case letters and digits, three lengths in one set, colour, 1.3 times the generator's size.
ODD_SET = Variant("odd", "easy", (4, 5, 6), "ABCDEFGH2345", 1.3, True)


def run(*args):
    return subprocess.run([sys.executable, "-m", "captcha_core", *map(str, args)], capture_output=True, text=True, cwd=ROOT, timeout=300)


@pytest.fixture(scope="module")
def odd_folders(tmp_path_factory):
    captchas = render_variant(ODD_SET, 96, seed=5)
    train_dir, held = write_folders(captchas, tmp_path_factory.mktemp("odd"))
    return captchas, train_dir, held


def test_variants_draw_their_lengths_alphabet_size_and_colour():
    for variant in VARIANTS:
        captchas = render_variant(variant, 12, seed=1)
        assert {len(t) for t, _ in captchas} == set(variant.lengths), variant.name
        assert set("".join(t for t, _ in captchas)) <= set(variant.alphabet)
        image = captchas[0][1]
        assert (image.ndim == 3) == variant.colour
        if variant.colour:
            # Tinted, not gray stored in three channels.
            assert np.abs(image[..., 0].astype(int) - image[..., 2].astype(int)).max() > 10
    small = render_variant(Variant("s", "easy", (4,), "ab", 0.5, False), 3, seed=1)
    full = render_variant(Variant("f", "easy", (4,), "ab", 1.0, False), 3, seed=1)
    assert small[0][1].shape[0] == round(full[0][1].shape[0] * 0.5)


def test_write_folders_holds_out_a_quarter_named_by_text(odd_folders):
    captchas, train_dir, held = odd_folders
    assert len(held) == 24 and len(list(train_dir.glob("*.png"))) == 72
    assert [p.name.split("_")[0] for p in held] == [t for t, _ in captchas[72:]]


def test_score_compares_readings_with_file_names():
    rows = [{"file": "/x/AB12_0.png", "text": "AB12"}, {"file": "/x/CD34_1.png", "text": "CD3"}, {"file": "/x/EF_2.png", "error": "bad"}]
    scores = score(rows)
    assert scores["captcha_accuracy"] == pytest.approx(1 / 3)
    assert scores["character_accuracy"] == pytest.approx((4 + 3 + 0) / 10)


def test_sequence_model_takes_alphabet_and_lengths_from_a_colour_upper_case_set(odd_folders, tmp_path):
    captchas, train_dir, held = odd_folders
    model = tmp_path / "seq"
    trained = run("train", "--data", train_dir, "--out", model, "--model", "sequence", "--epochs", 2, "--json")
    assert trained.returncode == 0, trained.stderr
    train_texts = [p.name.split("_")[0] for p in train_dir.glob("*.png")]
    assert json.loads((model / "labels.json").read_text()) == sorted(set("".join(train_texts)))
    metadata = json.loads((model / "metadata.json").read_text())
    assert metadata["data"]["captcha_lengths"] == [4, 5, 6]
    # Eight training steps cannot get past CTC's all-blank start; the user is told so, and what to do.
    assert max(metadata["history"]["val_accuracy"]) == 0
    assert "More epochs" in json.loads(trained.stdout)["hint"]
    solved = run("solve", "--model", model, "--json", *held)
    assert solved.returncode == 0, solved.stderr
    rows = json.loads(solved.stdout)
    assert len(rows) == len(held) and all("error" not in r for r in rows)
    assert set("".join(r["text"] for r in rows)) <= set(ODD_SET.alphabet)


def test_auto_cuts_a_clean_mixed_length_set_without_a_fixed_length(odd_folders, tmp_path):
    captchas, train_dir, held = odd_folders
    model = tmp_path / "auto"
    trained = run("train", "--data", train_dir, "--out", model, "--epochs", 2, "--json")
    assert trained.returncode == 0, trained.stderr
    summary = json.loads(trained.stdout)
    assert summary["model_kind"] == "cnn" and summary["model_choice"]["chosen"] == "cnn"
    # Three lengths: solve cannot assume one, so it reads as many characters as the ink holds.
    assert json.loads((model / "metadata.json").read_text())["captcha_length"] is None
    solved = run("solve", "--model", model, "--json", *held)
    rows = json.loads(solved.stdout)
    assert solved.returncode == 0 and len(rows) == len(held)
    lengths = {len(r["text"]) for r in rows}
    assert lengths & {4, 5, 6} and len(lengths) > 1
