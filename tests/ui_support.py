"""Helpers for the dashboard's AppTest tests: one tiny model per test run, a workspace per test."""
import functools
import shutil
from pathlib import Path

from streamlit.testing.v1 import AppTest

from captcha_core.models import configure_tensorflow

# Imported here, on the main thread and before any page runs: the Home page imports TensorFlow in a
# background thread, and a second thread importing it at the same time can fail with an import deadlock.
configure_tensorflow()

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
# TensorFlow's first import and the model's warm-up happen inside a run; give them room on 2 busy cores.
RUN_TIMEOUT = 120
TINY_MODEL = "tiny"
TINY_FOREST_TREES = 20
# One epoch of a small sequence reader: it reads badly, but it reads, and pages only need it to.
TINY_SEQUENCE = dict(sequence_epochs=1, sequence_filters=(8, 16), sequence_dense_units=16, sequence_rnn_units=16,
                     sequence_rnn_layers=1)


@functools.lru_cache(maxsize=3)
def tiny_model_folder(base: str, kind: str = "cnn") -> Path:
    """Train and save the smallest model of this kind that still has every class, once per test process."""
    from captcha_core.config import DEFAULT
    from captcha_core.data import generate_dataset
    from captcha_core.persistence import save_training
    from captcha_core.training import train

    config = DEFAULT.with_(generate_count=60, epochs=1, model=kind, forest_trees=TINY_FOREST_TREES, **TINY_SEQUENCE)
    dataset = generate_dataset(config)
    result = train(dataset, config)
    return save_training(result, dataset, Path(base) / f"{TINY_MODEL}-{kind}")


def install_model(home: Path, folder: Path) -> None:
    """Copy a saved model into a workspace's registry."""
    shutil.copytree(folder, home / "models" / folder.name)


def clear_caches() -> None:
    import streamlit as st

    st.cache_data.clear()
    st.cache_resource.clear()


def open_page(page: str) -> AppTest:
    """Run the app once, then switch to `page` and run it."""
    at = AppTest.from_file(APP, default_timeout=RUN_TIMEOUT).run()
    return at.switch_page(page).run()


def all_text(at: AppTest) -> str:
    """Every markdown, caption and metric value on the page, for 'does it say X' checks."""
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption] + [m.value for m in at.metric]
    return "\n".join(str(p) for p in parts)
