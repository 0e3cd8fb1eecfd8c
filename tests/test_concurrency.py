"""Sessions racing for the one training job: one wins, nothing doubles, and a vanished session leaves no half model."""
import gc
import threading
import weakref

import pytest

from captcha_core import persistence, training
from captcha_core.config import DEFAULT
from captcha_core.data import generate_dataset
from captcha_core.persistence import LABELS_FILE, METADATA_FILE, MODEL_FILES, list_models
from lab_ui import jobs
from ui_support import open_page

# The smallest data that still trains (every class present) in a few seconds on 2 busy cores.
TINY_COUNT = 40
TINY_SPEC = {"kind": "generated", "difficulty": "easy", "count": TINY_COUNT, "length": 4,
             "alphabet": "abcdefghjkmnpqrstuw", "seed": 0}
TINY_CONFIG = DEFAULT.with_(generate_count=TINY_COUNT, epochs=1, difficulty="easy", alphabet=TINY_SPEC["alphabet"])
# Generous: TensorFlow's first import alone takes 15 s when the other developers keep both cores busy.
TRAIN_TIMEOUT = 180
SESSIONS = 2
TRAIN_PAGE = "views/train.py"


@pytest.fixture(scope="module")
def tiny_dataset():
    return generate_dataset(TINY_CONFIG)


class TrainingGate:
    """Holds the worker thread at its first training report, so the test, not timing, decides when it may go on."""

    def __init__(self, monkeypatch):
        self.reached = threading.Event()
        self.released = threading.Event()
        original = jobs.TrainJob._update

        def gated_update(job, job_id, **changes):
            original(job, job_id, **changes)
            if changes.get("phase") == "training" and not self.reached.is_set():
                self.reached.set()
                self.released.wait(TRAIN_TIMEOUT)

        monkeypatch.setattr(jobs.TrainJob, "_update", gated_update)

    def wait_reached(self) -> None:
        assert self.reached.wait(TRAIN_TIMEOUT), "training never reported its first batch"

    def release(self) -> None:
        self.released.set()


@pytest.fixture
def gate(monkeypatch):
    gate = TrainingGate(monkeypatch)
    yield gate
    gate.release()  # never leave a worker parked, whatever the test asserted


@pytest.fixture
def classifiers_built(monkeypatch):
    """Counts the model objects training builds, the memory a second start would cost."""
    built = []
    original = training.make_classifier

    def counting(config):
        built.append(config.model)
        return original(config)

    monkeypatch.setattr(training, "make_classifier", counting)
    return built


def train_page(name: str):
    """A Train page on the tiny data with one epoch and the given model name."""
    at = open_page(TRAIN_PAGE)
    at.session_state["dataset_spec"] = dict(TINY_SPEC)
    at.run()
    at.button_group(key="train_model").set_value("cnn").run()
    at.number_input(key="train_epochs_cnn").set_value(1).run()
    at.text_input(key="train_name").set_value(name).run()
    return at


def started_job(at):
    """The job id this page's session remembers starting, or None."""
    return at.session_state["started_job"] if "started_job" in at.session_state else None


def click_together(pages) -> None:
    """Click Train on every page at the same moment, each run in its own thread as in separate sessions."""
    barrier = threading.Barrier(len(pages))
    failures = []

    def click(at):
        try:
            barrier.wait()
            at.button(key="train_start").click().run()
        except Exception as exc:  # re-raised on the test thread, where pytest sees it
            failures.append(exc)

    threads = [threading.Thread(target=click, args=(at,)) for at in pages]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TRAIN_TIMEOUT)
    assert not failures, failures


def assert_complete_model(folder) -> None:
    """A registry folder with everything a model needs and nothing half-written."""
    assert (folder / MODEL_FILES["cnn"]).is_file()
    assert (folder / LABELS_FILE).is_file()
    assert (folder / METADATA_FILE).is_file()
    persistence.load_model(folder)  # loads cleanly, so every file was complete when it appeared


def leftovers(models_dir) -> list[str]:
    """Temporary folders save_model failed to clean up."""
    return sorted(p.name for p in models_dir.iterdir() if p.name.startswith(".")) if models_dir.exists() else []


