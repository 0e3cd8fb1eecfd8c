"""Reviewing a saved model: rebuild its test split from metadata, and compare the honest and leaky protocols."""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field

import numpy as np

from .config import DEFAULT, Config, Limits, SegmentationTuning
from .data import DIGEST_SCHEME, GENERATED_SOURCE, Dataset, generate_dataset, plural
from .evaluation import Report, evaluate
from .labels import readable_text
from .models import reads_whole
from .split import split_dataset

# How data.generate_dataset describes its data, e.g. "generated: 600 easy captchas, seed 0".
SOURCE_LINE = re.compile(re.escape(GENERATED_SOURCE) + r"\d+ (?P<difficulty>\w+) captchas, seed (?P<seed>\d+)")


def config_from_dict(data: dict | None) -> Config:
    """Rebuild a Config from metadata, ignoring keys this version does not know."""
    data = dict(data or {})
    nested = {"limits": Limits, "segmentation": SegmentationTuning}
    for key, cls in nested.items():
        if isinstance(data.get(key), dict):
            data[key] = _known(cls, data[key])
        else:
            data.pop(key, None)
    return _known(Config, data)


def _known(cls, data: dict):
    fields = {f.name: f for f in dataclasses.fields(cls)}
    # JSON turns tuples into lists; a Config holds tuples so that it stays hashable and compares equal.
    as_tuple = {name for name, f in fields.items() if isinstance(f.default, tuple)}
    return cls(**{k: tuple(v) if k in as_tuple and isinstance(v, list) else v for k, v in data.items() if k in fields})


def is_generated(metadata: dict) -> bool:
    """True when the model was trained on the built-in generator, so its data can be made again."""
    return str(metadata.get("data", {}).get("source", "")).startswith(GENERATED_SOURCE) and "config" in metadata


def generator_settings(metadata: dict) -> dict:
    """The generator arguments a model's training data was made with (difficulty, count, length, alphabet, seed)."""
    data = metadata.get("data", {})
    if data.get("generator"):
        return dict(data["generator"])
    # Models saved before the data kept its generator arguments. Their source line names the difficulty and
    # the seed, and their lengths were recorded; the alphabet falls back on the training config, which matches
    # the data when both came from one config (the command line, the benchmarks).
    config = config_from_dict(metadata.get("config"))
    named = SOURCE_LINE.match(str(data.get("source", "")))
    lengths = data.get("captcha_lengths") or []
    return {
        "difficulty": named["difficulty"] if named else config.difficulty,
        "count": int(data.get("n_captchas", config.generate_count)),
        "length": int(lengths[0]) if len(lengths) == 1 else config.captcha_length,
        "alphabet": config.alphabet,
        "seed": int(named["seed"]) if named else config.seed,
    }


def regenerate_dataset(metadata: dict) -> Dataset:
    """The built-in dataset a model was trained on, made again from the same seed."""
    settings = generator_settings(metadata)
    config = config_from_dict(metadata.get("config")).with_(
        difficulty=settings["difficulty"], captcha_length=settings["length"], alphabet=settings["alphabet"],
        seed=settings["seed"],
    )
    return generate_dataset(config, count=settings["count"])


@dataclass
class ModelReview:
    """A model's report on held-out data, with the images needed to show its mistakes.

    For the letter models a mistake is a letter; the sequence model reads whole captchas, so its mistakes
    are misread captchas, and `images` holds those captchas.
    """

    report: Report
    images: dict[int, np.ndarray]  # letter row -> normalized letter (letter models), captcha row -> captcha (sequence)
    exact: bool  # True: the very test split of training; False: another dataset, scored whole
    n_letters: int
    description: str
    # Letter row -> (its captcha's text, its place in it from 1): where a misread letter was cut from.
    sources: dict[int, tuple[str, int]] = field(default_factory=dict)
    all_unseen: bool = True  # False when some of the rows may be ones it learnt from (see Scope.all_unseen)

    @property
    def reads_whole(self) -> bool:
        """True when the mistakes are whole captchas (a sequence model's review)."""
        return hasattr(self.report, "misreads")


def is_training_data(metadata: dict, dataset: Dataset) -> bool:
    """True when `dataset` is exactly the data the model was trained on (as cut by today's segmentation)."""
    data = metadata.get("data") or {}
    # The letters' fingerprint misses captchas that could not be cut; their count does not.
    same_count = data.get("n_captchas") in (None, len(dataset.texts))
    return bool(data.get("fingerprint")) and same_count and data["fingerprint"] == dataset.fingerprint()


