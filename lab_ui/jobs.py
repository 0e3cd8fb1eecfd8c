"""The server's one background training job: every session watches it, none of them owns its thread.

TensorFlow is imported only inside the worker thread (through captcha_core.training), so pages that
merely show the job's state load fast.
"""
from __future__ import annotations

import copy
import itertools
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import streamlit as st

from captcha_core.config import NETWORK_FIELDS, Config, network_settings
from captcha_core.data import Dataset, DatasetError
from captcha_core.imageio import InputRejected
from captcha_core.persistence import ModelExists, check_name, next_free_name

log = logging.getLogger(__name__)

IDLE, RUNNING, STOPPING, DONE, FAILED, CANCELLED = "idle", "running", "stopping", "done", "failed", "cancelled"
ACTIVE = (RUNNING, STOPPING)
# Errors a student can act on: their message is shown as it is, without a class name.
EXPECTED_ERRORS = (DatasetError, InputRejected, ValueError)


@dataclass
class JobState:
    """A copy of the job's state at one moment; safe to read while the thread keeps going."""

    job_id: int = 0
    status: str = IDLE
    phase: str = ""  # preparing | training | evaluating | saving, while active
    name: str = ""  # the name asked for
    saved_as: str = ""  # the registry name actually written (versioned when the asked one existed)
    model_kind: str = ""
    choice: str = ""  # why auto picked model_kind; empty when the user picked it
    data: str = ""  # a description of the dataset, for other sessions
    epoch: int = 0
    epochs: int = 0
    step: int = 0
    steps: int = 0
    fraction: float = 0.0
    eta_seconds: float | None = None  # as estimated at `reported`
    reported: float = 0.0  # time.time() of the last progress report
    history: dict[str, list[float]] = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    message: str = ""  # why it failed or stopped
    stopped_elsewhere: bool = False  # Stop came from a session that did not start the training
    started: float = 0.0
    finished: float = 0.0

    @property
    def active(self) -> bool:
        """True while the thread runs, including while it winds down after Stop."""
        return self.status in ACTIVE

    @property
    def elapsed(self) -> float:
        """Seconds since the start, up to the end when finished."""
        if not self.started:
            return 0.0
        return (self.finished or time.time()) - self.started

    @property
    def time_left(self) -> float | None:
        """The estimate of the last report, counted down since: Keras may report once per graph call, and a
        figure frozen for the seconds in between looked stuck."""
        if self.eta_seconds is None:
            return None
        return max(0.0, self.eta_seconds - (time.time() - self.reported))


@dataclass
class StartResult:
    """The answer to a Train click: started, or refused with a reason to show."""

    started: bool
    message: str
    job_id: int = 0


