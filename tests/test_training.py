import threading

import numpy as np
import pytest

from captcha_core.config import DEFAULT
from captcha_core.data import DatasetError, from_captchas, from_letters
from captcha_core.generator import generate_captchas
from captcha_core.models import CnnClassifier, ForestClassifier, build_cnn
from captcha_core.training import TrainingCancelled, train


def test_build_cnn_is_the_seed_network_with_flatten():
    model = build_cnn((60, 60, 1), 19)
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == ["InputLayer", "Rescaling", "Conv2D", "MaxPooling2D", "Conv2D", "MaxPooling2D", "Flatten", "Dense", "Dense"]
    assert model.get_layer("conv1").filters == 20 and model.get_layer("conv1").kernel_size == (6, 6)
    assert model.get_layer("conv2").filters == 15 and model.get_layer("dense").units == 300
    assert model.output_shape == (None, 19)


def test_build_cnn_takes_any_size_and_class_count():
    assert build_cnn((32, 32, 1), 5).output_shape == (None, 5)


def test_tiny_training_learns_and_reports(tiny_training):
    report = tiny_training.report
    assert report.letter_accuracy > 0.5  # two epochs on 120 captchas is far above chance (1/19)
    assert report.captcha_accuracy is not None and 0 <= report.captcha_accuracy <= report.solved_character_accuracy
    assert len(tiny_training.history["loss"]) == 2 and "val_accuracy" in tiny_training.history
    cm = np.asarray(report.confusion)
    assert cm.sum() == report.n_letters and cm.shape == (len(report.labels),) * 2
    assert len(report.mistakes) == report.n_letters - np.trace(cm)


def test_whole_captcha_accuracy_is_what_solve_reads(easy_dataset, tiny_training):
    from pathlib import Path

    from captcha_core.persistence import LoadedModel
    from captcha_core.prediction import Predictor

    classifier = tiny_training.classifier
    predictor = Predictor(LoadedModel(classifier, [str(c) for c in classifier.classes_], {}, Path()))
    rows = tiny_training.split.test_captchas
    readings = predictor.solve_many([easy_dataset.images[i] for i in rows], length=4)
    truths = [easy_dataset.texts[i] for i in rows]
    assert tiny_training.report.captcha_accuracy == np.mean([r.text == t for r, t in zip(readings, truths)])
    chars = np.mean([a == b for r, t in zip(readings, truths) for a, b in zip(r.text, t)])
    assert tiny_training.report.solved_character_accuracy == pytest.approx(chars)


def test_same_seed_same_metrics(easy_dataset, tiny_config, tiny_training):
    again = train(easy_dataset, tiny_config)
    assert again.report.letter_accuracy == tiny_training.report.letter_accuracy
    assert again.history["loss"] == tiny_training.history["loss"]


def run_until_step(dataset, config, stop_at: int) -> list:
    """Train, pressing Stop once `stop_at` batches are reported; return the training reports seen."""
    seen = []
    cancel = threading.Event()

    def hook(p):
        seen.append(p)
        if p.phase == "training" and p.step >= stop_at:
            cancel.set()

    with pytest.raises(TrainingCancelled):
        train(dataset, config, progress=hook, cancel=cancel)
    return [p for p in seen if p.phase == "training" and p.step]  # leaving out each epoch's opening report


def test_progress_every_batch_and_cancel(easy_dataset, tiny_config):
    steps = run_until_step(easy_dataset, tiny_config.with_(batch_size=16, steps_per_execution=1), stop_at=2)
    assert [p.step for p in steps][:2] == [1, 2]
    assert steps[0].eta_seconds is not None and steps[0].epochs == tiny_config.epochs
    # Stopped inside the first epoch instead of running all of them.
    assert max(p.epoch for p in steps) == 1


def test_progress_after_each_graph_call_of_several_batches(easy_dataset, tiny_config):
    steps = run_until_step(easy_dataset, tiny_config.with_(batch_size=16, steps_per_execution=3), stop_at=6)
    assert [p.step for p in steps][:2] == [3, 6]  # reported where each call of three batches ended
    assert max(p.epoch for p in steps) == 1


def test_the_time_limit_stops_training_and_keeps_the_model_with_a_note(easy_dataset, tiny_config):
    # A limit far below one epoch: the first graph call overruns it, so training ends inside epoch 1.
    result = train(easy_dataset, tiny_config.with_(epochs=5, time_limit_minutes=1e-6))
    assert len(result.history["loss"]) == 1
    assert result.report.letter_accuracy > 0 and result.report.n_letters > 0  # evaluated, not cancelled
    assert "time limit of 1e-06 min, in epoch 1 of at most 5." in result.report.note
    assert result.report.to_dict()["note"] == result.report.note


def test_no_time_limit_no_note(tiny_training, tiny_config):
    assert len(tiny_training.history["loss"]) == tiny_config.epochs and tiny_training.report.note == ""


@pytest.mark.parametrize("stopped_already, timed_out", [(False, True), (True, False)])
def test_an_epoch_that_would_overrun_the_limit_is_not_begun_unless_training_already_ended(
    monkeypatch, stopped_already, timed_out
):
    from types import SimpleNamespace

    import captcha_core.training as training

    readings = [0.0, 0.0, 4.0, 4.0, 8.0]  # train begins; epoch 1 from 0 to 4 s; epoch 2 from 4 to 8 s
    monkeypatch.setattr(training.time, "perf_counter", lambda: readings.pop(0) if len(readings) > 1 else readings[0])
    callback = training.make_keras_callback(epochs=5, steps=1, hook=None, cancel=None, time_limit=10.0)
    model = SimpleNamespace(stop_training=False)
    callback.set_model(model)
    callback.on_train_begin()
    callback.on_epoch_begin(0)
    callback.on_epoch_end(0)  # 4 s done, another 4 s epoch ends at 8 s: within 10 s
    assert not callback.timed_out and not model.stop_training
    callback.on_epoch_begin(1)
    model.stop_training = stopped_already  # early stopping or the rate schedule ended it first
    callback.on_epoch_end(1)  # 8 s done, another epoch would end at 12 s
    assert callback.timed_out == timed_out and model.stop_training


