"""The command line as a user runs it: real subprocesses, real files, every exit code."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "captcha_core", *map(str, args)], capture_output=True, text=True, cwd=cwd or ROOT, timeout=300)


@pytest.fixture(scope="module")
def captcha_folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("caps")
    result = run("generate", "--out", out, "--count", 100, "--seed", 3)
    assert result.returncode == 0, result.stderr
    return out


def test_generate_names_files_by_text(captcha_folder):
    names = sorted(p.stem for p in captcha_folder.glob("*.png"))
    assert len(names) == 100
    assert all(len(n.split("_")[0]) == 4 for n in names)


@pytest.mark.parametrize("alphabet", ["./x", "ab_", "a"])
def test_generate_refuses_an_alphabet_it_cannot_name_files_by(tmp_path, alphabet):
    result = run("generate", "--out", tmp_path / "out", "--count", 5, "--alphabet", alphabet)
    assert result.returncode == 2 and "argument --alphabet: " in result.stderr
    assert not list(tmp_path.rglob("*.png"))  # nothing written beside or above the folder either


def test_extract_writes_letter_folders(captcha_folder, tmp_path):
    result = run("extract", "--captchas", captcha_folder, "--out", tmp_path / "letters")
    assert result.returncode == 0, result.stderr
    assert "extracted" in result.stderr and "labels from file names" in result.stderr
    pngs = list((tmp_path / "letters").glob("*/*.png"))
    assert len(pngs) >= 390  # 100 captchas x 4 letters, nearly all segmented
    assert {p.parent.name for p in pngs} <= set("abcdefghjkmnpqrstuw")


def test_train_evaluate_predict_solve(captcha_folder, tmp_path, tiny_model_dir):
    model = tmp_path / "m"
    result = run("train", "--data", captcha_folder, "--out", model, "--epochs", 2, "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert 0 < summary["letter_accuracy"] <= 1 and summary["captcha_accuracy"] is not None
    assert set(summary["confusion_matrix"]) == {"labels", "matrix"}
    # Each matrix row on a line of its own, not one number per line.
    row_lines = {line.strip().rstrip(",") for line in result.stdout.splitlines()}
    assert all(json.dumps(row) in row_lines for row in summary["confusion_matrix"]["matrix"])
    assert "oneDNN" not in result.stderr and "absl" not in result.stderr  # TensorFlow's start-up lines stay hidden
    # Not a terminal: one line per epoch, each with its validation accuracy.
    epoch_lines = [line for line in result.stderr.splitlines() if line.startswith("epoch ")]
    assert [line.split()[1] for line in epoch_lines] == ["1/2", "2/2"] and all("val_acc" in line for line in epoch_lines)
    # Loading says what it does before training starts (one line per stage when stderr is not a terminal).
    n_files = len(list(Path(captcha_folder).glob("*.png")))
    assert f"reading images: {n_files:,}..." in result.stderr
    assert result.stderr.index("cutting captchas into letters:") < result.stderr.index("epoch 1/2")
    # auto's choice is said before the epochs it decides, and recorded as it was said.
    assert result.stderr.index(f"model: cnn ({summary['model_choice']['reason']})") < result.stderr.index("epoch 1/2")

    again = run("train", "--data", captcha_folder, "--out", model, "--epochs", 2)
    assert again.returncode == 2 and "already exists" in again.stderr

    ev = run("evaluate", "--model", model, "--data", captcha_folder, "--json")
    assert ev.returncode == 0, ev.stderr
    # Its own training data: only the captchas training held out count, as many as training reported.
    scored = json.loads(ev.stdout)
    assert scored["n_test_captchas"] == summary["n_test_captchas"] < 100 and "its own test split" in scored["scored_on"]
    assert "note: this is the data the model was trained on" in ev.stderr
    assert "read them short" not in ev.stderr  # the lengths it learnt
    # The class adds captchas to the folder: the new ones count, besides the held-out ones, and none it learnt from.
    grown = tmp_path / "grown"
    shutil.copytree(captcha_folder, grown)
    assert run("generate", "--out", grown, "--count", 12, "--seed", 4).returncode == 0
    bigger = run("evaluate", "--model", model, "--data", grown)
    assert bigger.returncode == 0, bigger.stderr
    assert f"on {summary['n_test_captchas'] + 12} test captchas" in bigger.stdout
    assert f"left out: {100 - summary['n_test_captchas']} captchas it learnt from" in bigger.stdout

    some = sorted(captcha_folder.glob("*.png"))[:3]
    bad = tmp_path / "notes.png"
    bad.write_text("this is text, not a picture")
    solved = run("solve", "--model", model, "--json", *some, bad)
    assert solved.returncode == 1
    rows = json.loads(solved.stdout)
    assert [r["text"] for r in rows[:3]] and all(len(r["text"]) == 4 for r in rows[:3])
    assert rows[3]["file"] == str(bad) and "error" in rows[3]
    assert "notes.png" in solved.stderr and "Traceback" not in solved.stderr
    # The files are named by their text, so each reading gets its truth and the run says how many were right;
    # "notes" holds letters this model does not know, so it gives no truth.
    assert [r["truth"] for r in rows[:3]] == [p.stem.split("_")[0] for p in some]
    right = sum(r["text"] == r["truth"] for r in rows[:3])
    assert f"read right: {right} of 3 ({right / 3:.2%}), going by the text in their file names" in solved.stderr

    letters = tmp_path / "letters"
    assert run("extract", "--captchas", captcha_folder, "--out", letters).returncode == 0
    letter = next(letters.glob("*/*.png"))
    pred = run("predict", "--model", tiny_model_dir, "--top", 3, "--json", letter)
    assert pred.returncode == 0, pred.stderr
    row = json.loads(pred.stdout)[0]
    assert len(row["top"]) == 3 and row["label"] == row["top"][0][0]
    # Without --json the line names the runners-up too, in the same order.
    line = run("predict", "--model", tiny_model_dir, "--top", 3, letter).stdout.strip()
    runners_up = [label for label, _ in row["top"][1:]]
    assert line.startswith(f"{letter}: {row['label']} (") and [part.split()[0] for part in line.split(", then ")[1].split(", ")] == runners_up


def test_solve_scores_by_a_label_list_in_a_folder_or_zip(captcha_folder, tmp_path, tiny_model_dir):
    import zipfile

    # Names that only count the images, as many public sets have, with their texts in a labels.csv beside them.
    some = sorted(captcha_folder.glob("*.png"))[:4]
    texts = [p.stem.split("_")[0] for p in some]
    listed = tmp_path / "listed"
    listed.mkdir()
    for i, source in enumerate(some):
        shutil.copy(source, listed / f"img_{i:04d}.png")
    (listed / "labels.csv").write_text("file,text\n" + "".join(f"img_{i:04d}.png,{t}\n" for i, t in enumerate(texts)))
    archive = tmp_path / "listed.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for path in sorted(listed.iterdir()):
            out.write(path, path.name)
    for where in (listed, archive):
        solved = run("solve", "--model", tiny_model_dir, "--json", where)
        assert solved.returncode == 0, solved.stderr
        rows = json.loads(solved.stdout)
        assert [Path(r["file"].split(":")[-1]).name for r in rows] == [f"img_{i:04d}.png" for i in range(4)]
        assert [r["truth"] for r in rows] == texts
        right = sum(r["text"] == r["truth"] for r in rows)
        assert f"read right: {right} of 4 ({right / 4:.2%}), going by their label lists and sidecar .txt files" in solved.stderr


def test_solve_and_predict_refuse_a_blank_picture_and_note_a_wrong_cut_or_shape(captcha_folder, tmp_path, tiny_model_dir):
    import cv2
    import numpy as np

    blank, circle, notes = tmp_path / "blank.png", tmp_path / "circle.png", tmp_path / "notes.txt"
    cv2.imwrite(str(blank), np.full((60, 160), 255, np.uint8))
    ring = np.full((60, 160), 255, np.uint8)
    cv2.circle(ring, (80, 30), 20, 0, 3)
    cv2.imwrite(str(circle), ring)
    notes.write_text("not a picture")
    captcha = sorted(captcha_folder.glob("*.png"))[0]

    solved = run("solve", "--model", tiny_model_dir, "--json", captcha, blank, circle, notes)
    assert solved.returncode == 1
    rows = {Path(r["file"]).name: r for r in json.loads(solved.stdout)}
    assert rows[captcha.name]["note"] == "" and len(rows[captcha.name]["text"]) == 4
    assert "no letters at all" in rows["blank.png"]["error"] and "not a PNG" in rows["notes.txt"]["error"]
    assert rows["circle.png"]["note"].endswith("where 4 were expected, so some letters are merged or split")

    predicted = run("predict", "--model", tiny_model_dir, captcha, blank)
    assert predicted.returncode == 1 and "blank.png: no letter found" in predicted.stderr
    [line] = predicted.stdout.splitlines()
    assert line.startswith(f"{captcha}: ") and "note: this looks like a whole captcha" in line and "`solve`" in line


def test_bad_usage_exits_2():
    assert run("train").returncode == 2
    assert run("solve", "--model", "m").returncode == 2
    assert run("generate", "--out", "x", "--count", 0).returncode == 2
    no_time = run("train", "--out", "x", "--time-limit", 0)
    assert no_time.returncode == 2 and "--time-limit: must be more than 0" in no_time.stderr


def test_train_stops_at_its_time_limit_and_says_so(captcha_folder, tmp_path):
    result = run("train", "--data", captcha_folder, "--out", tmp_path / "m", "--model", "cnn", "--epochs", 4,
                 "--time-limit", 0.00001, "--json")
    assert result.returncode == 0, result.stderr
    assert [line.split()[1] for line in result.stderr.splitlines() if line.startswith("epoch ")] == ["1/4"]
    # The note is in the report and, for the person at the terminal, on stderr as well.
    assert json.loads(result.stdout)["note"].startswith("Training stopped at its time limit of 1e-05 min")
    assert "note: Training stopped at its time limit of 1e-05 min, in epoch 1 of at most 4." in result.stderr
    assert (tmp_path / "m" / "model.keras").exists()


def test_bad_input_exits_1_without_traceback(tmp_path):
    result = run("train", "--data", tmp_path / "missing", "--out", tmp_path / "m")
    assert result.returncode == 1 and "no such file or folder" in result.stderr
    assert "Traceback" not in result.stderr
    damaged = run("solve", "--model", tmp_path, tmp_path / "x.png")
    assert damaged.returncode == 1 and "Traceback" not in damaged.stderr
    missing = run("solve", "--model", tmp_path / "nope", tmp_path / "x.png")
    assert missing.returncode == 1 and "no such model folder" in missing.stderr


def test_train_on_letter_folders(captcha_folder, tmp_path):
    letters = tmp_path / "letters"
    assert run("extract", "--captchas", captcha_folder, "--out", letters).returncode == 0
    result = run("train", "--data", letters, "--out", tmp_path / "lm", "--model", "forest", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["captcha_accuracy"] is None


def test_progress_printer_counts_a_forests_trees_in_one_line_when_not_on_a_terminal():
    import io

    from captcha_core.cli import ProgressPrinter
    from captcha_core.training import Progress

    out = io.StringIO()
    printer = ProgressPrinter(out)
    for grown in (20, 40, 60):
        printer(Progress(phase="training", epoch=1, epochs=1, step=grown, steps=60, unit="trees"))
    assert out.getvalue() == f"forest [{'#' * 24}] 60/60 trees\n"


def test_every_option_says_what_it_does_and_train_names_the_config_defaults():
    import argparse

    from captcha_core.cli import build_parser
    from captcha_core.config import DEFAULT

    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    silent = [f"{name} {action.dest}" for name, sub in commands.items() for action in sub._actions if not action.help]
    assert silent == []
    train_help = commands["train"].format_help()
    train_help = " ".join(train_help.split())  # argparse wraps lines
    assert f"letter CNN {DEFAULT.epochs}, sequence model {DEFAULT.sequence_epochs};" in train_help
    assert f"letter CNN {DEFAULT.batch_size}, sequence model {DEFAULT.sequence_batch_size};" in train_help
    assert f"(default: {DEFAULT.generate_count})" in train_help and f"(default: {DEFAULT.test_size})" in train_help


def test_readable_json_keeps_number_lists_on_one_line_and_strings_as_they_are():
    from captcha_core.cli import readable_json

    value = {"file": "scan[1,  2].png", "matrix": [[1, 2], [3, 0.5]], "top": [["a", 0.9]], "flags": [True, 1], "none": []}
    text = readable_json(value)
    assert json.loads(text) == value
    assert "    [1, 2],\n    [3, 0.5]\n" in text and '"scan[1,  2].png"' in text


def test_evaluate_notes_captchas_longer_than_a_sequence_model_learnt(tmp_path, tmp_path_factory, tiny_model_dir):
    from ui_support import tiny_model_folder

    longer = tmp_path / "five"
    assert run("generate", "--out", longer, "--count", 30, "--length", 5, "--seed", 4).returncode == 0
    sequence = tiny_model_folder(str(tmp_path_factory.getbasetemp() / "tiny-model"), "sequence")
    result = run("evaluate", "--model", sequence, "--data", longer)
    assert "note: the model learnt captchas of 4 characters and these have 5, so it may read them too short" in result.stderr
    # A letter model is scored cut to the data's own length, so it has nothing to warn of.
    result = run("evaluate", "--model", tiny_model_dir, "--data", longer)
    assert result.returncode == 0, result.stderr
    assert "so it may read them" not in result.stderr


def test_a_sequence_models_report_speaks_of_characters_not_letters():
    from captcha_core.cli import human_report

    report = human_report({"letter_accuracy": 0.9, "n_test_letters": 40, "character_accuracy_basis": "position-wise"})
    assert report.startswith("character accuracy: 90.00% of 40 test characters (position-wise)")
    assert human_report({"letter_accuracy": 0.9, "n_test_letters": 40}).startswith("letter accuracy: 90.00% on 40")
    # Without --json, a note and a hint are lines of the report itself.
    advised = human_report({"letter_accuracy": 0.9, "n_test_letters": 40, "note": "Stopped.", "hint": "Train more."})
    assert advised.splitlines()[-2:] == ["note: Stopped.", "note: Train more."]


def test_train_on_too_few_captchas_says_so_before_choosing_a_model(tmp_path):
    few = tmp_path / "few"
    assert run("generate", "--out", few, "--count", 3, "--seed", 2).returncode == 0
    result = run("train", "--data", few, "--out", tmp_path / "m")
    assert result.returncode != 0
    assert "only 3 captchas: too few to hold out validation and test captchas" in result.stderr
    assert "model: " not in result.stderr and "Traceback" not in result.stderr
