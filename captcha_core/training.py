"""Training: split first, resample the training split only, fit, evaluate on the untouched test split."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .choice import AUTO, resolve_model
from .config import DEFAULT, Config
from .data import Dataset, check_enough_to_split, check_trainable
from .evaluation import Report, evaluate
from .models import make_classifier, steps_per_epoch
from .resample import Resampled, resample
from .split import Split, split_dataset


class TrainingCancelled(RuntimeError):
    """Raised when a user stopped training before it finished."""


@dataclass
class Progress:
    """One progress report, sent every batch and every epoch."""

    phase: str  # preparing | training | validating (the end of an epoch) | evaluating | done
    epoch: int = 0  # 1-based epoch being trained
    epochs: int = 0
    step: int = 0  # 1-based batch within the epoch
    steps: int = 0
    loss: float | None = None
    accuracy: float | None = None
    val_loss: float | None = None
    val_accuracy: float | None = None
    elapsed: float = 0.0
    eta_seconds: float | None = None
    history: dict[str, list[float]] = field(default_factory=dict)  # per finished epoch
    unit: str = "batches"  # what step counts: batches, or the forest's trees (its one "epoch" grows them all)

    @property
    def fraction(self) -> float:
        """How much of the training is done, from 0 to 1."""
        if self.phase == "done":
            return 1.0
        if not self.epochs or not self.steps:
            return 0.0
        return min(1.0, ((self.epoch - 1) * self.steps + self.step) / (self.epochs * self.steps))


ProgressHook = Callable[[Progress], None]


@dataclass
class TrainResult:
    """A trained classifier with everything needed to judge and save it."""

    classifier: object
    config: Config
    split: Split
    resampled: Resampled
    report: Report
    history: dict[str, list[float]]
    seconds: dict[str, float]
    protocol: str  # "honest" or "leaky-seed"
    choice: dict | None = None  # how `--model auto` decided (chosen, yield, threshold, reason); None when the user chose


def make_keras_callback(
    epochs: int, steps: int, hook: ProgressHook | None, cancel: threading.Event | None, time_limit: float | None = None
):
    """A Keras callback that reports progress every batch and stops training when `cancel` is set.

    time_limit: seconds of fitting after which training stops and keeps its model; `timed_out` then says so.
    """
    from .models import configure_tensorflow

    configure_tensorflow()
    import keras

    class ProgressCallback(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.start = time.perf_counter()
            self.epoch = 0
            self.epoch_start = self.start
            self.history: dict[str, list[float]] = {}
            self.timed_out = False

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch + 1
            self.epoch_start = time.perf_counter()
            # When one graph call runs the whole epoch, its first batch report comes at the end; until then
            # the page would still show the previous epoch as finished.
            self._report(0, {}, final=False)

        def on_train_batch_end(self, batch, logs=None):
            if cancel is not None and cancel.is_set():
                self.model.stop_training = True
            elif time_limit is not None and time.perf_counter() - self.start >= time_limit:
                self._time_out()
            self._report(batch + 1, logs or {}, final=False)

        def _time_out(self):
            self.timed_out = True
            self.model.stop_training = True

        def on_test_begin(self, logs=None):
            # Fit scores the validation split after the last batch; without this the bar sits at the epoch's
            # last step for that long and looks stuck.
            self._report(steps, {}, final=False, phase="validating")

        def on_epoch_end(self, epoch, logs=None):
            for key, value in (logs or {}).items():
                self.history.setdefault(key, []).append(float(value))
            # Another epoch as long as this one would end past the limit: stop now rather than cut it off midway.
            # Not when early stopping or the rate schedule already ended training: the clock did not.
            if time_limit is not None and self.epoch < epochs and not self.model.stop_training:
                now = time.perf_counter()
                if now - self.start + (now - self.epoch_start) > time_limit:
                    self._time_out()
            self._report(steps, logs or {}, final=True)

        def _report(self, step, logs, final, phase="training"):
            if hook is None:
                return
            elapsed = time.perf_counter() - self.start
            done = (self.epoch - 1) * steps + step
            eta = elapsed / done * (epochs * steps - done) if done else None
            if time_limit is not None:
                eta = max(time_limit - elapsed, 0.0) if eta is None else min(eta, max(time_limit - elapsed, 0.0))
            hook(
                Progress(
                    phase=phase,
                    epoch=self.epoch,
                    epochs=epochs,
                    step=step,
                    steps=steps,
                    loss=_num(logs.get("loss")),
                    accuracy=_num(logs.get("accuracy")),
                    val_loss=_num(logs.get("val_loss")) if final else None,
                    val_accuracy=_num(logs.get("val_accuracy")) if final else None,
                    elapsed=elapsed,
                    eta_seconds=eta,
                    history={k: list(v) for k, v in self.history.items()},
                )
            )

    return ProgressCallback()


def time_limit_seconds(config: Config) -> float | None:
    """The config's time limit in seconds, or None when there is none."""
    return None if config.time_limit_minutes is None else config.time_limit_minutes * 60


