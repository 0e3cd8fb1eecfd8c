"""Streamlit pieces for the Data page: cached pictures of a dataset, its split and its class balance."""
from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from captcha_core.choice import training_yield
from captcha_core.config import DEFAULT, Config
from captcha_core.data import Dataset, DatasetError, check_trainable, plural
from captcha_core.preview import (
    class_samples, draw_boxes, failed_captchas, pad_to_size, preview_captchas, tile, training_balance,
)

from . import graphs, state
from .model_views import MISSING, percent

# Picture sizes: enough letters to see the variety of a class, captchas shown large enough to judge the boxes.
GALLERY_PER_CLASS = 5
GALLERY_COLUMNS = 3
PREVIEW_CAPTCHAS = 8
FAILED_SHOWN = 12
# A captcha of the preview: large enough to judge its boxes from the back of a classroom, three to a row at 1280 px.
CAPTCHA_WIDTH = 260
SKIPPED_SHOWN = 200
# The split counts letters, except its test captchas: the labels say which.
SIZE_LABELS = {"train": "Train letters", "validation": "Validation letters", "test": "Test letters",
               "test captchas": "Test captchas", "train after resampling": "Train letters, resampled"}


# ---------------------------------------------------------------- cached pictures and numbers
# Datasets are passed with a leading underscore (not hashed); their fingerprint is the cache key.


@st.cache_data(max_entries=8, show_spinner=False)
def gallery(fingerprint: str, _dataset: Dataset) -> list[tuple[str, int, np.ndarray]]:
    """(label, letters in the class, a strip of sample crops) for every class."""
    letters = _dataset.letters
    counts = letters.class_counts()
    samples = class_samples(letters, GALLERY_PER_CLASS, seed=DEFAULT.seed)
    return [(label, counts[label], tile(letters.images[rows], slots=GALLERY_PER_CLASS)) for label, rows in samples.items()]


