"""Data in: the generator, labelled-captcha folders and letter folders feed one in-memory dataset."""
from __future__ import annotations

import hashlib
import math
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np

from .archive import read_zip
from .config import DEFAULT, Config
from .generator import generate_captchas
from .imageio import IMAGE_SUFFIXES, InputRejected, decode_image
from .labels import LIST_SUFFIXES, counter_problem, find_label_lists, labels_from_names
from .progress import CUTTING, DECODING, SIZING, ProgressReport, reporting
from .segmentation import normalize_letter, segment_captcha


# How the source line of a generated set starts (review.SOURCE_LINE reads the rest).
GENERATED_SOURCE = "generated: "
# Bytes of an image's digest: with 64 bits, two of a million captchas share one about once in 40 million sets.
DIGEST_BYTES = 8
# Named in a model's metadata beside its record of digests: a record made another way must not be matched
# against these, or nothing would match and its training captchas would be scored as new.
DIGEST_SCHEME = f"blake2b-{DIGEST_BYTES * 8} of shape and pixels"


class DatasetError(ValueError):
    """A dataset that cannot be used for training, with a message a student can act on."""


@dataclass
class LetterSet:
    """Letters ready for a classifier: images, labels and the captcha each letter came from."""

    images: np.ndarray  # (N, S, S) uint8, dark ink on white
    labels: np.ndarray  # (N,) str
    groups: np.ndarray  # (N,) int: captcha index, so a split can keep a captcha's letters together

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, index: np.ndarray) -> "LetterSet":
        """Return the letters at the given positions."""
        return LetterSet(self.images[index], self.labels[index], self.groups[index])

    def class_counts(self) -> dict[str, int]:
        """Count letters per class, in sorted label order."""
        return dict(sorted(Counter(self.labels.tolist()).items()))


@dataclass
class Dataset:
    """One loaded dataset: captchas (with their segmented letters) or letter folders."""

    kind: str  # "captchas" or "letters"
    letters: LetterSet
    texts: list[str] = field(default_factory=list)  # per captcha, for kind == "captchas"
    images: list[np.ndarray] = field(default_factory=list)  # per captcha, grayscale
    names: list[str] = field(default_factory=list)  # file name (or generated id) per captcha or letter
    segment_ok: np.ndarray | None = None  # per captcha: cut into the label's number of pieces
    clean_cut: np.ndarray | None = None  # per captcha: its ink fell into that many pieces with no forced cut or merge
    boxes: list[list[tuple[int, int, int, int]]] = field(default_factory=list)  # per captcha
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (name, reason) for inputs we left out
    source: str = ""
    # The built-in generator's arguments when it made this set, so a model trained on it can make it again.
    generator: dict | None = None
    # Where the captchas' texts came from ("file names", "labels.csv", ...), so a user can check it was read right.
    labels_from: str = ""
    # Hashes worked out once: the Data page asks for the fingerprint four times a run, 0.12 s each for 10,000 real
    # captchas. A loaded dataset is never edited, so they cannot go stale; code that changes one in place must
    # call forget_hashes. dataclasses.replace starts the copy with none.
    _hashes: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def is_captchas(self) -> bool:
        return self.kind == "captchas"

    @property
    def segmentation_yield(self) -> float | None:
        """Share of captchas cut into the right number of pieces (None for letter data)."""
        if self.segment_ok is None or len(self.segment_ok) == 0:
            return None
        return float(np.mean(self.segment_ok))

    @property
    def clean_cut_share(self) -> float | None:
        """Share of captchas whose ink fell into the label's number of pieces with no forced cut (None for letters)."""
        if self.clean_cut is None or len(self.clean_cut) == 0:
            return None
        return float(np.mean(self.clean_cut))

    @property
    def alphabet(self) -> str:
        """The sorted set of characters seen in the labels."""
        return "".join(sorted(set(self.letters.labels.tolist()) | set("".join(self.texts))))

    @property
    def lengths(self) -> list[int]:
        """The sorted distinct captcha lengths (empty for letter data)."""
        return sorted({len(t) for t in self.texts})

    def fingerprint(self) -> str:
        """A short hash of the letters and labels, recorded with every model trained on them."""
        if "fingerprint" not in self._hashes:
            digest = hashlib.sha256()
            digest.update(self.letters.images.tobytes())
            digest.update("\n".join(self.letters.labels.tolist()).encode())
            self._hashes["fingerprint"] = digest.hexdigest()[:16]
        return self._hashes["fingerprint"]

    def content_digests(self) -> np.ndarray:
        """A 64-bit digest of each captcha's pixels (each letter's, for letter data), however the captchas are cut."""
        # Pixels only: a label corrected after training does not make a learnt image new. Letter data keeps only
        # its normalized letters, so a change of normalize_letter makes every letter look new, as a decoder
        # upgrade that changes a JPEG's pixels would; hence the scoring line says none of the data *matches* what
        # the model learnt from, never that the model did not learn from it.
        if "content" not in self._hashes:
            images = self.images if self.is_captchas else self.letters.images
            self._hashes["content"] = np.fromiter((_pixels_digest(image) for image in images), np.uint64, len(images))
        return self._hashes["content"].copy()  # a copy: a caller's edit must not change what the next caller gets

    def content_key(self) -> str:
        """A short hash of every captcha's pixels: unlike the fingerprint, it sees captchas that could not be cut."""
        return hashlib.sha256(self.content_digests().tobytes()).hexdigest()[:16]

    def forget_hashes(self) -> None:
        """Drop the worked-out hashes, after changing this dataset's letters or images in place."""
        self._hashes.clear()

    def hash_now(self) -> "Dataset":
        """Work out the hashes now and return self, so a cached copy carries them to every page run."""
        self.fingerprint()
        self.content_digests()
        return self


