"""Long loads with a progress bar: the load runs in a worker thread while the script thread draws its progress.

A cached function may not draw into a container made outside it (Streamlit would replay the drawing on a cache
hit, into a container that no longer exists), so the loader only counts and this script thread draws.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import streamlit as st
from streamlit.runtime.scriptrunner import add_script_run_ctx, get_script_run_ctx

T = TypeVar("T")
# A load that ends this soon (a cache hit, a small set) shows no bar at all, as Streamlit's own spinner waits.
SHOW_AFTER_SECONDS = 0.5
# How often the bar is redrawn while the load runs.
REDRAW_SECONDS = 0.25


class LoadCounter:
    """The latest (stage, done, total) a loader reported, written by the worker and read by the script thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._latest: tuple[str, int, int] | None = None

    def __call__(self, stage: str, done: int, total: int) -> None:
        with self._lock:
            self._latest = (stage, done, total)

    def latest(self) -> tuple[str, int, int] | None:
        with self._lock:
            return self._latest


def progress_text(title: str, latest: tuple[str, int, int] | None, seconds: float) -> str:
    """The bar's caption: what is loading, the stage with its count, and the seconds so far."""
    if latest is None or not latest[2]:
        return f"{title} ({seconds:.0f} s)"
    stage, done, total = latest
    return f"{title}: {stage}, {done:,} of {total:,} ({seconds:.0f} s)"


def progress_fraction(latest: tuple[str, int, int] | None) -> float:
    """How far the current stage has got, 0 to 1."""
    if latest is None or not latest[2]:
        return 0.0
    return min(max(latest[1] / latest[2], 0.0), 1.0)


@dataclass
class Load:
    """One load running in a worker thread: its counter, and its value or error once it ends."""

    worker: threading.Thread
    counter: LoadCounter
    started: float
    outcome: dict = field(default_factory=dict)


# Loads under way, by what they load. A rerun or page switch interrupts the script thread, not the worker; the
# next run follows the same load (and its count) instead of starting a second one that would wait on it.
_LOADS: dict[tuple, Load] = {}
_LOADS_LOCK = threading.Lock()


def start_or_follow(load: Callable[..., T], args: tuple) -> Load:
    """The load of load(*args) already under way, or a new one started in a worker thread."""
    key = (load.__module__, load.__qualname__, args)
    with _LOADS_LOCK:
        running = _LOADS.get(key)
        if running is not None and running.worker.is_alive():
            return running
        counter = LoadCounter()

        def work() -> None:
            try:
                this.outcome["value"] = load(*args, _report=counter)
            except BaseException as exc:  # noqa: BLE001  (re-raised in the script thread, where Streamlit handles it)
                this.outcome["error"] = exc
            finally:
                with _LOADS_LOCK:
                    if _LOADS.get(key) is this:
                        del _LOADS[key]

        this = Load(threading.Thread(target=work, name="captcha-lab-load", daemon=True), counter, time.monotonic())
        add_script_run_ctx(this.worker, get_script_run_ctx())
        _LOADS[key] = this
        this.worker.start()
        return this


def with_progress(title: str, load: Callable[..., T], *args) -> T:
    """Run load(*args, _report=counter) in a worker thread, showing a progress bar if it takes a while."""
    running = start_or_follow(load, args)
    running.worker.join(SHOW_AFTER_SECONDS)
    if running.worker.is_alive():
        seconds = lambda: time.monotonic() - running.started  # noqa: E731
        bar = st.progress(0.0, text=progress_text(title, running.counter.latest(), seconds()))
        while running.worker.is_alive():
            latest = running.counter.latest()
            bar.progress(progress_fraction(latest), text=progress_text(title, latest, seconds()))
            running.worker.join(REDRAW_SECONDS)
        bar.empty()
    if "error" in running.outcome:
        raise running.outcome["error"]
    return running.outcome["value"]
