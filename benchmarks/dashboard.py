"""The dashboard through a real browser: time to the first page against hello world, and the playground's round trip."""
from __future__ import annotations

import re
import shutil
import statistics
import time
from pathlib import Path

from .browser import CHROMIUM, CHROMIUM_ARGS
from .common import ROOT, summarize_ms
from .server import free_port, start_server, stop_server

HELLO_TITLE = "Hello world"
# A server that has not answered in this long is broken, not slow.
START_TIMEOUT_S = 120
ANSWER_TIMEOUT_MS = 60_000
POLL_S = 0.02
PLAYGROUND_URL_PATH = "playground"
SAMPLE_BUTTON = "New random captcha"
SAMPLE_TAB = "Random sample"
# The random-sample caption names the generator seed, so a new answer is told apart from the old one.
SAMPLE_CAPTION = re.compile(r"\(seed (\d+)\), never seen in training")
BENCH_MODEL = "benchmark"
# After an answer shows, the page goes on drawing (letters, a look inside); the next click waits for it to settle.
SETTLE_S = 1.5


def page_title(page_file: Path) -> str | None:
    """The st.title text of a page, read from its source so the benchmark follows the page as it changes."""
    match = re.search(r'st\.title\(\s*"([^"]+)"', page_file.read_text()) if page_file.exists() else None
    return match.group(1) if match else None


def time_to_title(browser, script: str, title: str, home: Path) -> float:
    """Seconds from starting the server process to the browser showing `title` as a heading."""
    port = free_port()
    context = browser.new_context()
    page = context.new_page()
    start = time.perf_counter()
    proc = start_server(home, port, script=script)
    try:
        while True:
            if time.perf_counter() - start > START_TIMEOUT_S:
                raise TimeoutError(f"{script} did not answer within {START_TIMEOUT_S} s")
            try:
                page.goto(f"http://127.0.0.1:{port}/", wait_until="commit", timeout=ANSWER_TIMEOUT_MS)
                break
            except Exception:  # connection refused until the server listens
                time.sleep(POLL_S)
        page.get_by_role("heading", name=title).first.wait_for(state="visible", timeout=ANSWER_TIMEOUT_MS)
        return time.perf_counter() - start
    finally:
        context.close()
        stop_server(proc)


def measure_start(browser, runs: int, work: Path) -> dict:
    """Median start-to-first-page of the app and of a hello-world app, alternated so load drifts hit both."""
    title = page_title(ROOT / "views" / "home.py")
    if not title:
        return {"missing": "views/home.py has no st.title to wait for"}
    hello = work / "hello_app.py"
    hello.write_text(f'import streamlit as st\n\nst.title("{HELLO_TITLE}")\n')
    home = work / "dashboard_home"
    app_s, hello_s = [], []
    for _ in range(runs):
        hello_s.append(time_to_title(browser, str(hello), HELLO_TITLE, home))
        app_s.append(time_to_title(browser, "app.py", title, home))
    app, base = statistics.median(app_s), statistics.median(hello_s)
    return {"app_seconds": app, "hello_world_seconds": base, "ratio": app / base, "app_runs": app_s, "hello_runs": hello_s, "home_title": title}


def playground_ready(source: str) -> str | None:
    """Why the playground cannot be measured yet, or None when it has the widgets we drive."""
    if SAMPLE_BUTTON not in source or SAMPLE_TAB not in source or "never seen in training" not in source:
        return f"views/playground.py has no {SAMPLE_TAB!r} tab with a {SAMPLE_BUTTON!r} button yet"
    return None


def measure_playground(browser, runs: int, model_dir: str, work: Path) -> dict:
    """Click "New random captcha" in the Playground and time until the model's reading of the new captcha shows."""
    page_file = ROOT / "views" / "playground.py"
    missing = playground_ready(page_file.read_text()) if page_file.exists() else "views/playground.py does not exist"
    if missing:
        return {"missing": missing}
    home = work / "playground_home"
    shutil.copytree(model_dir, home / "models" / BENCH_MODEL, dirs_exist_ok=True)
    port = free_port()
    proc = start_server(home, port)
    context = browser.new_context()
    page = context.new_page()
    try:
        deadline = time.perf_counter() + START_TIMEOUT_S
        while True:
            try:
                page.goto(f"http://127.0.0.1:{port}/{PLAYGROUND_URL_PATH}", timeout=ANSWER_TIMEOUT_MS)
                break
            except Exception:
                if time.perf_counter() > deadline:
                    raise
                time.sleep(POLL_S)
        page.get_by_role("tab", name=re.compile(SAMPLE_TAB)).click(timeout=ANSWER_TIMEOUT_MS)
        caption = page.get_by_text(SAMPLE_CAPTION).first
        caption.wait_for(state="visible", timeout=ANSWER_TIMEOUT_MS)
        button = page.get_by_role("button", name=re.compile(SAMPLE_BUTTON))
        durations = []
        # The first click pays for anything the page loads lazily; it is warm-up, as for a student's second try.
        for i in range(runs + 1):
            before = SAMPLE_CAPTION.search(caption.inner_text()).group(1)
            start = time.perf_counter()
            button.click()
            page.wait_for_function(
                "([before]) => { const m = document.body.innerText.match(/\\(seed (\\d+)\\), never seen in training/);"
                " return m && m[1] !== before; }",
                arg=[before],
                timeout=ANSWER_TIMEOUT_MS,
                polling="raf",
            )
            if i:
                durations.append(time.perf_counter() - start)
            time.sleep(SETTLE_S)
        return {"round_trip": summarize_ms(durations), "widget": f"{SAMPLE_TAB} tab, {SAMPLE_BUTTON!r} button"}
    finally:
        context.close()
        stop_server(proc)


def measure_dashboard(runs: int, playground_runs: int, model_dir: str, work: Path) -> dict:
    """Both dashboard figures, in one chromium."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            start = measure_start(browser, runs, work)
            try:
                playground = measure_playground(browser, playground_runs, model_dir, work)
            except Exception as exc:  # a page under construction must not sink the other figures
                playground = {"missing": f"playground measurement failed: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}"}
        finally:
            browser.close()
    return {"start": start, "playground": playground}
