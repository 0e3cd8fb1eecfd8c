"""Captcha styles the product was not tuned on: `train` with its defaults on 75% of each set, `solve` the rest.

Run: python -m benchmarks.generality [--count N] [--variant NAME ...] [--workdir DIR]
Each set is written to a folder of image files named by their text, as a user's set would be, and both steps go
through the command line in their own processes. The variants cover what the product is promised to meet:
lengths of 4 to 6 (mixed within one set), digits, upper- and lower-case letters, lines through the text, and
sizes and colours other than the generator's. Writes benchmarks/results/generality.json and the README section.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from captcha_core.labels import stem_label  # noqa: E402
from captcha_core.generator import generate_captchas  # noqa: E402
from captcha_core.sequence import correct_characters  # noqa: E402

from benchmarks.protocols import write_between_markers  # noqa: E402

README = ROOT / "README.md"
RESULTS = ROOT / "benchmarks" / "results" / "generality.json"
MARKERS = ("<!-- generality:start -->", "<!-- generality:end -->")
HELD_OUT = 0.25  # share of each set never shown to `train`, read by `solve`
SEED = 4242  # no other benchmark generates with it


@dataclass(frozen=True)
class Variant:
    """A captcha set unlike the built-in default: its drawing level, lengths, alphabet, size and colour."""

    name: str
    difficulty: str
    lengths: tuple[int, ...]  # the set holds equally many captchas of each length
    alphabet: str
    scale: float  # image size against the generator's own
    colour: bool  # ink and paper in random colours instead of gray


VARIANTS = (
    Variant("upper-6-colour", "medium", (6,), "ABCDEFGHJKLMNPRSTUVWXYZ23456789", 1.5, True),
    Variant("digits-4-small-colour", "easy", (4,), "0123456789", 0.6, True),
    Variant("mixed-4-to-6-lined", "lined", (4, 5, 6), "abcdefghkmnpqrstuvwxyz23456789", 1.0, False),
)
BY_NAME = {v.name: v for v in VARIANTS}


def tint(gray: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A BGR image with dark ink and light paper in random colours, following the gray image's tones."""
    ink = rng.integers(0, 120, size=3).astype(np.float32)
    paper = rng.integers(170, 256, size=3).astype(np.float32)
    share = gray.astype(np.float32)[..., None] / 255.0
    return (ink + (paper - ink) * share).round().astype(np.uint8)


def render_variant(variant: Variant, count: int, seed: int = SEED) -> list[tuple[str, np.ndarray]]:
    """`count` captchas of a variant as (text, image): gray or BGR, resized by the variant's scale."""
    rng = np.random.default_rng(seed)
    per_length = np.array_split(np.arange(count), len(variant.lengths))
    out = []
    for i, (length, rows) in enumerate(zip(variant.lengths, per_length)):
        for text, gray in generate_captchas(len(rows), length=length, alphabet=variant.alphabet,
                                            difficulty=variant.difficulty, seed=seed + i):
            h, w = gray.shape
            size = (max(1, round(w * variant.scale)), max(1, round(h * variant.scale)))
            image = cv2.resize(gray, size, interpolation=cv2.INTER_AREA if variant.scale < 1 else cv2.INTER_CUBIC)
            out.append((text, tint(image, rng) if variant.colour else image))
    order = rng.permutation(len(out))
    return [out[i] for i in order]


def write_folders(captchas: list[tuple[str, np.ndarray]], root: Path) -> tuple[Path, list[Path]]:
    """Write the first 75% as the training folder and the rest as held-out files; file names carry the text."""
    train_dir, held_dir = root / "train", root / "held_out"
    train_dir.mkdir(parents=True)
    held_dir.mkdir()
    n_train = len(captchas) - max(1, round(HELD_OUT * len(captchas)))
    held = []
    for i, (text, image) in enumerate(captchas):
        path = (train_dir if i < n_train else held_dir) / f"{text}_{i}.png"
        cv2.imwrite(str(path), image)
        if i >= n_train:
            held.append(path)
    return train_dir, held


def run_cli(*args: str) -> tuple[str, float]:
    """Run `python -m captcha_core ARGS` in its own process; its standard output and its wall time."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "captcha_core", *args], cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode:
        raise SystemExit(f"captcha_core {args[0]} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return done.stdout, seconds


def score(rows: list[dict]) -> dict:
    """Whole-captcha and per-character accuracy of solve's JSON rows against the texts in their file names."""
    truths = [stem_label(Path(r["file"]).stem) for r in rows]
    readings = [r.get("text", "") for r in rows]
    n_chars = sum(len(t) for t in truths)
    return {
        "captcha_accuracy": float(np.mean([t == r for t, r in zip(truths, readings)])),
        "character_accuracy": sum(correct_characters(t, r) for t, r in zip(truths, readings)) / n_chars,
        "n": len(rows),
    }


