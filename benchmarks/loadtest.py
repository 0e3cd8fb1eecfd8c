"""Load test: 20 Playground sessions (tabs of one chromium) ask a live dashboard for fresh captchas for a bounded time.

Every answer shown must equal what captcha_core reads in-process for the same captcha, and the server must
still be healthy at the end. `python -m benchmarks.loadtest` prints a summary and writes results/loadtest.json;
tests/test_load.py runs the same code.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import common
from .browser import CHROMIUM, CHROMIUM_ARGS
from .server import HOST, free_port, health, start_server, stop_server, wait_healthy

ROOT = common.ROOT
RESULTS_FILE = common.RESULTS / "loadtest.json"
VIEWPORT = {"width": 1280, "height": 900}

SESSIONS = 20
DURATION_SECONDS = 60.0
MODEL_NAME = "load-tiny"
MODEL_CAPTCHAS = 150
MODEL_EPOCHS = 3
# Each session rests between answers, and the first clicks are spread over one pace, so 20 sessions on 2 shared
# cores queue at the server instead of all rendering at the same instant.
PACE_SECONDS = 5.0
# Pages opened at once: 20 first runs together starve the server and the browser alike on 2 cores.
OPEN_AT_ONCE = 4
# A hard cap as well as the clock, so a loop stops by itself even if answers come back instantly.
MAX_ANSWERS_PER_SESSION = 200
# Budgets on 2 busy cores: the server imports TensorFlow (about 15 s) before the first page can answer.
SERVER_START_SECONDS = 60
PAGE_READY_MS = 240_000
ANSWER_TIMEOUT_MS = 120_000
POLL_MS = 100
# A run can deliver the new seed before its text caption; re-reading after a pause rules out a half-drawn page.
SETTLE_SECONDS = 0.3
SETTLE_ATTEMPTS = 5
# Pictures, fonts and media are irrelevant to reading the answer's text and cost the pages CPU.
BLOCKED_RESOURCES = {"image", "font", "media"}

# The answer as the page shows it: the seed in the sample's caption, the text in the reading's caption.
READ_ANSWER_JS = """(previous) => {
    if (document.querySelector('[data-testid="stStatusWidget"]')) return null;
    const live = [...document.querySelectorAll('[data-testid="stElementContainer"]:not([data-stale="true"])')];
    const captions = live.map(e => e.querySelector('[data-testid="stCaptionContainer"]')).filter(Boolean)
                         .map(e => e.innerText);
    const seed = captions.map(t => t.match(/\\(seed (\\d+)\\)/)).find(Boolean);
    const text = captions.map(t => t.match(/^Text: (.*?) · whole-text/)).find(Boolean);
    if (!seed || !text || seed[1] === previous) return null;
    return {seed: seed[1], text: text[1],
            exceptions: document.querySelectorAll('[data-testid="stException"]').length};
}"""
EXCEPTIONS_JS = """() => document.querySelectorAll('[data-testid="stException"]').length"""


@dataclass
class Answer:
    seed: int
    text: str
    seconds: float


@dataclass
class Session:
    """What one browser page saw."""

    index: int
    answers: list[Answer] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    exceptions: int = 0


# ---------------------------------------------------------------- the model and the server


def train_tiny_model(home: Path) -> Path:
    """Train the smallest useful model in-process and save it into the workspace's registry."""
    from captcha_core.config import DEFAULT
    from captcha_core.data import generate_dataset
    from captcha_core.persistence import save_training
    from captcha_core.training import train

    config = DEFAULT.with_(generate_count=MODEL_CAPTCHAS, epochs=MODEL_EPOCHS)
    dataset = generate_dataset(config)
    result = train(dataset, config)
    return save_training(result, dataset, home / "models" / MODEL_NAME)


def peak_rss_mb(pid: int) -> float | None:
    """The server's peak resident memory so far, from /proc."""
    try:
        match = re.search(r"^VmHWM:\s+(\d+)\s+kB", Path(f"/proc/{pid}/status").read_text(), re.M)
    except OSError:
        return None
    return round(int(match.group(1)) / 1024.0) if match else None


# ---------------------------------------------------------------- the sessions


async def skip_heavy_resources(route) -> None:
    if route.request.resource_type in BLOCKED_RESOURCES:
        await route.abort()
    else:
        await route.continue_()


async def open_playground(context, url: str, session: Session):
    """A new tab (its own websocket, so its own Streamlit session) on the Playground's Random sample tab."""
    page = await context.new_page()
    page.on("pageerror", lambda exc: session.errors.append(f"page error: {exc}"))
    await page.goto(f"{url}/playground", timeout=PAGE_READY_MS)
    await page.get_by_role("tab", name="Random sample").click(timeout=PAGE_READY_MS)
    first = await page.wait_for_function(READ_ANSWER_JS, arg="", timeout=PAGE_READY_MS, polling=POLL_MS)
    return page, (await first.json_value())["seed"]


