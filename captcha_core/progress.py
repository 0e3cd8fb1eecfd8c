"""Progress of long loads: a loader reports (stage, done, total) through a callback, never through a UI."""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sized
from typing import TypeVar

# report(stage, done, total): stage names the work in words a student reads ("cutting captchas into letters").
ProgressReport = Callable[[str, int, int], None]
T = TypeVar("T")
# The stages of loading data, as the dashboard's progress bar names them.
DRAWING = "drawing captchas"
DECODING = "reading images"
CUTTING = "cutting captchas into letters"
SIZING = "scaling letters"

# Reports per stage: often enough for a smooth bar, rare enough to cost nothing next to the work itself.
REPORTS_PER_STAGE = 100


def reporting(items: Iterable[T], stage: str, report: ProgressReport | None, total: int | None = None) -> Iterator[T]:
    """Yield the items, reporting `stage` at the start, about every 1% of `total` (len(items) by default) and at the end."""
    if report is None:
        yield from items
        return
    total = len(items) if total is None and isinstance(items, Sized) else int(total or 0)
    every = max(1, total // REPORTS_PER_STAGE)
    report(stage, 0, total)
    done = 0
    for item in items:
        yield item
        done += 1
        if done % every == 0 and done < total:
            report(stage, done, total)
    report(stage, done, total)