def _pixels_digest(image: np.ndarray) -> int:
    digest = hashlib.blake2b(str(image.shape).encode(), digest_size=DIGEST_BYTES)
    digest.update(np.ascontiguousarray(image).tobytes())
    return int.from_bytes(digest.digest(), "little")


# ---------------------------------------------------------------- building datasets


def from_captchas(
    items: list[tuple[str, np.ndarray]],
    names: list[str] | None = None,
    config: Config = DEFAULT,
    skipped: list[tuple[str, str]] | None = None,
    source: str = "",
    report: ProgressReport | None = None,
) -> Dataset:
    """Segment labelled captchas into letters, keeping the captcha index of every letter."""
    names = names or [f"{i:05d}_{text}" for i, (text, _) in enumerate(items)]
    crops, labels, groups, ok, clean, boxes = [], [], [], [], [], []
    for index, (text, image) in enumerate(reporting(items, CUTTING, report)):
        seg = segment_captcha(image, expected=len(text), config=config)
        ok.append(seg.ok)
        clean.append(seg.pieces_found == len(text))
        boxes.append(seg.boxes)
        if seg.ok:
            crops.append(seg.crops)
            labels.extend(text)
            groups.extend([index] * len(text))
    size = config.letter_size
    letters = LetterSet(
        np.concatenate(crops) if crops else np.zeros((0, size, size), np.uint8),
        np.array(labels, dtype=str),
        np.array(groups, dtype=np.int64),
    )
    return Dataset(
        kind="captchas",
        letters=letters,
        texts=[t for t, _ in items],
        images=[im for _, im in items],
        names=list(names),
        segment_ok=np.array(ok, dtype=bool),
        clean_cut=np.array(clean, dtype=bool),
        boxes=boxes,
        skipped=list(skipped or []),
        source=source,
    )


