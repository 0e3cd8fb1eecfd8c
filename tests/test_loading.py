"""lab_ui.loading: a slow load runs in a worker while the caller draws a bar naming its stage and count."""
import threading
import time

import pytest

from lab_ui import loading


class FakeBar:
    def __init__(self, drawn):
        self.drawn = drawn

    def progress(self, value, text=""):
        self.drawn.append((value, text))

    def empty(self):
        self.drawn.append("emptied")


@pytest.fixture
def bar(monkeypatch):
    drawn = []

    def progress(value, text=""):
        made = FakeBar(drawn)
        made.progress(value, text)
        return made

    monkeypatch.setattr(loading.st, "progress", progress)
    return drawn


def test_a_quick_load_returns_its_value_and_draws_nothing(bar):
    assert loading.with_progress("Loading x", lambda a, b, _report: a + b, 2, 3) == 5
    assert bar == []


def test_a_slow_load_shows_its_stage_and_count_then_clears_the_bar(bar):
    def slow(_report):
        for done in range(0, 11):
            _report("cutting captchas into letters", done, 10)
            time.sleep(0.1)
        return "dataset"

    assert loading.with_progress("Loading /data", slow) == "dataset"
    texts = [t for _, t in (d for d in bar if d != "emptied")]
    assert any(t.startswith("Loading /data: cutting captchas into letters, ") and " of 10 (" in t for t in texts)
    fractions = [v for v, _ in (d for d in bar if d != "emptied")]
    assert fractions == sorted(fractions) and 0 < max(fractions) <= 1
    assert bar[-1] == "emptied"


def test_the_loaders_error_reaches_the_caller():
    def broken(_report):
        raise ValueError("no images found")

    with pytest.raises(ValueError, match="no images found"):
        loading.with_progress("Loading /empty", broken)


def test_progress_text_before_and_after_the_first_report():
    assert loading.progress_text("Loading x", None, 2.4) == "Loading x (2 s)"
    assert loading.progress_text("Loading x", ("reading images", 1200, 9955), 7.6) == "Loading x: reading images, 1,200 of 9,955 (8 s)"
    assert loading.progress_fraction(("reading images", 1200, 9955)) == pytest.approx(1200 / 9955)
    assert loading.progress_fraction(("reading images", 0, 0)) == 0.0


def test_a_run_that_comes_back_follows_the_load_under_way_instead_of_starting_another(bar):
    calls = []

    def slow(x, _report):
        calls.append(x)
        for done in range(6):
            _report("cutting captchas into letters", done, 5)
            time.sleep(0.15)
        return x * 2

    first = []
    interrupted = threading.Thread(target=lambda: first.append(loading.with_progress("Loading x", slow, 21)))
    interrupted.start()
    time.sleep(0.2)  # the first run is under way when the page runs again
    assert loading.with_progress("Loading again", slow, 21) == 42
    interrupted.join()
    assert first == [42] and calls == [21]
    # The follower drew the running load's stage and count, not an empty bar.
    texts = [text for _, text in (d for d in bar if d != "emptied")]
    assert any(t.startswith("Loading again: cutting captchas into letters, ") for t in texts)