def test_each_epoch_reports_its_validation_before_it_ends(easy_dataset, tiny_config):
    seen = []
    train(easy_dataset, tiny_config.with_(epochs=2), progress=seen.append)
    phases = [(p.phase, p.epoch) for p in seen if p.phase in ("training", "validating")]
    for epoch in (1, 2):
        checking = phases.index(("validating", epoch))
        # Batches come before the check, the epoch's closing report after it.
        assert ("training", epoch) in phases[:checking] and phases[checking + 1] == ("training", epoch)
    opening = [p for p in seen if p.phase == "training" and p.step == 0]
    assert [p.epoch for p in opening] == [1, 2]  # the page shows the new epoch before its first graph call ends
    checks = [p for p in seen if p.phase == "validating"]
    assert all(p.step == p.steps and 0 < p.fraction <= 1 for p in checks)


def test_forest_keeps_the_sklearn_contract(easy_dataset, tiny_config):
    letters = easy_dataset.letters
    forest = ForestClassifier(tiny_config.with_(forest_trees=20))
    assert forest.fit(letters.images[:300], letters.labels[:300]) is forest
    assert set(forest.classes_) == set(letters.labels[:300])
    assert forest.predict_proba(letters.images[300:310]).shape == (10, len(forest.classes_))
    assert np.mean(forest.predict(letters.images[300:]) == letters.labels[300:]) > 0.6


def test_forest_grown_in_batches_is_the_forest_grown_in_one_go(easy_dataset, tiny_config):
    from sklearn.ensemble import RandomForestClassifier

    from captcha_core.models import flatten

    letters = easy_dataset.letters
    reports = []
    forest = ForestClassifier(tiny_config.with_(forest_trees=25, forest_trees_per_batch=10))
    forest.fit(letters.images[:300], letters.labels[:300], report=lambda grown, total: reports.append((grown, total)))
    assert reports == [(10, 25), (20, 25), (25, 25)]
    at_once = RandomForestClassifier(n_estimators=25, random_state=tiny_config.seed).fit(
        flatten(letters.images[:300]), letters.labels[:300])
    held_out = letters.images[300:360]
    assert np.array_equal(forest.predict_proba(held_out), at_once.predict_proba(flatten(held_out)))


def test_forest_trains_through_the_pipeline_counting_its_trees_and_stops_when_asked(easy_dataset, tiny_config):
    seen = []
    config = tiny_config.with_(model="forest", forest_trees=30, forest_trees_per_batch=10)
    result = train(easy_dataset, config, progress=seen.append)
    assert result.report.letter_accuracy > 0.6
    trees = [(p.step, p.steps) for p in seen if p.phase == "training"]
    assert trees == [(10, 30), (20, 30), (30, 30)] and seen[-1].phase == "done"

    cancel = threading.Event()
    grown = []

    def stop_after_the_first_batch(progress):
        if progress.phase == "training":
            grown.append((progress.step, progress.steps))
            cancel.set()

    with pytest.raises(TrainingCancelled):
        train(easy_dataset, config, progress=stop_after_the_first_batch, cancel=cancel)
    assert grown == [(10, 30)]  # the forest stopped growing, rather than finishing before the pipeline noticed


def test_a_forest_says_the_time_limit_did_not_apply(easy_dataset, tiny_config):
    from captcha_core.training import FOREST_NO_LIMIT

    config = tiny_config.with_(model="forest", forest_trees=10, forest_trees_per_batch=10, time_limit_minutes=1e-6)
    result = train(easy_dataset, config)
    assert result.report.note == FOREST_NO_LIMIT and result.report.letter_accuracy > 0  # it grew and was scored


def test_cnn_unfitted_has_no_learned_attributes():
    assert not hasattr(CnnClassifier(), "model_")


def test_leaky_protocol_scores_without_whole_captchas(easy_dataset, tiny_config):
    result = train(easy_dataset, tiny_config, leaky_seed_protocol=True)
    assert result.protocol == "leaky-seed" and result.report.captcha_accuracy is None


def blank_letters(labels):
    return [(label, np.full((20, 20), 255, np.uint8)) for label in labels]


@pytest.mark.parametrize(
    "dataset, message",
    [
        (from_letters(blank_letters("aaaa")), "only one class"),
        (from_letters(blank_letters("aaab")), "'b' has a single image, so it cannot be both learnt and tested"),
        (from_letters([]), "no images"),
        (from_captchas([("abcdefgh", np.full((30, 80), 255, np.uint8))] * 3), "labels match"),
    ],
)
def test_untrainable_data_fails_before_training(dataset, message):
    with pytest.raises(DatasetError, match=message):
        train(dataset)


def test_auto_on_a_single_captcha_says_it_is_too_few_instead_of_failing_to_split():
    one = from_captchas(generate_captchas(1, seed=2))
    with pytest.raises(DatasetError, match=r"^only 1 captcha: too few to hold out validation and test captchas \(it takes at least 13, and a model "
                       r"learns from hundreds\)$"):
        train(one, DEFAULT.with_(model="auto"))
