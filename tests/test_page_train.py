"""The Train page and its background job: a tiny real training, progress, the registry, one job per server."""
import json
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from captcha_core.config import DEFAULT
from captcha_core.data import generate_dataset
from lab_ui import jobs

ROOT = Path(__file__).parents[1]
TINY_SPEC = {"kind": "generated", "difficulty": "easy", "count": 40, "length": 4, "alphabet": "abcdefghjkmnpqrstuw", "seed": 0}
POLL_SECONDS = 0.5
TRAIN_TIMEOUT = 120


def train_page(spec: dict = TINY_SPEC) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.session_state["dataset_spec"] = dict(spec)
    at.run()
    return at.switch_page("views/train.py").run()


def test_first_visit_renders_settings_and_an_empty_registry(workspace):
    at = train_page()
    assert not at.exception
    assert at.button(key="train_start").value is False
    assert any("No trained models yet" in i.value for i in at.info)


def test_reset_puts_every_setting_back_to_its_default(workspace):
    at = train_page()
    assert at.button(key="train_reset").disabled  # nothing to reset yet
    at.button_group(key="train_model").set_value("sequence").run()
    at.number_input(key="train_epochs_sequence").set_value(7).run()
    at.number_input(key="train_seed").set_value(3).run()
    at.text_input(key="train_name").set_value("lesson2").run()
    at.button(key="train_reset").click().run()
    assert not at.exception and at.button(key="train_reset").disabled
    assert at.button_group(key="train_model").value == "auto"
    assert at.number_input(key="train_seed").value == DEFAULT.seed and at.text_input(key="train_name").value == "model"
    at.button_group(key="train_model").set_value("sequence").run()
    assert at.number_input(key="train_epochs_sequence").value == DEFAULT.sequence_epochs


def test_each_model_keeps_its_own_settings_and_auto_trains_with_them(workspace):
    at = train_page()
    assert at.button_group(key="train_model").value == "auto"
    assert any("cut cleanly" in m.value for m in at.markdown)
    # auto shows the settings of the model it picks (easy captchas: the letter CNN), so they can be changed there.
    assert [n.key for n in at.number_input if n.key.startswith("train_epochs")] == ["train_epochs_cnn"]
    at.button_group(key="train_model").set_value("sequence").run()
    assert at.number_input(key="train_epochs_sequence").value == DEFAULT.sequence_epochs
    at.number_input(key="train_epochs_sequence").set_value(7).run()
    at.button_group(key="train_model").set_value("cnn").run()
    assert at.number_input(key="train_epochs_cnn").value == DEFAULT.epochs  # not the sequence's 7
    at.number_input(key="train_epochs_cnn").set_value(1).run()
    at.button_group(key="train_model").set_value("auto").run()
    assert at.number_input(key="train_epochs_cnn").value == 1
    assert at.number_input(key="train_time_limit").value is None  # no limit unless asked
    at.number_input(key="train_time_limit").set_value(5).run()
    at.text_input(key="train_name").set_value("picked").run()
    at.button(key="train_start").click().run()
    # Easy captchas cut cleanly: the page names the letter CNN as what auto trains, and why.
    snap = jobs.get_job().snapshot()
    assert snap.model_kind == "cnn" and "cut" in snap.choice
    assert jobs.get_job().wait(TRAIN_TIMEOUT)
    at.run()
    assert any("auto chose cnn" in c.value for c in at.caption)
    metadata = json.loads((workspace / "models" / "picked" / "metadata.json").read_text())
    assert metadata["model_kind"] == "cnn" and metadata["model_choice"]["chosen"] == "cnn"
    assert (metadata["config"]["epochs"], metadata["config"]["sequence_epochs"]) == (1, 7)
    assert metadata["config"]["time_limit_minutes"] == 5
    assert len(metadata["history"]["loss"]) == 1


@pytest.mark.parametrize("difficulty, chosen", [("easy", "cnn"), ("lined", "sequence")])
def test_auto_names_the_model_it_will_train_on_the_loaded_data(workspace, difficulty, chosen):
    at = train_page({**TINY_SPEC, "difficulty": difficulty})
    assert not at.exception
    assert any(m.value.startswith(f"On the loaded data, auto will train the **{chosen}** model: segmentation cut")
               for m in at.markdown)
    # Letters are balanced only for the letter CNN.
    assert at.selectbox(key="train_resample").disabled == (chosen == "sequence")


