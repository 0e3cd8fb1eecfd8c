import json
import math

import cv2
import numpy as np
import pytest

from captcha_core.choice import resolve_model
from captcha_core.config import DEFAULT
from captcha_core.data import generate_dataset
from captcha_core.generator import generate_captchas
from captcha_core.sequence import (
    BLANK,
    SequenceClassifier,
    best_paths_of_lengths,
    build_sequence_model,
    correct_characters,
    decode,
    greedy_decode,
    moved,
    strip_width,
    to_strip,
    to_strips,
    training_advice,
)


def best_path_of_lengths(probs, lengths):
    """The length-constrained search for one (T, outputs) probability row."""
    return best_paths_of_lengths(np.asarray(probs)[None], lengths)[0]


# A reader small enough to learn a three-letter alphabet in a few seconds on 2 cores.
SMALL = DEFAULT.with_(
    alphabet="abc",
    captcha_length=3,
    generate_count=160,
    sequence_filters=(16, 32),
    sequence_dense_units=32,
    sequence_rnn_units=32,
    sequence_rnn_layers=1,
    sequence_dropout=0.0,
    sequence_shift=0.0,
    sequence_warp=0.0,
    # Sets this small go over their captchas several times an epoch (see training_repeats): 4 epochs here
    # take 180 to 192 steps, where 16 single passes took 128 to 144.
    sequence_epochs=4,
    sequence_patience=16,
    sequence_batch_size=16,
    sequence_learning_rate=5e-3,
)


def one_hot_path(path, n_outputs=4, peak=0.9):
    """Per-step probabilities whose best path is `path`; the rest of each row is spread evenly."""
    rest = (1 - peak) / (n_outputs - 1)
    probs = np.full((len(path), n_outputs), rest)
    probs[np.arange(len(path)), path] = peak
    return probs


def test_greedy_decode_collapses_repeats_and_drops_blanks():
    # a a _ b _ b c c  ->  a b b c : the blank between the two b's keeps them apart.
    path = [1, 1, BLANK, 2, BLANK, 2, 3, 3]
    [(indices, confidences)] = greedy_decode(one_hot_path(path)[None])
    assert indices == [1, 2, 2, 3]
    assert confidences == pytest.approx([0.9] * 4)


def test_greedy_decode_all_blank_is_empty_and_confidence_is_the_run_peak():
    probs = np.stack([one_hot_path([BLANK] * 5), one_hot_path([2, 2, 2, BLANK, BLANK])])
    probs[1, 1] = [0.0, 0.0, 1.0, 0.0]
    assert greedy_decode(probs) == [([], []), ([2], [1.0])]


def test_decoding_to_the_trained_lengths_restores_a_character_greedy_merged():
    # Greedy takes a a a and reads one "a"; a captcha of two characters is best read a _ a.
    probs = np.array([[0.05, 0.9, 0.05], [0.4, 0.55, 0.05], [0.05, 0.9, 0.05]])
    [(greedy, _)] = greedy_decode(probs[None])
    assert greedy == [1]
    [(indices, confidences)] = decode(probs[None], lengths=[2])
    assert indices == [1, 1] and confidences == pytest.approx([0.9, 0.9])
    # A greedy reading of an allowed length, or no lengths at all, is left as it is.
    assert decode(probs[None], lengths=[1, 3]) == decode(probs[None]) == [([1], [0.9])]
    # No path of three steps reads four characters: greedy's reading stands.
    assert best_path_of_lengths(probs, [4]) is None and decode(probs[None], lengths=[4]) == [([1], [0.9])]
    assert best_path_of_lengths(probs, [2, 400])[0] == [1, 1]  # lengths beyond the steps are dropped


def all_paths_reference(probs, lengths):
    """The most probable path whose collapsed reading has an allowed length, by trying every path."""
    import itertools

    best = None
    for path in itertools.product(range(probs.shape[1]), repeat=len(probs)):
        reading = [c for t, c in enumerate(path) if c != BLANK and (t == 0 or path[t - 1] != c)]
        if len(reading) in lengths:
            score = float(np.sum(np.log(probs[np.arange(len(path)), path])))
            if best is None or score > best[0]:
                best = (score, reading)
    return best


