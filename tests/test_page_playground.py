"""The Playground page in AppTest: no-model guidance, reading an uploaded captcha, refusing a fake image."""
import json
import re

import numpy as np
import pytest

from captcha_core.config import DEFAULT
from captcha_core.generator import generate_captchas
from captcha_core.imageio import image_to_png_bytes
from captcha_core.prediction import Predictor
from ui_support import all_text, clear_caches, install_model, open_page, tiny_model_folder

PAGE = "views/playground.py"


@pytest.fixture
def model_folder(tmp_path_factory):
    return tiny_model_folder(str(tmp_path_factory.getbasetemp() / "tiny-model"))


@pytest.fixture
def with_model(home, model_folder):
    install_model(home, model_folder)
    return home


def test_without_a_model_it_points_to_training(home):
    at = open_page(PAGE)
    assert not at.exception
    assert "no trained model" in at.info[0].value
    assert [link for link in at.get("page_link") if link.proto.page == "train"]


def test_without_a_model_but_with_one_training_it_says_to_wait_for_it(home, monkeypatch):
    from lab_ui import jobs

    class Training:
        def snapshot(self):
            return jobs.JobState(status=jobs.RUNNING, name="quickstart", model_kind="cnn", epoch=3, epochs=10)

    monkeypatch.setattr(jobs, "get_job", lambda: Training())
    at = open_page(PAGE)
    assert not at.exception
    assert "`quickstart` is training (cnn, epoch 3 of 10)" in at.info[0].value
    assert "Train one first" not in all_text(at)


def test_first_visit_shows_a_random_sample_and_looks_inside(with_model):
    at = open_page(PAGE)
    assert not at.exception, at.exception
    assert "never seen in training" in all_text(at)
    assert at.selectbox(key="inside_letter").options, "the sample's letters can be inspected"
    assert len(at.get("image")) >= 4


def test_the_letter_looked_inside_is_still_chosen_after_a_page_switch(with_model):
    at = open_page(PAGE)
    at.session_state["playground_tab"] = at.tabs[-1].label  # the Random sample tab: its letters are on the page
    at.switch_page("views/data.py").run()
    at.switch_page(PAGE).run()
    options = at.selectbox(key="inside_letter").options
    assert len(options) >= 2
    at.selectbox(key="inside_letter").set_value(options[1]).run()
    at.switch_page("views/evaluate.py").run()
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    assert at.selectbox(key="inside_letter").value == options[1]


def test_a_model_from_other_captchas_warns_that_samples_are_in_another_style(with_model):
    assert not any("another style" in info.value for info in open_page(PAGE).info)  # a built-in model: no warning
    metadata_file = next((with_model / "models").iterdir()) / "metadata.json"
    metadata = json.loads(metadata_file.read_text())
    metadata["data"]["source"] = "class.zip"
    metadata_file.write_text(json.dumps(metadata))
    clear_caches()
    at = open_page(PAGE)
    at.session_state["playground_tab"] = at.tabs[-1].label  # the Random sample tab
    at.switch_page("views/data.py").run()
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    assert any("learnt from class.zip" in info.value and "another style" in info.value
               and "Load class.zip, or other captchas like them, on the **Data** page" in info.value for info in at.info)


def test_an_uploaded_captcha_is_read(with_model, model_folder):
    _, image = generate_captchas(1, seed=1234)[0]
    expected = Predictor.from_folder(model_folder).solve(image).text
    at = open_page(PAGE)
    at.file_uploader(key="captcha_upload").upload("mine.png", image_to_png_bytes(image), "image/png").run()
    assert not at.exception, at.exception
    assert f"Text: {expected} " in all_text(at)
    assert "mine.png" in all_text(at)