def test_tiny_training_shows_progress_and_lands_in_the_registry(workspace):
    at = train_page()
    at.button_group(key="train_model").set_value("cnn").run()
    at.number_input(key="train_epochs_cnn").set_value(1).run()
    at.text_input(key="train_name").set_value("tiny").run()
    at.button(key="train_start").click().run()
    assert not at.exception
    # While it runs, the button waits for it.
    assert at.button(key="train_start").disabled

    seen = []
    deadline = time.time() + TRAIN_TIMEOUT
    while jobs.get_job().snapshot().active and time.time() < deadline:
        seen += [p.proto.text for p in at.get("progress")]
        time.sleep(POLL_SECONDS)
        at.run()
    at.run()
    assert not at.exception
    assert seen, "no progress bar was shown while training"
    assert not at.error, [e.value for e in at.error]
    # Green, or amber when one epoch read no test captcha whole: the outcome is stated either way.
    [outcome] = [m.value for m in [*at.success, *at.warning] if "Trained and saved" in m.value]
    assert "Trained and saved `tiny` (cnn) on built-in generator: " in outcome and "whole-captcha accuracy" in outcome
    assert "Evaluate and the Playground now show it" in outcome and at.session_state["model_name"] == "tiny"
    assert "tiny" in at.dataframe[0].value["name"].tolist()
    assert len(at.get("vega_lite_chart")) == 2  # loss and accuracy curves
    assert (workspace / "models" / "tiny" / "metadata.json").is_file()
    # A tab opened afterwards lists the model, without greeting its user with this session's outcome.
    later = train_page()
    assert "tiny" in later.dataframe[0].value["name"].tolist()
    assert not [m for m in [*later.success, *later.warning] if "Trained and saved" in m.value]
    # The same name again is versioned, never overwritten.
    assert any("saved as `tiny-2`" in c.value for c in at.caption)
    # Hidden, the outcome and its curves leave this session's page; the model stays in the registry.
    at.button(key="job_dismiss").click().run()
    assert not [m for m in [*at.success, *at.warning] if "Trained and saved" in m.value]
    assert not at.get("vega_lite_chart") and "tiny" in at.dataframe[0].value["name"].tolist()


def test_a_sequence_training_stuck_at_the_start_says_what_to_do(workspace):
    at = train_page()
    at.button_group(key="train_model").set_value("sequence").run()
    at.number_input(key="train_epochs_sequence").set_value(1).run()
    at.button(key="train_start").click().run()
    assert jobs.get_job().wait(TRAIN_TIMEOUT)
    at.run()
    assert not at.exception and not at.success
    assert any("(sequence)" in w.value and "Trained and saved" in w.value for w in at.warning)
    assert any("More epochs" in w.value for w in at.warning)


def test_unusable_data_is_a_warning_and_the_train_button_waits(workspace):
    at = train_page({**TINY_SPEC, "count": 1})
    assert not at.exception
    [warning] = [w.value for w in at.warning]  # what the Data page says, before anyone presses Train
    assert warning.startswith("This data cannot train a model yet: ") and "only 1 captcha: too few to hold out validation and test captchas" in warning
    assert at.button(key="train_start").disabled
    assert not jobs.get_job().snapshot().active


def test_only_one_job_starts_when_two_sessions_click_at_once(workspace, monkeypatch):
    release = threading.Event()

    def slow_train(self, job_id, dataset, config, cancel):
        release.wait(TRAIN_TIMEOUT)
        raise ValueError("stopped by the test")

    monkeypatch.setattr(jobs.TrainJob, "_train", slow_train)
    job = jobs.TrainJob()
    dataset = generate_dataset(DEFAULT.with_(generate_count=10))
    results, barrier = [], threading.Barrier(4)

    def click():
        barrier.wait()
        results.append(job.start(dataset, DEFAULT, "race", workspace))

    clickers = [threading.Thread(target=click) for _ in range(4)]
    for thread in clickers:
        thread.start()
    for thread in clickers:
        thread.join()
    assert sum(r.started for r in results) == 1
    assert all("already running" in r.message for r in results if not r.started)
    release.set()
    assert job.wait(TRAIN_TIMEOUT)
    snap = job.snapshot()
    assert snap.status == jobs.FAILED and snap.message == "stopped by the test"


@pytest.fixture
def training_until_stopped(workspace, monkeypatch):
    """A training started from the Train page that stays in epoch 1 until someone presses Stop: (page, workspace)."""
    from captcha_core.training import TrainingCancelled

    def endless_train(self, job_id, dataset, config, cancel):
        self._update(job_id, phase="training", epoch=1, epochs=3, step=1, steps=4, fraction=0.1, eta_seconds=600.0,
                     reported=time.time())
        cancel.wait(TRAIN_TIMEOUT)
        raise TrainingCancelled("stopped")

    monkeypatch.setattr(jobs.TrainJob, "_train", endless_train)
    at = train_page()
    at.number_input(key="train_seed").set_value(7).run()
    at.button(key="train_start").click().run()
    while jobs.get_job().snapshot().phase != "training":  # the thread has to get going first
        time.sleep(0.05)
    return at, workspace


