"""The Data page: first visit, live histograms, uploads good and bad."""
import io
import os
import zipfile
from pathlib import Path

import cv2
import pytest
from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df
from streamlit.testing.v1 import AppTest

from captcha_core.choice import training_yield
from captcha_core.config import DEFAULT
from captcha_core.data import generate_dataset
from captcha_core.generator import generate_captchas

ROOT = Path(__file__).parents[1]
SMALL_SPEC = {"kind": "generated", "difficulty": "easy", "count": 40, "length": 4, "alphabet": "abcdefghjkmnpqrstuw", "seed": 0}


def open_data_page(spec: dict) -> AppTest:
    """The Data page on a generated dataset of these settings."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.session_state["dataset_spec"] = dict(spec)
    at.run()
    return at.switch_page("views/data.py").run()


@pytest.fixture
def data_page(home):
    """The Data page in a fresh workspace, on a small generated dataset so each run takes a moment."""
    return open_data_page(SMALL_SPEC)


def histograms(at) -> list:
    """The before/after class histograms as frames."""
    charts = at.get("vega_lite_chart")
    return [convert_arrow_bytes_to_pandas_df(chart.proto.datasets[0].data.data) for chart in charts]


def captcha_zip(count: int, extra: dict[str, bytes] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for i, (text, image) in enumerate(generate_captchas(count, seed=3)):
            archive.writestr(f"{text}_{i}.png", cv2.imencode(".png", image)[1].tobytes())
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return buffer.getvalue()


def metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_first_visit_shows_gallery_segmentation_and_histograms(data_page):
    at = data_page
    assert not at.exception
    assert metric(at, "Captchas") == "40" and metric(at, "Segmentation yield").endswith("%")
    assert any("rarer on purpose" in c.value for c in at.caption)  # the uneven classes are said to be meant
    assert len(at.get("imgs")) > 0 or any(type(e).__name__ == "Image" for e in at.main)
    before, after = histograms(at)
    assert before["letters"].sum() == int(metric(at, "Train letters").replace(",", ""))
    # Bootstrap by default: every class topped up to the largest one.
    assert after["letters"].nunique() == 1 and after["letters"].iloc[0] == before["letters"].max()


def test_captchas_that_only_cut_by_force_say_so_and_point_to_the_sequence_model(data_page):
    at = data_page
    assert metric(at, "Clean cuts") == "100%" and not any("cut cleanly" in i.value for i in at.info)
    at.button_group(key="gen_difficulty").set_value("hard")
    at.button(key="use_generator").click().run()
    assert not at.exception
    clean = float(metric(at, "Clean cuts").rstrip("%"))
    assert clean < DEFAULT.auto_yield_threshold * 100 and float(metric(at, "Segmentation yield").rstrip("%")) > clean
    # The note quotes the share auto decides on (the captchas training may use), as the Train page's choice does.
    dataset = generate_dataset(DEFAULT.with_(difficulty="hard", generate_count=40, seed=0))
    expected = training_yield(dataset, DEFAULT)
    from lab_ui.data_views import clean_share_words

    assert clean_share_words(0.0) == "None" and clean_share_words(0.006) == "Only 0.6%" and clean_share_words(0.41) == "Only 41.0%"
    assert any(f"{clean_share_words(expected)} of the training captchas (the ones not held out for testing) were cut cleanly" in i.value and "sequence model" in i.value
               for i in at.info)
    # The preview shows other captchas on request.
    captions = lambda: [c for image in at.get("image") for c in image.proto.imgs if c.caption]  # noqa: E731
    before = [c.caption for c in captions()]
    assert any(caption.endswith(": cut by count") for caption in before)  # the forced cuts are the ones worth a look
    at.button(key="preview_draw_next").click().run()
    assert not at.exception and [c.caption for c in captions()] != before


def test_generator_and_resampling_settings_update_the_histograms(data_page):
    at = data_page
    before, _ = histograms(at)
    at.number_input(key="gen_count").set_value(60)
    at.button(key="use_generator").click().run()
    assert not at.exception
    assert metric(at, "Captchas") == "60"
    grown, _ = histograms(at)
    assert grown["letters"].sum() > before["letters"].sum()
    at.button_group(key="data_resample").set_value("downsample").run()
    _, after = histograms(at)
    assert after["letters"].nunique() == 1 and after["letters"].iloc[0] == grown["letters"].min()
    at.number_input(key="data_per_class").set_value(2).run()
    _, after = histograms(at)
    assert set(after["letters"]) == {2}
    assert at.session_state["training_options"]["per_class"] == 2


def test_uploaded_zip_is_loaded_with_its_skipped_files(data_page):
    at = data_page
    at.button_group(key="data_source").set_value("zip").run()
    at.file_uploader(key="data_zip").upload("class.zip", captcha_zip(24, {"notes.md": b"hello"}), "application/zip").run()
    assert not at.exception and not at.error
    assert metric(at, "Captchas") == "24"
    assert metric(at, "Files left out") == "1"
    assert not any("rarer on purpose" in c.value for c in at.caption)  # the user's own data: nothing was meant
    assert any("uploaded zip `class.zip`" in m.value for m in at.markdown)
    assert any("left out" in e.label for e in at.expander)
    # Back to the generator, then the upload again without uploading it again.
    at.button_group(key="data_source").set_value("generated").run()
    at.button(key="use_generator").click().run()
    assert metric(at, "Captchas") == "40"
    at.button_group(key="data_source").set_value("zip").run()
    at.button(key="use_earlier_zip").click().run()
    assert metric(at, "Captchas") == "24"


def test_bad_upload_gives_a_clear_error_and_keeps_the_data(data_page):
    at = data_page
    at.button_group(key="data_source").set_value("zip").run()
    at.file_uploader(key="data_zip").upload("broken.zip", b"this is not a zip", "application/zip").run()
    assert not at.exception
    assert "not a valid zip" in at.error[0].value
    assert metric(at, "Captchas") == "40"  # the earlier dataset is still loaded
    assert "zip" not in at.session_state["last_specs"]  # nor is it offered as an earlier upload to use again
    from lab_ui import uploads
    assert not list(uploads.uploads_dir().iterdir())  # nor kept, where it would push out uploads that load


def test_bad_alphabet_and_missing_folder_are_errors_not_tracebacks(data_page):
    at = data_page
    at.text_input(key="gen_alphabet").set_value("a")
    at.button(key="use_generator").click().run()
    assert not at.exception and "at least two" in at.error[0].value
    at.button_group(key="data_source").set_value("folder").run()
    at.text_input(key="data_folder").set_value("/no/such/folder")
    at.button(key="load_folder").click().run()
    assert not at.exception and "no such file or folder" in at.error[0].value


def test_a_file_named_as_the_folder_is_refused_and_the_data_kept(data_page, tmp_path):
    _, image = generate_captchas(1, seed=1)[0]
    single = tmp_path / "abcd.png"
    cv2.imwrite(str(single), image)
    at = data_page
    at.button_group(key="data_source").set_value("folder").run()
    at.text_input(key="data_folder").set_value(str(single))
    at.button(key="load_folder").click().run()
    assert not at.exception and "is a file, not a folder" in at.error[0].value
    assert metric(at, "Captchas") == "40"


def test_looking_at_another_source_keeps_the_loaded_data_and_each_source_its_settings(data_page, tmp_path):
    folder = tmp_path / "caps"
    folder.mkdir()
    for i, (text, image) in enumerate(generate_captchas(16, seed=5)):
        cv2.imwrite(str(folder / f"{text}_{i}.png"), image)
    at = data_page
    at.button_group(key="gen_difficulty").set_value("medium")
    at.button(key="use_generator").click().run()
    at.button_group(key="data_source").set_value("folder").run()
    at.text_input(key="data_folder").set_value(str(folder))
    at.button(key="load_folder").click().run()
    assert metric(at, "Captchas") == "16"
    # A look at the generator tab: its earlier settings are back, and the folder stays loaded.
    at.button_group(key="data_source").set_value("generated").run()
    assert not at.exception
    assert at.button_group(key="gen_difficulty").value == "medium"
    assert metric(at, "Captchas") == "16" and any(str(folder) in m.value for m in at.markdown)
    at.button_group(key="data_source").set_value("folder").run()
    assert at.text_input(key="data_folder").value == str(folder)
    # Switching back takes a click.
    at.button_group(key="data_source").set_value("generated").run()
    at.button(key="use_generator").click().run()
    assert metric(at, "Captchas") == "40" and at.session_state["dataset_spec"]["difficulty"] == "medium"


def test_generator_settings_wait_for_the_button_so_each_step_does_not_draw_a_new_set(data_page):
    at = data_page
    at.number_input(key="gen_count").set_value(60)
    at.button_group(key="gen_difficulty").set_value("medium").run()
    assert metric(at, "Captchas") == "40" and at.session_state["dataset_spec"]["difficulty"] == "easy"
    # A browser keeps a form's unsent values; AppTest drops them on a run without the submit, so set them again.
    at.number_input(key="gen_count").set_value(60)
    at.button_group(key="gen_difficulty").set_value("medium")
    at.button(key="use_generator").click().run()
    assert metric(at, "Captchas") == "60" and at.session_state["dataset_spec"]["difficulty"] == "medium"


@pytest.mark.parametrize("count", [5, 9000])
def test_a_count_out_of_range_says_so_and_keeps_the_data(data_page, count):
    at = data_page
    at.number_input(key="gen_count").set_value(count)
    at.button(key="use_generator").click().run()
    assert not at.exception and "Choose between 20 and 5,000 captchas" in at.error[0].value
    assert metric(at, "Captchas") == "40"


def test_data_that_cannot_train_says_why_once(home):
    at = open_data_page({**SMALL_SPEC, "count": 1})
    assert not at.exception
    [warning] = [w.value for w in at.warning]
    assert warning.startswith("This data cannot train a model yet: ")
    assert any(c.value.startswith("No split to show") for c in at.caption)


def test_leaving_the_page_during_a_folder_load_keeps_the_folder_as_the_data(data_page, tmp_path, monkeypatch):
    import streamlit as st

    from lab_ui import cache

    folder = tmp_path / "caps"
    folder.mkdir()
    for i, (text, image) in enumerate(generate_captchas(16, seed=5)):
        cv2.imwrite(str(folder / f"{text}_{i}.png"), image)
    loaded_folder = cache.folder_dataset

    def left_during_the_load(path):
        st.stop()  # the script ends mid-load, as it does when the user opens another page

    at = data_page
    at.button_group(key="data_source").set_value("folder").run()
    at.text_input(key="data_folder").set_value(str(folder))
    monkeypatch.setattr(cache, "folder_dataset", left_during_the_load)
    at.button(key="load_folder").click().run()
    assert at.session_state["dataset_spec"] == {"kind": "folder", "path": str(folder)}
    monkeypatch.setattr(cache, "folder_dataset", loaded_folder)
    train = at.switch_page("views/train.py").run()  # the next page works on the folder (following its load)
    assert not train.exception
    assert any(f"server folder `{folder}`" in m.value for m in train.markdown)


def test_a_folder_that_fails_after_the_user_left_the_page_gives_the_earlier_data_back(data_page, tmp_path, monkeypatch):
    import streamlit as st

    from lab_ui import cache

    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "abcd.png").write_text("not an image")  # the load finds nothing it can read
    loaded_folder = cache.folder_dataset

    def left_during_the_load(path):
        st.stop()

    at = data_page
    before = dict(at.session_state["dataset_spec"])
    at.button_group(key="data_source").set_value("folder").run()
    at.text_input(key="data_folder").set_value(str(folder))
    monkeypatch.setattr(cache, "folder_dataset", left_during_the_load)
    at.button(key="load_folder").click().run()
    monkeypatch.setattr(cache, "folder_dataset", loaded_folder)

    train = at.switch_page("views/train.py").run()  # Train works out auto's choice, which loads the folder
    assert not train.exception
    assert train.session_state["dataset_spec"] == before
    [toast] = [t.value for t in train.toast]
    assert toast.startswith(f"Could not use the server folder `{folder}`: ") and "Back to the built-in generator" in toast
    again = train.switch_page("views/data.py").run()
    assert not again.error
    assert any(m.value.startswith(":material/dataset: **Loaded:** built-in generator") for m in again.markdown)


@pytest.mark.parametrize("share, decimals, text", [
    (0.995, 0, "99.5%"),  # 398 of 400 cut: not "100%" beside the 2 that failed
    (0.004, 0, "0.4%"),
    (0.00001, 0, "0.001%"),  # one place more at most three times
    (1 / 300_000, 0, "<0.001%"),  # beyond that, it says how close it is
    (1 - 1 / 300_000, 2, ">99.999%"),
    (1.0, 0, "100%"),
    (0.0, 0, "0%"),
    (0.4625, 2, "46.25%"),
    (0.99996, 2, "99.996%"),
    (None, 1, "–"),
])
def test_percentages_never_round_a_part_to_none_or_all(share, decimals, text):
    from lab_ui.model_views import MISSING, percent

    assert percent(share, decimals) == (MISSING if share is None else text)


def test_a_server_open_to_the_network_reads_folders_only_where_the_teacher_allows(data_page, tmp_path, monkeypatch):
    import streamlit

    allowed, private = tmp_path / "class", tmp_path / "private"
    for folder in (allowed, private):
        folder.mkdir()
        for i, (text, image) in enumerate(generate_captchas(16, seed=5)):
            cv2.imwrite(str(folder / f"{text}_{i}.png"), image)
    real_option = streamlit.get_option
    monkeypatch.setattr(streamlit, "get_option",
                        lambda name: "0.0.0.0" if name == "server.address" else real_option(name))
    at = data_page
    at.button_group(key="data_source").set_value("folder").run()
    assert not at.exception and not [t for t in at.text_input if t.key == "data_folder"]
    assert any("open to the network, so it reads no folders" in i.value for i in at.info)

    monkeypatch.setenv("CAPTCHA_LAB_FOLDERS", str(allowed))
    at.run()
    at.text_input(key="data_folder").set_value(str(allowed / ".." / "private"))  # '..' does not get out
    at.button(key="load_folder").click().run()
    assert f"only inside {allowed}" in at.error[0].value and metric(at, "Captchas") == "40"
    at.text_input(key="data_folder").set_value(str(allowed))
    at.button(key="load_folder").click().run()
    assert not at.error and metric(at, "Captchas") == "16"
    assert "Texts read from file names." in [c.value for c in at.caption]  # so a user can check how they were read


def test_folder_roots_follow_the_address_and_the_variable(tmp_path, monkeypatch):
    from lab_ui.workspace import folder_allowed, folder_roots

    monkeypatch.delenv("CAPTCHA_LAB_FOLDERS", raising=False)
    assert folder_roots("127.0.0.1") is None and folder_allowed("/etc", None)  # only this machine can ask
    assert folder_roots("0.0.0.0") == [] and folder_roots(None) == []  # Streamlit's default listens everywhere
    assert not folder_allowed(str(tmp_path), [])
    (tmp_path / "inside").mkdir()
    (tmp_path / "inside" / "link").symlink_to("/etc")
    monkeypatch.setenv("CAPTCHA_LAB_FOLDERS", f"{tmp_path / 'inside'}{os.pathsep}/srv/captchas")
    roots = folder_roots("127.0.0.1")
    assert roots == [tmp_path / "inside", Path("/srv/captchas").resolve()]
    assert folder_allowed(str(tmp_path / "inside"), roots) and folder_allowed("/srv/captchas/a/b", roots)
    assert not folder_allowed("/srv/captchas/a\0b", roots)  # a NUL byte is refused, not an error
    assert not folder_allowed(str(tmp_path / "inside" / "link"), roots) and not folder_allowed("/srv/captchas2", roots)


def test_a_second_folder_tried_while_the_first_loads_still_falls_back_to_the_data_before_both(data_page, tmp_path, monkeypatch):
    import streamlit as st

    from lab_ui import cache

    first, second = tmp_path / "first", tmp_path / "second"
    for folder in (first, second):
        folder.mkdir()
        (folder / "abcd.png").write_text("not an image")
    loaded_folder = cache.folder_dataset
    at = data_page
    before = dict(at.session_state["dataset_spec"])
    at.button_group(key="data_source").set_value("folder").run()
    monkeypatch.setattr(cache, "folder_dataset", lambda path: st.stop())  # the first load is cut short
    at.text_input(key="data_folder").set_value(str(first))
    at.button(key="load_folder").click().run()
    at.text_input(key="data_folder").set_value(str(second))  # still loading the first
    monkeypatch.setattr(cache, "folder_dataset", loaded_folder)
    at.button(key="load_folder").click().run()
    assert "Could not use that folder" in at.error[0].value
    assert at.session_state["dataset_spec"] == before  # not the first folder, which never loaded
    assert any(m.value.startswith(":material/dataset: **Loaded:** built-in generator") for m in at.markdown)


def test_a_reloaded_tab_gets_its_uploaded_data_back_from_the_link(data_page):
    at = data_page
    at.button_group(key="data_source").set_value("zip").run()
    # Browsers name a second download `class (1).zip`; other characters a link would refuse are replaced.
    at.file_uploader(key="data_zip").upload("class (1)[a]!.zip", captcha_zip(24), "application/zip").run()
    link = dict(at.query_params)
    assert link["name"] == "class (1)_a__.zip" and len(link["upload"]) == 16
    at.switch_page("views/train.py").run()
    assert dict(at.query_params) == link  # a page switch keeps it
    # A reload is a new session with the same link.
    again = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    again.query_params.update(link)
    again.run()
    again.switch_page("views/data.py").run()
    assert not again.exception and metric(again, "Captchas") == "24"
    assert any("uploaded zip `class (1)_a__.zip`" in m.value for m in again.markdown)
    # Back to the defaults, the link names nothing.
    again.button_group(key="data_source").set_value("generated").run()
    again.number_input(key="gen_count").set_value(DEFAULT.generate_count)
    again.button(key="use_generator").click().run()
    assert metric(again, "Captchas") == f"{DEFAULT.generate_count:,}" and not again.query_params


def test_a_link_to_data_this_server_no_longer_has_opens_the_defaults_and_says_so(home):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params.update(upload="0123456789abcdef", name="pruned.zip")
    at.run()
    assert not at.exception
    assert any("no longer here" in t.value for t in at.toast)
    assert at.session_state["dataset_spec"]["kind"] == "generated" and not at.query_params


def test_the_same_zip_uploaded_again_after_the_server_pruned_it_is_kept_and_loaded_again(data_page):
    from lab_ui import uploads
    from ui_support import clear_caches

    at = data_page
    at.button_group(key="data_source").set_value("zip").run()
    data = captcha_zip(24)
    at.file_uploader(key="data_zip").upload("class.zip", data, "application/zip").run()
    kept = uploads.upload_path(uploads.upload_digest(data))
    kept.unlink()  # pruned while the class worked on
    clear_caches()
    at.run()  # the uploader still holds it: kept again at once
    assert not at.error and metric(at, "Captchas") == "24" and kept.is_file()
    kept.unlink()
    clear_caches()
    at.file_uploader(key="data_zip").clear().run()  # as after a reload, which empties the uploader
    assert "upload it again" in " ".join(e.value for e in at.error)
    at.file_uploader(key="data_zip").upload("class.zip", data, "application/zip").run()
    assert not at.exception and not at.error and metric(at, "Captchas") == "24" and kept.is_file()