def test_length_constrained_best_path_matches_trying_every_path():
    rng = np.random.default_rng(0)
    for _ in range(150):
        steps, outputs = int(rng.integers(1, 6)), int(rng.integers(2, 5))
        probs = rng.dirichlet(np.full(outputs, 0.5), size=steps)
        lengths = sorted({int(n) for n in rng.integers(0, 4, size=2)})
        expected = all_paths_reference(probs, lengths)
        found = best_path_of_lengths(probs, lengths)
        # Random probabilities make ties between paths practically impossible, so the readings must agree.
        assert (found is None) if expected is None else (found[0] == expected[1])


def test_a_training_that_never_read_a_captcha_gets_a_hint():
    from captcha_core.sequence import stall_hint

    assert "More epochs" in stall_hint({"loss": [16.0, 15.8], "val_accuracy": [0.0, 0.0]})
    assert stall_hint({"loss": [16.0, 3.0], "val_accuracy": [0.0, 0.4]}) == ""
    assert "More epochs" in stall_hint({"loss": [16.0], "accuracy": [0.0]})  # no validation split
    assert stall_hint({}) == ""


def test_a_training_cut_off_while_still_climbing_gets_a_hint():
    from captcha_core.sequence import stall_hint

    climbing = {"val_accuracy": [0.0] * 52 + [0.01, 0.02, 0.03, 0.05, 0.08, 0.1, 0.12, 0.15]}
    hint = stall_hint(climbing, epochs=60)
    assert "limit of 60 epochs" in hint
    # The same averages the decision took (0.10 and 0.012), not two single epochs that may say otherwise.
    assert "over its last 5 epochs it read 10% of its validation captchas on average, against 1% over the 5 before" in hint
    assert stall_hint(climbing, epochs=80) == ""  # stopped before its limit: the schedule ended it
    assert stall_hint(climbing, epochs=60, schedule_done=True) == ""  # its falling rate ended right at the limit
    assert stall_hint({"val_accuracy": [0.9] * 50 + [0.95] * 10}, epochs=60) == ""  # flat at the end
    assert stall_hint(climbing) == ""  # no limit given
    assert stall_hint({"val_accuracy": [0.5] * 10 + [0.9, 0.95, 0.97, 0.99, 1.0]}, epochs=15) == ""  # reads them all
    # One more of 24 validation captchas in the last epoch of a plateau is not a climb.
    assert stall_hint({"val_accuracy": [0.5] * 59 + [0.5 + 1 / 24]}, epochs=60) == ""


def test_correct_characters_counts_positions_or_edits():
    assert correct_characters("abcd", "abxd") == 3
    assert correct_characters("abcd", "abd") == 3  # one deletion
    assert correct_characters("ab", "xxxxxx") == 0


def test_strips_keep_aspect_and_width_comes_from_the_data():
    wide, narrow = np.full((40, 160), 200, np.uint8), np.full((40, 80), 200, np.uint8)
    wide[10:30, 5:150] = 0
    config = DEFAULT.with_(sequence_height=20)
    width = strip_width([wide, narrow], ["ab", "abcd"], config)
    assert width == 80  # 160 columns at half the height, already a whole number of time steps
    strip = to_strip(narrow, 20, width)
    assert strip.shape == (20, 80) and (strip[:, 40:] == 255).all()  # padded with paper on the right
    assert to_strip(np.full((40, 400), 0, np.uint8), 20, width).shape == (20, 80)  # wider ones are squeezed


def test_build_sequence_model_outputs_alphabet_plus_blank_per_time_step():
    model = build_sequence_model((32, 64, 1), 19)
    assert model.output_shape == (None, 16, 20)
    assert "Lambda" not in {type(layer).__name__ for layer in model.layers}


@pytest.fixture(scope="module")
def small_reader():
    dataset = generate_dataset(SMALL)
    n_train = 130
    reader = SequenceClassifier(SMALL)
    assert reader.fit(dataset.images[:n_train], dataset.texts[:n_train], dataset.images[n_train:], dataset.texts[n_train:]) is reader
    return reader, dataset.images[n_train:], dataset.texts[n_train:]


