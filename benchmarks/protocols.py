"""The seed's leaky protocol beside the honest one, on the same data, written into the README.

Run: python -m benchmarks.protocols [--difficulty hard] [--count 600]
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from captcha_core.config import DEFAULT  # noqa: E402
from captcha_core.data import generate_dataset  # noqa: E402
from captcha_core.evaluation import evaluate  # noqa: E402
from captcha_core.training import train  # noqa: E402

README = ROOT / "README.md"
RESULTS = ROOT / "benchmarks" / "results" / "protocols.json"
MARKERS = ("<!-- honest:start -->", "<!-- honest:end -->")
# Fresh captchas come from a seed no training run uses, so neither protocol has seen them.
FRESH_SEED_OFFSET = 10_000


def compare(difficulty: str, count: int, fresh: int) -> dict:
    """Train the same model with both protocols and score each on its own test split and on fresh captchas."""
    config = DEFAULT.with_(difficulty=difficulty, generate_count=count)
    dataset = generate_dataset(config)
    fresh_data = generate_dataset(config.with_(seed=config.seed + FRESH_SEED_OFFSET, generate_count=fresh))
    rows = {}
    for name, leaky in (("honest", False), ("leaky-seed", True)):
        start = time.perf_counter()
        result = train(dataset, config, leaky_seed_protocol=leaky)
        on_fresh = evaluate(result.classifier, fresh_data, np.arange(len(fresh_data.letters)), np.arange(len(fresh_data.texts)))
        test_rows = result.split.test
        train_pixels = {im.tobytes() for im in dataset.letters.images[result.split.train]}
        leaked = sum(im.tobytes() in train_pixels for im in dataset.letters.images[test_rows])
        rows[name] = {
            "reported_letter_accuracy": result.report.letter_accuracy,
            "fresh_letter_accuracy": on_fresh.letter_accuracy,
            "fresh_captcha_accuracy": on_fresh.captcha_accuracy,
            "test_letters": len(test_rows),
            "test_letters_also_in_training": leaked,
            "seconds": time.perf_counter() - start,
        }
    return {"difficulty": difficulty, "captchas": count, "fresh_captchas": fresh, "letters": len(dataset.letters), "protocols": rows}


def as_markdown(summary: dict) -> str:
    """The comparison as a README table."""
    lines = [
        f"Measured by `python -m benchmarks.protocols` on {summary['captchas']} built-in {summary['difficulty']} captchas "
        f"({summary['letters']} letters), seed CNN with defaults; \"fresh\" is {summary['fresh_captchas']} new captchas neither model saw.",
        "",
        "| protocol | test letters that are copies of training letters | reported letter accuracy | letter accuracy on fresh captchas | whole-captcha accuracy on fresh captchas |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, row in summary["protocols"].items():
        lines.append(
            f"| {name} | {row['test_letters_also_in_training']} of {row['test_letters']} | {row['reported_letter_accuracy']:.2%} "
            f"| {row['fresh_letter_accuracy']:.2%} | {row['fresh_captcha_accuracy']:.2%} |"
        )
    honest, leaky = summary["protocols"]["honest"], summary["protocols"]["leaky-seed"]
    gap = leaky["reported_letter_accuracy"] - leaky["fresh_letter_accuracy"]
    off = honest["reported_letter_accuracy"] - honest["fresh_letter_accuracy"]
    honest_gap = f"{points(abs(off))} {'above' if off > 0 else 'below'}" if round(off * 100, 2) else "the same as"
    lines += ["", f"The leaky protocol reports a letter accuracy {points(gap)} above what its model reads on fresh "
              f"captchas; the honest one reports {honest_gap} what its model reads."]
    return "\n".join(lines)


def points(share: float) -> str:
    """A difference of two shares in percentage points: '22.49 points', not '+22.49%' (which reads as relative)."""
    return f"{share * 100:.2f} percentage points"


def write_between_markers(path: Path, markers: tuple[str, str], body: str) -> None:
    """Replace the text between two markers in a file, leaving the rest untouched."""
    text = path.read_text(encoding="utf-8")
    start, end = markers
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.S)
    path.write_text(pattern.sub(lambda _: f"{start}\n{body}\n{end}", text), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # Hard captchas make a small CNN overfit, which is when copies in the test split flatter it most.
    parser.add_argument("--difficulty", default="hard")
    parser.add_argument("--count", type=int, default=DEFAULT.generate_count)
    parser.add_argument("--fresh", type=int, default=300)
    parser.add_argument("--no-readme", action="store_true", help="print the results only")
    args = parser.parse_args(argv)
    summary = compare(args.difficulty, args.count, args.fresh)
    table = as_markdown(summary)
    if not args.no_readme:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(summary, indent=2))
        write_between_markers(README, MARKERS, table)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