def from_letters(
    items: list[tuple[str, np.ndarray]],
    names: list[str] | None = None,
    config: Config = DEFAULT,
    skipped: list[tuple[str, str]] | None = None,
    source: str = "",
    report: ProgressReport | None = None,
) -> Dataset:
    """Normalize single-letter images; each letter is its own group."""
    size = config.letter_size
    scaled = [normalize_letter(im, size) for _, im in reporting(items, SIZING, report)]
    images = np.stack(scaled) if scaled else np.zeros((0, size, size), np.uint8)
    letters = LetterSet(images, np.array([label for label, _ in items], dtype=str), np.arange(len(items)))
    return Dataset(
        kind="letters",
        letters=letters,
        names=list(names or [f"{i:05d}" for i in range(len(items))]),
        skipped=list(skipped or []),
        source=source,
    )


def generate_dataset(config: Config = DEFAULT, count: int | None = None, report: ProgressReport | None = None) -> Dataset:
    """Build the built-in synthetic dataset described by the configuration (report: see captcha_core.progress)."""
    items = generate_captchas(
        count or config.generate_count,
        length=config.captcha_length,
        alphabet=config.alphabet,
        difficulty=config.difficulty,
        seed=config.seed,
        report=report,
    )
    source = f"{GENERATED_SOURCE}{len(items)} {config.difficulty} captchas, seed {config.seed}"
    dataset = from_captchas(items, config=config, source=source, report=report)
    dataset.generator = {"difficulty": config.difficulty, "count": len(items), "length": config.captcha_length,
                         "alphabet": config.alphabet, "seed": config.seed}
    return dataset


# ---------------------------------------------------------------- files, folders and zips


def load_path(path: str | os.PathLike, config: Config = DEFAULT, report: ProgressReport | None = None) -> Dataset:
    """Load a folder, a .zip or a single image, telling captchas from letter folders on its own.

    report: told how far decoding and cutting have got (see captcha_core.progress).
    """
    path = Path(path)
    if path.is_symlink():
        raise InputRejected(f"{path}: symbolic links are not followed")
    if path.is_dir():
        files, skipped = read_folder(path, config)
    elif path.is_file() and path.suffix.lower() == ".zip":
        size, cap = path.stat().st_size, config.limits.max_zip_bytes
        if size > cap:
            raise InputRejected(f"{path}: the zip is {size:,} bytes, more than the {cap:,} a zip may have; unzip it "
                                "and pass the folder, which has no such cap")
        archive = read_zip(path, config.limits)
        files, skipped = archive.entries, list(archive.skipped)
    elif path.is_file():
        files, skipped = [(path.name, read_bytes_capped(path, config))], []
    else:
        raise InputRejected(f"{path}: no such file or folder")
    return load_entries(files, config, skipped=skipped, source=str(path), report=report)


def load_zip_bytes(data: bytes, name: str, config: Config = DEFAULT, report: ProgressReport | None = None) -> Dataset:
    """Load an uploaded zip from memory (report: see captcha_core.progress)."""
    archive = read_zip(data, config.limits, name=name)
    return load_entries(archive.entries, config, skipped=list(archive.skipped), source=name, report=report)


def read_bytes_capped(path: Path, config: Config) -> bytes:
    """Read a regular file, refusing one larger than the file cap."""
    size = path.stat().st_size
    if size > config.limits.max_file_bytes:
        raise InputRejected(f"{path.name}: {size:,} bytes is over the {config.limits.max_file_bytes:,}-byte limit")
    return path.read_bytes()


