import numpy as np

from captcha_core.generator import generate_captchas
from captcha_core.prediction import Predictor


def test_solve_reads_generated_captchas(tiny_model_dir):
    predictor = Predictor.from_folder(tiny_model_dir)
    items = generate_captchas(10, seed=99)
    readings = predictor.solve_many([im for _, im in items])
    assert all(r.segmented_ok and len(r.text) == 4 and len(r.boxes) == 4 for r in readings)
    letters_right = sum(a == b for (t, _), r in zip(items, readings) for a, b in zip(t, r.text))
    assert letters_right >= 20  # a two-epoch model reads most of 40 letters
    assert all(0 < c <= 1 for r in readings for c in r.confidences)


def test_all_letters_go_through_one_model_call(tiny_model_dir):
    predictor = Predictor.from_folder(tiny_model_dir)
    calls = []
    original = predictor.classifier.predict_proba
    predictor.classifier.predict_proba = lambda x: calls.append(len(x)) or original(x)
    predictor.solve_many([im for _, im in generate_captchas(5, seed=4)])
    assert calls == [20]


def test_read_letter_any_polarity(tiny_model_dir, easy_dataset):
    predictor = Predictor.from_folder(tiny_model_dir)
    letter = easy_dataset.letters.images[0]
    dark_on_light, light_on_dark = predictor.read_letters([letter, 255 - letter], k=5)
    assert dark_on_light.label == light_on_dark.label
    assert len(dark_on_light.top) == 5 and dark_on_light.top[0][0] == dark_on_light.label
    assert np.isclose(sum(p for _, p in predictor.read_letters([letter], k=100)[0].top), 1.0, atol=1e-4)


def test_length_override(tiny_model_dir):
    predictor = Predictor.from_folder(tiny_model_dir)
    _, image = generate_captchas(1, length=5, seed=8)[0]
    assert len(predictor.solve(image, length=5).text) == 5


def test_a_batch_larger_than_one_chunk_answers_every_captcha_in_order(tiny_model_dir):
    predictor = Predictor.from_folder(tiny_model_dir)
    predictor.config = predictor.config.with_(predict_batch_size=8)  # two captchas of 4 letters a chunk
    images = [im for _, im in generate_captchas(7, seed=11)]
    calls = []
    original = predictor.classifier.predict_proba
    predictor.classifier.predict_proba = lambda x: calls.append(len(x)) or original(x)
    together = predictor.solve_many(images)
    assert calls == [8, 8, 8, 4]  # cut and read a chunk at a time, the last one short
    alone = [predictor.solve(im) for im in images]
    assert [r.text for r in together] == [r.text for r in alone]
    assert [r.boxes for r in together] == [r.boxes for r in alone]
    assert np.allclose([r.confidences for r in together], [r.confidences for r in alone], atol=1e-5)


def test_of_several_cuts_the_one_read_most_confidently_wins(tiny_model_dir):
    from captcha_core.segmentation import Segmentation

    predictor = Predictor.from_folder(tiny_model_dir)
    size, n = predictor.letter_size, len(predictor.labels)

    def cut(boxes):
        return Segmentation(boxes, np.full((len(boxes), size, size), 255, np.uint8), expected=2, pieces_found=1)

    def rows(*peaks):
        out = np.full((len(peaks), n), 0.0)
        for i, peak in enumerate(peaks):
            out[i, :] = (1 - peak) / (n - 1)
            out[i, i] = peak
        return out

    plain, shifted, short = cut([(0, 0, 9, 9), (9, 0, 9, 9)]), cut([(0, 0, 12, 9), (12, 0, 6, 9)]), cut([(0, 0, 18, 9)])
    probs = np.concatenate([rows(0.6, 0.5), rows(0.9, 0.8), rows(0.99)])
    reading = predictor.readings([[plain, shifted, short]], probs, k=2)[0]
    assert reading.boxes == shifted.boxes  # the confident one, and never the one with too few letters
    assert np.allclose(reading.confidences, [0.9, 0.8])
    assert reading.text == "".join(predictor.labels[:2])


def test_a_cut_letter_read_again_as_it_is_gets_the_captchas_answer(tiny_model_dir):
    # The Playground's "Look inside" reads a crop shown under a captcha; it must agree with that captcha's reading.
    predictor = Predictor.from_folder(tiny_model_dir)
    readings = predictor.solve_many([im for _, im in generate_captchas(8, difficulty="medium", seed=12)])
    for reading in readings:
        again = predictor.read_normalized(np.stack(reading.crops), k=2)
        assert [r.label for r in again] == [top[0][0] for top in reading.top]
        assert np.allclose([r.confidence for r in again], [top[0][1] for top in reading.top], atol=1e-5)