def split_made_again(classifier, dataset: Dataset, metadata: dict):
    """The split this model was trained with, made again on `dataset` from the config in its metadata."""
    return training_split(dataset, config_from_dict(metadata.get("config")), getattr(classifier, "kind", "cnn"))


def review_on(classifier, dataset: Dataset, metadata: dict, trained_on: np.ndarray | None = None) -> ModelReview:
    """Score a model on `dataset` as honestly as its saved record allows (see scoring_scope), with its mistakes."""
    scope = scoring_scope(classifier, dataset, metadata, trained_on)
    report = evaluate(classifier, dataset, scope.letters, scope.captchas)
    description = scope.describe(report, reads_whole(classifier))
    if reads_whole(classifier):
        images = {row: dataset.images[row] for row, *_ in report.misreads}
        return ModelReview(report, images, scope.exact, report.n_letters, description, all_unseen=scope.all_unseen)
    images = {m.row: dataset.letters.images[m.row] for m in report.mistakes}
    return ModelReview(report, images, scope.exact, report.n_letters, description, letter_sources(dataset, list(images)),
                       scope.all_unseen)


def letter_sources(dataset: Dataset, rows: list[int]) -> dict[int, tuple[str, int]]:
    """For letter rows of a captcha dataset: the text of the captcha each was cut from and its place in it (from 1)."""
    if not dataset.texts:
        return {}
    groups = dataset.letters.groups
    # Captchas' letters are stored captcha after captcha and in reading order, so a letter's place counts its
    # captcha's rows before it, and its captcha's first row is where its group starts in the sorted groups.
    first = np.searchsorted(groups, groups[rows]) if rows else []
    return {row: (dataset.texts[int(groups[row])], row - int(start) + 1) for row, start in zip(rows, first)}


def training_split(dataset: Dataset, config: Config, kind: str):
    """The split a model of this kind was trained with, made again from its configuration.

    The sequence model splits whole captchas, the letter models split letters by captcha; scoring a sequence
    model on the letter split would count some of its training captchas as test captchas.
    """
    if kind == "sequence":
        from .sequence import split_captchas

        return split_captchas(len(dataset.texts), config)
    return split_dataset(dataset, config)


class NothingToReview(ValueError):
    """The data at hand holds nothing a model could be scored on: none of its characters, or only what it learnt."""


@dataclass
class Scope:
    """The rows of a dataset a model is scored on, and what they are, for the line that says so."""

    letters: np.ndarray  # letter rows (none for the sequence model, which reads captchas whole)
    captchas: np.ndarray | None  # captcha rows, None for letter data
    kind: str  # "test": its own test split; "remade": that split made again; "unseen": what it never learnt; "other"
    left_out: list[str] = field(default_factory=list)  # what was left out and why, e.g. "40 captchas it learnt from"
    checked: bool = False  # its images were checked against the ones the model learnt from

    @property
    def exact(self) -> bool:
        """True when these are the very test rows of its training."""
        return self.kind == "test"

    @property
    def all_unseen(self) -> bool:
        """True when every row is known not to be one the model learnt from."""
        return self.kind == "test" or self.checked

    def describe(self, report: Report, whole: bool) -> str:
        """What was scored, in words, e.g. "its own test split: 600 letters from 150 captchas"."""
        where = f"{report.n_letters:,} {'characters' if whole else 'letters'}"
        if report.n_captchas:
            where += f" from {report.n_captchas:,} captchas"
        head = {
            "test": f"its own test split: {where}",
            "remade": f"its test split made again: {where} (not exactly the training data: the letter cutter or the "
                      "generator changed since training, so some letters differ"
                      + (")" if self.checked else "; the split may have moved too, so these figures may be optimistic)"),
            "unseen": f"the part of this data it never learnt from: {where}",
            "other": f"all of another dataset that it could read ({where}), not its test split; "
                     + ("none of it matches the images it learnt from" if self.checked else
                        "where that data overlaps the model's training data, these figures are optimistic"),
        }[self.kind]
        return f"{head}; left out: {', '.join(self.left_out)}" if self.left_out else head


def scoring_scope(classifier, dataset: Dataset, metadata: dict, trained_on: np.ndarray | None = None) -> Scope:
    """Which rows of `dataset` to score a model on, so that nothing it learnt from counts.

    Its own training data, or the generator's same settings: its test split (made again). Other data: whatever it
    could read. Either way, less any captcha (letter, for letter data) whose pixels match its `trained_on` record.
    """
    learnt = learnt_mask(dataset, metadata, trained_on)
    if is_training_data(metadata, dataset):
        return _split_scope(classifier, dataset, metadata, learnt, "test")
    if same_generated_data(metadata, dataset):
        return _split_scope(classifier, dataset, metadata, learnt, "remade")
    known = set(str(c) for c in classifier.classes_)
    if reads_whole(classifier):
        return _sequence_scope(classifier, dataset, metadata, known, learnt)
    return _letter_scope(dataset, metadata, known, learnt)