def test_a_captcha_far_smaller_than_the_training_ones_is_read_with_a_warning(with_model):
    import cv2

    _, image = generate_captchas(1, seed=1234)[0]
    h, w = image.shape
    small = cv2.resize(image, (w // 3, h // 3), interpolation=cv2.INTER_AREA)
    at = open_page(PAGE)
    at.file_uploader(key="captcha_upload").upload("small.png", image_to_png_bytes(small), "image/png").run()
    assert not at.exception, at.exception
    assert any(f"This picture is {h // 3} pixels tall, where its training captchas were" in w.value for w in at.warning)
    at.file_uploader(key="captcha_upload").upload("mine.png", image_to_png_bytes(image), "image/png").run()
    assert not any("pixels tall" in w.value for w in at.warning)  # its own size: no word about it


def test_captchas_named_by_their_text_are_marked_right_or_wrong(with_model, model_folder):
    (text, image), (_, other) = generate_captchas(2, seed=1234)
    predictor = Predictor.from_folder(model_folder)
    wrong_name = "".join(reversed(text)) if text != text[::-1] else text[1:] + text[0]
    named = [(f"{text}_1.png", image, text), (f"{wrong_name}.png", other, wrong_name)]
    right = sum(predictor.solve(picture).text == truth for _, picture, truth in named)
    at = open_page(PAGE)
    at.file_uploader(key="captcha_upload").set_value(
        [(name, image_to_png_bytes(picture), "image/png") for name, picture, _ in named]).run()
    assert not at.exception, at.exception
    assert f"**{right} of 2** captchas read right, going by the text in their file names." in all_text(at)
    headings = [m.value for m in at.markdown if m.value.startswith("**") and ".png" in m.value]
    assert len(headings) == 2 and all("its name gives its text" in h for h in headings)
    # A third, named in characters this model never learnt: said so under it, and in the count.
    foreign = "".join(ch.upper() for ch in text)
    at.file_uploader(key="captcha_upload").set_value(
        [(name, image_to_png_bytes(picture), "image/png") for name, picture, _ in named]
        + [(f"{foreign}.png", image_to_png_bytes(image), "image/png")]).run()
    assert f"**{right} of 2** captchas read right, going by the text in their file names (1 more not marked: see " \
           "why under each)." in all_text(at)
    [heading] = [m.value for m in at.markdown if m.value.startswith(f"**{foreign}.png**")]
    assert f"its name reads {foreign}, but this model never learnt" in heading


def test_uploads_are_still_read_after_a_visit_to_another_page_until_cleared(with_model):
    _, image = generate_captchas(1, seed=1234)[0]
    at = open_page(PAGE)
    at.file_uploader(key="captcha_upload").upload("mine.png", image_to_png_bytes(image), "image/png").run()
    shown = lambda: any(m.value.startswith("**mine.png**") for m in at.markdown)  # noqa: E731  (the reading's heading)
    assert shown()
    at.switch_page("views/evaluate.py").run()
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    assert not at.file_uploader(key="captcha_upload").value  # Streamlit emptied the uploader...
    assert shown()  # ...and the reading is back
    assert any("Still showing your earlier upload (`mine.png`)" in c.value for c in at.caption)
    at.button(key="captcha_upload_clear").click().run()
    assert not shown() and not any("earlier upload" in c.value for c in at.caption)
    # Emptying the uploader by hand lets them go too.
    at.file_uploader(key="captcha_upload").upload("mine.png", image_to_png_bytes(image), "image/png").run()
    assert shown()
    at.file_uploader(key="captcha_upload").clear().run()
    assert not shown()


def test_a_blank_captcha_is_called_blank_not_wrongly_cut(with_model):
    at = open_page(PAGE)
    at.file_uploader(key="captcha_upload").upload("white.png", image_to_png_bytes(np.full((60, 200), 255, np.uint8)), "image/png").run()
    assert not at.exception, at.exception
    assert [w.value for w in at.warning] == [
        "The cutter found no letters at all: the picture looks blank, or its ink is as pale as its paper."
    ]


def test_a_sequence_model_shows_every_character_read_and_how_sure_it_is(home, tmp_path_factory):
    folder = tiny_model_folder(str(tmp_path_factory.getbasetemp() / "tiny-model"), "sequence")
    install_model(home, folder)
    _, image = generate_captchas(1, seed=1234)[0]
    expected = Predictor.from_folder(folder).solve(image).text
    assert len(expected) == DEFAULT.captcha_length, "readings keep to the length the model was trained on"
    at = open_page(PAGE)
    at.file_uploader(key="captcha_upload").upload("mine.png", image_to_png_bytes(image), "image/png").run()
    assert not at.exception, at.exception
    assert f"Text: {expected} " in all_text(at)
    markdown = [m.value for m in at.markdown]
    after_upload = markdown[next(i for i, value in enumerate(markdown) if value.startswith("**mine.png**")):]
    big_reading = next(value for value in after_upload if "monospace" in value)
    assert "".join(re.findall(r">([^<]*)</span>", big_reading)) == expected, "every character, not just the first"
    assert "Read whole, without cutting" in all_text(at)
    # Single letters are not what it reads: the Letters tab says so instead of failing on an upload.
    assert any("reads whole captchas, not single letters" in info.value for info in at.info)
    with pytest.raises(KeyError):
        at.file_uploader(key="letter_upload")


def test_a_text_file_named_png_is_refused_and_good_letters_still_read(with_model):
    letter = np.full((40, 30), 255, np.uint8)
    letter[5:35, 12:18] = 0
    at = open_page(PAGE)
    uploader = at.file_uploader(key="letter_upload")
    uploader.set_value([("notes.png", b"just some text, not an image", "image/png"),
                        ("bar.png", image_to_png_bytes(letter), "image/png")]).run()
    assert not at.exception, at.exception
    assert len(at.error) == 1 and "notes.png" in at.error[0].value
    assert "bar.png" in [c for image in at.get("image") for c in image.captions]


def test_a_blank_letter_is_called_blank_not_given_a_guess(with_model):
    letter = np.full((40, 30), 255, np.uint8)
    letter[5:35, 12:18] = 0
    at = open_page(PAGE)
    at.file_uploader(key="letter_upload").set_value([("blank.png", image_to_png_bytes(np.full((40, 30), 250, np.uint8)), "image/png"),
                                                     ("bar.png", image_to_png_bytes(letter), "image/png")]).run()
    assert not at.exception, at.exception
    assert [w.value for w in at.warning if "No letter found" in w.value] and len(at.warning) == 1
    # Only the real letter is offered to "Look inside".
    assert [o for o in at.selectbox(key="inside_letter").options if "blank.png" in o] == []
    assert any("bar.png" in o for o in at.selectbox(key="inside_letter").options)


def test_a_damaged_model_gets_an_error_not_a_traceback(home):
    broken = home / "models" / "broken"
    broken.mkdir(parents=True)
    (broken / "metadata.json").write_text('{"model_kind": "cnn", "created": "2026"}')
    (broken / "labels.json").write_text('["a", "b"]')
    (broken / "model.keras").write_bytes(b"not a keras file")
    at = open_page(PAGE)
    assert not at.exception, at.exception
    assert "cannot be used" in at.error[0].value


def test_a_forest_model_is_read_but_has_no_layers_to_show(home, tmp_path_factory):
    install_model(home, tiny_model_folder(str(tmp_path_factory.getbasetemp() / "tiny-model"), "forest"))
    at = open_page(PAGE)
    assert not at.exception, at.exception
    assert "Text: " in all_text(at)
    assert any("random forest" in info.value for info in at.info)
    evaluate = open_page("views/evaluate.py")
    assert not evaluate.exception, evaluate.exception


def test_a_whole_captcha_in_the_letters_tab_is_pointed_to_the_captcha_tab(with_model):
    _, captcha = generate_captchas(1, seed=4)[0]
    letter = np.full((40, 30), 255, np.uint8)
    letter[5:35, 12:18] = 0
    at = open_page(PAGE)
    at.file_uploader(key="letter_upload").set_value([("a_whole_captcha_file.png", image_to_png_bytes(captcha), "image/png"),
                                                     ("bar.png", image_to_png_bytes(letter), "image/png")]).run()
    assert not at.exception, at.exception
    hints = [c.value for c in at.caption if "looks like a whole captcha" in c.value]
    assert len(hints) == 1 and "The **Captcha** tab cuts it into letters first" in hints[0]  # not for the square letter
    captions = [c for image in at.get("image") for c in image.captions]
    assert "a_whole_c….png" in captions and "bar.png" in captions  # 14 characters fit on one line


def test_a_drawing_is_read_again_after_a_visit_to_another_page(with_model, model_folder):
    import cv2

    # What the canvas sent before the page was left: its drawing and the picture of it (a T, black on white).
    picture = np.full((240, 240, 4), 255, np.uint8)
    cv2.line(picture, (50, 50), (190, 50), (0, 0, 0, 255), 18)
    cv2.line(picture, (120, 50), (120, 200), (0, 0, 0, 255), 18)
    at = open_page(PAGE)
    at.session_state["kept_drawing"] = {"version": "4.4.0", "objects": [{"type": "path"}]}
    at.session_state["kept_drawing_image"] = picture
    at.switch_page("views/data.py").run()
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    gray = cv2.cvtColor(picture, cv2.COLOR_RGBA2GRAY)
    expected = Predictor.from_folder(model_folder).read_letters([gray])[0].label
    assert f"your drawing ({expected})" in at.selectbox(key="inside_letter").options
    assert at.session_state["drawing_start"] == at.session_state["kept_drawing"]  # the canvas starts from it


def test_with_its_own_folder_loaded_the_random_sample_is_one_of_its_held_out_captchas(home, model_folder, tmp_path):
    import cv2

    from captcha_core.data import generate_dataset, load_path
    from captcha_core.persistence import load_model
    from captcha_core.review import split_made_again

    # The tiny model's own captchas as a folder, in the same order, so they are exactly its training data.
    metadata = json.loads((model_folder / "metadata.json").read_text())
    settings = metadata["data"]["generator"]
    generated = generate_dataset(DEFAULT.with_(generate_count=settings["count"], difficulty=settings["difficulty"],
                                               captcha_length=settings["length"], alphabet=settings["alphabet"],
                                               seed=settings["seed"]))
    folder = tmp_path / "class"
    folder.mkdir()
    for i, (text, image) in enumerate(zip(generated.texts, generated.images)):
        cv2.imwrite(str(folder / f"{i:04d}_{text}.png"), image)
    dataset = load_path(folder)
    assert dataset.fingerprint() == metadata["data"]["fingerprint"]
    install_model(home, model_folder)
    metadata["data"]["source"] = str(folder)
    (home / "models" / model_folder.name / "metadata.json").write_text(json.dumps(metadata))
    clear_caches()

    at = open_page(PAGE)
    at.session_state["dataset_spec"] = {"kind": "folder", "path": str(folder)}
    at.run()
    assert not [c for c in at.caption if "held out from" in c.value]  # looked at only once its tab is open
    at.session_state["playground_tab"] = at.tabs[-1].label  # Random sample, as if chosen on an earlier visit
    at.switch_page("views/data.py").run()
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    [caption] = [c.value for c in at.caption if "held out from" in c.value]
    held_out = split_made_again(load_model(model_folder).classifier, dataset, metadata).test_captchas
    shown = re.search(r"\(`([^`]+)`, one of ([\d,]+)\)", caption)
    assert shown and int(shown.group(2)) == len(held_out)
    assert dataset.names.index(shown.group(1)) in held_out.tolist()
    assert not any("another style" in info.value for info in at.info)
    # The same folder, no longer exactly what the model learnt from (cut otherwise, say): the captchas it recorded
    # learning from are still known by their pixels, so the others are the ones shown.
    metadata["data"]["fingerprint"] = "0" * 16
    (home / "models" / model_folder.name / "metadata.json").write_text(json.dumps(metadata))
    clear_caches()
    at.run()
    [caption] = [c.value for c in at.caption if f"A captcha from {folder} that matches none it learnt from" in c.value]
    shown = re.search(r"\(`([^`]+)`, one of ([\d,]+)\)", caption)
    assert shown and int(shown.group(2)) == len(held_out) and dataset.names.index(shown.group(1)) in held_out.tolist()
    # A model whose record was made another way, or saved before it kept one, cannot tell: a built-in sample, and why.
    del metadata["data"]["digest_scheme"]
    (home / "models" / model_folder.name / "metadata.json").write_text(json.dumps(metadata))
    for _ in range(2):
        clear_caches()
        at.run()
        assert not [c for c in at.caption if "held out from" in c.value or "that matches none it learnt from" in c.value]
        assert any(f"The loaded {folder} is no longer exactly the data it learnt from" in info.value for info in at.info)
        (home / "models" / model_folder.name / "trained_on.npy").unlink(missing_ok=True)


def test_a_runner_up_the_model_gives_a_small_chance_is_not_shown_as_none():
    from lab_ui.model_views import chance

    assert [chance(p) for p in (0.0001, 0.005, 0.0051, 0.5, 0.0)] == ["<1%", "<1%", "1%", "50%", "0%"]
