"""Cached loaders: datasets as data, models as resources keyed by their content version."""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from captcha_core.config import DEFAULT
from captcha_core.data import Dataset, generate_dataset, load_path, load_zip_bytes
from captcha_core.persistence import file_version, list_models, MODEL_FILES

from .loading import with_progress
from .uploads import read_upload
from .workspace import models_dir


# Loading cuts every captcha into letters: seconds for thousands. A load that takes a while shows a bar naming
# its stage and count (10,000 real captchas take 10 to 30 s); a cache hit shows nothing. `_report` starts with
# an underscore so that Streamlit leaves it out of the cache key. Each loader hashes its dataset before caching
# it, so every page run's copy comes with its hashes.


def generated_dataset(difficulty: str, count: int, length: int, alphabet: str, seed: int) -> Dataset:
    """The built-in generator's dataset for these settings."""
    title = f"Making {count:,} {difficulty} captchas"
    return with_progress(title, _generated_dataset, difficulty, count, length, alphabet, seed)


@st.cache_data(show_spinner=False, max_entries=8)
def _generated_dataset(difficulty: str, count: int, length: int, alphabet: str, seed: int, _report=None) -> Dataset:
    config = DEFAULT.with_(difficulty=difficulty, generate_count=count, captcha_length=length, alphabet=alphabet, seed=seed)
    return generate_dataset(config, report=_report).hash_now()


def zip_dataset(digest: str, name: str) -> Dataset:
    """A dataset read, in memory, from an upload kept under this digest (uploads.keep_upload)."""
    return with_progress(f"Loading {name}", _zip_dataset, digest, name)


@st.cache_data(show_spinner=False, max_entries=4)
def _zip_dataset(digest: str, name: str, _report=None) -> Dataset:
    return load_zip_bytes(read_upload(digest), name, DEFAULT, report=_report).hash_now()


def folder_dataset(path: str) -> Dataset:
    """A dataset read from a folder on the server."""
    return with_progress(f"Loading {path}", _folder_dataset, path)


@st.cache_data(show_spinner=False, max_entries=4)
def _folder_dataset(path: str, _report=None) -> Dataset:
    return load_path(path, DEFAULT, report=_report).hash_now()


def model_version(name: str) -> str:
    """Content hash and mtime of a registry model's file, so a retrained model is never served stale."""
    folder = models_dir() / name
    for filename in MODEL_FILES.values():
        if (folder / filename).is_file():
            return file_version(folder / filename)
    return "missing"


@st.cache_resource(show_spinner="Loading the model...", max_entries=4)
def _predictor(name: str, version: str):
    from captcha_core.prediction import Predictor

    return Predictor.from_folder(models_dir() / name)


def predictor(name: str):
    """A warmed-up predictor for a registry model, cached on its name and content version."""
    return _predictor(name, model_version(name))


def registry():
    """The models in the registry, newest first."""
    return list_models(models_dir())


def model_path(name: str) -> Path:
    return models_dir() / name


def model_review(name: str, dataset: Dataset | None = None):
    """A model scored on its own rebuilt test split (built-in data) or on `dataset`, with mistake images."""
    dataset = review_dataset(name, dataset)
    return _model_review(name, model_version(name), data_key(dataset), dataset)


def review_dataset(name: str, dataset: Dataset | None = None) -> Dataset:
    """The data model_review scores: `dataset`, or when None the built-in set the model was trained on, made again."""
    from captcha_core import review

    if dataset is not None:
        return dataset
    settings = review.generator_settings(predictor(name).metadata)
    return generated_dataset(settings["difficulty"], settings["count"], settings["length"], settings["alphabet"],
                             settings["seed"])


def data_key(dataset: Dataset) -> str:
    """A cache key for scoring on `dataset`: its letters and its captchas' pixels, those that could not be cut too."""
    return f"{dataset.fingerprint()}-{dataset.content_key()}"


@st.cache_data(show_spinner="Re-creating the test split and scoring it...", max_entries=4)
def _model_review(name: str, version: str, data: str, _dataset: Dataset):
    from captcha_core import review

    model = predictor(name)
    return review.review_on(model.classifier, _dataset, model.metadata, model.loaded.trained_on)


@st.cache_data(show_spinner=False, max_entries=2)
def protocol_comparison(count: int, epochs: int, seed: int, difficulty: str):
    """The honest and leaky protocols on the same tiny generated data, trained once per server."""
    from captcha_core.review import compare_protocols

    return compare_protocols(DEFAULT.with_(generate_count=count, epochs=epochs, seed=seed, difficulty=difficulty))


def held_out_captchas(name: str, dataset: Dataset):
    """The Scope of the loaded captchas this model could read and never learnt from, or None when it cannot tell."""
    from captcha_core import review

    if not dataset.texts:
        return None
    model = predictor(name)
    if not (review.has_usable_record(model.metadata, model.loaded.trained_on)
            or review.is_training_data(model.metadata, dataset)):
        return None
    return _held_out_captchas(name, model_version(name), data_key(dataset), dataset)


@st.cache_data(show_spinner="Finding the captchas this model never trained on...", max_entries=4)
def _held_out_captchas(name: str, version: str, data: str, _dataset: Dataset):
    from captcha_core import review

    model = predictor(name)
    try:
        scope = review.scoring_scope(model.classifier, _dataset, model.metadata, model.loaded.trained_on)
    except review.NothingToReview:
        return None
    return scope if scope.all_unseen and scope.captchas is not None and len(scope.captchas) else None