def learnt_mask(dataset: Dataset, metadata: dict, trained_on: np.ndarray | None) -> np.ndarray | None:
    """Per captcha (letter, for letter data): whether the model learnt from its pixels; None when it cannot tell."""
    # A record of whole captchas says nothing about letters cut out and saved apart, nor the other way round.
    if not has_usable_record(metadata, trained_on) or (metadata.get("data") or {}).get("kind") != dataset.kind:
        return None
    return np.isin(dataset.content_digests(), trained_on)


def has_usable_record(metadata: dict, trained_on: np.ndarray | None) -> bool:
    """True when the model recorded what it learnt from the way today's digests are made (else nothing would match)."""
    return trained_on is not None and (metadata.get("data") or {}).get("digest_scheme") == DIGEST_SCHEME


def same_generated_data(metadata: dict, dataset: Dataset) -> bool:
    """True when the built-in generator made `dataset` with the settings the model's training data was made with."""
    return is_generated(metadata) and dataset.generator is not None and dataset.generator == generator_settings(metadata)


def _split_scope(classifier, dataset: Dataset, metadata: dict, learnt: np.ndarray | None, kind: str) -> Scope:
    """Its test split made again, less whatever in it matches what the model learnt from (when data changed)."""
    split = split_made_again(classifier, dataset, metadata)
    if not dataset.is_captchas:
        letters, dropped = _without_learnt(split.test, learnt)
        return Scope(letters, None, kind if not dropped else "remade", _learnt_phrase(dropped, "letter"), learnt is not None)
    captchas, dropped = _without_learnt(split.test_captchas, learnt)
    # The sequence model's split holds captchas only: its test rows are not letter rows.
    letters = np.zeros(0, np.int64) if reads_whole(classifier) else split.test[
        np.isin(dataset.letters.groups[split.test], captchas)]
    return Scope(letters, captchas, kind if not dropped else "remade", _learnt_phrase(dropped, "captcha"), learnt is not None)


def _without_learnt(rows: np.ndarray, learnt: np.ndarray | None) -> tuple[np.ndarray, int]:
    """`rows` less those the model learnt from, and how many those were."""
    if learnt is None:
        return rows, 0
    kept = rows[~learnt[rows]]
    return kept, len(rows) - len(kept)


def _learnt_phrase(count: int, unit: str) -> list[str]:
    return [f"{plural(count, unit)} it learnt from"] if count else []


def _letter_scope(dataset: Dataset, metadata: dict, known: set[str], learnt: np.ndarray | None) -> Scope:
    """A letter model on data other than its own: the letters of classes it knows, from captchas it never learnt.

    A model trained on digits and capitals, scored on lower-case letters, would fill the matrix with rows it
    could never get right; that says nothing about the model.
    """
    readable = np.isin(dataset.letters.labels, list(known))
    if not readable.any():
        raise NothingToReview(f"The loaded dataset has none of the characters this model reads "
                              f"({''.join(sorted(known))[:40]}). {_load_its_data(metadata)}")
    unknown = int((~readable).sum())
    others = [f"{plural(unknown, 'letter')} of classes this model never learnt"] if unknown else []
    if not dataset.is_captchas:
        letters, learnt_count = _without_learnt(np.flatnonzero(readable), learnt)
        return _unseen_scope(letters, None, learnt_count, "letter", others, learnt is not None)
    captchas, learnt_count = _without_learnt(
        np.array([i for i, text in enumerate(dataset.texts) if set(text) <= known], np.int64), learnt)
    letters = np.flatnonzero(readable if learnt is None else readable & ~learnt[dataset.letters.groups])
    return _unseen_scope(letters, captchas, learnt_count, "captcha", others, learnt is not None)


def _sequence_scope(classifier, dataset: Dataset, metadata: dict, known: set[str], learnt: np.ndarray | None) -> Scope:
    """A sequence model on data other than its own: the captchas of its characters and lengths it never learnt.

    It keeps its readings to the lengths it was trained on, so a captcha of another length would be wrong
    whatever the model saw in it.
    """
    lengths = set(getattr(classifier, "lengths_", None) or [])
    readable = np.array([readable_text(text, known, lengths) for text in dataset.texts], bool)
    what = f"characters ({''.join(sorted(known))[:40]})" + (f" and lengths ({', '.join(map(str, sorted(lengths)))})" if lengths else "")
    if not readable.any():
        raise NothingToReview(f"The loaded data has no captcha of the {what} this model reads. {_load_its_data(metadata)}")
    other = int((~readable).sum())
    others = [f"{plural(other, 'captcha')} of other {'characters or lengths' if lengths else 'characters'}"] if other else []
    captchas, learnt_count = _without_learnt(np.flatnonzero(readable), learnt)
    return _unseen_scope(np.zeros(0, np.int64), captchas, learnt_count, "captcha", others, learnt is not None)


