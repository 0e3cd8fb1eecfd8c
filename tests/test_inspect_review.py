"""Core helpers behind the Evaluate and Playground pages: model review, activations, saliency, drawing."""
import json

import numpy as np

from captcha_core import inspect, review
from captcha_core.generator import generate_captchas
from captcha_core.persistence import load_model


def test_config_round_trips_through_metadata(tiny_config):
    assert review.config_from_dict(tiny_config.to_dict()) == tiny_config
    assert review.config_from_dict({"epochs": 3, "from_the_future": 1}).epochs == 3
    as_json = json.loads(json.dumps(tiny_config.to_dict()))  # tuples come back from a metadata file as lists
    assert review.config_from_dict(as_json) == tiny_config


def test_review_rebuilds_the_exact_test_split(tiny_model_dir):
    loaded = load_model(tiny_model_dir)
    assert review.is_generated(loaded.metadata)
    dataset = review.regenerate_dataset(loaded.metadata)
    result = review.review_on(loaded.classifier, dataset, loaded.metadata)
    stored = loaded.metadata["metrics"]
    assert result.exact
    assert result.report.n_letters == stored["n_test_letters"]
    assert abs(result.report.letter_accuracy - stored["letter_accuracy"]) < 1e-9
    assert set(result.images) == {m.row for m in result.report.mistakes} == set(result.sources)
    # Every letter's source names the captcha it was cut from and its place there.
    sources = review.letter_sources(dataset, list(range(len(dataset.letters))))
    assert all(text[place - 1] == dataset.letters.labels[row] for row, (text, place) in sources.items())
    assert sources[0] == (dataset.texts[dataset.letters.groups[0]], 1) and {place for _, place in sources.values()} == set(range(1, 5))
    assert len(review.confusion_pairs(result.report)) == len(result.report.labels) ** 2


def test_review_on_other_data_scores_all_of_it(tiny_model_dir, tiny_config):
    from captcha_core.data import generate_dataset

    loaded = load_model(tiny_model_dir)
    other = generate_dataset(tiny_config.with_(seed=7), count=10)
    uploaded = {**loaded.metadata, "data": {**loaded.metadata["data"], "source": "class.zip"}}
    result = review.review_on(loaded.classifier, other, uploaded)
    assert not result.exact and result.n_letters == len(other.letters)
    assert "another dataset" in result.description


def test_review_on_data_with_other_characters_leaves_them_out_or_refuses(tiny_model_dir, tiny_config):
    import pytest

    from captcha_core.data import generate_dataset

    loaded = load_model(tiny_model_dir)
    uploaded = {**loaded.metadata, "data": {**loaded.metadata["data"], "source": "class.zip"}}
    half = generate_dataset(tiny_config.with_(seed=7, alphabet="abcXYZ"), count=10)
    result = review.review_on(loaded.classifier, half, uploaded)
    known = np.isin(half.letters.labels, list("abc"))
    assert result.n_letters == known.sum() > 0
    assert f"left out: {(~known).sum()} letters of classes this model never learnt" in result.description
    foreign = generate_dataset(tiny_config.with_(seed=7, alphabet="XYZ"), count=5)
    with pytest.raises(review.NothingToReview, match=r"none of the characters this model reads .*class\.zip"):
        review.review_on(loaded.classifier, foreign, uploaded)


def test_regenerated_data_that_came_out_different_is_still_split(tiny_model_dir):
    loaded = load_model(tiny_model_dir)
    changed = review.regenerate_dataset(loaded.metadata)
    changed.letters.images[0, 0, 0] ^= 1  # a generator or cutter change that alters one letter
    changed.forget_hashes()
    for record in (None, loaded.trained_on):  # a model saved before it kept one, and one that keeps it
        result = review.review_on(loaded.classifier, changed, loaded.metadata, record)
        assert not result.exact and "made again" in result.description
        assert result.n_letters == loaded.metadata["metrics"]["n_test_letters"]
        # Without the record nothing says the split did not move with the change: said, and not called unseen.
        assert result.all_unseen == (record is not None) == ("optimistic" not in result.description)
    # A change that redraws one of its training captchas where a test captcha was: that one is left out.
    split = review.split_made_again(loaded.classifier, changed, loaded.metadata)
    learnt_row = np.setdiff1d(np.arange(len(changed.texts)), split.test_captchas)[0]
    changed.images[split.test_captchas[0]] = changed.images[learnt_row]
    changed.forget_hashes()
    scope = review.scoring_scope(loaded.classifier, changed, loaded.metadata, loaded.trained_on)
    assert scope.kind == "remade" and scope.captchas.tolist() == split.test_captchas[1:].tolist()
    assert scope.left_out == ["1 captcha it learnt from"]
    assert split.test_captchas[0] not in changed.letters.groups[scope.letters]