def test_two_threads_starting_at_once_start_one_job(workspace, tiny_dataset, gate, classifiers_built):
    job = jobs.TrainJob()
    barrier = threading.Barrier(SESSIONS)
    results = [None] * SESSIONS

    def start(i):
        barrier.wait()
        results[i] = job.start(tiny_dataset, TINY_CONFIG, f"race-{i}", workspace / "models")

    threads = [threading.Thread(target=start, args=(i,)) for i in range(SESSIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TRAIN_TIMEOUT)
    assert sorted(r.started for r in results) == [False, True]
    refused = next(r for r in results if not r.started)
    assert "already running" in refused.message
    gate.wait_reached()
    gate.release()
    assert job.wait(TRAIN_TIMEOUT)
    snap = job.snapshot()
    assert snap.status == jobs.DONE, snap.message
    assert classifiers_built == ["cnn"]
    winner = next(r for r in results if r.started)
    assert [e.name for e in list_models(workspace / "models")] == [f"race-{results.index(winner)}"]


def test_two_sessions_clicking_train_together_start_one_job(workspace, gate, classifiers_built, monkeypatch):
    pages = [train_page(f"session-{i}") for i in range(SESSIONS)]
    # Together means both clicks reach the job before either has started it. Without this, a page whose data is
    # already cached can start its training before the other page's run has drawn its (then disabled) button.
    arrived = threading.Barrier(SESSIONS, timeout=TRAIN_TIMEOUT)
    start = jobs.TrainJob.start

    def start_together(job, *args, **kwargs):
        arrived.wait()
        return start(job, *args, **kwargs)

    monkeypatch.setattr(jobs.TrainJob, "start", start_together)
    click_together(pages)
    gate.wait_reached()
    for at in pages:
        assert not at.exception, at.exception
    job_id = jobs.get_job().snapshot().job_id
    winners = [at for at in pages if started_job(at) == job_id] if job_id else []
    assert len(winners) == 1
    loser = next(at for at in pages if at is not winners[0])
    assert started_job(loser) is None
    assert any("already running" in w.value for w in loser.warning)
    assert any("Training in progress" in m.value for m in loser.markdown)
    gate.release()
    assert jobs.get_job().wait(TRAIN_TIMEOUT)
    assert classifiers_built == ["cnn"]
    names = [e.name for e in list_models(workspace / "models")]
    assert len(names) == 1 and names[0].startswith("session-")


def test_pages_without_a_job_panel_note_the_running_training_in_the_sidebar(workspace, gate):
    trainer = train_page("noted")
    trainer.button(key="train_start").click().run()
    gate.wait_reached()
    notes = lambda at: [c.value for c in at.sidebar.caption if "Training `noted`" in c.value]  # noqa: E731
    assert not notes(trainer)  # the Train page shows it in full already
    for page in ("views/data.py", "views/evaluate.py", "views/playground.py"):
        other = open_page(page)
        assert not other.exception
        [note] = notes(other)
        assert "(cnn) on built-in generator: 40 easy captchas" in note and "keeps that data" in note
    gate.release()
    assert jobs.get_job().wait(TRAIN_TIMEOUT)
    assert not notes(open_page("views/data.py"))


def test_a_late_click_finds_the_button_waiting_for_the_running_training(workspace, gate):
    winner, loser = train_page("first"), train_page("second")
    winner.button(key="train_start").click().run()
    gate.wait_reached()
    loser.button(key="train_start").click().run()
    assert not loser.exception
    # The page drawn before the other session started: its click now finds the button waiting for that job.
    assert loser.button(key="train_start").disabled
    assert any("A training is running" in c.value for c in loser.caption)
    assert any("Training in progress" in m.value and "first" in m.value for m in loser.markdown)


def test_a_second_start_while_training_builds_no_second_model(workspace, tiny_dataset, gate, classifiers_built):
    job = jobs.TrainJob()
    first = job.start(tiny_dataset, TINY_CONFIG, "first", workspace / "models")
    gate.wait_reached()
    running = job.snapshot()
    threads_before = {t.name for t in threading.enumerate() if t.name.startswith("captcha-lab-training")}
    second = job.start(tiny_dataset, TINY_CONFIG, "second", workspace / "models")
    after = job.snapshot()
    assert first.started and not second.started
    assert (after.job_id, after.name, after.status, after.phase) == (running.job_id, "first", jobs.RUNNING, "training")
    assert classifiers_built == ["cnn"]
    assert {t.name for t in threading.enumerate() if t.name.startswith("captcha-lab-training")} == threads_before
    gate.release()
    assert job.wait(TRAIN_TIMEOUT)
    assert classifiers_built == ["cnn"]
    assert [e.name for e in list_models(workspace / "models")] == ["first"]


def drop_session_mid_training(name: str, gate) -> None:
    """Start training from a page, then let that page's AppTest go away while the worker is parked mid-epoch."""
    at = train_page(name)
    at.button(key="train_start").click().run()
    assert not at.exception
    gate.wait_reached()
    del at
    gc.collect()


def record_trained_networks(monkeypatch) -> list:
    """Weak references to every classifier and Keras model that training returns from now on."""
    held = []
    original = training.train

    def recording(dataset, config, **kwargs):
        result = original(dataset, config, **kwargs)
        held.extend([weakref.ref(result.classifier), weakref.ref(result.classifier.model_)])
        return result

    monkeypatch.setattr(training, "train", recording)
    return held


def test_a_vanished_session_still_gets_a_complete_model_and_the_server_lets_go_of_it(workspace, gate, monkeypatch):
    held = record_trained_networks(monkeypatch)
    drop_session_mid_training("orphan", gate)
    models = workspace / "models"
    assert list_models(models) == [] and not (models / "orphan").exists()
    gate.release()
    assert jobs.get_job().wait(TRAIN_TIMEOUT)
    assert jobs.get_job().snapshot().status == jobs.DONE
    assert [e.name for e in list_models(models)] == ["orphan"]
    assert_complete_model(models / "orphan")
    assert leftovers(models) == []
    gc.collect()
    assert len(held) == 2 and [ref() is None for ref in held] == [True, True]  # saved to disk, freed in memory


def test_a_vanished_session_stopped_writes_nothing(workspace, gate):
    drop_session_mid_training("stopped", gate)
    assert jobs.get_job().stop()  # another session presses Stop
    gate.release()
    assert jobs.get_job().wait(TRAIN_TIMEOUT)
    assert jobs.get_job().snapshot().status == jobs.CANCELLED
    models = workspace / "models"
    assert list_models(models) == []
    assert sorted(p.name for p in models.iterdir()) == []


def test_a_save_failing_halfway_leaves_no_folder(workspace, tiny_dataset, monkeypatch):
    original = persistence.write_json

    def disk_full_at_metadata(path, data):
        if path.name == METADATA_FILE:
            raise OSError(28, "No space left on device")
        original(path, data)

    monkeypatch.setattr(persistence, "write_json", disk_full_at_metadata)
    job = jobs.TrainJob()
    assert job.start(tiny_dataset, TINY_CONFIG, "half", workspace / "models").started
    assert job.wait(TRAIN_TIMEOUT)
    snap = job.snapshot()
    assert snap.status == jobs.FAILED and "No space left" in snap.message
    models = workspace / "models"
    assert list_models(models) == [] and sorted(p.name for p in models.iterdir()) == []


def test_a_vanished_sessions_training_leaves_no_model_or_data_in_memory(workspace, monkeypatch):
    """Once its job ends, nothing on the server still holds the trained network or the data it was given."""
    held = record_trained_networks(monkeypatch)
    dataset = generate_dataset(TINY_CONFIG)
    held.append(weakref.ref(dataset))
    job = jobs.TrainJob()
    assert job.start(dataset, TINY_CONFIG, "freed", workspace / "models").started
    del dataset  # the session that uploaded it is gone
    assert job.wait(TRAIN_TIMEOUT)
    assert job.snapshot().status == jobs.DONE
    gc.collect()
    assert len(held) == 3
    assert [ref() is None for ref in held] == [True, True, True]