def test_tiny_reader_learns_to_read(small_reader):
    reader, images, texts = small_reader
    assert reader.classes_ == ["a", "b", "c"] and reader.width_ % 4 == 0
    readings = reader.predict_texts(images)
    right = np.mean([text == truth for (text, _), truth in zip(readings, texts)])
    assert right >= 0.6, readings
    assert all(len(conf) == len(text) and all(0 < c <= 1 for c in conf) for text, conf in readings)


def test_sequence_model_round_trips_in_safe_mode(small_reader, tmp_path):
    from captcha_core.persistence import MODEL_FILES, load_model, save_model
    from captcha_core.prediction import Predictor

    reader, images, _ = small_reader
    metadata = {"model_kind": "sequence", "data": {"captcha_lengths": [3]}}  # as saved before reading_lengths
    out = save_model(reader, reader.classes_, metadata, tmp_path / "seq")
    assert (out / MODEL_FILES["sequence"]).is_file()
    loaded = load_model(out)  # load_model uses safe_mode=True
    assert loaded.classifier.kind == "sequence" and loaded.classifier.width_ == reader.width_
    assert reader.lengths_ == loaded.classifier.lengths_ == [3]
    # Saved before strips were turned round: it is given them as it learnt them, unturned.
    assert reader.turns_round_ is True and loaded.classifier.turns_round_ is False
    # ...and before crops around the text: it reads whole images.
    assert loaded.classifier.crops_ is False
    assert loaded.classifier.predict_texts(images) == reader.predict_texts(images)
    readings = Predictor(loaded).solve_many(images)
    assert [r.text for r in readings] == [t for t, _ in reader.predict_texts(images)]
    assert all(r.boxes == [] and len(r.confidences) == len(r.text) for r in readings)
    # solve --length overrides the trained lengths.
    assert {len(r.text) for r in Predictor(loaded).solve_many(images, length=2)} == {2}


def test_moved_strips_shift_whole_pixels_and_fill_with_paper():
    strips = np.arange(12, dtype=np.uint8).reshape(1, 3, 4)
    assert moved(strips, 1, 0)[0].tolist() == [[255, 0, 1, 2], [255, 4, 5, 6], [255, 8, 9, 10]]
    assert moved(strips, -1, 1)[0].tolist() == [[255, 255, 255, 255], [1, 2, 3, 255], [5, 6, 7, 255]]
    assert (moved(strips, 0, 3) == 255).all()
    assert (moved(strips, 0, 0) == strips).all()


def test_reading_averages_the_strip_and_its_four_moves(small_reader):
    reader, images, _ = small_reader
    strips = to_strips(images[:6], reader.height_, reader.width_)
    step = round(reader.config.sequence_read_shift * reader.height_)
    assert step >= 1 and reader.read_moves() == [(0, 0), (-step, 0), (step, 0), (0, -step), (0, step)]
    singles = [reader.strip_probabilities(moved(strips, dx, dy), averaged=False) for dx, dy in reader.read_moves()]
    np.testing.assert_allclose(reader.strip_probabilities(strips), np.mean(singles, axis=0), rtol=1e-5, atol=1e-6)
    once = SequenceClassifier.from_model(reader.model_, reader.classes_, SMALL.with_(sequence_read_shift=0.0))
    assert once.read_moves() == [(0, 0)]
    np.testing.assert_allclose(once.strip_probabilities(strips), singles[0], rtol=1e-5, atol=1e-6)