class TrainJob:
    """One training at a time per server, run in a daemon thread, observed through snapshot()."""

    def __init__(self):
        self._lock = threading.Lock()
        self._state = JobState()
        self._cancel = threading.Event()
        self._ids = itertools.count(1)
        self._thread: threading.Thread | None = None

    def snapshot(self) -> JobState:
        """A deep copy of the current state."""
        with self._lock:
            return copy.deepcopy(self._state)

    def start(self, dataset: Dataset, config: Config, name: str, models_root: Path, data_label: str = "") -> StartResult:
        """Start training unless one is already running; the check and the claim happen under one lock."""
        from captcha_core.choice import resolve_model

        check_name(name)
        # Resolving auto here only names the model on the page; train() resolves it again, the same way.
        chosen, choice = resolve_model(dataset, config)
        with self._lock:
            if self._state.active:
                return StartResult(False, self._busy_message(self._state))
            self._cancel = threading.Event()
            job_id = next(self._ids)
            self._state = JobState(
                job_id=job_id,
                status=RUNNING,
                phase="preparing",
                name=name,
                model_kind=chosen.model,
                choice=choice["reason"] if choice else "",
                data=data_label or dataset.source,
                epochs=network_settings(chosen, chosen.model)["epochs"] if chosen.model in NETWORK_FIELDS else 0,
                started=time.time(),
            )
            self._thread = threading.Thread(
                target=self._run, args=(job_id, dataset, config, name, Path(models_root), self._cancel),
                name=f"captcha-lab-training-{job_id}", daemon=True,
            )
            self._thread.start()
        return StartResult(True, f"Training {name!r} started.", job_id)

    def stop(self, job_id: int | None = None, from_elsewhere: bool = False) -> bool:
        """Ask the running training to stop after the current batch; False when nothing runs.

        job_id: the training the Stop was shown for; a click that arrives after it ended stops no later one.
        from_elsewhere: the Stop came from a session that did not start it, which its outcome then says.
        """
        with self._lock:
            if self._state.status != RUNNING or job_id not in (None, self._state.job_id):
                return False
            self._state.status = STOPPING
            self._state.stopped_elsewhere = from_elsewhere
            self._cancel.set()
            return True

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the thread ends (for tests and the CLI); True when it did."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
            return not thread.is_alive()
        return True

    @staticmethod
    def _busy_message(state: JobState) -> str:
        return (
            f"A training is already running on this server ({state.name!r}, started "
            f"{round(state.elapsed)} s ago). Only one runs at a time: wait for it, or stop it first."
        )

    # ---------------------------------------------------------------- worker thread

    def _run(self, job_id: int, dataset: Dataset, config: Config, name: str, root: Path, cancel: threading.Event) -> None:
        from captcha_core.training import TrainingCancelled

        try:
            result = self._train(job_id, dataset, config, cancel)
            self._update(job_id, phase="saving")
            saved_as = self._save(result, dataset, name, root)
            self._finish(job_id, DONE, saved_as=saved_as, metrics=result.report.to_dict(), history=result.history)
        except TrainingCancelled:
            with self._lock:
                where = " from another tab or computer" if self._state.stopped_elsewhere else ""
            self._finish(job_id, CANCELLED, message=f"Training was stopped{where} before it finished; nothing was saved.")
        except EXPECTED_ERRORS as exc:
            self._finish(job_id, FAILED, message=str(exc))
        except Exception as exc:  # A crash must end as a message on the page, never as a stuck "running".
            log.exception("training job %s crashed", job_id)
            self._finish(job_id, FAILED, message=f"Training failed unexpectedly ({type(exc).__name__}: {exc}).")

    def _train(self, job_id: int, dataset: Dataset, config: Config, cancel: threading.Event):
        from captcha_core.training import train

        def on_progress(progress) -> None:
            # "preparing" reports no epoch count yet; the one set at start stands until training reports its own.
            planned = {"epochs": progress.epochs} if progress.epochs else {}
            self._update(
                job_id,
                phase=progress.phase,
                epoch=progress.epoch,
                **planned,
                step=progress.step,
                steps=progress.steps,
                fraction=progress.fraction,
                eta_seconds=progress.eta_seconds,
                reported=time.time(),
                history=progress.history,
            )

        return train(dataset, config, progress=on_progress, cancel=cancel)

    @staticmethod
    def _save(result, dataset: Dataset, name: str, root: Path) -> str:
        """Save under `name`, or its next free version: an existing model is never overwritten."""
        from captcha_core.persistence import save_training

        while True:
            free = next_free_name(root, name)
            try:
                save_training(result, dataset, root / free)
                return free
            except ModelExists:
                continue  # someone (the CLI, say) took that name between the check and the write

    def _update(self, job_id: int, **changes) -> None:
        with self._lock:
            if self._state.job_id != job_id:
                return
            for key, value in changes.items():
                setattr(self._state, key, value)

    def _finish(self, job_id: int, status: str, **changes) -> None:
        fraction = {"fraction": 1.0} if status == DONE else {}
        self._update(job_id, status=status, phase="", finished=time.time(), eta_seconds=None, **fraction, **changes)


def _import_tensorflow() -> None:
    from captcha_core.models import configure_tensorflow

    configure_tensorflow()


@st.cache_resource(show_spinner=False)
def warm_up() -> threading.Thread:
    """Import TensorFlow once per server in the background, so the first Train click starts at once."""
    thread = threading.Thread(target=_import_tensorflow, name="captcha-lab-tensorflow-import", daemon=True)
    thread.start()
    return thread


@st.cache_resource(show_spinner=False)
def get_job() -> TrainJob:
    """The server-wide training job, shared by every session."""
    return TrainJob()
