import numpy as np
import pytest

from captcha_core.generator import DIFFICULTIES, class_weights, generate_captchas


def test_same_seed_same_captchas():
    a = generate_captchas(12, seed=7)
    b = generate_captchas(12, seed=7)
    assert [t for t, _ in a] == [t for t, _ in b]
    assert all(np.array_equal(x, y) for (_, x), (_, y) in zip(a, b))


def test_other_seed_other_captchas():
    a = generate_captchas(12, seed=1)
    b = generate_captchas(12, seed=2)
    assert [t for t, _ in a] != [t for t, _ in b]


@pytest.mark.parametrize("difficulty", DIFFICULTIES)
def test_length_alphabet_and_image(difficulty):
    items = generate_captchas(10, length=6, alphabet="XYZ123", difficulty=difficulty, seed=3)
    for text, image in items:
        assert len(text) == 6 and set(text) <= set("XYZ123")
        assert image.dtype == np.uint8 and image.ndim == 2
        # There is ink and there is paper.
        assert image.min() < 120 and np.median(image) > 150


def test_classes_are_imbalanced_like_the_seed():
    texts = "".join(t for t, _ in generate_captchas(400, seed=0))
    counts = [texts.count(c) for c in "abcdefghjkmnpqrstuw"]
    assert max(counts) > 2.5 * min(counts)
    assert np.isclose(class_weights("abc").sum(), 1.0)


def test_bad_difficulty_is_refused():
    with pytest.raises(ValueError, match="difficulty"):
        generate_captchas(1, difficulty="impossible")
