"""Child process: the product's pipeline on one data set, stage by stage, with the files the other measurements need."""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import numpy as np

from captcha_core.config import DEFAULT
from captcha_core.data import from_captchas, read_folder
from captcha_core.labels import stem_label
from captcha_core.generator import generate_captchas
from captcha_core.imageio import IMAGE_SUFFIXES, InputRejected, decode_image
from captcha_core.persistence import save_training
from captcha_core.training import train

from .common import FRESH_SEED_OFFSET, read_status_kb, reset_peak_rss, write_json


def generated_items(config, count: int, seed: int) -> list[tuple[str, np.ndarray]]:
    """Labelled captchas from the built-in generator."""
    return generate_captchas(count, length=config.captcha_length, alphabet=config.alphabet, difficulty=config.difficulty, seed=seed)


def folder_items(folder: Path, config, limit: int | None, seed: int) -> tuple[list[tuple[str, np.ndarray]], list[str]]:
    """Read and decode a folder of captchas named by their text; a seeded sample of `limit` of them if given."""
    files, _ = read_folder(folder, config)
    files = [(p, data) for p, data in files if p.lower().endswith(IMAGE_SUFFIXES) and "/" not in p]
    if not files:
        raise SystemExit(f"{folder}: no captcha images at the top of the folder (letter folders are not benchmarked)")
    if limit and len(files) > limit:
        keep = np.sort(np.random.default_rng(seed).choice(len(files), limit, replace=False))
        files = [files[i] for i in keep]
    items, names = [], []
    for p, data in files:
        try:
            items.append((stem_label(Path(p).stem), decode_image(data, p, config.limits)))
            names.append(str(folder / p))
        except InputRejected:
            continue
    return items, names


def letter_scores(predicted: np.ndarray, labels: np.ndarray, groups: np.ndarray, ok: np.ndarray, texts: list[str]) -> dict:
    """Letter accuracy over the cut letters, and whole-captcha accuracy where an uncut captcha counts as wrong."""
    right = predicted == labels
    solved = [bool(ok[i]) and len(texts[i]) == int((groups == i).sum()) and bool(right[groups == i].all()) for i in range(len(texts))]
    return {
        "letter_accuracy": float(right.mean()) if len(right) else 0.0,
        "captcha_accuracy": float(np.mean(solved)) if solved else 0.0,
        "n_letters": int(len(labels)),
        "n_captchas": len(texts),
    }


def save_fresh(path: Path, dataset, captcha_rows: np.ndarray) -> None:
    """Store the letters of the given captchas (renumbered 0..n-1) for the seed recipe's process."""
    letters = dataset.letters
    mask = np.isin(letters.groups, captcha_rows)
    renumber = {int(c): i for i, c in enumerate(captcha_rows)}
    np.savez_compressed(
        path,
        images=letters.images[mask],
        labels=letters.labels[mask],
        groups=np.array([renumber[int(g)] for g in letters.groups[mask]], np.int64),
        ok=dataset.segment_ok[captcha_rows],
        texts=np.array([dataset.texts[i] for i in captcha_rows], dtype=str),
    )


def export_letters(folder: Path, images: np.ndarray, labels: np.ndarray) -> None:
    """Write letters as one PNG per file in one folder per class: the layout the seed's loader walks."""
    for i, (image, label) in enumerate(zip(images, labels)):
        target = folder / str(label)
        target.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(target / f"{i:06d}.png"), image)