def test_new_captchas_from_the_generator_are_all_scored_even_for_a_model_of_generated_data(tiny_model_dir, tiny_config):
    from captcha_core.data import generate_dataset

    loaded = load_model(tiny_model_dir)
    fresh = generate_dataset(tiny_config.with_(seed=1), count=20)  # the README's `fresh` set: other settings
    scope = review.scoring_scope(loaded.classifier, fresh, loaded.metadata, loaded.trained_on)
    assert scope.kind == "other" and scope.checked and len(scope.captchas) == 20
    assert len(scope.letters) == len(fresh.letters)


def captchas_of(dataset, rows):
    """The captchas at `rows` as (text, image) items, to build another dataset from."""
    return [(dataset.texts[i], dataset.images[i]) for i in rows]


def test_its_training_captchas_are_left_out_wherever_they_turn_up(tiny_model_dir, tiny_config):
    import pytest

    from captcha_core.data import from_captchas, generate_dataset

    loaded = load_model(tiny_model_dir)
    own = review.regenerate_dataset(loaded.metadata)
    test_captchas = review.split_made_again(loaded.classifier, own, loaded.metadata).test_captchas
    assert len(loaded.trained_on) == len(own.texts) - len(test_captchas)
    uploaded = {**loaded.metadata, "data": {**loaded.metadata["data"], "source": "class.zip"}}
    # The same captchas, cut otherwise (one letter changed stands in for a new cutter): no longer exactly its
    # training data, and still only what it held out is scored.
    recut = review.regenerate_dataset(loaded.metadata)
    recut.letters.images[0, 0, 0] ^= 1
    recut.forget_hashes()
    scope = review.scoring_scope(loaded.classifier, recut, uploaded, loaded.trained_on)
    assert scope.kind == "unseen" and scope.captchas.tolist() == test_captchas.tolist()
    assert set(recut.letters.groups[scope.letters]) <= set(test_captchas.tolist())
    # More captchas of the same kind with its own in them: the new ones and its test captchas count, no others.
    new = generate_dataset(tiny_config.with_(seed=7), count=10)
    bigger = from_captchas(captchas_of(own, range(len(own.texts))) + captchas_of(new, range(10)), config=tiny_config)
    result = review.review_on(loaded.classifier, bigger, uploaded, loaded.trained_on)
    assert result.report.n_captchas == len(test_captchas) + 10
    assert f"left out: {len(loaded.trained_on)} captchas it learnt from" in result.description
    assert "never learnt from" in result.description
    # Without the record (a model saved before it), the same data is scored whole, and the line says so.
    blind = review.review_on(loaded.classifier, bigger, uploaded)
    assert blind.report.n_captchas == len(bigger.texts) and "optimistic" in blind.description
    # A record made another way (an older digest) would match nothing: it is not used, and the line warns.
    other_scheme = {**uploaded, "data": {**uploaded["data"], "digest_scheme": "an older one"}}
    assert not review.scoring_scope(loaded.classifier, bigger, other_scheme, loaded.trained_on).checked
    # Data none of which it learnt from says so instead of warning.
    fresh = review.review_on(loaded.classifier, new, uploaded, loaded.trained_on)
    assert fresh.report.n_captchas == 10 and "none of it matches the images it learnt from" in fresh.description
    # Only captchas it learnt from: nothing honest to score.
    learnt_only = from_captchas(captchas_of(own, np.setdiff1d(np.arange(len(own.texts)), test_captchas)), config=tiny_config)
    with pytest.raises(review.NothingToReview, match="match ones it learnt from"):
        review.scoring_scope(loaded.classifier, learnt_only, uploaded, loaded.trained_on)