def test_training_shift_is_a_whole_pixel_move_within_the_limit(small_reader):
    import tensorflow as tf

    reader, images, _ = small_reader
    shifting = SequenceClassifier.from_model(reader.model_, reader.classes_, SMALL.with_(sequence_shift=0.1))
    strip = to_strips(images[:1], reader.height_, reader.width_)[0][..., None]
    limit_y, limit_x = round(0.1 * reader.height_), round(0.1 * reader.width_)
    possible = {(dx, dy): moved(strip[None, ..., 0], dx, dy)[0] for dx in range(-limit_x, limit_x + 1) for dy in range(-limit_y, limit_y + 1)}
    seen = set()
    for _ in range(8):
        out, label = shifting._random_shift(tf.constant(strip), tf.constant([1]))
        out = out.numpy()[..., 0]
        matches = [move for move, expected in possible.items() if (expected == out).all()]
        assert out.shape == strip.shape[:2] and matches and label.numpy().tolist() == [1]
        seen.add(matches[0])
    assert len(seen) > 1  # it really moves


def test_small_sets_get_smaller_batches_with_a_smaller_rate_and_warping():
    from captcha_core.sequence import training_batch_size, training_rate, training_warp

    assert training_rate(DEFAULT.sequence_batch_size, DEFAULT) == DEFAULT.sequence_learning_rate
    assert training_rate(DEFAULT.sequence_batch_size // 4, DEFAULT) == pytest.approx(DEFAULT.sequence_learning_rate / 4)

    assert training_batch_size(8640, DEFAULT) == DEFAULT.sequence_batch_size  # 135 batches an epoch already
    assert training_batch_size(750, DEFAULT) == DEFAULT.sequence_min_batch
    assert training_batch_size(48 * 30, DEFAULT) == 30
    assert training_batch_size(750, DEFAULT.with_(sequence_min_steps=0)) == DEFAULT.sequence_batch_size

    assert training_warp(750, DEFAULT) == DEFAULT.sequence_warp > 0
    assert training_warp(DEFAULT.sequence_small_below, DEFAULT) == 0.0


def test_only_sets_far_short_of_an_epochs_steps_go_over_their_captchas_again():
    from captcha_core.sequence import training_repeats

    # 750 captchas at batch 16 make 47 batches, just short of 48: one pass, as the lined benchmark was measured.
    assert training_repeats(750, 16, DEFAULT) == 1
    assert training_repeats(400, 16, DEFAULT) == 1  # 25 batches: a second pass would not fit in 48
    assert training_repeats(384, 16, DEFAULT) == 2  # 24 batches
    assert training_repeats(216, 16, DEFAULT) == 3  # 14 batches: three passes make 42
    assert training_repeats(20, 16, DEFAULT) == 24  # 2 batches
    assert training_repeats(20, 16, DEFAULT.with_(sequence_min_steps=0)) == 1


def test_small_sets_decay_the_rate_after_the_start_and_large_ones_halve_it_on_plateaus():
    from captcha_core.sequence import decayed_rate, training_decay_epochs

    assert training_decay_epochs(750, DEFAULT) == DEFAULT.sequence_decay_epochs > 0
    assert training_decay_epochs(DEFAULT.sequence_small_below, DEFAULT) == 0
    assert decayed_rate(1e-3, 0, 30) == pytest.approx(1e-3)
    assert decayed_rate(1e-3, 15, 30) == pytest.approx(5e-4)
    assert decayed_rate(1e-3, 30, 30) == pytest.approx(0.0) and decayed_rate(1e-3, 40, 30) == pytest.approx(0.0)


def test_decay_waits_for_the_start_then_falls_to_zero_and_ends_training():
    import keras

    from captcha_core.sequence import make_decay_callback

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    decay = make_decay_callback(1e-3, 4, 0.5, "val_accuracy")
    decay.set_model(model)
    rates, stopped_after = [], None
    readings = [0.0, 0.0, 0.3, 0.6, 0.7, 0.9, 0.9, 0.9, 0.9, 0.9]  # half the captchas read after epoch 4
    for epoch, read in enumerate(readings):
        decay.on_epoch_begin(epoch)
        rates.append(float(model.optimizer.learning_rate.numpy()))
        decay.on_epoch_end(epoch, {"val_accuracy": read})
        if model.stop_training:
            stopped_after = epoch + 1
            break
    assert rates[:4] == pytest.approx([1e-3] * 4)  # held while the model reads under half
    assert rates[4:] == pytest.approx([1e-3, 1e-3 * 0.5 * (1 + np.cos(np.pi / 4)), 5e-4, 1e-3 * 0.5 * (1 + np.cos(3 * np.pi / 4))])
    assert stopped_after == 8  # four decay epochs after the fourth


def run_decay(decay, model, readings) -> tuple[list[float], int | None]:
    """Drive a decay callback through epochs that read `readings`: the rate of each epoch, and when it stopped."""
    rates = []
    for epoch, read in enumerate(readings):
        decay.on_epoch_begin(epoch)
        rates.append(float(model.optimizer.learning_rate.numpy()))
        decay.on_epoch_end(epoch, {"val_accuracy": read})
        if model.stop_training:
            return rates, epoch + 1
    return rates, None


def tiny_keras_model():
    import keras

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    return model


def test_a_start_too_late_for_the_whole_decay_gets_a_shorter_one_that_ends_at_the_limit():
    from captcha_core.sequence import MIN_DECAY_EPOCHS, make_decay_callback

    model = tiny_keras_model()
    decay = make_decay_callback(1e-3, 30, 0.5, "val_accuracy", limit=12)
    decay.set_model(model)
    rates, stopped_after = run_decay(decay, model, [0.0] * 6 + [0.6] * 20)  # starts after epoch 7: 5 epochs left
    assert decay.epochs == MIN_DECAY_EPOCHS == 5 and decay.shortened and decay.finished
    assert stopped_after == 12 and rates[-1] == pytest.approx(1e-3 * 0.5 * (1 + np.cos(np.pi * 4 / 5)))
    # Started with fewer epochs left than the shortest fall: the limit ends it part-way, unfinished.
    model = tiny_keras_model()
    late = make_decay_callback(1e-3, 30, 0.5, "val_accuracy", limit=12)
    late.set_model(model)
    rates, stopped_after = run_decay(late, model, [0.0] * 9 + [0.6] * 3)  # starts after epoch 10 of 12
    assert late.epochs == MIN_DECAY_EPOCHS and stopped_after is None and not late.finished and 0 < rates[-1] < 1e-3
    # Started in time, the whole decay: not shortened.
    model = tiny_keras_model()
    on_time = make_decay_callback(1e-3, 4, 0.5, "val_accuracy", limit=60)
    on_time.set_model(model)
    run_decay(on_time, model, [0.6] * 10)
    assert on_time.epochs == 4 and not on_time.shortened


def test_a_run_cut_short_takes_back_its_best_epoch_only_if_that_read_more():
    from captcha_core.sequence import make_best_keeper

    model = tiny_keras_model()
    keeper = make_best_keeper("val_accuracy")
    keeper.set_model(model)
    weights_at = {}
    for epoch, read in enumerate([0.2, 0.9, 0.9, 0.5]):
        model.set_weights([np.full_like(w, epoch) for w in model.get_weights()])
        weights_at[epoch + 1] = model.get_weights()
        keeper.on_epoch_end(epoch, {"val_accuracy": read})
    assert keeper.restore() == 3  # the later of two equal epochs
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), weights_at[3]))
    keeper.on_epoch_end(4, {"val_accuracy": 0.95})  # the last epoch is the best: nothing to take back
    assert keeper.restore() is None


