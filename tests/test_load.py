"""Bounded load: 20 real Playground sessions hammer a live dashboard; every answer is right and the server stays up."""
from pathlib import Path

import pytest

from benchmarks import loadtest

pytestmark = pytest.mark.skipif(
    not Path(loadtest.CHROMIUM).exists(), reason=f"{loadtest.CHROMIUM} is not installed (CI installs it)"
)

# The full minute the issue asks for.
DURATION_SECONDS = loadtest.DURATION_SECONDS


def test_twenty_sessions_get_right_answers_and_the_server_survives(tmp_path):
    report = loadtest.run_load_test(tmp_path / "home", sessions=loadtest.SESSIONS, duration=DURATION_SECONDS)
    loadtest.print_summary(report)
    assert report["sessions"] == loadtest.SESSIONS
    assert report["sessions_answered"] == loadtest.SESSIONS, "some sessions never got an answer"
    assert report["wrong"] == [], "the server read a captcha differently from captcha_core in-process"
    assert report["errors"] == []
    assert report["exception_elements"] == 0
    assert report["health_status_at_end"] == 200
    assert report["server_log_tracebacks"] == 0
    # Bounded: the loops stopped by themselves soon after the clock ran out (one in-flight answer at most).
    assert report["elapsed_seconds"] < DURATION_SECONDS + loadtest.ANSWER_TIMEOUT_MS / 1000 + loadtest.SETTLE_SECONDS * 10