def test_a_sequence_model_leaves_out_the_captchas_it_learnt_from(tmp_path_factory, tiny_config):
    from ui_support import tiny_model_folder

    from captcha_core.data import from_captchas, generate_dataset

    loaded = load_model(tiny_model_folder(str(tmp_path_factory.getbasetemp() / "tiny-model"), "sequence"))
    own = review.regenerate_dataset(loaded.metadata)
    test_captchas = review.split_made_again(loaded.classifier, own, loaded.metadata).test_captchas
    uploaded = {**loaded.metadata, "data": {**loaded.metadata["data"], "source": "class.zip"}}
    new = generate_dataset(tiny_config.with_(seed=7), count=6)
    bigger = from_captchas(captchas_of(new, range(6)) + captchas_of(own, range(len(own.texts))), config=tiny_config)
    scope = review.scoring_scope(loaded.classifier, bigger, uploaded, loaded.trained_on)
    assert scope.kind == "unseen" and scope.captchas.tolist() == [*range(6), *(6 + test_captchas).tolist()]


def test_letters_cut_out_and_saved_apart_cannot_be_checked_against_captchas(tiny_model_dir):
    from captcha_core.data import Dataset

    loaded = load_model(tiny_model_dir)
    own = review.regenerate_dataset(loaded.metadata)
    letters = Dataset(kind="letters", letters=own.letters, source="letters/")  # `extract` of its own captchas
    uploaded = {**loaded.metadata, "data": {**loaded.metadata["data"], "source": "class.zip"}}
    scope = review.scoring_scope(loaded.classifier, letters, uploaded, loaded.trained_on)
    assert scope.kind == "other" and not scope.checked
    assert "optimistic" in review.review_on(loaded.classifier, letters, uploaded, loaded.trained_on).description


def test_a_letter_folder_model_leaves_out_the_letters_it_learnt_from(tmp_path, easy_dataset, tiny_config):
    from captcha_core.data import from_letters, generate_dataset
    from captcha_core.persistence import save_training
    from captcha_core.training import train

    items = [(str(label), image) for label, image in zip(easy_dataset.letters.labels, easy_dataset.letters.images)]
    letters = from_letters(items, config=tiny_config)
    config = tiny_config.with_(model="forest", forest_trees=5)
    result = train(letters, config)
    loaded = load_model(save_training(result, letters, tmp_path / "forest"))
    assert len(loaded.trained_on) == len(letters.letters) - len(result.split.test)
    more = generate_dataset(tiny_config.with_(seed=5), count=5).letters
    grown = from_letters(items + [(str(label), image) for label, image in zip(more.labels, more.images)], config=tiny_config)
    scope = review.scoring_scope(loaded.classifier, grown, {**loaded.metadata, "data": {**loaded.metadata["data"],
                                 "fingerprint": "other"}}, loaded.trained_on)
    assert scope.kind == "unseen" and scope.captchas is None
    assert scope.letters.tolist() == [*result.split.test.tolist(), *range(len(items), len(items) + len(more))]


def test_a_sequence_model_does_not_take_its_data_with_one_more_uncuttable_captcha_for_its_own(tmp_path_factory,
                                                                                               tiny_config):
    from ui_support import tiny_model_folder

    from captcha_core.data import from_captchas

    loaded = load_model(tiny_model_folder(str(tmp_path_factory.getbasetemp() / "tiny-model"), "sequence"))
    own = review.regenerate_dataset(loaded.metadata)
    blank = np.full_like(own.images[0], 255)
    grown = from_captchas(captchas_of(own, range(len(own.texts))) + [("abcd", blank)], config=tiny_config)
    assert grown.fingerprint() == own.fingerprint()  # nothing to cut in a blank: the letters are the same
    test_captchas = review.split_made_again(loaded.classifier, own, loaded.metadata).test_captchas
    scope = review.scoring_scope(loaded.classifier, grown, loaded.metadata, loaded.trained_on)
    assert not scope.exact and scope.captchas.tolist() == [*test_captchas.tolist(), len(own.texts)]
    # Its own data: its split holds captchas only, so no letter rows are scored (they would index letters by captcha).
    assert len(review.scoring_scope(loaded.classifier, own, loaded.metadata, loaded.trained_on).letters) == 0