def test_warping_scales_and_shears_around_the_centre_and_fills_with_paper():
    import tensorflow as tf

    reader = SequenceClassifier(DEFAULT)
    reader.height_, reader.width_, reader.warp_ = 40, 80, 0.15
    strips = np.full((8, 40, 80, 1), 255.0, np.float32)
    strips[:, 16:24, 36:44] = 0.0  # an ink square at the centre
    warped, labels = reader._random_warp(tf.constant(strips), tf.constant(np.arange(8)))
    warped = warped.numpy()
    assert warped.shape == strips.shape and labels.numpy().tolist() == list(range(8))
    assert (warped[:, 19:21, 39:41] < 64).all()  # the centre stays ink
    assert (warped[:, :4] == 255).all() and (warped[:, :, :8] == 255).all()  # the edges stay paper
    assert len({warped[i].tobytes() for i in range(8)}) > 1  # each strip gets its own warp


@pytest.fixture(scope="module")
def small_training():
    from captcha_core.training import train

    dataset = generate_dataset(SMALL)
    return dataset, train(dataset, SMALL.with_(model="sequence"))


def test_train_splits_whole_captchas_and_reports_them(small_training):
    dataset, result = small_training
    split = result.split
    assert result.classifier.kind == "sequence" and result.protocol == "honest"
    assert set(split.train).isdisjoint(split.test) and set(split.val).isdisjoint(split.test)
    assert sorted([*split.train, *split.val, *split.test]) == list(range(len(dataset.texts)))
    assert result.report.n_captchas == len(split.test) and result.report.captcha_accuracy >= 0.5
    assert result.report.hint == ""  # it learnt, so there is nothing to advise
    # The optimizer started at the rate scaled to the batch actually used.
    reader = result.classifier
    assert reader.repeats_ == SMALL.sequence_min_steps // math.ceil(len(split.train) / reader.batch_size_) > 1
    assert result.history["learning_rate"][0] == pytest.approx(reader.learning_rate_)
    assert reader.learning_rate_ == pytest.approx(SMALL.sequence_learning_rate * reader.batch_size_ / SMALL.sequence_batch_size)


