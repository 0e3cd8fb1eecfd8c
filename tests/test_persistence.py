import json
import shutil

import numpy as np
import pytest

from captcha_core.imageio import InputRejected
from captcha_core.persistence import (
    ModelDamaged,
    ModelExists,
    check_name,
    list_models,
    load_model,
    next_free_name,
    save_model,
)


def test_model_folder_travels_with_labels_and_metadata(tiny_model_dir, tiny_training):
    assert sorted(p.name for p in tiny_model_dir.iterdir()) == ["labels.json", "metadata.json", "model.keras", "trained_on.npy"]
    meta = json.loads((tiny_model_dir / "metadata.json").read_text())
    for key in ("config", "seed", "data", "class_counts_before", "class_counts_after", "metrics", "libraries", "captcha_length"):
        assert key in meta
    assert meta["captcha_length"] == 4 and meta["data"]["fingerprint"]
    assert meta["metrics"]["letter_accuracy"] == tiny_training.report.letter_accuracy
    assert json.loads((tiny_model_dir / "labels.json").read_text()) == list(tiny_training.classifier.classes_)


def test_metadata_keeps_the_generators_settings_only_for_data_it_made(easy_dataset, tiny_training, tiny_config):
    from dataclasses import replace

    from captcha_core.persistence import GENERATOR_SETTINGS, build_metadata
    from captcha_core.review import config_from_dict

    made = build_metadata(tiny_training, easy_dataset, tiny_config)["config"]
    assert all(key in made for key in GENERATOR_SETTINGS) and made["alphabet"] == tiny_config.alphabet
    folder = replace(easy_dataset, generator=None, source="folder captchas/")
    from_folder = build_metadata(tiny_training, folder, tiny_config)["config"]
    assert not any(key in from_folder for key in GENERATOR_SETTINGS)
    assert from_folder["epochs"] == tiny_config.epochs and config_from_dict(from_folder).seed == tiny_config.seed


def test_it_records_the_captchas_it_learnt_from_and_not_its_test_captchas(tiny_model_dir, tiny_training, easy_dataset):
    from dataclasses import replace

    from captcha_core.persistence import learnt_digests

    trained_on = load_model(tiny_model_dir).trained_on
    digests = easy_dataset.content_digests()
    test = tiny_training.split.test_captchas
    assert trained_on.dtype == np.uint64 and np.all(trained_on[1:] > trained_on[:-1])  # sorted, no repeats
    assert not np.isin(digests[test], trained_on).any()
    assert np.isin(np.delete(digests, test), trained_on).all() and len(trained_on) == len(digests) - len(test)
    # The seed's leaky protocol trained on copies of its test letters: all of its data counts as learnt.
    leaky = replace(tiny_training, protocol="leaky-seed")
    assert learnt_digests(leaky, easy_dataset).tolist() == np.unique(digests).tolist()


def test_a_damaged_record_of_what_it_learnt_says_so_and_a_missing_one_is_an_older_model(tmp_path, tiny_model_dir):
    from captcha_core.persistence import TRAINED_ON_FILE

    folder = tmp_path / "m"
    shutil.copytree(tiny_model_dir, folder)
    np.save(folder / TRAINED_ON_FILE, np.array(["not", "digests"]))
    with pytest.raises(ModelDamaged, match=f"{TRAINED_ON_FILE} is not a list of digests"):
        load_model(folder)
    for damaged in (b"\x93NUMPY broken", b"", b"PK\x05\x06" + bytes(18)):  # a broken header, nothing, an empty zip
        (folder / TRAINED_ON_FILE).write_bytes(damaged)
        with pytest.raises(ModelDamaged, match=TRAINED_ON_FILE):
            load_model(folder)
    (folder / TRAINED_ON_FILE).unlink()
    assert load_model(folder).trained_on is None


def test_loaded_model_predicts_like_the_trained_one(tiny_model_dir, tiny_training, easy_dataset):
    loaded = load_model(tiny_model_dir)
    images = easy_dataset.letters.images[:16]
    assert np.allclose(loaded.classifier.predict_proba(images), tiny_training.classifier.predict_proba(images), atol=1e-5)
    assert loaded.version  # hash + mtime


def test_never_silently_replaces(tiny_model_dir, tiny_training):
    with pytest.raises(ModelExists):
        save_model(tiny_training.classifier, ["x"], {}, tiny_model_dir)


def test_overwrite_swaps_atomically_and_leaves_no_temp(tmp_path, tiny_model_dir, tiny_training):
    target = tmp_path / "m"
    shutil.copytree(tiny_model_dir, target)
    meta = json.loads((target / "metadata.json").read_text())
    meta["note"] = "second"
    save_model(tiny_training.classifier, list(tiny_training.classifier.classes_), meta, target, overwrite=True)
    assert json.loads((target / "metadata.json").read_text())["note"] == "second"
    assert [p.name for p in tmp_path.iterdir()] == ["m"]


