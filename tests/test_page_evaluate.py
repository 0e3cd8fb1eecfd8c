"""The Evaluate page in AppTest: a friendly way out with no model, metrics, mistakes and per-class scores with one."""
import json
import re

import pytest
from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df
from streamlit.testing.v1 import AppTest

from lab_ui.model_views import percent
from ui_support import APP, RUN_TIMEOUT, all_text, install_model, open_page, tiny_model_folder

# views/evaluate.py's CAPTCHAS_BESIDE and GALLERY_MAX: importing a page module would run the page.
CAPTCHAS_BESIDE, GALLERY_MAX = 4, 24

PAGE = "views/evaluate.py"


@pytest.fixture
def with_model(home, tmp_path_factory):
    install_model(home, tiny_model_folder(str(tmp_path_factory.getbasetemp() / "tiny-model")))
    return home


def test_without_a_model_it_points_to_training(home):
    at = open_page(PAGE)
    assert not at.exception
    assert "no trained model" in at.info[0].value
    assert any(link.proto.page == "train" for link in at.get("page_link"))
    # The leaky-protocol lesson trains its own tiny models, so it is there before any model is.
    assert at.button(key="compare_protocols").value is False


def test_with_a_model_it_shows_metrics_mistakes_and_per_class_scores(with_model):
    at = open_page(PAGE)
    assert not at.exception, at.exception
    labels = [m.label for m in at.metric]
    assert "Letter accuracy" in labels and "Whole-captcha accuracy" in labels
    assert "that training never saw and resampling never copied" in all_text(at)
    frame = at.dataframe[0].value
    assert {"letter", "precision", "recall", "f1", "support"} <= set(frame.columns)
    assert len(frame) >= 2
    assert at.get("vega_lite_chart"), "the confusion matrix and curves are drawn"
    assert "its own test split" in all_text(at)
    assert not [m for m in at.metric if m.label.endswith(" here")]  # the figures at the top are these
    # One epoch on 60 captchas misreads some letters: they are shown, and why their captchas may still read right.
    assert "No mistakes at all" not in all_text(at) and "may still be read right as a whole" in all_text(at)
    # The captchas they were cut from, with their cut boxes, so a bad cut can be told from a misreading.
    [source] = [e for e in at.expander if "they were cut from" in e.label]
    captions = [c.caption for image in source.get("image") for c in image.proto.imgs]
    assert captions and all(": letter " in c and " read as " in c for c in captions)


def test_the_cell_clicked_before_a_page_switch_is_shown_again(with_model):
    from captcha_core import review
    from captcha_core.persistence import load_model
    from lab_ui.model_views import matrix_key

    folder = next((with_model / "models").iterdir())
    loaded = load_model(folder)
    report = review.review_on(loaded.classifier, review.regenerate_dataset(loaded.metadata), loaded.metadata,
                              loaded.trained_on).report
    at = open_page(PAGE)
    assert "(the most common mix-up" in all_text(at) or "No mistakes at all" in all_text(at)
    # As a click on that cell left it (AppTest cannot click a chart); another model's or data's matrix is not it.
    at.session_state["clicked_cells"] = {matrix_key(folder.name, report): ("a", "b"), "other:matrix": ("c", "d")}
    at.switch_page("views/data.py").run()
    at.switch_page(PAGE).run()
    for _ in range(2):  # and still on the next rerun, when the chart's own selection is empty again
        assert not at.exception, at.exception
        assert [m.value for m in at.markdown if m.value.startswith("#### ")] == ["#### a → b"]
        assert "(you clicked)" in all_text(at)
        at.run()


def test_without_its_data_it_still_shows_the_matrix_saved_at_training(with_model):
    meta_file = next((with_model / "models").glob("*/metadata.json"))
    meta = json.loads(meta_file.read_text())
    meta["data"]["source"] = "class.zip"  # not the built-in generator, so it cannot be made again
    meta_file.write_text(json.dumps(meta))
    at = AppTest.from_file(APP, default_timeout=RUN_TIMEOUT)
    at.session_state["dataset_spec"] = {"kind": "generated", "difficulty": "easy", "count": 20, "length": 4,
                                        "alphabet": "23456789", "seed": 0}  # none of the model's letters
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    assert any("Load the data it was trained on (class.zip)" in i.value for i in at.info)
    assert "The matrix measured on its test split at training time" in all_text(at)
    saved = meta["metrics"]["confusion_matrix"]
    [chart] = [c for c in at.get("vega_lite_chart") if "read as" in c.proto.spec]
    assert sum(row["count"] for row in chart_rows(chart)) == sum(map(sum, saved["matrix"]))