def read_folder(root: Path, config: Config) -> tuple[list[tuple[str, bytes]], list[tuple[str, str]]]:
    """Read the files under a folder as (relative posix path, bytes), skipping hidden files and links."""
    files, skipped = [], []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        rel_dir = Path(dirpath).relative_to(root)
        # Hidden folders (.git, __MACOSX-style leftovers) are never classes.
        kept = []
        for d in sorted(dirnames):
            if d.startswith(".") or d == "__MACOSX":
                skipped.append(((rel_dir / d).as_posix(), "hidden folder"))
            else:
                kept.append(d)
        dirnames[:] = kept
        if len(rel_dir.parts) >= config.limits.max_zip_depth:
            skipped.append((rel_dir.as_posix(), "folder nested too deep"))
            dirnames[:] = []
            continue
        for name in sorted(filenames):
            full = Path(dirpath) / name
            rel = (rel_dir / name).as_posix()
            if name.startswith("."):
                skipped.append((rel, "hidden file"))
            elif full.is_symlink() or not full.is_file():
                skipped.append((rel, "not a regular file (links are not followed)"))
            else:
                try:
                    files.append((rel, read_bytes_capped(full, config)))
                except (InputRejected, OSError) as exc:
                    skipped.append((rel, str(exc)))
            if len(files) > config.limits.max_folder_files:
                raise InputRejected(f"{root}: more than {config.limits.max_folder_files:,} files (the cap is "
                                    "max_folder_files in captcha_core/config.py)")
    return files, skipped