def test_failed_save_keeps_the_old_model_and_no_temp(tmp_path, tiny_model_dir, tiny_training):
    target = tmp_path / "m"
    shutil.copytree(tiny_model_dir, target)
    with pytest.raises(TypeError):
        save_model(tiny_training.classifier, ["a"], {"bad": object()}, target, overwrite=True)
    assert load_model(target).labels == list(tiny_training.classifier.classes_)
    assert [p.name for p in tmp_path.iterdir()] == ["m"]


def test_damaged_model_says_so(tmp_path, tiny_model_dir):
    broken = tmp_path / "broken"
    shutil.copytree(tiny_model_dir, broken)
    data = (broken / "model.keras").read_bytes()
    (broken / "model.keras").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelDamaged, match="model file is damaged"):
        load_model(broken)
    # The original is untouched and still loads.
    assert load_model(tiny_model_dir).labels


def test_a_damaged_model_folder_names_the_part_that_is_wrong(tmp_path, tiny_model_dir):
    text_as_model, no_labels, bad_json = tmp_path / "text", tmp_path / "nolabels", tmp_path / "badjson"
    for folder in (text_as_model, no_labels, bad_json):
        shutil.copytree(tiny_model_dir, folder)
    (text_as_model / "model.keras").write_text("these are notes, not a model")
    (no_labels / "labels.json").unlink()
    (bad_json / "metadata.json").write_text("{not json")
    with pytest.raises(ModelDamaged, match=r"^text: model file is damaged \(model.keras is not a Keras model file\)$"):
        load_model(text_as_model)
    with pytest.raises(ModelDamaged, match=r"^nolabels: model folder is incomplete \(labels.json is missing\)$"):
        load_model(no_labels)
    with pytest.raises(ModelDamaged, match=r"^badjson: model file is damaged \(metadata.json is not readable JSON\)$"):
        load_model(bad_json)
    (bad_json / "metadata.json").write_text("[1, 2]")
    with pytest.raises(ModelDamaged, match=r"^badjson: model file is damaged \(metadata.json holds a list, not a dict\)$"):
        load_model(bad_json)
    (text_as_model / "model.keras").unlink()
    with pytest.raises(ModelDamaged, match=r"^text: model folder is incomplete \(model.keras is missing\)$"):
        load_model(text_as_model)


def test_lambda_layer_is_refused(tmp_path, tiny_model_dir):
    import keras

    inputs = keras.Input((60, 60, 1))
    outputs = keras.layers.Dense(2)(keras.layers.Flatten()(keras.layers.Lambda(lambda x: x * 2)(inputs)))
    hostile = tmp_path / "hostile"
    shutil.copytree(tiny_model_dir, hostile)
    keras.Model(inputs, outputs).save(hostile / "model.keras")
    (hostile / "labels.json").write_text('["a", "b"]')
    with pytest.raises(ModelDamaged, match="damaged or unsafe"):
        load_model(hostile)


def test_registry_lists_only_real_model_folders(tmp_path, tiny_model_dir):
    shutil.copytree(tiny_model_dir, tmp_path / "good")
    (tmp_path / ".good.abc.tmp").mkdir()
    (tmp_path / "not a name!").mkdir()
    (tmp_path / "empty").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "good")
    assert [e.name for e in list_models(tmp_path)] == ["good"]
    assert next_free_name(tmp_path, "good") == "good-2"


def test_model_names_are_validated():
    assert check_name("run-1.v2") == "run-1.v2"
    for bad in ("../x", "/abs", "", ".hidden", "a/b"):
        with pytest.raises(ValueError):
            check_name(bad)


def test_forest_round_trip_without_pickle(tmp_path, easy_dataset, tiny_config):
    from captcha_core.models import ForestClassifier

    letters = easy_dataset.letters
    forest = ForestClassifier(tiny_config.with_(forest_trees=5)).fit(letters.images[:200], letters.labels[:200])
    out = save_model(forest, list(forest.classes_), {"model_kind": "forest"}, tmp_path / "f")
    loaded = load_model(out)
    assert np.array_equal(loaded.classifier.predict(letters.images[200:220]), forest.predict(letters.images[200:220]))


def test_a_folder_with_nothing_of_a_model_is_not_called_damaged(tmp_path):
    (tmp_path / "caps").mkdir()
    (tmp_path / "caps" / "abcd.png").write_bytes(b"\x89PNG")
    with pytest.raises(InputRejected, match=r"caps: not a model folder \(no metadata\.json, labels\.json or model file"):
        load_model(tmp_path / "caps")
