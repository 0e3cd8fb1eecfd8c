"""How captchas get their text: a label list (CSV or text), a sidecar `<stem>.txt`, or the file name.

Public captcha sets label their images in several ways. The file name is the usual one (`2b827.png`,
`2b827_3.png`), some add a counter in front (`0001_2b827.png`), browsers add ` (1)` to a second download,
and some sets ship one `labels.csv` for all their images. Names that are only counters (`img_0001.png`,
`0001.png`) hold no text at all: training on them gives a model that "reads" the counter, so they are
refused with a message that says how to label the images.
"""
from __future__ import annotations

import csv
import io
import re
from pathlib import PurePosixPath

LABEL_HOW = ("name each image by its text (abcd.png, or abcd_2.png for a second one), put the text in a "
             "sidecar abcd.txt beside abcd.png, or list 'file,text' lines in one labels.csv")
LIST_SUFFIXES = (".csv", ".tsv", ".txt")
# A label list is taken as one when at least this share of its rows name an image of the set.
LIST_MIN_MATCHED = 0.5
# Delimiters tried, in order, on a label list's rows; None splits on runs of spaces.
LIST_DELIMITERS = (",", "\t", ";", None)
# " (3)": the suffix a browser gives a file downloaded a second time.
DOWNLOAD_COPY = re.compile(r" \(\d+\)$")
# A set this large whose labels are distinct whole numbers running without a gap is numbered, not labelled:
# the texts of 12 random 4-digit captchas practically never do (about 5 in 10^36).
COUNTER_MIN_IMAGES = 12


def stem_label(stem: str) -> str:
    """A captcha's label from its file stem: up to the first underscore, without a download copy's ' (3)'."""
    return DOWNLOAD_COPY.sub("", stem).split("_", 1)[0]


def is_counter(values: list[str]) -> bool:
    """True when the values are distinct whole numbers that run without a gap, as a file counter does."""
    if len(values) < COUNTER_MIN_IMAGES or not all(v.isdigit() for v in values) or len(set(values)) != len(values):
        return False
    numbers = sorted(int(v) for v in values)
    return numbers[-1] - numbers[0] + 1 == len(numbers)


def labels_from_names(paths: list[str]) -> dict[str, str]:
    """Each image's label from its file name; a counter in front of the text (`0001_2b827.png`) is skipped."""
    stems = [DOWNLOAD_COPY.sub("", PurePosixPath(p).stem) for p in paths]
    fields = [stem.split("_") for stem in stems]
    if all(len(f) > 1 and f[1] for f in fields) and is_counter([f[0] for f in fields]):
        return {p: f[1] for p, f in zip(paths, fields)}
    return {p: f[0] for p, f in zip(paths, fields)}


def list_rows(data: bytes) -> list[list[str]]:
    """The rows of a label list, split by whichever delimiter gives most of them two fields or more."""
    lines = [line for line in data.decode("utf-8-sig", "replace").splitlines() if line.strip()]
    best: list[list[str]] = []
    for delimiter in LIST_DELIMITERS:
        if delimiter is None:
            rows = [line.split(None, 1) for line in lines]
        else:
            rows = list(csv.reader(io.StringIO("\n".join(lines)), delimiter=delimiter))
        rows = [[field.strip() for field in row] for row in rows if len(row) >= 2]
        if len(rows) > len(best):
            best = rows
    return best


def image_lookup(image_paths: list[str]) -> dict[str, str]:
    """Every way a label list may name an image (its path, its file name, its stem), where that way is unique."""
    seen: dict[str, list[str]] = {}
    for path in image_paths:
        pure = PurePosixPath(path)
        for key in {path, pure.name, pure.stem}:
            seen.setdefault(key, []).append(path)
    return {key: paths[0] for key, paths in seen.items() if len(paths) == 1}


def find_label_list(files: list[tuple[str, bytes]], image_paths: list[str]) -> tuple[str | None, dict[str, str]]:
    """The label list among `files` (a .csv, .tsv or .txt that is no image's sidecar) that names the most images,
    and its image -> text mapping; (None, {}) when there is none."""
    lookup = image_lookup(image_paths)
    sidecar_stems = {str(PurePosixPath(p).with_suffix("")) for p in image_paths}
    found: tuple[str | None, dict[str, str]] = (None, {})
    for path, data in files:
        if not path.lower().endswith(LIST_SUFFIXES) or str(PurePosixPath(path).with_suffix("")) in sidecar_stems:
            continue
        rows = list_rows(data)
        mapping = {}
        for name, text, *_ in rows:
            image = lookup.get(name) or lookup.get(PurePosixPath(name).name)
            if image is not None and text:
                mapping[image] = text
        if rows and len(mapping) >= LIST_MIN_MATCHED * len(rows) and len(mapping) > len(found[1]):
            found = (path, mapping)
    return found


def label_problem(labels: list[str], source: str) -> str | None:
    """Why these captcha labels are not the captchas' text (all the same, or a counter), or None."""
    where = source or "the data"
    distinct = set(labels)
    if len(labels) >= COUNTER_MIN_IMAGES and len(distinct) == 1:
        return (f"{where}: all {len(labels):,} captchas would get the same label {next(iter(distinct))!r} from their "
                f"file names, so the names do not hold their text. To label them, {LABEL_HOW}")
    if is_counter(labels):
        low, high = min(labels, key=int), max(labels, key=int)
        return (f"{where}: the file names count the images ({low} to {high}) instead of holding their text. "
                f"To label them, {LABEL_HOW}")
    return None
