import numpy as np
import pytest

from captcha_core.resample import resample
from captcha_core.data import DatasetError, generate_dataset
from captcha_core.split import holdout, split_dataset


def test_split_keeps_each_captchas_letters_together(easy_dataset, tiny_config):
    split = split_dataset(easy_dataset, tiny_config)
    groups = easy_dataset.letters.groups
    train, val, test = (set(groups[s].tolist()) for s in (split.train, split.val, split.test))
    assert not train & test and not val & test and not train & val
    assert set(split.test_captchas.tolist()) >= test
    # Every letter lands in exactly one split.
    rows = np.concatenate([split.train, split.val, split.test])
    assert sorted(rows.tolist()) == list(range(len(easy_dataset.letters)))


def test_split_is_seeded(easy_dataset, tiny_config):
    a = split_dataset(easy_dataset, tiny_config)
    b = split_dataset(easy_dataset, tiny_config)
    c = split_dataset(easy_dataset, tiny_config.with_(seed=5))
    assert np.array_equal(a.test, b.test)
    assert not np.array_equal(a.test, c.test)


def test_split_sizes_follow_the_options(easy_dataset, tiny_config):
    split = split_dataset(easy_dataset, tiny_config.with_(test_size=0.25))
    share = len(split.test) / len(easy_dataset.letters)
    assert 0.18 < share < 0.32


def test_no_test_pixels_in_training_after_resampling(easy_dataset, tiny_config):
    """The honest protocol: bootstrapped copies come only from the training split."""
    letters = easy_dataset.letters
    split = split_dataset(easy_dataset, tiny_config)
    res = resample(letters.labels[split.train], "bootstrap", None, tiny_config.seed)
    train_images = letters.images[split.train[res.index]]
    train_hashes = {im.tobytes() for im in train_images}
    test_hashes = {im.tobytes() for im in letters.images[split.test]}
    assert len(res.index) > len(split.train)  # resampling did add copies
    assert not train_hashes & test_hashes


def test_leaky_protocol_does_leak(easy_dataset, tiny_config):
    """The seed's resample-then-split puts copies of test letters into training: the reason for the flag."""
    from captcha_core.training import leaky_split

    split, _ = leaky_split(easy_dataset, tiny_config)
    assert set(split.train.tolist()) & set(split.test.tolist())


def test_bootstrap_reaches_the_target_and_keeps_originals():
    labels = np.array(["a"] * 10 + ["b"] * 3 + ["c"] * 1)
    res = resample(labels, "bootstrap", None, seed=0)
    assert res.before == {"a": 10, "b": 3, "c": 1}
    assert res.after == {"a": 10, "b": 10, "c": 10}
    assert set(range(14)) <= set(res.index.tolist())


def test_bootstrap_to_explicit_target_and_downsample():
    labels = np.array(["a"] * 10 + ["b"] * 3)
    assert resample(labels, "bootstrap", 6, seed=0).after == {"a": 10, "b": 6}
    down = resample(labels, "downsample", None, seed=0)
    assert down.after == {"a": 3, "b": 3} and len(set(down.index.tolist())) == 6
    assert resample(labels, "none", None, seed=0).after == {"a": 10, "b": 3}


def test_resampling_shuffles_for_real():
    labels = np.array(["a"] * 50 + ["b"] * 50)
    res = resample(labels, "none", None, seed=0)
    assert res.index.tolist() != sorted(res.index.tolist())


def test_unknown_strategy_is_refused():
    with pytest.raises(ValueError, match="resampling"):
        resample(np.array(["a", "b"]), "smote")


def test_too_few_captchas_to_hold_out_a_test_share_is_a_clear_dataset_error(tiny_config):
    labels = np.array(list("abcdabcdabcd"))
    groups = np.repeat(np.arange(3), 4)  # three captchas of four letters
    with pytest.raises(DatasetError, match="only 3 captchas with cut letters left to split: .* for testing"):
        holdout(labels, groups, tiny_config.test_size, tiny_config.seed)
    # Enough captchas for the test share, too few left for the validation share: the message says which.
    eight = generate_dataset(tiny_config.with_(generate_count=8, difficulty="easy"))
    with pytest.raises(DatasetError, match=r"only \d+ captchas with cut letters left to split: .* for validation"):
        split_dataset(eight, tiny_config)
