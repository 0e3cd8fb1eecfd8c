"""Turning measured figures into the targets verdict, a Markdown table, JSON and the README section."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .common import TARGETS

README_MARKERS = ("<!-- bench:start -->", "<!-- bench:end -->")


def check_targets(runs: list[dict], dashboard: dict | None) -> list[dict]:
    """Each target with the measured value, whether it is met, and by how much; speed targets on the built-in data."""
    builtin = runs[0]
    product, seed, solving = builtin["product"], builtin["seed"], builtin["solving"]
    training = product["seconds"]["training"]
    speedup = seed["seconds"]["training"] / training
    # Means over the repeated seeds when there are some: one seed's 1,000 captchas move by tenths of a point.
    mine, theirs = product.get("fresh_mean", product["fresh"]), seed.get("fresh_mean", seed["fresh"])
    seeds = len(product.get("fresh_runs", [])) or 1
    at_least_as_accurate = (
        mine["letter_accuracy"] >= theirs["letter_accuracy"] and mine["captcha_accuracy"] >= theirs["captcha_accuracy"]
    )
    # Memory is a limit for any data a class brings, so the largest data set measured decides it.
    peak = max((r["product"]["training_peak_rss_mb"] or r["product"]["process_peak_rss_mb"], r["label"]) for r in runs)
    rows = [
        _at_most("default training (10 epochs, ~2,090 letters)", training, TARGETS["training_seconds"], "s"),
        _at_least("training speed-up vs the seed recipe", speedup, TARGETS["training_speedup_vs_seed"], "x"),
        {
            "target": "accuracy on fresh captchas >= the seed recipe's" + (f" (mean of {seeds} seeds)" if seeds > 1 else ""),
            "value": f"{mine['letter_accuracy']:.2%} / {mine['captcha_accuracy']:.2%} vs "
            f"{theirs['letter_accuracy']:.2%} / {theirs['captcha_accuracy']:.2%} (letters / captchas)",
            "met": at_least_as_accurate,
            "margin": f"{(mine['captcha_accuracy'] - theirs['captcha_accuracy']) * 100:+.2f} points (captchas)",
        },
        _at_most("solve one 4-letter captcha, p50", solving["single"]["p50_ms"], TARGETS["solve_p50_ms"], "ms"),
        _at_least("batch solving", solving["batch"]["captchas_per_second"], TARGETS["batch_captchas_per_second"], "captchas/s"),
        _at_most(f"peak RSS during training ({peak[1]})", peak[0], TARGETS["training_peak_rss_mb"], "MB"),
    ]
    for run in runs[1:]:
        rows += real_data_targets(run)
    start = (dashboard or {}).get("start", {})
    if "ratio" in start:
        rows.append(_at_most("dashboard start / hello world", start["ratio"], TARGETS["dashboard_start_ratio"], "x"))
    else:
        rows.append(_missing("dashboard start / hello world", start.get("missing", "not measured")))
    playground = (dashboard or {}).get("playground", {})
    if "round_trip" in playground:
        rows.append(_at_most("playground round trip, p50", playground["round_trip"]["p50_ms"], TARGETS["playground_round_trip_ms"], "ms"))
    else:
        rows.append(_missing("playground round trip", playground.get("missing", "not measured")))
    return rows


def real_data_targets(run: dict) -> list[dict]:
    """A folder's held-out captchas solved by the trained model, and how long the training took."""
    batch, label = run["solving"]["batch"], run["label"]
    return [
        _share_at_least(f"{label}: held-out captchas solved", batch["captcha_accuracy"], TARGETS["real_captcha_accuracy"]),
        _share_at_least(f"{label}: held-out characters solved", batch["character_accuracy"], TARGETS["real_character_accuracy"]),
        _at_most(f"{label}: training", run["product"]["seconds"]["training"], TARGETS["real_training_seconds"], "s"),
    ]


def _share_at_least(name: str, value: float, limit: float) -> dict:
    """A percentage target, with its margin in percentage points."""
    met = value >= limit
    return {
        "target": f"{name} >= {limit:.1%}",
        "value": f"{value:.2%}",
        "met": met,
        "margin": f"{(value - limit) * 100:+.2f} points",
    }