def test_top_confusion_and_mistakes_for(tiny_model_dir):
    loaded = load_model(tiny_model_dir)
    result = review.review_on(loaded.classifier, review.regenerate_dataset(loaded.metadata), loaded.metadata)
    pair = review.top_confusion(result.report)
    if pair is None:
        assert not result.report.mistakes
    else:
        found = review.mistakes_for(result.report, *pair)
        assert found and all((m.true, m.predicted) == pair for m in found)


def test_activations_and_saliency_have_the_layer_shapes(tiny_model_dir):
    loaded = load_model(tiny_model_dir)
    letter = np.full((60, 60), 255, np.uint8)
    letter[15:45, 25:35] = 0
    maps = inspect.activations(loaded.classifier, letter)
    assert maps["conv1"].shape[-1] == 20 and maps["conv2"].shape[-1] == 15
    heat = inspect.saliency(loaded.classifier, letter)
    assert heat.shape == (60, 60) and 0 <= heat.min() and heat.max() <= 1
    grid = inspect.feature_grid(maps["conv1"], columns=5, cell=30)
    assert grid.shape == (4 * 32 - 2, 5 * 32 - 2)
    assert inspect.heat_overlay(letter, heat).shape == (60, 60, 3)


def label_rows(gray: np.ndarray, box: tuple[int, int, int, int]) -> int:
    """How many rows of a 3-times-enlarged captcha a box's label "R" inks."""
    ink = np.any(inspect.draw_boxes(gray, [box], ["R"], scale=3) != inspect.draw_boxes(gray, [box], scale=3), axis=2)
    return int(np.count_nonzero(ink.any(axis=1)))


def test_drawing_helpers():
    rgba = np.zeros((40, 40, 4), np.uint8)
    assert not inspect.has_ink(inspect.rgba_on_white(rgba))
    rgba[10:30, 18:22] = (0, 0, 0, 255)
    gray = inspect.rgba_on_white(rgba)
    assert gray[20, 20] == 0 and gray[0, 0] == 255 and inspect.has_ink(gray)
    _, captcha = generate_captchas(1, seed=3)[0]
    # A label over a box at the top of an enlarged captcha is as tall as one with room above it: not cut off.
    white = np.full((40, 160), 255, np.uint8)  # shown 3 times larger: lines and letters twice as thick
    assert label_rows(white, (60, 0, 20, 30)) == label_rows(white, (60, 10, 20, 30)) > 0
    boxed = inspect.draw_boxes(captcha, [(5, 5, 10, 10)], ["a"])
    assert boxed.shape == (*captcha.shape, 3)
    assert inspect.box_color_hex(0).startswith("#")


def test_the_data_is_made_again_from_its_own_generator_settings_not_the_training_config(tiny_training, tiny_config):
    from captcha_core.data import generate_dataset
    from captcha_core.persistence import build_metadata

    # The dashboard trains with its own config (easy, length 4, seed 0) on whatever the Data page generated.
    lined = generate_dataset(tiny_config.with_(difficulty="lined", captcha_length=5, alphabet="2345678bcd", seed=3), count=12)
    metadata = json.loads(json.dumps(build_metadata(tiny_training, lined, tiny_config)))
    assert metadata["data"]["generator"] == {"difficulty": "lined", "count": 12, "length": 5, "alphabet": "2345678bcd", "seed": 3}
    again = review.regenerate_dataset(metadata)
    assert again.fingerprint() == lined.fingerprint() and again.texts == lined.texts
    # Older models, saved without the generator settings: the source line and the lengths recorded still give
    # the difficulty, seed and length; only the alphabet falls back on the training config.
    del metadata["data"]["generator"]
    assert review.generator_settings(metadata) == {"difficulty": "lined", "count": 12, "length": 5,
                                                   "alphabet": tiny_config.alphabet, "seed": 3}
    metadata["data"]["source"] = "class.zip"
    assert review.generator_settings(metadata)["difficulty"] == tiny_config.difficulty