def test_stop_button_cancels_and_says_so(training_until_stopped):
    at, workspace = training_until_stopped
    at.run()
    # While it runs, the settings fold away (the curves come up) and keep what was set.
    assert [e.label for e in at.expander] == [":material/tune: Settings for the next training"]
    assert at.number_input(key="train_seed").value == 7
    assert not at.get("popover")  # the session that started it stops it with one click
    assert not jobs.get_job().stop(jobs.get_job().snapshot().job_id + 1)  # a click meant for another training
    # Counted down from the report, however long the test took to get here.
    assert re.fullmatch(r"Epoch 1/3 · step 1/4 · about (10 min|9 min \d+ s) of training left", at.get("progress")[0].proto.text)
    at.button(key="job_stop").click().run()
    assert jobs.get_job().wait(TRAIN_TIMEOUT)
    at.run()
    assert not at.exception
    assert any("Training was stopped before it finished; nothing was saved." == i.value for i in at.info)
    assert not (workspace / "models" / "cnn").exists()


def test_another_session_stops_only_after_confirming_and_the_outcome_says_so(training_until_stopped):
    owner, _ = training_until_stopped
    classmate = train_page()  # another browser session: it did not start this training
    assert not classmate.exception
    # Its Stop is a popover whose one button says what it does to someone else's run.
    [popover] = [p for p in classmate.get("popover") if p.proto.popover.label == "Stop"]
    assert "started in another tab, on another computer, or in this tab before it was reloaded" in " ".join(m.value for m in classmate.markdown)
    assert jobs.get_job().snapshot().status == jobs.RUNNING
    classmate.button(key="job_stop").click().run()
    assert jobs.get_job().wait(TRAIN_TIMEOUT)
    owner.run()
    assert any("stopped from another tab or computer before it finished" in i.value for i in owner.info)


def test_the_job_module_does_not_load_tensorflow():
    code = "import sys, lab_ui.jobs, lab_ui.job_views; sys.exit('tensorflow' in sys.modules or 'keras' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True).returncode == 0


def test_progress_words_skip_a_step_count_keras_has_not_reported_and_explain_ctcs_blank_start():
    from lab_ui import jobs
    from lab_ui.job_views import progress_text, reads_nothing_yet

    running = jobs.JobState(status=jobs.RUNNING, phase="training", epoch=3, epochs=10, step=0, steps=30)
    assert progress_text(running) == "Epoch 3/10 · training"
    running.step = 12
    assert progress_text(running) == "Epoch 3/10 · step 12/30"
    running.eta_seconds, running.reported = 200, time.time()
    assert progress_text(running) == "Epoch 3/10 · step 12/30 · about 3 min 20 s of training left"
    running.model_kind = "sequence"  # it stops when its falling rate ends, usually well before its epoch limit
    assert progress_text(running) == "Epoch 3/10 · step 12/30 · up to 3 min 20 s of training left"
    running.reported -= 60  # a minute without a report from Keras: the figure keeps counting down
    assert progress_text(running) == "Epoch 3/10 · step 12/30 · up to 2 min 20 s of training left"
    stuck = jobs.JobState(status=jobs.RUNNING, model_kind="sequence", history={"val_accuracy": [0.0, 0.0]})
    assert reads_nothing_yet(stuck)
    stuck.history["val_accuracy"].append(0.05)
    assert not reads_nothing_yet(stuck)
    assert not reads_nothing_yet(jobs.JobState(status=jobs.RUNNING, model_kind="cnn", history={"val_accuracy": [0.0]}))
    forest = jobs.JobState(status=jobs.RUNNING, model_kind="forest", phase="training", epoch=1, epochs=1, step=60,
                           steps=200, eta_seconds=70, reported=time.time())
    assert progress_text(forest) == "Growing the random forest · 60 of 200 trees · about 1 min 10 s left"


