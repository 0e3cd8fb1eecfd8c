"""How captchas get their text: a label list (CSV or text), a sidecar `<stem>.txt`, or the file name.

Public captcha sets label their images in several ways. The file name is the usual one (`2b827.png`,
`2b827_3.png`, `2b827-3.png`, `2b827.3.png`), some add a counter in front (`0001_2b827.png`), browsers add
` (1)` to a second download,
and some sets ship a `labels.csv` for their images. Names that are only counters (`img_0001.png`, `0001.png`,
`img0001.png`) hold no text at all: training on them gives a model that "reads" the counter, so they are
refused with a message that says how to label the images.
"""
from __future__ import annotations

import codecs
import csv
import io
import re
from collections import defaultdict
from pathlib import PurePosixPath

LABEL_HOW = ("name each image by its text (abcd.png, or abcd_2.png for a second one), put the text in a "
             "sidecar abcd.txt beside abcd.png, or list 'file,text' lines in a labels.csv")
LIST_SUFFIXES = (".csv", ".tsv", ".txt")
# A label list is used when at least this share of its rows, or of the images, are matched to each other.
LIST_MIN_MATCHED = 0.5
# ...and when at least this share of the texts it gives are different: a column of "train"/"test" or of one
# source name is not the captchas' text, which is nearly always one of a kind.
LIST_MIN_DISTINCT = 0.5
# Delimiters tried, in order, on a label list's rows; None splits on runs of spaces.
LIST_DELIMITERS = (",", "\t", ";", None)
# What ends a captcha's text in its file name, before a copy number or after a counter: no captcha alphabet we know
# uses these, and sets number their repeated texts with each of them (abcd_2, abcd-2, abcd.2).
NAME_SEPARATORS = re.compile(r"[_.-]")
# " (3)": the suffix a browser gives a file downloaded a second time.
DOWNLOAD_COPY = re.compile(r" \(\d+\)$")
# A counter with a word in front and no separator: img0001, captcha12.
WORD_AND_NUMBER = re.compile(r"^([A-Za-z]+)(\d+)$")
# A folder of at least this many images whose labels are distinct whole numbers filling most of their range is
# numbered, not labelled: the texts of random digit captchas repeat (birthdays) or leave most of the range empty
# long before they fill it. COUNTER_MIN_FILL leaves room for files removed from a counted set.
COUNTER_MIN_IMAGES = 12
COUNTER_MIN_FILL = 0.9


def stem_label(stem: str) -> str:
    """A captcha's label from its file stem: up to the first `_`, `-` or `.`, without a download copy's ' (3)'."""
    return NAME_SEPARATORS.split(without_copy_suffix(stem), maxsplit=1)[0]


def without_copy_suffix(stem: str) -> str:
    return DOWNLOAD_COPY.sub("", stem)


def folder_of(path: str) -> str:
    return str(PurePosixPath(path).parent)


def looks_counted(values: list[str]) -> bool:
    """True when the values are distinct whole numbers that fill most of their range, as a file counter does."""
    if len(values) < COUNTER_MIN_IMAGES or not all(v.isdigit() for v in values) or len(set(values)) != len(values):
        return False
    numbers = sorted(int(v) for v in values)
    return len(numbers) >= COUNTER_MIN_FILL * (numbers[-1] - numbers[0] + 1)


def counted_in_most_folders(paths: list[str], values: list[str]) -> bool:
    """True when the folders holding most of the images count them: counters restart in train/ and test/."""
    by_folder: dict[str, list[str]] = defaultdict(list)
    for path, value in zip(paths, values):
        by_folder[folder_of(path)].append(value)
    counted = sum(len(v) for v in by_folder.values() if looks_counted(v))
    return counted * 2 > len(values)


def readable_text(text: str, known: set[str], lengths=()) -> bool:
    """Whether a model knowing the characters `known` and reading captchas of `lengths` (any, when empty) could
    read `text` right."""
    return bool(text) and set(text) <= known and (not lengths or len(text) in lengths)