def train_then_solve(train_dir: Path, model: Path, to_solve: list[Path]) -> tuple[dict, dict, dict]:
    """`train --data` with its defaults, then `solve` on other images, each in its own process.

    Returns the run's record (the model auto chose, its split, epochs and training time, both commands' wall
    times), what `train` printed, and the score of `solve`'s readings."""
    trained, train_seconds = run_cli("train", "--data", str(train_dir), "--out", str(model), "--json")
    solved, solve_seconds = run_cli("solve", "--model", str(model), "--json", *map(str, to_solve))
    summary = json.loads(trained)
    metadata = json.loads((model / "metadata.json").read_text(encoding="utf-8"))
    record = {
        "split_sizes": summary.get("split_sizes"),
        "model_kind": summary.get("model_kind"),
        "model_choice": summary.get("model_choice"),
        "epochs_run": len(metadata.get("history", {}).get("loss", [])),
        "training_seconds": summary["seconds"]["training"],
        "train_command_seconds": train_seconds,
        "solve_command_seconds": solve_seconds,
    }
    return record, summary, score(json.loads(solved))


def measure_variant(variant: Variant, count: int, workdir: Path) -> dict:
    """Write a variant's set, train on 75% with the command line's defaults, solve the other 25% and score it."""
    captchas = render_variant(variant, count)
    train_dir, held = write_folders(captchas, workdir / variant.name)
    record, _, scores = train_then_solve(train_dir, workdir / variant.name / "model", held)
    sizes = sorted({im.shape[:2] for _, im in captchas})
    return {
        "variant": asdict(variant),
        "captchas": len(captchas),
        "trained_on": len(captchas) - len(held),
        "image_heights": [min(h for h, _ in sizes), max(h for h, _ in sizes)],
        "image_widths": [min(w for _, w in sizes), max(w for _, w in sizes)],
        **record,
        "held_out": scores,
    }


def readme_section(results: list[dict], count: int) -> str:
    """The README table for the measured variants."""
    lines = [
        f"Command: `python -m benchmarks.generality --count {count}`. Each set is written as image files named by "
        f"their text; `train --data FOLDER` with its defaults sees 75% of it and `solve` reads the other 25%, each "
        "in its own process. Times are whole commands, start-up included.",
        "",
        "| set | lengths | alphabet | sizes (h x w) | model `auto` chose | held-out read whole | characters | `train` time |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        v = r["variant"]
        kind = r["model_kind"] or "?"
        lines.append(
            f"| {v['name']} | {', '.join(map(str, v['lengths']))} | `{v['alphabet']}` | "
            f"{r['image_heights'][0]}-{r['image_heights'][1]} x {r['image_widths'][0]}-{r['image_widths'][1]} | {kind} | "
            f"**{r['held_out']['captcha_accuracy']:.1%}** of {r['held_out']['n']} | {r['held_out']['character_accuracy']:.2%} | "
            f"{r['train_command_seconds'] / 60:.1f} min |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1_600, help="captchas per set (75%% train, 25%% solved)")
    parser.add_argument("--variant", action="append", choices=sorted(BY_NAME), help="only these sets (default: all)")
    parser.add_argument("--workdir", help="keep the sets and models here (default: a temporary folder)")
    parser.add_argument("--no-readme", action="store_true", help="print the results only")
    args = parser.parse_args(argv)
    variants = [BY_NAME[name] for name in args.variant] if args.variant else list(VARIANTS)
    with tempfile.TemporaryDirectory() as scratch:
        workdir = Path(args.workdir) if args.workdir else Path(scratch)
        results = []
        for variant in variants:
            print(f"{variant.name}: writing {args.count} captchas, training, solving", flush=True)
            results.append(measure_variant(variant, args.count, workdir))
            print(json.dumps(results[-1]["held_out"]), flush=True)
    print(readme_section(results, args.count))
    if not args.no_readme:
        RESULTS.write_text(json.dumps({"count": args.count, "results": results}, indent=2) + "\n", encoding="utf-8")
        write_between_markers(README, MARKERS, readme_section(results, args.count))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
