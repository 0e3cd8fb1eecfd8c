"""Any folder of captchas named by their text: `train` with its defaults on part of it, `solve` the rest.

Run: python -m benchmarks.folder FOLDER [--held-out 0.25] [--seed 0] [--bar 0.97] [--minutes 6] [--section NAME]
This is how a public set the product has never seen is measured, as a user with that set would run it: the
images are shuffled with the seed and split by image (every captcha on one side only), each part is copied
into a folder of its own, `train --data` sees only it, and `solve` reads the held-out part, each step
through the command line in its own process. Training time is the model's fit, as `train` reports it.
With --section NAME the result goes into the README between <!-- folder-NAME:start --> and its end marker,
and into benchmarks/results/folder-NAME.json.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from captcha_core.imageio import IMAGE_SUFFIXES  # noqa: E402
from captcha_core.labels import labels_from_names  # noqa: E402

from benchmarks.common import bar_verdict  # noqa: E402
from benchmarks.generality import train_then_solve  # noqa: E402
from benchmarks.protocols import write_between_markers  # noqa: E402

README = ROOT / "README.md"


def labelled_images(folder: Path) -> list[tuple[Path, str]]:
    """The folder's images (subfolders too) with the text their file names give, sorted so a seed splits them alike."""
    paths = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    named = labels_from_names([str(p) for p in paths])
    return [(p, named[str(p)]) for p in paths if named.get(str(p))]


def split_by_image(images: list, held_out: float, seed: int) -> tuple[list, list]:
    """A seeded shuffle, then the last `held_out` share of it apart: no image is on both sides."""
    order = np.random.default_rng(seed).permutation(len(images))
    n_held = max(1, round(held_out * len(images)))
    shuffled = [images[i] for i in order]
    return shuffled[:-n_held], shuffled[-n_held:]


def copy_into(images: list[tuple[Path, str]], folder: Path) -> list[Path]:
    """Copy images into one folder as TEXT_i: equal texts cannot collide, and the text is read as from any name."""
    folder.mkdir(parents=True)
    copies = []
    for i, (path, text) in enumerate(images):
        copies.append(folder / f"{text}_{i}{path.suffix.lower()}")
        shutil.copyfile(path, copies[-1])
    return copies


def measure_folder(folder: Path, held_out: float, seed: int, target: float | None, minutes: float | None,
                   workdir: Path) -> dict:
    """Train with the command line's defaults on the training share of `folder`, solve the rest, and score it."""
    images = labelled_images(folder)
    if len(images) < 2:
        raise SystemExit(f"{folder}: fewer than two images named by their text")
    train_images, held_images = split_by_image(images, held_out, seed)
    copy_into(train_images, workdir / "train")
    held_paths = copy_into(held_images, workdir / "held_out")
    record, _, held = train_then_solve(workdir / "train", workdir / "model", held_paths)
    return {
        "folder": str(folder),
        "images": len(images),
        "trained_on": len(train_images),
        "held_out_share": held_out,
        "seed": seed,
        **record,
        "held_out": held,
        "target": target,
        "minutes": minutes,
        "bar": bar_verdict(target, minutes, held["captcha_accuracy"], record["training_seconds"]),
    }


def as_markdown(result: dict, command: str) -> str:
    """The README lines for one measured folder."""
    held = result["held_out"]
    bar = "none set"
    if result["target"] is not None:
        within = f" from at most {result['minutes']:g} min of training" if result["minutes"] is not None else ""
        bar = f"{result['target']:.0%} of held-out captchas read whole{within}: {result['bar']}"
    return "\n".join([
        f"Command: `{command}`. {result['images']:,} images named by their text, split by image with the seed; "
        f"`train --data` with its defaults saw {result['trained_on']:,} of them (and held out its own test and "
        f"validation captchas among those), `solve` read the other {held['n']:,}, each in its own process.",
        "",
        "| figure | value |",
        "| --- | --- |",
        f"| model `auto` chose | {result['model_kind']} |",
        f"| held-out captchas read whole | **{held['captcha_accuracy']:.2%}** of {held['n']:,} |",
        f"| held-out characters | {held['character_accuracy']:.2%} |",
        f"| training (the fit, as `train` reports it) | {result['training_seconds'] / 60:.1f} min, {result['epochs_run']} epochs |",
        f"| `train` / `solve` commands, start-up included | {result['train_command_seconds']:.0f} s / {result['solve_command_seconds']:.0f} s |",
        f"| bar | {bar} |",
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="images named by their text, as abcd.png or abcd_2.png")
    parser.add_argument("--held-out", type=float, default=0.25, help="share of the images train never sees")
    parser.add_argument("--seed", type=int, default=0, help="the shuffle that splits the images")
    parser.add_argument("--bar", type=float, help="whole-captcha accuracy to reach on the held-out images")
    parser.add_argument("--minutes", type=float, help="the most minutes of training the bar allows")
    parser.add_argument("--section", help="write the result into the README section folder-NAME")
    parser.add_argument("--workdir", type=Path, help="keep the copies and the model here (default: a temporary folder)")
    args = parser.parse_args(argv)
    if not 0 < args.held_out < 1:
        parser.error("--held-out must lie between 0 and 1")
    command = " ".join(["python -m benchmarks.folder", str(args.folder), f"--held-out {args.held_out:g}",
                        f"--seed {args.seed}"] + ([f"--bar {args.bar:g}"] if args.bar is not None else [])
                       + ([f"--minutes {args.minutes:g}"] if args.minutes is not None else []))
    with tempfile.TemporaryDirectory() as scratch:
        workdir = args.workdir or Path(scratch)
        result = measure_folder(args.folder, args.held_out, args.seed, args.bar, args.minutes, workdir)
    section = as_markdown(result, command)
    print(section)
    if args.section:
        (ROOT / "benchmarks" / "results" / f"folder-{args.section}.json").write_text(
            json.dumps({"command": command, **result}, indent=2) + "\n", encoding="utf-8")
        write_between_markers(README, (f"<!-- folder-{args.section}:start -->", f"<!-- folder-{args.section}:end -->"), section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