def labels_from_names(paths: list[str]) -> dict[str, str]:
    """Each image's label from its file name; a counter in front of the text (`0001_2b827.png`) is skipped."""
    fields = [NAME_SEPARATORS.split(without_copy_suffix(PurePosixPath(p).stem)) for p in paths]
    if paths and all(len(f) > 1 and f[1] for f in fields) and counted_in_most_folders(paths, [f[0] for f in fields]):
        return {p: f[1] for p, f in zip(paths, fields)}
    return {p: f[0] for p, f in zip(paths, fields)}


def list_rows(data: bytes) -> list[list[str]]:
    """The rows of a label list, split by whichever delimiter gives most of them two fields or more."""
    # Excel's "Unicode Text" is UTF-16 with a byte-order mark; everything else is taken as UTF-8.
    utf16 = data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
    text = data.decode("utf-16" if utf16 else "utf-8-sig", "replace")
    lines = [line for line in text.splitlines() if line.strip()]
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


def image_lookup(image_paths: list[str], folder: str) -> dict[str, str]:
    """Every way a label list in `folder` may name an image (its path from the list's folder or from the top,
    its file name, its stem), where that way is unique."""
    seen: dict[str, list[str]] = defaultdict(list)
    for path in image_paths:
        pure = PurePosixPath(path)
        keys = {path, pure.name, pure.stem}
        if folder != "." and path.startswith(folder + "/"):
            keys.add(path[len(folder) + 1:])
        for key in keys:
            seen[key].append(path)
    return {key: paths[0] for key, paths in seen.items() if len(paths) == 1}


def read_label_list(data: bytes, lookup: dict[str, str]) -> tuple[dict[str, str], int]:
    """A label list's image -> text mapping, and how many rows it has."""
    rows = list_rows(data)
    mapping = {}
    for row in rows:
        # The text is the field after the image's name (file,text and id,file,text), or before it if the name
        # comes last (text,file).
        for at, name in enumerate(row):
            image = lookup.get(name) or lookup.get(PurePosixPath(name).name)
            if image is not None:
                text = row[at + 1] if at + 1 < len(row) else row[at - 1]
                if text:
                    mapping[image] = text
                break
    return mapping, len(rows)


def find_label_lists(files: list[tuple[str, bytes]], image_paths: list[str]) -> tuple[list[str], dict[str, str]]:
    """The label lists among `files` (a .csv, .tsv or .txt that is no image's sidecar and whose rows name images
    with texts that differ), merged, each read from its own folder: (their paths, image -> text)."""
    sidecar_stems = {str(PurePosixPath(p).with_suffix("")) for p in image_paths}
    names, merged = [], {}
    for path, data in files:
        if not path.lower().endswith(LIST_SUFFIXES) or str(PurePosixPath(path).with_suffix("")) in sidecar_stems:
            continue
        folder = folder_of(path)
        under = [p for p in image_paths if folder == "." or p.startswith(folder + "/")]
        mapping, n_rows = read_label_list(data, image_lookup(under, folder))
        enough = mapping and len(mapping) >= LIST_MIN_MATCHED * min(n_rows, len(under))
        if enough and len(set(mapping.values())) >= LIST_MIN_DISTINCT * len(mapping):
            names.append(path)
            merged.update(mapping)
    return names, merged


def counter_problem(labels: list[str], paths: list[str], source: str) -> str | None:
    """Why labels taken from file names are not the captchas' text (all the same, or a counter), or None."""
    where = source or "the data"
    distinct = set(labels)
    if len(labels) >= COUNTER_MIN_IMAGES and len(distinct) == 1:
        return (f"{where}: all {len(labels):,} captchas would get the same label {next(iter(distinct))!r} from their "
                f"file names, so the names do not hold their text. To label them, {LABEL_HOW}")
    words = [WORD_AND_NUMBER.match(label) for label in labels]
    if all(words) and len({m.group(1) for m in words}) == 1:
        labels = [m.group(2) for m in words]  # img0001, img0002: the counter behind one word
    if counted_in_most_folders(paths, labels):
        return (f"{where}: the file names count the images (such as {paths[0]}) instead of holding their text. "
                f"To label them, {LABEL_HOW}")
    return None
