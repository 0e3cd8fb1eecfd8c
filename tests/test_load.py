"""Bounded load: 10 real Playground sessions hammer a live dashboard; every answer is right and the server stays up."""
from pathlib import Path

import pytest

from benchmarks import loadtest

pytestmark = pytest.mark.skipif(
    not Path(loadtest.CHROMIUM).exists(), reason=f"{loadtest.CHROMIUM} is not installed (CI installs it)"
)

# Half the benchmark's 20 tabs for half its minute: on 2 shared cores opening 20 tabs alone takes 1-2 min (the test
# took 109 s of a suite that had reached 10 min). `python -m benchmarks.loadtest` runs the full 20 for the full minute.
SESSIONS = loadtest.SESSIONS // 2
DURATION_SECONDS = 30.0


def test_many_sessions_get_right_answers_and_the_server_survives(tmp_path):
    report = loadtest.run_load_test(tmp_path / "home", sessions=SESSIONS, duration=DURATION_SECONDS)
    loadtest.print_summary(report)
    assert report["sessions"] == SESSIONS
    assert report["sessions_answered"] == SESSIONS, "some sessions never got an answer"
    assert report["wrong"] == [], "the server read a captcha differently from captcha_core in-process"
    assert report["errors"] == []
    assert report["exception_elements"] == 0
    assert report["health_status_at_end"] == 200
    assert report["server_log_tracebacks"] == 0
    # Bounded: the loops stopped by themselves once the clock ran out, with one request in flight at most.
    assert report["elapsed_seconds"] < loadtest.worst_case_seconds(DURATION_SECONDS, loadtest.PACE_SECONDS)