async def settled_answer(page, previous: str) -> dict:
    """The next answer once the page has stopped changing."""
    for _ in range(SETTLE_ATTEMPTS):
        handle = await page.wait_for_function(READ_ANSWER_JS, arg=previous, timeout=ANSWER_TIMEOUT_MS, polling=POLL_MS)
        seen = await handle.json_value()
        await asyncio.sleep(SETTLE_SECONDS)
        if await page.evaluate(READ_ANSWER_JS, previous) == seen:
            return seen
    raise RuntimeError(f"the answer was still changing after {SETTLE_ATTEMPTS} reads")


async def ask_once(page, session: Session, previous: str) -> str:
    """Click for a new captcha and wait for its reading; returns the new seed."""
    start = time.perf_counter()
    await page.get_by_role("button", name="New random captcha").click(timeout=ANSWER_TIMEOUT_MS)
    seen = await settled_answer(page, previous)
    session.answers.append(Answer(int(seen["seed"]), seen["text"], time.perf_counter() - start - SETTLE_SECONDS))
    session.exceptions = max(session.exceptions, seen["exceptions"])
    return seen["seed"]


async def run_session(page, session: Session, seed: str, stop_at: float, pace: float, offset: float) -> None:
    """Ask for captchas until the clock or the answer cap says stop; a failed request is counted, not fatal."""
    await asyncio.sleep(offset)
    while time.monotonic() < stop_at and len(session.answers) < MAX_ANSWERS_PER_SESSION:
        try:
            seed = await ask_once(page, session, seed)
        except Exception as exc:  # a timeout or a closed page: note it and keep the remaining budget
            session.errors.append(f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
            if page.is_closed():
                return
        await asyncio.sleep(pace)
    session.exceptions = max(session.exceptions, await page.evaluate(EXCEPTIONS_JS))


async def drive(url: str, sessions: int, duration: float, pace: float, timings: dict) -> tuple[list[Session], float]:
    """Open every tab first, then let all of them ask for `duration` seconds at once."""
    from playwright.async_api import async_playwright

    results = [Session(i) for i in range(sessions)]
    gate = asyncio.Semaphore(OPEN_AT_ONCE)

    async def open_gated(session):
        async with gate:
            return await open_playground(context, url, session)

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            # One context is enough: each tab has its own websocket, hence its own Streamlit session. (Routing turns
            # Playwright's HTTP cache off; measured, blocking images and fonts opened tabs as fast as caching did.)
            context = await browser.new_context(viewport=VIEWPORT)
            await context.route("**/*", skip_heavy_resources)
            opening = time.monotonic()
            opened = await asyncio.gather(*(open_gated(s) for s in results), return_exceptions=True)
            timings["pages_open_seconds"] = round(time.monotonic() - opening, 1)
            failed = [o for o in opened if isinstance(o, BaseException)]
            if failed:
                raise RuntimeError(f"{len(failed)} of {sessions} pages never showed an answer: {failed[0]!r}")
            stop_at = time.monotonic() + duration
            started = time.monotonic()
            await asyncio.gather(*(run_session(page, s, seed, stop_at, pace, pace * s.index / sessions)
                                   for (page, seed), s in zip(opened, results)))
            elapsed = time.monotonic() - started
        finally:
            await browser.close()
    return results, elapsed


# ---------------------------------------------------------------- checking and reporting


def expected_readings(model_folder: Path, seeds: set[int]) -> dict[int, str]:
    """What captcha_core reads in-process for the Playground's sample captcha of each seed."""
    from captcha_core.config import DEFAULT
    from captcha_core.generator import DIFFICULTIES, generate_captchas
    from captcha_core.prediction import Predictor
    from captcha_core.review import config_from_dict

    predictor = Predictor.from_folder(model_folder)
    # The same settings the Playground derives from the model for its random samples.
    config = config_from_dict(predictor.metadata.get("config"))
    alphabet = "".join(label for label in predictor.labels if len(label) == 1)
    difficulty = config.difficulty if config.difficulty in DIFFICULTIES else DEFAULT.difficulty
    length = int(predictor.captcha_length or config.captcha_length)
    readings = {}
    for seed in seeds:
        _, image = generate_captchas(1, length=length, alphabet=alphabet, difficulty=difficulty, seed=seed)[0]
        readings[seed] = predictor.solve(image, length).text or "nothing"
    return readings


def summarize(sessions: list[Session], expected: dict[int, str], elapsed: float, healthy: int,
              peak_mb: float | None, duration: float, pace: float) -> dict:
    """The figures worth reporting, and every wrong answer and error in full."""
    answers = [a for s in sessions for a in s.answers]
    wrong = [{"session": s.index, "seed": a.seed, "shown": a.text, "expected": expected[a.seed]}
             for s in sessions for a in s.answers if expected[a.seed] != a.text]
    times = [a.seconds for a in answers]
    round_trip = common.summarize_ms(times) if times else {"p50_ms": None, "p95_ms": None, "mean_ms": None, "runs": 0}
    return {
        "sessions": len(sessions),
        "sessions_answered": sum(1 for s in sessions if s.answers),
        "duration_seconds": duration,
        "elapsed_seconds": round(elapsed, 1),
        "pace_seconds": pace,
        "answers": len(answers),
        "answers_per_second": round(len(answers) / elapsed, 2) if elapsed else 0.0,
        "wrong": wrong,
        "errors": [f"session {s.index}: {e}" for s in sessions for e in s.errors],
        "exception_elements": sum(s.exceptions for s in sessions),
        "health_status_at_end": healthy,
        "round_trip_p50_ms": round_trip["p50_ms"],
        "round_trip_p95_ms": round_trip["p95_ms"],
        "round_trip_max_ms": max(times) * 1000.0 if times else None,
        "server_peak_rss_mb": peak_mb,
    }


def run_load_test(home: Path, sessions: int = SESSIONS, duration: float = DURATION_SECONDS,
                  pace: float = PACE_SECONDS) -> dict:
    """Train a tiny model into `home`, start the app on it, drive the sessions, check every answer."""
    home.mkdir(parents=True, exist_ok=True)
    timings = {}
    clock = time.monotonic()
    model_folder = train_tiny_model(home)
    timings["model_seconds"] = round(time.monotonic() - clock, 1)
    port = free_port()
    url = f"http://{HOST}:{port}"
    log = home / "server.log"
    clock = time.monotonic()
    server = start_server(home, port, log)
    try:
        wait_healthy(url, server, log, SERVER_START_SECONDS)
        timings["server_start_seconds"] = round(time.monotonic() - clock, 1)
        results, elapsed = asyncio.run(drive(url, sessions, duration, pace, timings))
        healthy = health(url) if server.poll() is None else 0
        peak_mb = peak_rss_mb(server.pid)
    finally:
        stop_server(server)
    expected = expected_readings(model_folder, {a.seed for s in results for a in s.answers})
    report = summarize(results, expected, elapsed, healthy, peak_mb, duration, pace)
    report["server_log_tracebacks"] = log.read_text(errors="replace").count("Traceback")
    report["phases"] = timings
    return report


def worst_case_seconds(duration: float, pace: float) -> float:
    """How long the load phase can last: the staggered start, the clock, then one last request timing out twice."""
    per_wait = ANSWER_TIMEOUT_MS / 1000 + SETTLE_SECONDS
    return pace + duration + ANSWER_TIMEOUT_MS / 1000 + SETTLE_ATTEMPTS * per_wait + pace


def print_summary(report: dict) -> None:
    p50, p95 = report["round_trip_p50_ms"], report["round_trip_p95_ms"]
    timing = f"p50 {p50:.0f} ms, p95 {p95:.0f} ms" if p50 is not None else "no answers"
    print(f"{report['sessions']} sessions ({report['sessions_answered']} answered) for {report['elapsed_seconds']} s: "
          f"{report['answers']} answers ({report['answers_per_second']}/s), {len(report['wrong'])} wrong, "
          f"{len(report['errors'])} errors, {report['exception_elements']} exception elements; "
          f"round trip {timing}; health at end {report['health_status_at_end']}; "
          f"server peak RSS {report['server_peak_rss_mb']} MB; setup {report['phases']}")
    for line in report["wrong"] + report["errors"]:
        print(f"  {line}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=SESSIONS)
    parser.add_argument("--duration", type=float, default=DURATION_SECONDS, help="seconds of load")
    parser.add_argument("--pace", type=float, default=PACE_SECONDS, help="seconds each session rests between answers")
    parser.add_argument("--out", type=Path, default=RESULTS_FILE)
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} is not installed", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="captcha-lab-load-") as tmp:
        report = run_load_test(Path(tmp) / "home", args.sessions, args.duration, args.pace)
    report["machine"] = {"cpus": os.cpu_count(), "load_average": os.getloadavg()}
    print_summary(report)
    common.write_json(args.out, report)
    print(f"wrote {args.out}")
    ok = not report["wrong"] and not report["errors"] and report["health_status_at_end"] == 200
    return 0 if ok and not report["exception_elements"] else 1


if __name__ == "__main__":
    sys.exit(main())