def strip_wrapping_folders(files: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    """Drop folders that wrap everything (`download/samples/x.png` -> `x.png`), as unpacking a download makes. A
    one-character folder is kept: it may be the one class of a letter folder."""
    parts = [PurePosixPath(p).parts for p, _ in files]
    depth = 0
    while parts and all(len(q) > depth + 1 for q in parts) and len({q[depth] for q in parts}) == 1 and len(parts[0][depth]) > 1:
        depth += 1
    if not depth:
        return files
    return [(PurePosixPath(*q[depth:]).as_posix(), data) for q, (_, data) in zip(parts, files)]


def is_letter_layout(image_paths: list[str]) -> bool:
    """Letter folders (the seed's `a/1.png`, `b/7.png`, also under `train/` and `test/`): every image in a folder
    named by one character. Longer folder names (`train/`, `samples/`) alone hold captchas named by their text."""
    parents = [PurePosixPath(p).parent.name for p in image_paths]
    return any(parents) and all(len(name) == 1 for name in parents if name)


def captcha_texts(
    files: list[tuple[str, bytes]], image_paths: list[str], skipped: list[tuple[str, str]], source: str
) -> tuple[dict[str, str], list[str], list[str]]:
    """Each captcha's text, the label lists used, and where the texts came from in words. An image gets its text
    from a label list, else from its sidecar `<stem>.txt`, else from its file name, unless lists label the set
    (then it is skipped as not listed). Images with an empty label are skipped too. File names that only count
    the images raise DatasetError."""
    lists, listed, beside = texts_given_apart(files, image_paths)
    from_names = labels_from_names(image_paths)
    texts, named, by_sidecar = {}, [], 0
    for path in image_paths:
        if path in listed:
            text = listed[path]
        elif path in beside:
            text = beside[path]
            by_sidecar += 1
        elif lists:
            skipped.append((path, f"not listed in {' or '.join(lists)}"))
            continue
        else:
            text = from_names[path]
            named.append(path)
        if not text:
            skipped.append((path, "empty label"))
            continue
        texts[path] = text
    # Only names are checked for counters: a list or a sidecar says what the text is, digits or not.
    problem = counter_problem([from_names[p] for p in named], named, source) if named else None
    if problem:
        raise DatasetError(problem)
    return texts, lists, label_sources(lists, by_sidecar, len(named))


def texts_given_apart(
    files: list[tuple[str, bytes]], image_paths: list[str]
) -> tuple[list[str], dict[str, str], dict[str, str]]:
    """The texts that files other than the images' names give: the label lists used, image -> text by those lists,
    and image -> text by a sidecar `<stem>.txt`."""
    sidecars = {str(PurePosixPath(p).with_suffix("")): data for p, data in files if p.lower().endswith(".txt")}
    lists, listed = find_label_lists(files, image_paths)
    beside = {}
    for path in image_paths:
        stem = str(PurePosixPath(path).with_suffix(""))
        if stem in sidecars:
            beside[path] = sidecars[stem].decode("utf-8", "replace").strip()
    return lists, listed, beside


def label_sources(lists: list[str], by_sidecar: int, by_name: int) -> list[str]:
    """Where the texts came from, in words: the label lists by name, then sidecars and file names with counts."""
    sources = list(lists)
    if by_sidecar:
        sources.append(plural(by_sidecar, "sidecar .txt file"))
    if by_name:
        sources.append("file names" if not sources else f"the file names of {by_name:,}")
    return sources


def unused_text_files(files: list[tuple[str, bytes]], image_paths: list[str], lists: list[str]) -> list[tuple[str, str]]:
    """Text files that are neither an image's sidecar nor a label list in use, with why they were left out."""
    stems = {str(PurePosixPath(p).with_suffix("")) for p in image_paths}
    return [(p, "not an image, nor the label of one (no image has its name) nor a list of their texts")
            for p, _ in files
            if p.lower().endswith(LIST_SUFFIXES) and p not in lists and str(PurePosixPath(p).with_suffix("")) not in stems]


def load_entries(
    files: list[tuple[str, bytes]],
    config: Config = DEFAULT,
    skipped: list[tuple[str, str]] | None = None,
    source: str = "",
    report: ProgressReport | None = None,
) -> Dataset:
    """Turn (relative path, bytes) entries into a dataset, deciding between captchas and letter folders."""
    skipped = list(skipped or [])
    files = strip_wrapping_folders(files)
    images = [(p, data) for p, data in files if p.lower().endswith(IMAGE_SUFFIXES)]
    for p, _ in files:
        if not p.lower().endswith(IMAGE_SUFFIXES + LIST_SUFFIXES):
            skipped.append((p, "not an image (png, jpg, jpeg, bmp or gif)"))
    if not images:
        what = ("it holds no files" if not files else "its one file is not an image" if len(files) == 1
                else f"none of its {len(files):,} files is an image")
        found = sorted({PurePosixPath(p).suffix.lower() for p, _ in files} - set(LIST_SUFFIXES) - {""})
        other = f"; it holds {', '.join(found)} files, which would need converting" if found else ""
        raise DatasetError(f"{source or 'the data'}: {what} (png, jpg, jpeg, bmp or gif){other}")
    image_paths = [p for p, _ in images]
    letters = is_letter_layout(image_paths)
    if letters:
        loose = [p for p in image_paths if not PurePosixPath(p).parent.name]
        if loose:
            raise DatasetError(
                f"{source or 'the data'}: letter folders mixed with loose captchas "
                f"({len(image_paths) - len(loose)} images in class folders, {len(loose)} at the top); use one layout"
            )
        labels = {p: PurePosixPath(p).parent.name for p in image_paths}
    else:
        labels, lists, sources = captcha_texts(files, image_paths, skipped, source)
        skipped.extend(unused_text_files(files, image_paths, lists))
    decoded, names = [], []
    for p, data in reporting(images, DECODING, report):
        if p not in labels:
            continue
        try:
            gray = decode_image(data, p, config.limits)
        except InputRejected as exc:
            skipped.append((p, str(exc)))
            continue
        decoded.append((labels[p], gray))
        names.append(p)
    if not decoded:
        raise DatasetError(nothing_read(source, image_paths, skipped))
    builder = from_letters if letters else from_captchas
    dataset = builder(decoded, names=names, config=config, skipped=skipped, source=source, report=report)
    dataset.labels_from = "folder names" if letters else ", ".join(sources)
    return dataset


# Reasons a refusal of data with no usable image spells out; the rest are counted.
REASONS_NAMED = 3


def nothing_read(source: str, image_names: list[str], skipped: list[tuple[str, str]]) -> str:
    """Why data with images gave none to use: the first few files left out and why (the images' own reasons
    first, ahead of the hidden and non-image files), and how many more."""
    n_images = len(image_names)
    what = "its one image could not be used" if n_images == 1 else f"none of its {n_images:,} images could be used"
    names = set(image_names)
    skipped = sorted(skipped, key=lambda entry: entry[0] not in names)  # stable: images first, in their order
    named = "; ".join(reject_line(name, why) for name, why in skipped[:REASONS_NAMED])
    more = f"; and {len(skipped) - REASONS_NAMED:,} more left out" if len(skipped) > REASONS_NAMED else ""
    return f"{source or 'the data'}: {what} ({named}{more})"


def plural(count: int, noun: str) -> str:
    """'1 captcha', '1,991 captchas', '1 class', '19 classes'."""
    return f"{count:,} {noun}{'' if count == 1 else 'es' if noun.endswith('s') else 's'}"


def reject_line(name: str, why: str) -> str:
    """'name: why', naming the file once even when the reason already starts with it."""
    return why if why.startswith(name) else f"{name}: {why}"


def check_trainable(dataset: Dataset, model: str = "cnn") -> None:
    """Raise DatasetError, before any training, when this data cannot train the `model` kind (cnn, forest or
    sequence; the sequence model reads whole captchas, so it needs no cut letters)."""
    if model == "sequence" and dataset.is_captchas:
        check_sequence_data(dataset)
        return
    letters = dataset.letters
    if dataset.is_captchas and len(dataset.texts) and not len(letters):
        raise DatasetError(
            f"no captcha could be cut into as many pieces as its label has characters "
            f"(0 of {len(dataset.texts)}): do the labels match the images?"
        )
    if len(letters) == 0:
        raise DatasetError("the dataset has no images")
    counts = letters.class_counts()
    if len(counts) < 2:
        raise DatasetError(f"only one class ({next(iter(counts))!r}): a classifier needs at least two")
    if dataset.is_captchas:
        check_each_character_in_two_captchas(dataset)
    singles = [label for label, n in counts.items() if n < 2]
    if singles:
        one = len(singles) == 1
        which = f"{', '.join(map(repr, singles))} {'has' if one else 'have'}"
        raise DatasetError(
            f"{which} a single {'letter cut out of the captchas' if dataset.is_captchas else 'image'}, so "
            f"{'it' if one else 'they'} cannot be both learnt and tested by a letter model: add "
            f"{'captchas' if dataset.is_captchas else 'images'} that hold {'it' if one else 'them'}"
        )


def check_sequence_data(dataset: Dataset) -> None:
    """Raise DatasetError when captchas cannot train the whole-captcha reader."""
    if any(not t for t in dataset.texts):
        raise DatasetError("every captcha needs a non-empty label")
    if len(set("".join(dataset.texts))) < 2:
        raise DatasetError("the labels use a single character: a reader needs at least two")
    check_each_character_in_two_captchas(dataset)


def check_enough_to_split(dataset: Dataset, config: Config = DEFAULT) -> None:
    """Raise DatasetError when there are too few captchas for each held-out share to get one."""
    n = len(dataset.texts)
    smallest_share = min(config.test_size, config.val_size * (1 - config.test_size))
    if dataset.is_captchas and n * smallest_share < 1:
        raise DatasetError(f"only {plural(n, 'captcha')}: too few to hold out validation and test captchas (it takes "
                           f"at least {math.ceil(1 / smallest_share):,}, and a model learns from hundreds)")


# Characters a refusal names with the captcha that holds each; the rest are counted.
LONE_NAMED = 5


def check_each_character_in_two_captchas(dataset: Dataset) -> None:
    """Raise DatasetError when a character is in the text of one captcha only: captchas are split whole, so that
    character would be learnt or tested, never both."""
    captchas_per_char: dict[str, set[int]] = {}
    for index, text in enumerate(dataset.texts):
        for char in text:
            captchas_per_char.setdefault(char, set()).add(index)
    lone = {char: next(iter(rows)) for char, rows in sorted(captchas_per_char.items()) if len(rows) == 1}
    if not lone:
        return
    one = len(lone) == 1
    named = ", ".join(f"{char!r} ({dataset.names[row]})" for char, row in list(lone.items())[:LONE_NAMED])
    more = f" and {len(lone) - LONE_NAMED:,} more" if len(lone) > LONE_NAMED else ""
    raise DatasetError(
        f"{named}{more}: {'this character appears' if one else 'these characters appear'} in only one captcha, so "
        f"{'it' if one else 'they'} cannot be both learnt and tested. Add captchas that hold {'it' if one else 'them'}, "
        f"or leave {'that captcha' if one else 'those captchas'} out if {'its' if one else 'their'} label is a typo"
    )


# How collect_images names an image read from a zip: the zip's path, a colon, the member's path inside it.
ZIP_MEMBER = re.compile(r"^.*\.zip:", re.IGNORECASE)


def zip_member_name(zip_path: Path, member: str) -> str:
    """The name an image read from a zip goes by: 'caps.zip:sub/abcd.png'."""
    return f"{zip_path}:{member}"


def path_in_zip(name: str) -> str:
    """An image's own path, without the zip it came from ('sub/abcd.png'); other names unchanged."""
    return ZIP_MEMBER.sub("", name)


@dataclass
class Collected:
    """Images read for `solve` and `predict`: (name, gray) pairs, (name, why) for those refused, and the texts that
    label lists or sidecar .txt files in the folders and zips gave some of them (image name -> text)."""

    images: list[tuple[str, np.ndarray]]
    rejected: list[tuple[str, str]]
    texts: dict[str, str]

    def __iter__(self):  # `images, rejected = collect_images(...)` where the texts are not wanted
        return iter((self.images, self.rejected))


def collect_images(paths: list[str], config: Config = DEFAULT) -> Collected:
    """Decode every image named by files, folders or zips; bad ones are listed with a reason, never raised."""
    decoded, rejected, texts = [], [], {}
    for raw in paths:
        path = Path(raw)
        try:
            if path.is_symlink():
                raise InputRejected(f"{path}: symbolic links are not followed")
            if path.is_dir():
                entries, skipped = read_folder(path, config)
                inside = lambda member, folder=path: str(folder / member)  # noqa: E731
            elif path.suffix.lower() == ".zip" and path.is_file():
                report = read_zip(path, config.limits)
                entries, skipped = report.entries, report.skipped
                inside = lambda member, archive=path: zip_member_name(archive, member)  # noqa: E731
            elif path.is_file():  # named on its own, so meant as an image whatever its suffix
                entries, skipped, inside = [(str(path), read_bytes_capped(path, config))], [], None
            else:
                raise InputRejected(f"{path}: no such file or folder")
        except (InputRejected, OSError) as exc:
            rejected.append((str(path), str(exc)))
            continue
        if inside is None:
            name_of = {str(path): str(path)}
        else:  # label lists name the images by their paths inside the folder or zip, so they are read before renaming
            name_of = {p: inside(p) for p, _ in [*entries, *skipped]}
            texts.update((name_of[p], text) for p, text in texts_beside_images(entries).items())
        rejected += [(name_of[p], why) for p, why in skipped]
        for relative, data in entries:
            name = name_of[relative]
            # A label list beside the images in a folder or zip is not something to read.
            if name != str(path) and name.lower().endswith(LIST_SUFFIXES):
                continue
            try:
                decoded.append((name, decode_image(data, name, config.limits)))
            except InputRejected as exc:
                rejected.append((name, str(exc)))
    return Collected(decoded, rejected, texts)


def texts_beside_images(entries: list[tuple[str, bytes]]) -> dict[str, str]:
    """Image path -> the text a label list or a sidecar among `entries` gives it (file names are read elsewhere)."""
    image_paths = [p for p, _ in entries if p.lower().endswith(IMAGE_SUFFIXES)]
    _, listed, beside = texts_given_apart(entries, image_paths)
    return {path: text for path, text in {**beside, **listed}.items() if text}  # a list wins, as when loading