def _num(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def _at_most(name: str, value: float, limit: float, unit: str) -> dict:
    met = value <= limit
    how = f"{(limit - value) / limit:.0%} under" if met else f"{(value - limit) / limit:.0%} over"
    return {"target": f"{name} <= {limit:g} {unit}", "value": f"{_num(value)} {unit}", "met": met, "margin": how}


def _at_least(name: str, value: float, limit: float, unit: str) -> dict:
    met = value >= limit
    how = f"{(value - limit) / limit:.0%} over" if met else f"{(limit - value) / limit:.0%} short"
    return {"target": f"{name} >= {limit:g} {unit}", "value": f"{_num(value)} {unit}", "met": met, "margin": how}


def _missing(name: str, why: str) -> dict:
    return {"target": name, "value": "missing", "met": None, "margin": why}


def _s(x: float) -> str:
    return f"{x:.2f} s"


def _pct(x) -> str:
    return "–" if x is None else f"{x:.2%}"


def training_cell(run: dict) -> str:
    """Training seconds of both recipes and their ratio, saying when they are medians of repeated runs."""
    product, seed = run["product"]["seconds"], run["seed"]["seconds"]
    cell = f"{_s(product['training'])} / {_s(seed['training'])} ({run['ratios']['training_speedup']:.2f}x)"
    runs = product.get("training_runs")
    if runs and len(runs) > 1:
        each = lambda xs: ", ".join(f"{x:.1f}" for x in xs)  # noqa: E731
        cell += f"; medians of {len(runs)} alternating runs: product {each(runs)} s, seed {each(seed['training_runs'])} s"
    return cell


def fresh_runs_cell(run: dict) -> str:
    """Whole-captcha accuracy on fresh captchas for each repeated seed, and the means, for both recipes."""
    product, seed = run["product"], run["seed"]
    if len(product.get("fresh_runs", [])) < 2:
        return "–"
    each = lambda rs: ", ".join(f"{r['captcha_accuracy']:.1%}" for r in rs)  # noqa: E731
    return (
        f"mean {product['fresh_mean']['captcha_accuracy']:.2%} / {seed['fresh_mean']['captcha_accuracy']:.2%} "
        f"(seeds 0-{len(product['fresh_runs']) - 1}: {each(product['fresh_runs'])} / {each(seed['fresh_runs'])})"
    )


def data_table(runs: list[dict]) -> list[str]:
    """One column per data set, one row per figure, product and seed recipe side by side."""
    head = ["figure"] + [r["label"] for r in runs]
    rows = [
        ("captchas / letters / classes", lambda r: f"{r['product']['n_captchas']:,} / {r['product']['n_letters']:,} / {r['product']['n_classes']}"),
        ("training letters after bootstrap: product / seed", lambda r: f"{r['product']['train_letters_after_resampling']:,} / {r['seed']['n_train']:,}"),
        ("data preparation", lambda r: _s(r["product"]["seconds"]["data_preparation"])),
        ("segmentation", lambda r: _s(r["product"]["seconds"]["segmentation"])),
        ("training: product / seed (speed-up)", training_cell),
        ("evaluation", lambda r: _s(r["product"]["seconds"]["evaluation"])),
        ("held-out test: letters / captchas (product)", lambda r: f"{_pct(r['product']['test']['letter_accuracy'])} / {_pct(r['product']['test']['captcha_accuracy'])}"),
        ("held-out (folder) or fresh (built-in) captchas read by `solve`: characters / captchas", lambda r: f"{_pct(r['solving']['batch']['character_accuracy'])} / {_pct(r['solving']['batch']['captcha_accuracy'])}"),
        ("seed's own (leaky) test: letters", lambda r: _pct(r["seed"]["leaky_test_letter_accuracy"])),
        ("fresh captchas: letters / captchas, product", lambda r: f"{_pct(r['product']['fresh']['letter_accuracy'])} / {_pct(r['product']['fresh']['captcha_accuracy'])} (n={r['product']['fresh']['n_captchas']:,})"),
        ("fresh captchas: letters / captchas, seed", lambda r: f"{_pct(r['seed']['fresh']['letter_accuracy'])} / {_pct(r['seed']['fresh']['captcha_accuracy'])}"),
        ("fresh captchas over the repeated seeds, captchas: product / seed", fresh_runs_cell),
        ("solve 1 captcha p50 / p95: product", lambda r: f"{r['solving']['single']['p50_ms']:.1f} / {r['solving']['single']['p95_ms']:.1f} ms ({r['solving']['single']['runs']} runs)"),
        ("solve 1 captcha p50 / p95: seed (speed-up)", lambda r: f"{r['seed']['solve']['p50_ms']:.0f} / {r['seed']['solve']['p95_ms']:.0f} ms ({r['ratios']['solve_speedup']:.1f}x)"),
        ("batch solve_many", lambda r: f"{r['solving']['batch']['captchas_per_second']:,.0f} captchas/s ({r['solving']['batch']['captchas']:,} captchas; {r['solving']['batch']['captchas_per_second_with_reading']:,.0f}/s with file reading)"),
        ("peak RSS: training / whole process, product", lambda r: f"{r['product']['training_peak_rss_mb']:.0f} / {r['product']['process_peak_rss_mb']:.0f} MB"),
        ("peak RSS: seed process", lambda r: f"{r['seed']['process_peak_rss_mb']:.0f} MB"),
    ]
    lines = ["| " + " | ".join(head) + " |", "| " + " | ".join("---" for _ in head) + " |"]
    for name, cell in rows:
        lines.append("| " + " | ".join([name] + [_safe(cell, r) for r in runs]) + " |")
    return lines


def _safe(cell, run) -> str:
    try:
        return cell(run)
    except (KeyError, TypeError, ZeroDivisionError):
        return "–"


def dashboard_lines(dashboard: dict | None) -> list[str]:
    """The dashboard figures as bullet lines."""
    if not dashboard:
        return ["- Dashboard: not measured in this run."]
    start, playground = dashboard["start"], dashboard["playground"]
    lines = []
    if "ratio" in start:
        lines.append(
            f"- Dashboard start to the Home page's title in chromium: {start['app_seconds']:.2f} s, hello-world Streamlit "
            f"{start['hello_world_seconds']:.2f} s, ratio {start['ratio']:.2f} (median of {len(start['app_runs'])})."
        )
    else:
        lines.append(f"- Dashboard start: missing ({start.get('missing')}).")
    if "round_trip" in playground:
        trip = playground["round_trip"]
        lines.append(f"- Playground round trip ({playground['widget']}, click to answer shown): p50 {trip['p50_ms']:.0f} ms, p95 {trip['p95_ms']:.0f} ms ({trip['runs']} runs).")
    else:
        lines.append(f"- Playground round trip: missing ({playground.get('missing')}).")
    return lines


def hostile_lines(hostile: dict | None) -> list[str]:
    """The bomb refusals as bullet lines."""
    if not hostile:
        return []
    image, archive = hostile["image_bomb"], hostile["zip_bomb"]
    return [
        f"- Image bomb ({image['file_bytes']} bytes claiming {image['claims']} pixels): refused in p50 {image['p50_ms']:.3f} ms, "
        f"p95 {image['p95_ms']:.3f} ms ({image['runs']} runs), peak memory +{image['peak_rss_growth_mb']:.1f} MB.",
        f"- Zip bomb ({archive['file_bytes'] / 1024**2:.1f} MB inflating to {archive['inflates_to_bytes'] / 1024**3:.0f} GB): refused in "
        f"p50 {archive['p50_ms']:.3f} ms, p95 {archive['p95_ms']:.3f} ms, peak memory +{archive['peak_rss_growth_mb']:.1f} MB.",
    ]


def target_lines(targets: list[dict]) -> list[str]:
    """The targets as a Markdown table."""
    lines = ["| target | measured | met | by |", "| --- | --- | --- | --- |"]
    for t in targets:
        met = "n/a" if t["met"] is None else ("yes" if t["met"] else "**no**")
        lines.append(f"| {t['target']} | {t['value']} | {met} | {t['margin']} |")
    return lines


def machine_line(machine: dict) -> str:
    """One sentence saying what the figures were measured on."""
    load = " / ".join(f"{x:.2f}" for x in machine["load_average_start"])
    end = " / ".join(f"{x:.2f}" for x in machine.get("load_average_end", []))
    return (
        f"Measured {machine['started']} on {machine['cpu']}, {machine['cores']} cores, {machine['ram_gb']} GB RAM; "
        f"Python {machine['python']}, TensorFlow {machine['tensorflow']}, Keras {machine['keras']}. "
        f"Load average (1/5/15 min) at start {load}" + (f", at end {end}" if end else "") + " — the cores were shared, so times are upper bounds."
    )


def markdown(results: dict) -> str:
    """The whole README section."""
    parts = [
        f"Command: `{results['command']}`. {machine_line(results['machine'])}",
        "",
        *data_table(results["datasets"]),
        "",
        *dashboard_lines(results.get("dashboard")),
        *hostile_lines(results.get("hostile")),
        "",
        "Targets (speed and accuracy on the built-in data, memory on the largest data set, real-captcha accuracy on each folder):",
        "",
        *target_lines(results["targets"]),
        "",
        "The seed recipe (`benchmarks/seed_recipe.py`) is the blog's code path: per-file `cv2.imread`, bootstrap before the "
        "split, one-hot labels, batch 32, numpy arrays to `fit`, `model.predict` once per letter. Its own test split shares "
        "bootstrapped copies with training, so its fresh-captcha figures are the ones to compare. Two departures from the "
        "blog, both needed for it to train at all: it adds the `Flatten` the blog left out, and it really shuffles before "
        "slicing (the blog's permutation was the identity, so its slices would each hold only a few classes).",
    ]
    return "\n".join(parts)


def update_readme(readme: Path, section: str) -> None:
    """Replace only the text between the bench markers, re-reading the file just before writing it."""
    start, end = README_MARKERS
    text = readme.read_text(encoding="utf-8") if readme.exists() else ""
    if start not in text or end not in text:
        text = text.rstrip("\n") + f"\n\n{start}\n{end}\n"
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    new = f"{head}{start}\n{section}\n{end}{tail}"
    # Others edit the README too: write a sibling file and rename it, so nobody ever reads half of it.
    fd, tmp = tempfile.mkstemp(prefix=".README.", dir=readme.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(new)
    os.chmod(tmp, readme.stat().st_mode & 0o777 if readme.exists() else 0o644)
    os.replace(tmp, readme)
