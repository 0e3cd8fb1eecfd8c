"""Retake the README's screenshots (docs/screenshots/*.png) from a real dashboard, as a user would get there.

Not a measurement: it lives here beside the benchmarks because it drives the same chromium against the same
server. On an empty workspace it presses Quick start, loads hard captchas, trains a CNN on them (caught mid-run
for the Train picture), then opens Evaluate and reads an uploaded captcha in the Playground. About a minute and a
half on 2 cores:

    .venv/bin/python -m benchmarks.screenshots [--out docs/screenshots]
"""
from __future__ import annotations

import argparse
import re
import tempfile
from pathlib import Path

import cv2

from captcha_core.config import DEFAULT
from captcha_core.generator import generate_captchas

from . import common
from .browser import CHROMIUM, CHROMIUM_ARGS, wait_until_no_run
from .loadtest import SERVER_START_SECONDS
from .server import HOST, free_port, start_server, stop_server, wait_healthy

OUT = common.ROOT / "docs" / "screenshots"
VIEWPORT = {"width": 1280, "height": 900}
HARD_MODEL = "demo-hard"
# Epochs the Train picture waits for, so its curves have a shape.
EPOCHS_SHOWN = 4
# Budgets on 2 cores: TensorFlow's first import, then a default training of 600 captchas.
PAGE_MS = 60_000
TRAINING_MS = 300_000
# Charts and images are drawn after the script run ends; a picture taken at once catches them blank.
SETTLE_MS = 1500
MAIN_HEIGHT_JS = "document.querySelector('[data-testid=\"stMain\"]').scrollHeight"
# A click's script run may not have begun the moment the click returns.
RUN_START_MS = 500
# The uploaded captcha: a hard one the demo model has never seen.
UPLOAD_SEED = 424242


def wait_ready(page) -> None:
    """Wait until Streamlit has no script run in progress, then for the charts to draw."""
    page.wait_for_timeout(RUN_START_MS)
    wait_until_no_run(page, PAGE_MS)
    page.wait_for_timeout(SETTLE_MS)


def open_page(page, title: str) -> None:
    """Click a sidebar entry and wait for its page."""
    page.get_by_test_id("stSidebarNavItems").get_by_role("link", name=title).click()
    page.get_by_role("heading", name=title).first.wait_for(timeout=PAGE_MS)
    wait_ready(page)


def shoot(page, out: Path, name: str, full_page: bool = True) -> None:
    """Save one screenshot and say where; `full_page` grows the window to the page's height first."""
    path = out / f"{name}.png"
    # A pointer left over a chart, a table or the sidebar draws their toolbars into the picture.
    page.mouse.move(VIEWPORT["width"] - 1, VIEWPORT["height"] - 1)
    if full_page:
        # Streamlit scrolls its main block inside a fixed window, so Playwright's own full_page sees one screen.
        height = page.evaluate(MAIN_HEIGHT_JS)
        page.set_viewport_size({**VIEWPORT, "height": max(VIEWPORT["height"], height)})
        wait_ready(page)
    page.screenshot(path=str(path))
    page.set_viewport_size(VIEWPORT)
    print(f"wrote {path}")


def quick_start(page, out: Path) -> None:
    """Home after the one-click start has trained its model."""
    page.get_by_role("button", name="Generate data and train").click()
    page.get_by_text("Trained and saved").first.wait_for(timeout=TRAINING_MS)
    wait_ready(page)
    shoot(page, out, "home")


def hard_data(page, out: Path) -> None:
    """The Data page on hard captchas: gallery, cuts and the class histograms."""
    open_page(page, "Data")
    page.get_by_role("radiogroup", name="Difficulty").get_by_role("radio", name="hard", exact=True).click()
    page.get_by_role("button", name="Generate").click()
    page.get_by_text("Loaded: built-in generator: 600 hard captchas").first.wait_for(timeout=PAGE_MS)
    wait_ready(page)
    shoot(page, out, "data")


def train_hard_model(page, out: Path) -> None:
    """The Train page while a CNN learns the hard captchas, then wait for it to finish."""
    open_page(page, "Train")
    page.get_by_role("radiogroup", name="Model").get_by_role("radio", name="cnn", exact=True).click()
    wait_ready(page)
    name = page.get_by_label("Model name")
    name.fill(HARD_MODEL)
    name.press("Enter")
    wait_ready(page)
    page.get_by_role("button", name="Train", exact=True).click()
    # Any epoch from then on: the panel redraws every 2 s, and a CNN epoch on 600 captchas takes less.
    later = "|".join(str(n) for n in range(EPOCHS_SHOWN + 1, DEFAULT.epochs + 1))
    page.get_by_text(re.compile(rf"Epoch ({later})/")).first.wait_for(timeout=TRAINING_MS)
    page.wait_for_timeout(SETTLE_MS)
    shoot(page, out, "train", full_page=False)
    page.get_by_text("Trained and saved").first.wait_for(timeout=TRAINING_MS)
    wait_ready(page)


def evaluate(page, out: Path) -> None:
    """Evaluate on the model just trained: scores, the confusion matrix and its mistakes."""
    open_page(page, "Evaluate")
    page.get_by_text("Where it goes wrong").first.wait_for(timeout=PAGE_MS)
    wait_ready(page)
    shoot(page, out, "evaluate")


def playground(page, out: Path, work: Path) -> None:
    """The Playground reading an uploaded hard captcha, named by its text so the reading is marked right or wrong."""
    text, image = generate_captchas(1, difficulty="hard", seed=UPLOAD_SEED)[0]
    upload = work / f"{text}.png"
    cv2.imwrite(str(upload), image)
    open_page(page, "Playground")
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(str(upload))
    page.get_by_text("The model reads").first.wait_for(timeout=PAGE_MS)
    wait_ready(page)
    shoot(page, out, "playground")


def take_screenshots(out: Path) -> None:
    """Start a dashboard on an empty workspace and walk it, saving a picture of each page."""
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="captcha-lab-shots-") as tmp:
        work = Path(tmp)
        port = free_port()
        url = f"http://{HOST}:{port}"
        server = start_server(work / "home", port, work / "server.log")
        try:
            wait_healthy(url, server, work / "server.log", SERVER_START_SECONDS)
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport=VIEWPORT)
                page.goto(url)
                page.get_by_role("heading", name="Captcha Lab").first.wait_for(timeout=PAGE_MS)
                wait_ready(page)
                try:
                    quick_start(page, out)
                    hard_data(page, out)
                    train_hard_model(page, out)
                    evaluate(page, out)
                    playground(page, out, work)
                except Exception:
                    # What the page showed when a step gave up is what tells why.
                    shoot(page, work.parent, "captcha-lab-shots-failed")
                    raise
                finally:
                    browser.close()
        finally:
            stop_server(server)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help="folder for the pictures (default: %(default)s)")
    take_screenshots(parser.parse_args().out)


if __name__ == "__main__":
    main()