def test_the_time_limit_stops_the_sequence_model_with_a_note(small_training):
    from captcha_core.training import train

    dataset, _ = small_training
    result = train(dataset, SMALL.with_(model="sequence", time_limit_minutes=1e-6))
    assert len(result.history["loss"]) == 1 and result.classifier.kind == "sequence"
    assert f"in epoch 1 of at most {SMALL.sequence_epochs}." in result.report.note
    assert result.report.hint == training_advice(result.history, timed_out=True)


def test_a_stop_at_the_time_limit_gets_advice_only_when_nothing_was_read():
    # The user chose to stop there, but a reader still in CTC's start answers with blanks: that must be said.
    blank = {"loss": [19.0] * 58, "val_accuracy": [0.0] * 58}
    assert "never read a validation captcha right" in training_advice(blank, timed_out=True, epochs=60)
    climbing = {"loss": [1.0] * 60, "val_accuracy": [0.0] * 50 + [0.02, 0.04, 0.06, 0.08, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6]}
    assert training_advice(climbing, timed_out=True, epochs=60) == ""  # its note says a longer limit may read more
    assert "still getting better" in training_advice(climbing, timed_out=False, epochs=60)


def test_evaluate_page_review_scores_a_sequence_model_on_its_own_test_captchas(small_training, tmp_path):
    """The letter split would put some of the model's training captchas among the test ones."""
    from captcha_core import review
    from captcha_core.persistence import build_metadata, load_model, save_model

    dataset, result = small_training
    out = save_model(result.classifier, result.classifier.classes_, build_metadata(result, dataset, result.config), tmp_path / "seq")
    loaded = load_model(out)
    # It keeps to the lengths of its training captchas, saved as such.
    assert loaded.metadata["reading_lengths"] == loaded.classifier.lengths_ == result.classifier.lengths_ == [3]
    # It reads strips turned round as it learnt them, and says so for the next load.
    assert loaded.metadata["turns_strips_round"] is True and loaded.classifier.turns_round_ is True
    # Generated text fills its captchas, so it reads them whole, and says that too.
    assert loaded.metadata["crops_to_text"] is False and loaded.classifier.crops_ is False
    reviewed = review.review_on(loaded.classifier, dataset, loaded.metadata)
    assert reviewed.exact and reviewed.report.n_captchas == len(result.split.test)
    assert reviewed.report.captcha_accuracy == result.report.captcha_accuracy
    letter_split_captchas = review.split_dataset(dataset, result.config).test_captchas
    assert set(letter_split_captchas) != set(result.split.test)  # so the choice of split matters
    # Its mistakes are whole captchas, and the review keeps each misread captcha's picture.
    assert reviewed.reads_whole and set(reviewed.images) == {row for row, *_ in reviewed.report.misreads}
    assert all(reviewed.images[row] is dataset.images[row] for row in reviewed.images)


