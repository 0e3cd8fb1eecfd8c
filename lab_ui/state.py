"""Session-state owners: each piece of state has one helper that sets its default and returns it."""
from __future__ import annotations

import streamlit as st

from captcha_core.config import DEFAULT
from captcha_core.data import Dataset

from . import cache


def dataset_spec() -> dict:
    """Which dataset this session works on; the built-in generator's defaults at first."""
    return st.session_state.setdefault(
        "dataset_spec",
        {
            "kind": "generated",
            "difficulty": DEFAULT.difficulty,
            "count": DEFAULT.generate_count,
            "length": DEFAULT.captcha_length,
            "alphabet": DEFAULT.alphabet,
            "seed": DEFAULT.seed,
        },
    )


def set_dataset_spec(spec: dict) -> None:
    """Switch this session to another dataset."""
    st.session_state["dataset_spec"] = spec


def current_dataset() -> Dataset:
    """The dataset the spec names, from the cache."""
    spec = dataset_spec()
    if spec["kind"] == "zip":
        return cache.zip_dataset(spec["data"], spec["name"])
    if spec["kind"] == "folder":
        return cache.folder_dataset(spec["path"])
    return cache.generated_dataset(spec["difficulty"], spec["count"], spec["length"], spec["alphabet"], spec["seed"])


def describe_spec(spec: dict) -> str:
    """A one-line description of a dataset spec for status lines."""
    if spec["kind"] == "zip":
        return f"uploaded zip {spec['name']}"
    if spec["kind"] == "folder":
        return f"server folder {spec['path']}"
    return f"built-in generator: {spec['count']} {spec['difficulty']} captchas, length {spec['length']}, seed {spec['seed']}"


def selected_model() -> str | None:
    """The registry model this session looks at in Evaluate and Playground (newest by default)."""
    names = [entry.name for entry in cache.registry()]
    current = st.session_state.get("model_name")
    if current not in names:
        current = names[0] if names else None
        st.session_state["model_name"] = current
    return current


def select_model(name: str) -> None:
    st.session_state["model_name"] = name