@st.cache_data(max_entries=8, show_spinner=False)
def boxed_captchas(fingerprint: str, which: tuple[int, ...], _dataset: Dataset) -> list[tuple[np.ndarray, str]]:
    """The chosen captchas with their cut boxes drawn on, each with a caption, all of one size so they line up.

    One whole-number enlargement for all, from the widest, that takes them at least to the width they are shown
    at: enlarged with square pixels here, a browser only ever shrinks them a little, which keeps edges sharp.
    """
    images = [_dataset.images[index] for index in which]
    widest = max((image.shape[1] for image in images), default=1)
    scale = -(-CAPTCHA_WIDTH // widest)  # rounded up
    pictures, captions = [], []
    for index, image in zip(which, images):
        ok = bool(_dataset.segment_ok[index])
        clean = _dataset.clean_cut is None or bool(_dataset.clean_cut[index])
        pictures.append(draw_boxes(image, _dataset.boxes[index], ok, clean, scale=scale))
        found = len(_dataset.boxes[index])
        text = _dataset.texts[index]
        captions.append(f"{text} ✓" if ok and clean else f"{text}: cut by count" if ok else f"{text}: found {found} of {len(text)}")
    height = max((p.shape[0] for p in pictures), default=0)
    width = max((p.shape[1] for p in pictures), default=0)
    return [(pad_to_size(picture, height, width), caption) for picture, caption in zip(pictures, captions)]


@st.cache_data(max_entries=8, show_spinner="Splitting into train, validation and test...")
def split_of(fingerprint: str, seed: int, _dataset: Dataset):
    """The split training will use for this data and seed."""
    from captcha_core.split import split_dataset  # scikit-learn: imported once the pictures are on screen

    return split_dataset(_dataset, DEFAULT.with_(seed=seed))


@st.cache_data(max_entries=8, show_spinner=False)
def auto_clean_share(fingerprint: str, seed: int, _dataset: Dataset) -> float | None:
    """The clean-cut share auto decides on: that of the captchas training may use, not of the whole set."""
    if _dataset.clean_cut_share in (None, 1.0):
        return _dataset.clean_cut_share  # every captcha (or none) cut cleanly: no split needed, nor scikit-learn
    return training_yield(_dataset, DEFAULT.with_(seed=seed))


# ---------------------------------------------------------------- sections


def summary(dataset: Dataset, config: Config = DEFAULT) -> bool:
    """A row of headline numbers, and why the data cannot train yet when it cannot; True when it can."""
    counts = dataset.letters.class_counts()
    # A wrapping row of figures as wide as their contents: fixed columns cut "2,400" to "2,…" in a narrow window.
    with st.container(horizontal=True, gap="medium"):
        st.metric("Captchas", f"{len(dataset.texts):,}" if dataset.is_captchas else MISSING, width="content")
        st.metric("Letters", f"{len(dataset.letters):,}", width="content")
        st.metric("Classes", len(counts), width="content")
        st.metric(
            "Segmentation yield",
            percent(dataset.segmentation_yield, decimals=0),
            help="Share of captchas cut into exactly as many pieces as their label has characters, forced cuts included.",
            width="content",
        )
        st.metric(
            "Clean cuts",
            percent(dataset.clean_cut_share, decimals=0),
            help="Share of captchas whose ink fell into as many pieces as their label has characters with no forced "
            f"split or merge. Below {DEFAULT.auto_yield_threshold:.0%}, the auto model reads whole captchas instead.",
            width="content",
        )
        st.metric("Files left out", len(dataset.skipped), width="content")
    clean = auto_clean_share(dataset.fingerprint(), config.seed, dataset)
    if clean is not None and clean < config.auto_yield_threshold:
        st.info(
            f"{clean_share_words(clean)} of the training captchas (the ones not held out for testing) were cut cleanly, under "
            f"the {config.auto_yield_threshold:.0%} the letter CNN needs. {'The rest were' if clean else 'All were'} cut "
            "by force (amber boxes below) or not at all, so their letters may be wrong; the segmentation yield above "
            f"({percent(dataset.segmentation_yield, decimals=0)}) counts the forced cuts too. With **auto**, the Train page "
            "trains the sequence model, which "
            "reads whole captchas without cutting them.",
            icon=":material/info:",
        )
    try:
        check_trainable(dataset)
    except DatasetError as for_letters:
        try:
            check_trainable(dataset, "sequence")
        except DatasetError as exc:
            st.warning(f"This data cannot train a model yet: {exc}", icon=":material/warning:")
        else:
            st.info(f"The letter models (cnn, forest) cannot train on this data: {for_letters}. The sequence model, "
                    "which reads whole captchas, can.", icon=":material/info:")
        return False
    return True


def after_subtitle(counts: dict[str, int], target: int | None) -> str:
    """The resampled histogram's subtitle: its letters, and what its dashed line marks."""
    line = f" · dashed line: {target:,} a class" if target is not None else ""
    return f"{plural(sum(counts.values()), 'letter')}{line}"


def clean_share_words(share: float) -> str:
    """'Only 41.0%', 'Only 0.6%' or 'None' ('Only 0%' reads oddly); one place, as the Train page gives auto's reason."""
    return f"Only {percent(share, decimals=1)}" if share else "None"


def skipped_report(dataset: Dataset) -> None:
    """Which input files were left out, and why."""
    if not dataset.skipped:
        return
    with st.expander(f":material/report: {plural(len(dataset.skipped), 'file')} left out — see why"):
        frame = pd.DataFrame(dataset.skipped[:SKIPPED_SHOWN], columns=["file", "reason"])
        st.dataframe(frame, hide_index=True, width="stretch")
        if len(dataset.skipped) > SKIPPED_SHOWN:
            st.caption(f"...and {len(dataset.skipped) - SKIPPED_SHOWN:,} more.")


def letter_gallery(dataset: Dataset) -> None:
    """A few letter crops of every class, as the model will see them."""
    st.subheader(":material/photo_library: Letters per class", anchor=False)
    uneven = (" The built-in generator makes later letters of its alphabet rarer on purpose, as in the original "
              "blog's data, so that resampling (below) has classes to balance." if dataset.generator else "")
    st.caption(f"{GALLERY_PER_CLASS} random letters of each class, {DEFAULT.letter_size}×{DEFAULT.letter_size} px, "
               f"exactly as the model sees them.{uneven}")
    strips = gallery(dataset.fingerprint(), dataset)
    columns = st.columns(GALLERY_COLUMNS)
    for i, (label, count, strip) in enumerate(strips):
        columns[i % GALLERY_COLUMNS].image(strip, caption=f"{label} · {plural(count, 'letter')}", width="stretch")


def segmentation_preview(dataset: Dataset) -> None:
    """Captchas with the boxes the cutter found, and the captchas it could not cut."""
    st.subheader(":material/content_cut: Segmentation", anchor=False)
    failed = failed_captchas(dataset)
    st.caption(
        f"{len(dataset.texts) - len(failed):,} of {len(dataset.texts):,} captchas were cut into as many letters as their "
        f"label has ({percent(dataset.segmentation_yield, decimals=0)} yield); only those give training letters. A captcha's "
        "boxes are green when its ink fell apart into those letters by itself, amber when the cutter had to force "
        "a split or a merge to reach the count (those letters train too, but may be cut wrong). Where there are "
        "enough, half of those shown are amber, since they are the ones worth checking."
    )
    clean = dataset.clean_cut_share
    fingerprint = dataset.fingerprint()
    rows = preview_captchas(dataset, PREVIEW_CAPTCHAS, state.preview_draw(), DEFAULT.seed)
    show_captchas(boxed_captchas(fingerprint, rows, dataset))
    # Only captchas that were cut are drawn from: with no more of them than one handful, another draw is the same.
    if int(np.sum(dataset.segment_ok)) > PREVIEW_CAPTCHAS:
        st.button("Show other captchas", icon=":material/shuffle:", key="preview_draw_next", on_click=state.next_preview_draw,
                  help="Another random handful, half of them cut by count where there are enough.")
    if len(failed):
        st.markdown(f"**:red[{len(failed):,} captchas could not be cut]** (red boxes), showing up to {FAILED_SHOWN}:")
        show_captchas(boxed_captchas(fingerprint, tuple(int(i) for i in failed[:FAILED_SHOWN]), dataset))
    elif clean is None or clean >= DEFAULT.auto_yield_threshold:
        cleanly = "" if clean is None or clean == 1 else f", {percent(clean, decimals=0)} of them cleanly"
        st.success(f"Every captcha was cut into the right number of letters{cleanly}.", icon=":material/check_circle:")


def show_captchas(items: list[tuple[np.ndarray, str]]) -> None:
    """A flowing row of captcha pictures with captions, all shown CAPTCHA_WIDTH wide."""
    if items:
        st.image([image for image, _ in items], caption=[caption for _, caption in items], width=CAPTCHA_WIDTH)


def balance_section(dataset: Dataset, config: Config) -> None:
    """Split sizes, and the training split's class histogram before and after resampling."""
    split = split_of(dataset.fingerprint(), config.seed, dataset)
    balance = training_balance(dataset, config, split=split)
    sizes = balance.sizes
    with st.container(horizontal=True, gap="medium"):  # wraps like the figures at the top, rather than cut labels
        for name, size in sizes.items():
            st.metric(SIZE_LABELS.get(name, name.capitalize()), f"{size:,}", width="content")
    before, after = balance.resampled.before, balance.resampled.after
    y_max = max([*before.values(), *after.values(), 1])
    left, right = st.columns(2)
    left.altair_chart(
        graphs.class_histogram(before, "Training split as it is", plural(sum(before.values()), "letter"), y_max,
                               graphs.BEFORE_COLOUR), width="stretch"
    )
    right.altair_chart(
        graphs.class_histogram(after, f"After resampling ({config.resample})",
                               after_subtitle(after, balance.resampled.target), y_max, graphs.AFTER_COLOUR,
                               balance.resampled.target),
        width="stretch",
    )
    st.caption(
        "Validation and test letters are never resampled: a copied letter on both sides of the split "
        "would let the model pass the test by memory. This is the letter models' split (cnn and forest), with each "
        "captcha's letters kept on one side. The sequence model holds out the same shares of whole captchas in a "
        "split of its own, so its counts (on the Evaluate page) can differ by a captcha or two."
    )