def small_text_on_noise(seed: int, text: str = "3071") -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """A 150x400 noisy grey image with small dark digits at a random spot, and the digits' (top, bottom, left, right)."""
    rng = np.random.default_rng(seed)
    image = np.clip(rng.normal(rng.integers(150, 210), 25, (150, 400)), 0, 255).astype(np.uint8)
    (w, h), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.7, 2)
    x, y = int(rng.integers(5, 400 - w - 5)), int(rng.integers(h + 5, 150 - base - 5))
    cv2.putText(image, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, 0.7, int(rng.integers(0, 70)), 2)
    return image, (y - h, y + base, x, x + w)


def test_text_box_finds_small_text_on_a_noisy_ground_and_sets_of_it_are_cropped():
    from captcha_core.sequence import SequenceClassifier, crops_to_text, text_box

    for seed in range(5):
        image, (top, bottom, left, right) = small_text_on_noise(seed)
        found = text_box(image)
        assert found[0] <= top and found[1] >= bottom - 2 and found[2] <= left and found[3] >= right, (found, top, bottom, left, right)
        assert found[1] - found[0] < 0.3 * image.shape[0] and found[3] - found[2] < 0.4 * image.shape[1]
    noisy = [small_text_on_noise(seed)[0] for seed in range(9)]
    generated = [im for _, im in generate_captchas(9, difficulty="hard", seed=0)]
    assert crops_to_text(noisy) and not crops_to_text(generated)
    reader = SequenceClassifier()
    reader.crops_ = True
    assert all(crop.shape[0] < 50 and crop.shape[1] < 150 for crop in reader.prepared(noisy))


def test_a_set_of_small_text_trains_on_crops_says_so_and_keeps_them_when_loaded(tmp_path):
    from captcha_core.data import from_captchas
    from captcha_core.persistence import build_metadata, load_model, save_model
    from captcha_core.sequence import crop_note
    from captcha_core.training import train

    rng = np.random.default_rng(0)
    texts = ["".join(rng.choice(list("abc"), 3)) for _ in range(40)]
    dataset = from_captchas([(text, small_text_on_noise(i, text)[0]) for i, text in enumerate(texts)], config=SMALL)
    config = SMALL.with_(model="sequence", sequence_epochs=1)
    result = train(dataset, config)
    assert result.classifier.crops_ is True and crop_note(config) in result.report.note
    loaded = load_model(save_model(result.classifier, result.classifier.classes_,
                                   build_metadata(result, dataset, config), tmp_path / "seq"))
    assert loaded.metadata["crops_to_text"] is True and loaded.classifier.crops_ is True
    images = dataset.images[:5]
    assert loaded.classifier.predict_texts(images) == result.classifier.predict_texts(images)


def test_sequence_report_names_its_per_character_share_character_accuracy():
    from captcha_core.sequence import SequenceReport

    report = SequenceReport(0.75, 0.5, 12, 4, ["a", "b"], np.zeros((2, 2), int), [], misreads=[(1, "ab", "aa", 0.3)])
    out = report.to_dict()
    assert out["character_accuracy"] == out["letter_accuracy"] == 0.75
    assert out["n_misread_captchas"] == 1


def test_misread_captchas_are_found_by_confusion_cell_or_by_length():
    from captcha_core import review
    from captcha_core.sequence import SequenceReport

    misreads = [(3, "abc", "abd", 0.4), (5, "cab", "dab", 0.9), (8, "abc", "ab", 0.2), (9, "bca", "bda", 0.7)]
    report = SequenceReport(0.5, 0.5, 12, 4, ["a", "b", "c", "d"], np.zeros((4, 4), int), [], misreads=misreads)
    # c read as d in three aligned readings, most confident first; the two-letter reading is not aligned.
    assert [row for row, *_ in review.misreads_for(report, "c", "d")] == [5, 9, 3]
    assert review.misreads_for(report, "a", "d") == []
    assert review.length_misreads(report) == [(8, "abc", "ab", 0.2)]