def _unseen_scope(letters: np.ndarray, captchas: np.ndarray | None, learnt_count: int, unit: str, others: list[str],
                  checked: bool) -> Scope:
    """The scope of other data once what the model learnt from is out; NothingToReview when nothing is left."""
    if not len(letters) and (captchas is None or not len(captchas)):
        raise NothingToReview(f"All the loaded {unit}s this model could read match ones it learnt from. "
                              f"Load {unit}s it never saw to score it.")
    return Scope(letters, captchas, "unseen" if learnt_count else "other", _learnt_phrase(learnt_count, unit) + others,
                 checked)


def _load_its_data(metadata: dict) -> str:
    source = metadata.get("data", {}).get("source") or "its training data"
    return f"Load the data it was trained on ({source}), or data like it, to see its mistakes."


def misreads_for(report, true: str, predicted: str) -> list[tuple[int, str, str, float]]:
    """A sequence report's misread captchas with `true` read as `predicted` at some position, most confident first.

    Only readings of the truth's length are aligned, as in the confusion matrix.
    """
    found = [m for m in report.misreads if len(m[1]) == len(m[2]) and (true, predicted) in zip(m[1], m[2])]
    return sorted(found, key=lambda m: -m[3])


def length_misreads(report) -> list[tuple[int, str, str, float]]:
    """A sequence report's misread captchas whose reading has another length than the truth (not in the matrix)."""
    return [m for m in report.misreads if len(m[1]) != len(m[2])]


def confusion_pairs(report: Report) -> list[dict]:
    """The confusion matrix as long-form rows (true, pred, count) for a heatmap."""
    rows = []
    for i, true in enumerate(report.labels):
        for j, pred in enumerate(report.labels):
            rows.append({"true": true, "pred": pred, "count": int(report.confusion[i, j])})
    return rows


def saved_confusion_pairs(metadata: dict) -> tuple[list[dict], list[str]]:
    """The confusion matrix stored at training time as heatmap rows, with its labels (empty when none was stored)."""
    saved = (metadata.get("metrics") or {}).get("confusion_matrix") or {}
    labels, matrix = [str(label) for label in saved.get("labels") or []], np.asarray(saved.get("matrix") or [], int)
    if not labels or matrix.shape != (len(labels), len(labels)):
        return [], []
    return [{"true": t, "pred": p, "count": int(matrix[i, j])} for i, t in enumerate(labels) for j, p in enumerate(labels)], labels


def top_confusion(report: Report) -> tuple[str, str] | None:
    """The most frequent (true, predicted) mix-up, or None when the model made none."""
    off = report.confusion.copy()
    np.fill_diagonal(off, 0)
    if off.max(initial=0) == 0:
        return None
    i, j = np.unravel_index(int(np.argmax(off)), off.shape)
    return report.labels[i], report.labels[j]


def mistakes_for(report: Report, true: str, predicted: str) -> list:
    """The mistakes where `true` was read as `predicted`, most confident first."""
    found = [m for m in report.mistakes if m.true == true and m.predicted == predicted]
    return sorted(found, key=lambda m: -m.confidence)


@dataclass
class ProtocolComparison:
    """The same model and data scored under the honest protocol and under the seed's leaky one."""

    honest: float
    leaky: float
    honest_test_letters: int
    leaky_test_letters: int
    duplicated_test_letters: int  # leaky test letters that are copies of a training letter


def compare_protocols(config: Config = DEFAULT) -> ProtocolComparison:
    """Train `config` twice on the same generated data, honestly and with the seed's resample-then-split."""
    from .training import train

    dataset = generate_dataset(config)
    honest = train(dataset, config)
    leaky = train(dataset, config, leaky_seed_protocol=True)
    shared = np.isin(leaky.split.test, leaky.split.train)
    return ProtocolComparison(
        honest=honest.report.letter_accuracy,
        leaky=leaky.report.letter_accuracy,
        honest_test_letters=honest.report.n_letters,
        leaky_test_letters=leaky.report.n_letters,
        duplicated_test_letters=int(shared.sum()),
    )
