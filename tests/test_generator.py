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


def test_lined_captchas_carry_a_line_across_the_whole_width_and_other_levels_do_not():
    def inked_column_share(image):
        ink = image < (int(image.min()) + int(np.median(image))) // 2
        return ink[:, 12:-12].any(axis=0).mean()  # inside the margins, where gaps between letters would be

    lined = [inked_column_share(im) for _, im in generate_captchas(20, difficulty="lined", seed=4)]
    easy = [inked_column_share(im) for _, im in generate_captchas(20, difficulty="easy", seed=4)]
    assert min(lined) > 0.97  # the wavy line leaves no column of paper between letters
    assert max(easy) < 0.97