def test_a_session_that_watched_a_training_sees_its_outcome_though_it_did_not_start_it(workspace, monkeypatch):
    release = threading.Event()

    def waiting_train(self, job_id, dataset, config, cancel):
        self._update(job_id, phase="training", epoch=1, epochs=1, step=1, steps=2, fraction=0.5)
        release.wait(TRAIN_TIMEOUT)
        raise ValueError("stopped by the test")

    monkeypatch.setattr(jobs.TrainJob, "_train", waiting_train)
    starter, watcher = train_page(), train_page()
    starter.button(key="train_start").click().run()
    while jobs.get_job().snapshot().phase != "training":
        time.sleep(0.05)
    watcher.run()
    assert watcher.get("progress"), "the running job is shown to every session"
    release.set()
    assert jobs.get_job().wait(TRAIN_TIMEOUT)
    watcher.run()
    assert any("stopped by the test" in e.value for e in watcher.error)
    assert not [e for e in train_page().error if "stopped by the test" in e.value]  # a tab opened afterwards


def test_a_time_limit_and_a_class_target_can_be_emptied_again(workspace):
    at = train_page()
    for key, setting, value in (("train_time_limit", "time_limit", 5), ("train_per_class", "per_class", 40)):
        at.number_input(key=key).set_value(value).run()
        at.run()  # the browser's next rerun
        widget = at.number_input(key=key)
        # Its value shows, but the default the browser resets an emptied field to stays empty.
        assert widget.value == value and not widget.proto.HasField("default")
        widget.set_value(None).run()
        assert at.number_input(key=key).value is None and at.session_state["training_options"][setting] is None


def test_a_training_ended_by_its_time_limit_says_so_as_a_fact_not_a_failure():
    def page():
        from lab_ui.job_views import outcome_notes

        note = "Training stopped at its time limit of 2 min, after 3 epochs of 10."
        outcome_notes({"letter_accuracy": 0.9, "captcha_accuracy": 0.7, "note": note}, "cnn")

    at = AppTest.from_function(page).run()
    assert not at.exception and not at.warning
    assert [i.value for i in at.info] == ["Training stopped at its time limit of 2 min, after 3 epochs of 10."]


def test_the_registry_sorts_epochs_as_numbers_and_shows_a_dash_for_a_forests():
    from types import SimpleNamespace

    import pandas as pd

    from lab_ui.job_views import registry_frame

    forest = SimpleNamespace(name="f", metadata={"model_kind": "forest", "metrics": {"letter_accuracy": 0.9}})
    cnn = SimpleNamespace(name="c", metadata={"model_kind": "cnn", "history": {"loss": [1.0] * 12}})
    short = SimpleNamespace(name="s", metadata={"model_kind": "cnn", "history": {"loss": [1.0] * 3}})
    frame = registry_frame([forest, cnn, short])
    assert pd.isna(frame["epochs"][0])
    assert frame["epochs"].sort_values().tolist()[:2] == [3, 12]  # as text, "12" came before "3"


def test_the_registry_table_draws_missing_numbers_as_the_apps_dash(workspace, tmp_path_factory):
    import shutil

    from ui_support import tiny_model_folder

    from lab_ui.model_views import MISSING

    folder = tiny_model_folder(str(tmp_path_factory.getbasetemp() / "tiny-model"))
    shutil.copytree(folder, workspace / "models" / "tiny")
    at = train_page()
    assert at.dataframe and all(table.proto.placeholder == MISSING for table in at.dataframe)


def test_the_download_box_offers_a_model_that_replaced_one_of_the_same_name(workspace, tmp_path_factory):
    import shutil

    from ui_support import clear_caches, tiny_model_folder

    folder = tiny_model_folder(str(tmp_path_factory.getbasetemp() / "tiny-model"))
    models = workspace / "models"

    def install(name: str, created: str) -> None:
        shutil.copytree(folder, models / name, dirs_exist_ok=True)
        meta_path = models / name / "metadata.json"
        meta = json.loads(meta_path.read_text())
        meta_path.write_text(json.dumps({**meta, "created": created}))

    install("older", "2026-01-01T10:00:00")
    install("newer", "2026-01-02T10:00:00")
    def download_pick(at: AppTest):
        (box,) = [box for box in at.selectbox if box.label == "Download a model"]
        return box

    at = train_page()
    assert download_pick(at).value == "newer"
    download_pick(at).select("older").run()
    assert download_pick(at).value == "older"

    install("newer", "2026-01-03T10:00:00")  # `train --overwrite` into the same name, from the command line
    clear_caches()
    at.run()
    assert download_pick(at).value == "newer"


def test_curves_explain_validation_starting_above_training_only_when_it_does():
    from lab_ui.graphs import starts_above_training

    assert starts_above_training({"accuracy": [0.78, 0.95], "val_accuracy": [0.99, 0.99]})
    assert not starts_above_training({"accuracy": [0.5], "val_accuracy": [0.4]})
    assert not starts_above_training({"loss": [1.0]})  # the forest's one fit, or a run before its first epoch