def main(argv=None) -> None:
    """Run the product on built-in data or a folder and write the figures as JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--data")
    parser.add_argument("--count", type=int)
    parser.add_argument("--fresh-count", type=int)
    parser.add_argument("--limit", type=int)
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--test-size", type=float)
    parser.add_argument("--seed", type=int, help="seed for the data, split and weights (default: the configuration's)")
    parser.add_argument("--work", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    config = DEFAULT.with_(epochs=args.epochs, test_size=args.test_size, seed=args.seed)
    seconds = {}

    # TensorFlow is imported before the clock starts: a running dashboard has it loaded already.
    start = time.perf_counter()
    from captcha_core.models import configure_tensorflow

    configure_tensorflow()
    import keras  # noqa: F401

    seconds["tensorflow_import"] = time.perf_counter() - start

    start = time.perf_counter()
    if args.data:
        items, names = folder_items(Path(args.data), config, args.limit, config.seed)
        source = str(args.data)
    else:
        items = generated_items(config, args.count, config.seed)
        names = None
        source = f"generated: {len(items)} {config.difficulty} captchas, seed {config.seed}"
    seconds["data_preparation"] = time.perf_counter() - start

    start = time.perf_counter()
    dataset = from_captchas(items, names=names, config=config, source=source)
    seconds["segmentation"] = time.perf_counter() - start

    # Only training's own peak is wanted, not the data's: the kernel lets a process restart its high-water mark.
    peak_reset = reset_peak_rss()
    result = train(dataset, config)
    training_peak_kb = read_status_kb("VmHWM") if peak_reset else None
    seconds["split_and_resample"] = result.seconds["split_and_resample"]
    seconds["training"] = result.seconds["training"]
    seconds["evaluation"] = result.seconds["evaluation"]

    model_dir = work / "model"
    save_training(result, dataset, model_dir, overwrite=True)

    fresh_dir = None
    if args.data:
        # A folder's own held-out captchas are the fresh set: the seed recipe is trained without them.
        fresh = dataset
        fresh_rows = result.split.test_captchas
        seed_letters = ~np.isin(dataset.letters.groups, fresh_rows)
        solve_files = [dataset.names[i] for i in fresh_rows]
    else:
        fresh_dir = work / "fresh"
        fresh_dir.mkdir(exist_ok=True)
        fresh_items = generated_items(config, args.fresh_count, config.seed + FRESH_SEED_OFFSET)
        solve_files = []
        for i, (text, image) in enumerate(fresh_items):
            path = fresh_dir / f"{text}_{i:05d}.png"
            cv2.imwrite(str(path), image)
            solve_files.append(str(path))
        fresh = from_captchas(fresh_items, config=config)
        fresh_rows = np.arange(len(fresh_items))
        seed_letters = np.ones(len(dataset.letters), bool)
    save_fresh(work / "fresh.npz", fresh, fresh_rows)
    export_letters(work / "letters", dataset.letters.images[seed_letters], dataset.letters.labels[seed_letters])

    mask = np.isin(fresh.letters.groups, fresh_rows)
    renumber = {int(c): i for i, c in enumerate(fresh_rows)}
    groups = np.array([renumber[int(g)] for g in fresh.letters.groups[mask]], np.int64)
    predicted = result.classifier.predict(fresh.letters.images[mask])
    fresh_scores = letter_scores(predicted, fresh.letters.labels[mask], groups, fresh.segment_ok[fresh_rows], [fresh.texts[i] for i in fresh_rows])

    report = result.report
    write_json(
        Path(args.out),
        {
            "source": source,
            "n_captchas": len(dataset.texts),
            "n_letters": len(dataset.letters),
            "n_classes": len(labels),
            "segmentation_yield": dataset.segmentation_yield,
            "train_letters_after_resampling": int(len(result.resampled.index)),
            "split_sizes": result.split.sizes(),
            "config": {"epochs": config.epochs, "batch_size": config.batch_size, "learning_rate": config.learning_rate, "test_size": config.test_size},
            "seconds": seconds,
            "test": {"letter_accuracy": report.letter_accuracy, "captcha_accuracy": report.captcha_accuracy, "n_letters": report.n_letters, "n_captchas": report.n_captchas},
            "fresh": fresh_scores,
            "training_peak_rss_mb": training_peak_kb / 1024.0 if training_peak_kb else None,
            "model_dir": str(model_dir),
            "fresh_dir": str(fresh_dir) if fresh_dir else None,
            "solve_files": solve_files,
        },
    )


if __name__ == "__main__":
    main()