def test_its_own_captchas_cut_anew_are_scored_without_the_ones_it_learnt_from(with_model):
    meta_file = next((with_model / "models").glob("*/metadata.json"))
    meta = json.loads(meta_file.read_text())
    # Its captchas as a class would bring them back after an update of the cutter: not exactly its training data.
    meta["data"].update(source="class.zip", fingerprint="0" * 16)
    meta_file.write_text(json.dumps(meta))
    at = AppTest.from_file(APP, default_timeout=RUN_TIMEOUT)
    at.session_state["dataset_spec"] = {"kind": "generated", **meta["data"]["generator"]}
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    text = all_text(at)
    held_out, count = meta["metrics"]["n_test_captchas"], meta["data"]["n_captchas"]
    assert (f"Scored on the part of this data it never learnt from: {meta['metrics']['n_test_letters']} letters from "
            f"{held_out} captchas; left out: {count - held_out} captchas it learnt from") in text
    here = {m.label: m.value for m in at.metric if m.label.endswith(" here")}
    assert here == {"Letter accuracy here": percent(meta["metrics"]["letter_accuracy"]),
                    "Whole-captcha accuracy here": percent(meta["metrics"]["captcha_accuracy"]),
                    "Captchas scored here": str(held_out)}
    assert "The figures at the top were measured on its own test split when it was trained" in text


def chart_rows(chart) -> list[dict]:
    """The rows of a chart's first dataset."""
    return convert_arrow_bytes_to_pandas_df(chart.proto.datasets[0].data.data).to_dict("records")


def test_the_protocol_comparison_shows_both_scores(with_model, monkeypatch):
    from captcha_core import review

    fake = review.ProtocolComparison(honest=0.4, leaky=0.6, honest_test_letters=160, leaky_test_letters=380,
                                     duplicated_test_letters=290)
    monkeypatch.setattr(review, "compare_protocols", lambda config: fake)
    at = open_page(PAGE)
    at.button(key="compare_protocols").click().run()
    assert not at.exception, at.exception
    shown = {m.label: m.value for m in at.metric}
    assert shown["Honest test accuracy"] == "40.0%" and shown["Leaky (blog) test accuracy"] == "60.0%"
    assert "290 of the leaky protocol's 380 test letters" in all_text(at)


def test_a_sequence_model_links_its_confusion_matrix_to_misread_captchas(home, tmp_path_factory):
    install_model(home, tiny_model_folder(str(tmp_path_factory.getbasetemp() / "tiny-model"), "sequence"))
    at = open_page(PAGE)
    assert not at.exception, at.exception
    assert "read whole (the sequence model does not cut them into letters)" in all_text(at)
    assert "cut into letters and count as wrong" not in all_text(at)
    # A one-epoch reader gets many captchas wrong. The cell shown (the most common mix-up, true t read as p)
    # is illustrated with the whole captchas in which a t was read as a p.
    [heading] = [m.value for m in at.markdown if re.fullmatch(r"#### . → .", m.value)]
    true, read_as = heading[5], heading[-1]
    pairs = [c.split(" → ") for image in at.get("image") for c in image.captions]
    assert pairs and all(len(truth) == len(reading) and (true, read_as) in zip(truth, reading) for truth, reading in pairs)
    # The caption's count agrees with the matrix cell, which counts characters, not captchas.
    [chart] = [c for c in at.get("vega_lite_chart") if "read as" in c.proto.spec]
    [cell] = [row["count"] for row in chart_rows(chart) if (row["true"], row["pred"]) == (true, read_as)]
    [caption] = [c.value for c in at.caption if "where the truth" in c.value]
    captchas = int(re.match(r"([\d,]+) test captchas?", caption).group(1).replace(",", ""))
    assert captchas == cell or f"({cell} characters, the count in the matrix)" in caption
    # Beside the matrix, as many pictures as fit its height (four); the next ones wait under an expander, and
    # past a gallery's worth only their count is given.
    assert len(pairs) == min(captchas, GALLERY_MAX)
    folded = [int(m.group(1)) for e in at.expander if (m := re.fullmatch(r"Show (\d+) more", e.label))]
    assert folded[:1] == ([len(pairs) - CAPTCHAS_BESIDE] if captchas > CAPTCHAS_BESIDE else [])
    not_shown = [int(m.group(1)) for c in at.caption if (m := re.fullmatch(r"\.\.\.and (\d+) more, not shown\.", c.value))]
    if captchas > GALLERY_MAX:  # the first count is the cell's; a later one is the wrong-length gallery's
        assert not_shown[0] == captchas - GALLERY_MAX


def test_pictures_past_the_first_ones_wait_under_an_expander_and_the_rest_are_counted():
    def page():
        import numpy as np

        from lab_ui.model_views import pictures

        images = [np.full((20, 40), 40 * i, np.uint8) for i in range(6)]
        pictures(images, [f"captcha {i}" for i in range(6)], total=9, first=4)

    at = AppTest.from_function(page).run()
    assert not at.exception
    [folded] = at.expander
    assert folded.label == "Show 2 more"
    assert [c for image in folded.get("image") for c in image.captions] == ["captcha 4", "captcha 5"]
    assert [c for image in at.get("image") for c in image.captions][:4] == [f"captcha {i}" for i in range(4)]
    assert [c.value for c in at.caption] == ["...and 3 more, not shown."]