def test_a_file_name_gives_a_truth_only_when_the_model_could_read_that_text():
    from captcha_core.prediction import truths_in_names, unmarked_because, unmarked_reasons

    labels = list("abcd23")
    assert truths_in_names(["uploads/ab2d_3.png", "caps.zip:sub/ab2d-91.png"], labels, (4,)) == ["ab2d", "ab2d"]
    assert truths_in_names(["ab2d.png"], labels, ()) == ["ab2d"]  # any length when none was recorded
    assert truths_in_names(["ab2d.png"], labels, (5, 6)) == [None]  # a length it never learnt
    assert truths_in_names(["photo.png", "captcha_abcd.png"], labels, ()) == [None, None]  # letters it does not know
    # Names that count the images give no truths, as the loader refuses them: 00000.png is not the text "00000".
    counted = [f"{i:05d}.png" for i in range(12)]
    assert truths_in_names(counted, list("0123456789"), (5,)) == [None] * 12
    assert all("counts the images" in why for why in unmarked_reasons(counted, list("0123456789"), (5,)))
    assert unmarked_reasons(["J2dN.png", "ab2d.png"], labels, (4,)) == [unmarked_because("J2dN", labels, (4,)), ""]
    # Where a name gives a text the model could not read, the Playground says why it is not marked.
    assert "never learnt J, N" in unmarked_because("J2dN", labels, (4,))
    assert "5 characters, but this model learnt captchas of 4 or 6" in unmarked_because("ab2dd", labels, (4, 6))
    assert unmarked_because("photo", labels, (4,)) == ""  # wrong characters and length: no captcha's name
    assert unmarked_because("", labels, (4,)) == "" and unmarked_because("ab2d", labels, (4,)) == ""
    # A counter in front is skipped as the loader skips it, once the names show one.
    counted = [f"{i:04d}_{text}.png" for i, text in enumerate(["ab2d", "cc3a"] * 8)]
    assert truths_in_names(counted, labels, (4,)) == ["ab2d", "cc3a"] * 8


def test_a_model_that_learnt_several_lengths_cuts_a_count_it_never_learnt_again_to_the_nearest(tiny_model_dir):
    from captcha_core.segmentation import segment_variants

    predictor = Predictor.from_folder(tiny_model_dir)
    text, image = generate_captchas(1, seed=21)[0]
    blotted = np.pad(image, ((0, 0), (0, 40)), constant_values=255)
    blotted[20:34, -25:-11] = 0  # a blot right of the text: a fifth piece of ink
    assert len(segment_variants(blotted)[0].boxes) == len(text) + 1
    predictor.captcha_length, predictor.captcha_lengths = None, (len(text) - 1, len(text))  # learnt 3 and 4
    reading = predictor.solve(blotted)
    assert len(reading.text) == len(text) and reading.segmented_ok
    # A count it learnt is kept as the ink fell apart.
    predictor.captcha_lengths = (len(text) + 1, len(text) + 2)
    assert len(predictor.solve(blotted).text) == len(text) + 1


def test_whole_captcha_scores_cut_mixed_lengths_as_solve_does(tiny_model_dir, monkeypatch):
    from captcha_core.data import from_captchas
    from captcha_core.evaluation import solved_accuracy

    loaded = Predictor.from_folder(tiny_model_dir).loaded
    mixed = from_captchas(generate_captchas(4, length=3, seed=8) + generate_captchas(4, length=4, seed=9))
    seen = []
    original = Predictor.cut_to_a_learnt_length
    monkeypatch.setattr(Predictor, "cut_to_a_learnt_length",
                        lambda self, image: seen.append(self.captcha_lengths) or original(self, image))
    solved_accuracy(loaded.classifier, mixed, np.arange(8))
    assert seen == [(3, 4)] * 8  # the data's lengths, as a model trained on it would have recorded them


def test_a_captcha_unlike_the_training_sizes_gets_a_note(tiny_model_dir, easy_dataset):
    import cv2

    from captcha_core.config import DEFAULT
    from captcha_core.prediction import size_note

    predictor = Predictor.from_folder(tiny_model_dir)
    heights = [im.shape[0] for im in easy_dataset.images]
    assert predictor.image_sizes["height"] == [min(heights), max(heights)]  # recorded in the metadata at training
    tolerance = DEFAULT.size_tolerance
    captcha = easy_dataset.images[0]
    h, w = captcha.shape
    assert size_note(captcha, predictor.image_sizes, tolerance) == ""  # one it learnt from
    small = cv2.resize(captcha, (w // 3, h // 3))
    assert f"is {h // 3} pixels tall, where its training captchas were" in size_note(small, predictor.image_sizes, tolerance)
    padded = cv2.copyMakeBorder(captcha, 0, 0, 0, 4 * w, cv2.BORDER_CONSTANT, value=255)
    assert "times wider than tall" in size_note(padded, predictor.image_sizes, tolerance)
    assert size_note(small, None, tolerance) == ""  # a model saved before sizes were recorded says nothing
