"""Streamlit pieces shared by the Evaluate and Playground pages: model picker, friendly errors, image helpers."""
from __future__ import annotations

import hashlib
import html

import numpy as np
import streamlit as st

from captcha_core.data import plural  # noqa: F401  (the pages' views.plural)
from captcha_core.imageio import InputRejected
from captcha_core.persistence import ModelDamaged
from captcha_core.preview import enlarge

from . import cache, jobs, state

HOME_PAGE = "views/home.py"
TRAIN_PAGE = "views/train.py"
MISSING = "–"  # a figure the data or the model does not have
# Letters are 60 px; shown 2x with square pixels they read clearly without blurring.
PIXEL_ZOOM = 2


def no_model_message() -> None:
    """A friendly way out when there is nothing to evaluate or play with yet."""
    snap = jobs.get_job().snapshot()
    if snap.active:
        # A training is on its way: say so, rather than send the user off to start another one.
        progress = f", epoch {snap.epoch} of {snap.epochs}" if snap.epoch and snap.epochs else ""
        st.info(f"There is no trained model yet, but `{snap.name}` is training ({snap.model_kind}{progress}). It will "
                "appear here once it is saved: come back or reload this page then.", icon=":material/hourglass_top:")
        st.page_link(TRAIN_PAGE, label="Watch it train", icon=":material/model_training:")
        return
    st.info("There is no trained model yet. Train one first: Quick start on the Home page takes about half a minute.", icon=":material/school:")
    left, right, _ = st.columns([1, 1, 3])
    left.page_link(TRAIN_PAGE, label="Train a model", icon=":material/model_training:")
    right.page_link(HOME_PAGE, label="Back to Home", icon=":material/home:")


def describe_model(entry) -> str:
    """One line for the model picker: name, kind and its honest letter accuracy."""
    meta = entry.metadata
    if meta.get("damaged"):
        return f"{entry.name} (damaged)"
    accuracy = meta.get("metrics", {}).get("letter_accuracy")
    score = f" · {accuracy:.1%} letters" if isinstance(accuracy, (int, float)) else ""
    created = meta.get("created", "")[: len("YYYY-MM-DDTHH:MM")].replace("T", " ")
    return f"{entry.name} · {meta.get('model_kind', '?')}{score} · {created}"


def pick_model(key: str) -> str | None:
    """The registry model this session looks at, chosen in a select box shared by both pages."""
    entries = cache.registry()
    if not entries:
        no_model_message()
        return None
    labels = {entry.name: describe_model(entry) for entry in entries}
    names = list(labels)
    current = state.selected_model()
    return st.selectbox(
        "Model",
        names,
        index=names.index(current),
        format_func=labels.get,
        key=key,
        on_change=lambda: state.select_model(st.session_state[key]),
        help="Every model saved by the Train page or the command line, newest first.",
    )


def load_predictor(name: str):
    """The cached predictor, or an st.error saying why the model cannot be used (never a traceback)."""
    # Two threads importing TensorFlow at once can hit Python's import-deadlock error, and the Home page
    # may have started the background import; wait for that one instead of racing it.
    jobs.warm_up().join()
    try:
        return cache.predictor(name)
    except (ModelDamaged, InputRejected) as exc:
        st.error(f"This model cannot be used: {exc}. Train it again or pick another one.", icon=":material/error:")
        return None


def chosen_predictor(key: str):
    """The model picked in the select box and its loaded predictor; stops the page when there is none to use."""
    name = pick_model(key)
    predictor = load_predictor(name) if name else None
    if predictor is None:
        st.stop()
    return name, predictor


def sentence(clause: str) -> str:
    """A core message, lower-case for command-line lines, as a sentence on a page."""
    return f"{clause[:1].upper()}{clause[1:]}."


def zoom(image: np.ndarray, factor: int = PIXEL_ZOOM) -> np.ndarray:
    """Enlarge with square pixels, so the browser does not blur small letters."""
    return enlarge(image, factor)


def colored_text(letters: list[str], colors: list[str], size_rem: float) -> None:
    """Big monospace letters, each in its own color (to match boxes, or right/wrong)."""
    spans = "".join(
        f'<span style="color:{c};padding:0 .08em">{html.escape(ch)}</span>' for ch, c in zip(letters, colors)
    )
    st.markdown(
        f'<div style="font-family:monospace;font-size:{size_rem}rem;font-weight:700;line-height:1.1">{spans}</div>',
        unsafe_allow_html=True,
    )


def percent(value, decimals: int = 1) -> str:
    """A share as a percent with `decimals` places, or a dash when it is missing (letter data has no yields).

    A share between 0 and 1 gets more places where rounding would make it 0% or 100%: 398 of 400 captchas cut
    is 99.5%, not 100%, next to a list of the 2 that failed.
    """
    if not isinstance(value, (int, float)):
        return MISSING
    text = f"{value:.{decimals}%}"
    while 0 < value < 1 and decimals < MAX_DECIMALS and float(text[:-1]) in (0, 100):
        decimals += 1
        text = f"{value:.{decimals}%}"
    if 0 < value < 1 and float(text[:-1]) in (0, 100):  # still rounds to none or all: say it is just off
        bound = 10.0 ** -MAX_DECIMALS
        text = f"<{bound:.{MAX_DECIMALS}f}%" if value < 0.5 else f">{100 - bound:.{MAX_DECIMALS}f}%"
    return text


# Places percent() may add to keep a share off 0% and 100%: 0.001% of 100,000 letters is one.
MAX_DECIMALS = 3


def chance(p: float) -> str:
    """A model's probability in whole percent, with '<1%' where rounding would show a runner-up's chance as none."""
    text = f"{p:.0%}"
    return "<1%" if p > 0 and text == "0%" else text


def count(value) -> str:
    """A whole number with thousands separators, or a dash when it is missing."""
    return f"{value:,}" if isinstance(value, int) else MISSING


def pictures(images: list, captions: list[str], total: int, width: int | str = "content", first: int | None = None) -> None:
    """The `first` pictures (all by default) in one st.image call whose rows wrap with the column, the rest of them
    folded under an expander, and how many more of `total` there are."""
    first = len(images) if first is None else first
    if images:
        st.image(images[:first], caption=captions[:first], width=width)
    if len(images) > first:
        with st.expander(f"Show {len(images) - first:,} more"):
            st.image(images[first:], caption=captions[first:], width=width)
    if total > len(images):
        st.caption(f"...and {total - len(images):,} more, not shown.")


def matrix_key(model: str, report) -> str:
    """Names a model's confusion matrix on some data, so a cell clicked in it is not shown as clicked in another."""
    digest = hashlib.sha256(report.confusion.tobytes() + "|".join(report.labels).encode()).hexdigest()[:12]
    return f"{model}:{digest}"
