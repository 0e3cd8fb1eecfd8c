"""Evaluation: letter and whole-captcha accuracy, per-class scores, the confusion matrix and the mistakes."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

from .data import Dataset
from .models import reads_whole


@dataclass
class Mistake:
    """One misclassified test letter: its row in the dataset's letters, the truth and the guess."""

    row: int
    true: str
    predicted: str
    confidence: float


@dataclass
class Report:
    """What a model scored on held-out data, and how it was counted."""

    letter_accuracy: float
    captcha_accuracy: float | None
    n_letters: int
    n_captchas: int
    labels: list[str]
    confusion: np.ndarray
    per_class: list[dict]
    mistakes: list[Mistake] = field(default_factory=list)
    captcha_failures: int = 0  # test captchas that segmentation could not cut, counted as wrong
    # Whole captchas are read as `solve` reads them (forced cuts checked by the model), so captcha_accuracy
    # is what a user gets; this is the per-character share of those readings, position by position.
    solved_character_accuracy: float | None = None
    note: str = ""  # how training ended when the user should know it (the time limit stopped it)

    def to_dict(self) -> dict:
        """Plain JSON-able data, without images."""
        return {
            "letter_accuracy": self.letter_accuracy,
            "captcha_accuracy": self.captcha_accuracy,
            "n_test_letters": self.n_letters,
            "n_test_captchas": self.n_captchas,
            "segmentation_failures_in_test": self.captcha_failures,
            "solved_character_accuracy": self.solved_character_accuracy,
            "confusion_matrix": {"labels": self.labels, "matrix": self.confusion.tolist()},
            "per_class": self.per_class,
            "n_mistakes": len(self.mistakes),
            "note": self.note,
        }


def evaluate(classifier, dataset: Dataset, letter_rows: np.ndarray, captcha_rows: np.ndarray | None = None) -> Report:
    """Score a classifier on the given letters and, for captchas, on the given whole captchas."""
    if reads_whole(classifier):
        from .sequence import evaluate_sequence

        return evaluate_sequence(classifier, dataset, captcha_rows if captcha_rows is not None else [])
    letters = dataset.letters.subset(letter_rows)
    probs = classifier.predict_proba(letters.images) if len(letters) else np.zeros((0, len(classifier.classes_)))
    classes = np.asarray(classifier.classes_)
    predicted = classes[np.argmax(probs, axis=1)] if len(letters) else np.array([], dtype=str)
    truth = letters.labels
    labels = sorted(set(classes.tolist()) | set(truth.tolist()))
    per_class = per_class_scores(truth, predicted, labels)
    mistakes = [
        Mistake(int(row), str(t), str(p), float(probs[i].max()))
        for i, (row, t, p) in enumerate(zip(letter_rows, truth, predicted))
        if t != p
    ]
    captcha_acc, n_captchas, failures, solved_chars = None, 0, 0, None
    if dataset.is_captchas and captcha_rows is not None and len(captcha_rows):
        captcha_acc, solved_chars, failures = solved_accuracy(classifier, dataset, captcha_rows)
        n_captchas = len(captcha_rows)
    return Report(
        letter_accuracy=float(np.mean(truth == predicted)) if len(truth) else 0.0,
        captcha_accuracy=captcha_acc,
        n_letters=len(truth),
        n_captchas=n_captchas,
        labels=labels,
        confusion=confusion_matrix(truth, predicted, labels=labels) if len(truth) else np.zeros((len(labels),) * 2, int),
        per_class=per_class,
        mistakes=mistakes,
        captcha_failures=failures,
        solved_character_accuracy=solved_chars,
    )


def per_class_scores(truth: np.ndarray, predicted: np.ndarray, labels: list[str]) -> list[dict]:
    """Precision, recall, F1 and support for every class."""
    if not len(truth):
        return []
    p, r, f, s = precision_recall_fscore_support(truth, predicted, labels=labels, zero_division=0)
    return [
        {"label": lab, "precision": float(a), "recall": float(b), "f1": float(c), "support": int(d)}
        for lab, a, b, c, d in zip(labels, p, r, f, s)
    ]


def solved_accuracy(classifier, dataset: Dataset, captcha_rows: np.ndarray) -> tuple[float, float, int]:
    """Whole-captcha and per-character accuracy of solving the given captchas; an uncut captcha counts as wrong."""
    from .persistence import LoadedModel
    from .prediction import Predictor

    letter_size = int(dataset.letters.images.shape[1]) if len(dataset.letters) else None
    metadata = {"letter_size": letter_size} if letter_size else {}
    # As `solve` does with a model trained on this data: the cutter is told the count when every captcha has the
    # same one, and a count outside the lengths otherwise (scored on other data, that data's lengths stand in for
    # the model's).
    metadata["captcha_length"] = dataset.lengths[0] if len(dataset.lengths) == 1 else None
    metadata["data"] = {"captcha_lengths": dataset.lengths}
    predictor = Predictor(LoadedModel(classifier, [str(c) for c in classifier.classes_], metadata, Path()))
    truths = [dataset.texts[i] for i in captcha_rows]
    by_row = dict(zip(captcha_rows, predictor.solve_many([dataset.images[i] for i in captcha_rows])))
    right = chars = total = failures = 0
    for row, truth in zip(captcha_rows, truths):
        reading = by_row[row]
        failures += not reading.segmented_ok
        ok = reading.segmented_ok and reading.text == truth
        right += ok
        chars += sum(a == b for a, b in zip(reading.text, truth)) if reading.segmented_ok else 0
        total += len(truth)
    return right / len(captcha_rows), chars / max(total, 1), failures
