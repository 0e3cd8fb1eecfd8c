"""Captchas drawn by someone else's generator: `train` with its defaults on a folder of them, then `solve` fresh ones.

Run: python -m benchmarks.third_party [--count 1040] [--fresh 1000] [--style NAME ...] [--seed N] [--workdir DIR]
The captchas come from `captcha` (PyPI, ImageCaptcha), a widely used generator whose style Captcha Lab was not
built for: each character warped and rotated, neighbours overlapping, a curve through the text and dots, in random
colours. The `five-19` style has the public hard-captcha set's shape (5 characters from its 19 symbols, 200x50
pixels, about 800 captchas left to train on), so it is a second stand-in for that set, next to the built-in `lined`
level; its bar is the issue's: 97% of fresh captchas whole from at most 6 minutes of training.
Both steps go through the command line in their own processes, as a user would run them.
Writes benchmarks/results/third_party.json and the README section.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.common import bar_verdict  # noqa: E402
from benchmarks.generality import train_then_solve  # noqa: E402
from benchmarks.protocols import write_between_markers  # noqa: E402

README = ROOT / "README.md"
RESULTS = ROOT / "benchmarks" / "results" / "third_party.json"
MARKERS = ("<!-- third-party:start -->", "<!-- third-party:end -->")
FRESH_SEED_OFFSET = 1_000  # fresh captchas are drawn from another seed than the training folder


@dataclass(frozen=True)
class Style:
    """One way of calling the generator: text length, symbols, image size, and the bar to reach, if any."""

    name: str
    length: int
    alphabet: str
    width: int
    height: int
    target: float | None = None  # share of fresh captchas to read whole
    minutes: float | None = None  # at most this much training


STYLES = (
    Style("five-19", 5, "2345678bcdefgmnpwxy", 200, 50, 0.97, 6.0),
    Style("four-digits", 4, "0123456789", 160, 60),
    Style("six-upper", 6, "ABCDEFGHJKLMNPQRSTUVWXYZ23456789", 240, 70),
)
BY_NAME = {s.name: s for s in STYLES}


class SeededSecrets:
    """The calls the captcha package makes on the `secrets` module, answered by a seeded random.Random."""

    def __init__(self, rng: random.Random):
        self.randbelow = rng.randrange
        self.randbits = rng.getrandbits
        self.choice = rng.choice


def write_captchas(style: Style, count: int, folder: Path, seed: int) -> list[Path]:
    """Draw `count` captchas of a style into `folder` as TEXT_i.png; the same seed draws the same files."""
    from captcha import image  # a benchmark dependency (requirements-dev.txt), not the product's

    rng = random.Random(seed)
    # The package draws its pictures' randomness from `secrets`, which cannot be seeded; a seeded stand-in with
    # the same three calls makes a seed redraw the same set.
    image.secrets = SeededSecrets(rng)
    generator = image.ImageCaptcha(width=style.width, height=style.height)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        text = "".join(rng.choice(style.alphabet) for _ in range(style.length))
        path = folder / f"{text}_{i}.png"
        generator.write(text, str(path))
        paths.append(path)
    return paths


def measure_style(style: Style, count: int, fresh: int, seed: int, workdir: Path) -> dict:
    """Train with the command line's defaults on `count` captchas, solve `fresh` others, and score both steps."""
    root = workdir / style.name
    write_captchas(style, count, root / "train", seed)
    fresh_paths = write_captchas(style, fresh, root / "fresh", seed + FRESH_SEED_OFFSET)
    record, summary, fresh_scores = train_then_solve(root / "train", root / "model", fresh_paths)
    return {
        "style": asdict(style),
        "seed": seed,
        "captchas": count,
        **record,
        "test": {"captcha_accuracy": summary.get("captcha_accuracy"), "character_accuracy": summary.get("letter_accuracy"),
                 "n": summary.get("n_test_captchas")},
        "fresh": fresh_scores,
        "bar": bar_verdict(style.target, style.minutes, fresh_scores["captcha_accuracy"], record["training_seconds"]),
    }


def readme_section(results: list[dict], command: str) -> str:
    """The README table for the measured styles."""
    lines = [
        f"Command: `{command}`. `train --data FOLDER` with its defaults, then `solve` on fresh captchas of the "
        "same style, each in its own process. Training time is the model's fit, as `train` reports it.",
        "",
        "| style | size | model `auto` chose | fresh read whole | characters | held-out test | training | bar |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        s, fresh, test = r["style"], r["fresh"], r["test"]
        bar = r["bar"] or "none set"
        if s["target"] is not None:
            bar = f"{s['target']:.0%} in {s['minutes']:g} min: {bar}"
        lines.append(
            f"| {s['name']}: {s['length']} of `{s['alphabet']}` | {s['width']}x{s['height']} | {r['model_kind']} | "
            f"**{fresh['captcha_accuracy']:.1%}** of {fresh['n']:,} | {fresh['character_accuracy']:.2%} | "
            f"{test['captcha_accuracy']:.1%} of {test['n']} | {r['training_seconds'] / 60:.1f} min, {r['epochs_run']} epochs | {bar} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1_040, help="captchas in the training folder (train holds out its own test)")
    parser.add_argument("--fresh", type=int, default=1_000, help="captchas drawn afterwards and read with solve")
    parser.add_argument("--style", action="append", choices=sorted(BY_NAME), help="only these styles (default: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", help="keep the captchas and models here (default: a temporary folder)")
    parser.add_argument("--no-readme", action="store_true", help="print the results only")
    args = parser.parse_args(argv)
    styles = [BY_NAME[name] for name in args.style] if args.style else list(STYLES)
    command = f"python -m benchmarks.third_party --count {args.count} --fresh {args.fresh} --seed {args.seed}" + "".join(
        f" --style {s}" for s in args.style or ())
    with tempfile.TemporaryDirectory() as scratch:
        workdir = Path(args.workdir) if args.workdir else Path(scratch)
        results = []
        for style in styles:
            print(f"{style.name}: drawing {args.count} + {args.fresh} captchas, training, solving", flush=True)
            results.append(measure_style(style, args.count, args.fresh, args.seed, workdir))
            print(json.dumps({k: results[-1][k] for k in ("fresh", "test", "training_seconds", "bar")}), flush=True)
    print(readme_section(results, command))
    if not args.no_readme:
        RESULTS.write_text(json.dumps({"command": command, "results": results}, indent=2) + "\n", encoding="utf-8")
        write_between_markers(README, MARKERS, readme_section(results, command))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