def time_limit_note(config: Config, epochs_run: int, epochs: int) -> str:
    """What a user should know when the time limit, not the epochs, ended training."""
    return (
        f"Training stopped at its time limit of {config.time_limit_minutes:g} min, in epoch {epochs_run} of at most "
        f"{epochs}. The scores are those of the model it kept; with a longer limit it may read more."
    )


# The forest has no epochs to stop between, and grows in seconds where the networks take minutes.
FOREST_NO_LIMIT = "The forest grows its trees in one go, so the time limit did not apply to it."


def _num(value) -> float | None:
    return None if value is None else float(value)


def choose_model(dataset: Dataset, config: Config) -> tuple[Config, dict | None]:
    """The configuration with `auto` resolved on this data, and why (None when the user chose): see resolve_model."""
    if config.model == AUTO:
        check_enough_to_split(dataset, config)  # auto splits the captchas to choose: too few must say so first
    return resolve_model(dataset, config)


def train(
    dataset: Dataset,
    config: Config = DEFAULT,
    progress: ProgressHook | None = None,
    cancel: threading.Event | None = None,
    leaky_seed_protocol: bool = False,
) -> TrainResult:
    """Split, resample the training split, fit the configured model and evaluate it on the test split."""
    config, choice = choose_model(dataset, config)
    if config.model == "sequence":
        if leaky_seed_protocol:
            raise ValueError("the leaky seed protocol resamples letters; the sequence model reads whole captchas")
        from .sequence import train_sequence

        return train_sequence(dataset, config, progress, cancel, choice)
    check_trainable(dataset)
    report_phase = progress or (lambda p: None)
    report_phase(Progress(phase="preparing"))
    seconds: dict[str, float] = {}
    start = time.perf_counter()
    if leaky_seed_protocol:
        split, resampled = leaky_split(dataset, config)
        train_rows = split.train
    else:
        split = split_dataset(dataset, config)
        resampled = resample(dataset.letters.labels[split.train], config.resample, config.per_class, config.seed)
        train_rows = split.train[resampled.index]
    seconds["split_and_resample"] = time.perf_counter() - start

    letters = dataset.letters
    classifier = make_classifier(config)
    steps = steps_per_epoch(len(train_rows), config.batch_size)
    callbacks, forest_hooks = [], {}
    if config.model == "cnn":
        callbacks = [make_keras_callback(config.epochs, steps, progress, cancel, time_limit_seconds(config))]
    start = time.perf_counter()
    if config.model == "forest":
        forest_hooks = {"report": report_trees(progress, start), "cancel": cancel}
    classifier.fit(
        letters.images[train_rows],
        letters.labels[train_rows],
        letters.images[split.val],
        letters.labels[split.val],
        callbacks=callbacks,
        classes=np.unique(letters.labels),
        **forest_hooks,
    )
    seconds["training"] = time.perf_counter() - start
    if cancel is not None and cancel.is_set():
        raise TrainingCancelled("training was stopped before it finished; nothing was saved")

    report_phase(Progress(phase="evaluating", epochs=config.epochs, history=classifier.history_))
    start = time.perf_counter()
    report = evaluate(classifier, dataset, split.test, split.test_captchas)
    if callbacks and callbacks[0].timed_out:
        report.note = time_limit_note(config, len(classifier.history_.get("loss", [])), config.epochs)
    elif config.model == "forest" and config.time_limit_minutes is not None:
        report.note = FOREST_NO_LIMIT
    seconds["evaluation"] = time.perf_counter() - start
    report_phase(Progress(phase="done", epochs=config.epochs, history=classifier.history_))
    return TrainResult(
        classifier=classifier,
        config=config,
        split=split,
        resampled=resampled,
        report=report,
        history=classifier.history_,
        seconds=seconds,
        protocol="leaky-seed" if leaky_seed_protocol else "honest",
        choice=choice,
    )


def report_trees(progress: ProgressHook | None, start: float) -> Callable[[int, int], None]:
    """A forest's (trees grown, trees in all) as training progress: one epoch whose steps are its trees."""

    def report(grown: int, total: int) -> None:
        if progress is None:
            return
        elapsed = time.perf_counter() - start
        progress(Progress(phase="training", epoch=1, epochs=1, step=grown, steps=total, elapsed=elapsed,
                          eta_seconds=elapsed / grown * (total - grown) if grown else None, unit="trees"))

    return report


def leaky_split(dataset: Dataset, config: Config) -> tuple[Split, Resampled]:
    """The seed's protocol, for teaching only: resample everything, then split, so copies land on both sides."""
    letters = dataset.letters
    target = config.per_class
    resampled = resample(letters.labels, "bootstrap" if config.resample == "none" else config.resample, target, config.seed)
    rows = resampled.index  # already shuffled
    n = len(rows)
    n_test = int(round(n * config.test_size))
    n_val = int(round((n - n_test) * config.val_size))
    test = rows[:n_test]
    val = rows[n_test : n_test + n_val]
    train = rows[n_test + n_val :]
    # Whole-captcha accuracy makes no sense once letters were copied across captchas; the seed never had it.
    return Split(train=train, val=val, test=test, test_captchas=np.zeros(0, np.int64)), resampled
