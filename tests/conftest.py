"""Shared fixtures: tiny generated data and one tiny trained model, made once per test session."""
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from captcha_core.config import DEFAULT  # noqa: E402

# Small enough to train in a few seconds on 2 cores, large enough that every class appears.
TINY = DEFAULT.with_(generate_count=120, epochs=2, batch_size=64)


@pytest.fixture(scope="session")
def tiny_config():
    return TINY


@pytest.fixture(scope="session")
def easy_dataset():
    from captcha_core.data import generate_dataset

    return generate_dataset(TINY)


@pytest.fixture(scope="session")
def tiny_training(easy_dataset):
    from captcha_core.training import train

    return train(easy_dataset, TINY)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory, easy_dataset, tiny_training):
    from captcha_core.persistence import save_training

    return save_training(tiny_training, easy_dataset, tmp_path_factory.mktemp("models") / "tiny")


@pytest.fixture
def home(tmp_path, monkeypatch):
    """An empty dashboard workspace (CAPTCHA_LAB_HOME) with Streamlit's caches cleared before and after."""
    from ui_support import clear_caches

    monkeypatch.setenv("CAPTCHA_LAB_HOME", str(tmp_path))
    clear_caches()
    yield tmp_path
    clear_caches()


# Generous: TensorFlow's first import alone takes 15 s when other work keeps both cores busy.
JOB_STOP_TIMEOUT = 180


@pytest.fixture
def workspace(home):
    """The `home` workspace, plus: a training job a test left running is stopped and awaited afterwards."""
    from lab_ui import jobs

    yield home
    job = jobs.get_job()
    job.stop()
    job.wait(JOB_STOP_TIMEOUT)