def test_review_of_other_captchas_keeps_those_it_can_read_or_refuses(small_training):
    from captcha_core import review

    dataset, result = small_training
    metadata = {"data": {"source": "class.zip"}, "config": result.config.to_dict()}
    mixed = generate_dataset(SMALL.with_(alphabet="abcz", seed=9), count=30)
    reviewed = review.review_on(result.classifier, mixed, metadata)
    readable = [i for i, text in enumerate(mixed.texts) if "z" not in text]
    assert not reviewed.exact and reviewed.report.n_captchas == len(readable) > 0
    assert f"left out: {len(mixed.texts) - len(readable)} captchas of other characters or lengths" in reviewed.description
    foreign = generate_dataset(SMALL.with_(alphabet="xyz", seed=9), count=5)
    with pytest.raises(review.NothingToReview, match=r"class\.zip"):
        review.review_on(result.classifier, foreign, metadata)
    # Its own characters in longer captchas: it reads three, so none of these could come out right.
    longer = generate_dataset(SMALL.with_(captcha_length=4, seed=9), count=5)
    with pytest.raises(review.NothingToReview, match=r"lengths \(3\)"):
        review.review_on(result.classifier, longer, metadata)


def test_auto_picks_cnn_when_segmentation_works(easy_dataset):
    config, choice = resolve_model(easy_dataset, DEFAULT.with_(model="auto"))
    assert config.model == "cnn" and choice["chosen"] == "cnn"
    assert choice["yield"] >= choice["threshold"] == DEFAULT.auto_yield_threshold
    json.dumps(choice)


@pytest.fixture(scope="module")
def hard_dataset():
    return generate_dataset(DEFAULT.with_(difficulty="hard", generate_count=40))


def test_auto_picks_sequence_when_letters_touch(hard_dataset):
    """On hard captchas the cutter can force the count, but the ink rarely falls apart cleanly."""
    assert hard_dataset.segmentation_yield > 0.9  # forced cuts: the plain yield says nothing
    config, choice = resolve_model(hard_dataset, DEFAULT.with_(model="auto"))
    assert config.model == "sequence" and choice["yield"] < choice["threshold"] and "sequence" in choice["reason"]


def test_an_explicit_model_is_never_overridden(hard_dataset):
    failing = hard_dataset
    for kind in ("cnn", "sequence", "forest"):
        config, choice = resolve_model(failing, DEFAULT.with_(model=kind))
        assert config.model == kind and choice is None


def test_the_choice_travels_in_the_metadata(tiny_training, easy_dataset):
    import dataclasses

    from captcha_core.persistence import build_metadata

    _, choice = resolve_model(easy_dataset, tiny_training.config.with_(model="auto"))
    result = dataclasses.replace(tiny_training, choice=choice)
    metadata = build_metadata(result, easy_dataset, result.config)
    assert metadata["model_kind"] == "cnn" and metadata["model_choice"]["chosen"] == "cnn"
    assert set(metadata["model_choice"]) == {"chosen", "yield", "threshold", "reason"}
    assert build_metadata(tiny_training, easy_dataset, tiny_training.config)["model_choice"] is None


def test_cli_offers_auto_by_default_and_every_kind():
    from captcha_core.cli import build_parser

    parser = build_parser()
    assert parser.parse_args(["train", "--out", "x"]).model == "auto"
    assert parser.parse_args(["train", "--out", "x", "--model", "sequence"]).model == "sequence"


def test_light_text_on_a_dark_ground_makes_the_same_strip_as_its_negative():
    from captcha_core.generator import generate_captchas
    from captcha_core.sequence import to_strip

    _, image = generate_captchas(1, seed=5)[0]
    strip, negative = to_strip(image, 32, 200), to_strip(255 - image, 32, 200)
    assert np.abs(strip.astype(int) - negative.astype(int)).max() <= 1  # rounding of the stretch at most
    # A model saved before strips were turned round gets the negative as it came: a dark ground.
    assert np.median(to_strip(255 - image, 32, 200, turn_round=False)[:, :80]) < 128 < np.median(negative[:, :80])
