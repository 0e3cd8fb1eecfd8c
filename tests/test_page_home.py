"""The Home page: first visit, status, and the one-click quick start (with the training itself stubbed)."""
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from captcha_core.config import DEFAULT
from lab_ui import jobs

ROOT = Path(__file__).parents[1]
WAIT_SECONDS = 10


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("CAPTCHA_LAB_HOME", str(tmp_path))
    st.cache_data.clear()
    st.cache_resource.clear()
    yield AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    st.cache_resource.clear()


def test_first_visit_explains_the_app_and_the_status(home):
    at = home
    assert not at.exception
    assert at.title[0].value == "Captcha Lab"
    steps = [link for link in at.page_link if link.label.startswith("**")]
    assert len(steps) == 7 and steps[4].label == "**5. Model**" and steps[4].proto.page.endswith("train")
    assert any("built-in generator" in m.value for m in at.markdown)
    assert any("No trained models yet" in i.value and "Generate data and train" in i.value for i in at.info)
    assert at.button(key="quick_start").value is False


def test_quick_start_trains_the_default_model_on_the_default_data(home, monkeypatch):
    calls = []

    def fake_run(self, job_id, dataset, config, name, root, cancel):
        calls.append((len(dataset.texts), config, name, root))
        self._finish(job_id, jobs.DONE, saved_as=name, metrics={"letter_accuracy": 0.9, "captcha_accuracy": 0.7})

    monkeypatch.setattr(jobs.TrainJob, "_run", fake_run)
    at = home
    at.button(key="quick_start").click().run()
    assert not at.exception
    assert jobs.get_job().wait(WAIT_SECONDS)
    at.run()
    (count, config, name, root), = calls
    assert count == DEFAULT.generate_count and config == DEFAULT and name == "quickstart"
    assert root.parent.name != "" and root.name == "models"
    assert "Trained and saved `quickstart`" in at.success[0].value
    assert any(link.proto.page.endswith("playground.py") or "Playground" in link.proto.label for link in at.get("page_link"))
    assert at.session_state["model_name"] == "quickstart"


def test_quick_start_says_it_replaces_data_the_user_loaded(home):
    assert home.button(key="quick_start").proto.help == ""  # on the built-in defaults there is nothing to replace
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.session_state["dataset_spec"] = {"kind": "folder", "path": "/data/class-captchas"}
    at.run()
    assert "Replaces the loaded data (server folder `/data/class-captchas`)" in at.button(key="quick_start").proto.help
    assert any("Replaces the loaded data (server folder `/data/class-captchas`)" in c.value for c in at.caption)
    assert not any("Replaces the loaded data" in c.value for c in home.caption)


def test_trained_models_are_listed_in_words_that_wrap(tmp_path, monkeypatch):
    import json
    import shutil

    from ui_support import clear_caches, tiny_model_folder

    from lab_ui.job_views import ACCURACY_DECIMALS, HOME_MODELS_SHOWN
    from lab_ui.model_views import percent

    folder = tiny_model_folder(str(tmp_path / "trained"))
    metadata = json.loads((folder / "metadata.json").read_text())
    metrics, generated = metadata["metrics"], metadata["data"]["generator"]
    for i in range(HOME_MODELS_SHOWN + 1):
        shutil.copytree(folder, tmp_path / "home" / "models" / f"model-{i}")
    monkeypatch.setenv("CAPTCHA_LAB_HOME", str(tmp_path / "home"))
    clear_caches()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert not at.exception
    listing = next(m.value for m in at.markdown if "of letters" in m.value)
    lines = listing.splitlines()
    assert len(lines) == HOME_MODELS_SHOWN + 1 and lines[-1] == "- and 1 older on the **Train** page"
    letters, captchas = (percent(metrics[key], ACCURACY_DECIMALS) for key in ("letter_accuracy", "captcha_accuracy"))
    # The data each learnt from, beside the session's loaded data that Home shows too.
    learnt_from = f"from built-in {generated['count']} {generated['difficulty']} captchas, seed {generated['seed']}"
    expected = f"cnn · {letters} of letters · {captchas} of whole captchas · {learnt_from}"
    assert all(line.endswith(expected) for line in lines[:-1])
    assert not at.dataframe  # a table in half the page scrolled the accuracies out of sight
    clear_caches()
