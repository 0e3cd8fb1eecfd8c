"""Playground: feed a model captchas, single letters or a drawing, and look inside at what it sees."""
import html

import streamlit as st

from captcha_core import inspect as look
from captcha_core.config import DEFAULT
from captcha_core.data import DatasetError
from captcha_core.generator import DIFFICULTIES, alphabet_problem, generate_captchas
from captcha_core.imageio import IMAGE_SUFFIXES, InputRejected, decode_image
from captcha_core.prediction import (captcha_shape_note, cut_problem, letter_problem, right_by_names, size_note,
                                     truths_in_names, unmarked_reasons)
from captcha_core.preview import crisp_scale
from captcha_core.review import generator_settings, has_usable_record, is_generated
from lab_ui import cache
from lab_ui import model_charts as charts
from lab_ui import model_views as views
from lab_ui import state

UPLOAD_TYPES = [suffix.lstrip(".") for suffix in IMAGE_SUFFIXES]
# File names a note about kept uploads spells out; the rest are counted.
NAMES_SHOWN = 3
CANVAS_SIDE = 240
# Uploaded letters can be any size; a thumbnail is enough to recognise the file.
LETTER_PREVIEW = 96
# Characters of a file name that fit under that thumbnail on one line.
NAME_CHARS = 14
CANVAS_STROKE = 18
BIG_TEXT_REM = 3.2
# Green and red say right or wrong, where the truth is known (the random sample).
GOOD_GREEN = "#2a9d5b"
BAD_RED = charts.WRONG_RED
# Where it is not, blue and grey say sure or unsure: a sure reading in green looked "right" when it was not.
# Above an even chance a reading counts as sure: the model prefers it to all its other characters together.
SURE_ENOUGH = 0.5
SURE_BLUE = "#1f5fae"
UNSURE_GRAY = "#8a8f98"
CONFIDENCE_LEGEND = f"Blue: the model is at least {SURE_ENOUGH:.0%} sure of that character; grey: less sure."
INK = charts.INK
# Wide enough to read a captcha at a glance, narrow enough to sit beside its letters.
CAPTCHA_WIDTH = 420
CONV1_COLUMNS = 10
CONV2_COLUMNS = 5
FEATURE_CELL = 48

st.title("Playground")
st.caption("Show the model a captcha, a letter or your own handwriting, and see what it reads, and why.")

model_name, predictor = views.chosen_predictor("playground_model")
# A model can only answer with the characters it learnt: a "3" shown to a letters-only model comes back a letter.
st.markdown(f"This model knows {len(predictor.labels)} characters: `{' '.join(predictor.labels)}`. It answers with one "
            "of them, whatever it is shown.")

# Every letter shown on this page, so "Look inside" can pick any of them.
letters_seen: dict[str, object] = {}


def decode_uploads(files: list[tuple[str, bytes]]) -> list[tuple[str, object]]:
    """Decode uploaded (name, bytes); each bad one gets its own st.error and the good ones carry on."""
    good = []
    for name, data in files:
        try:
            good.append((name, decode_image(data, name, DEFAULT.limits)))
        except InputRejected as exc:
            st.error(f"{exc}. Skipped; the other files are still read.", icon=":material/broken_image:")
    return good


def uploads(label: str, key: str) -> list[tuple[str, bytes]]:
    """An uploader for images, and the files it holds or, after a visit to another page, last held."""
    files = st.file_uploader(label, type=UPLOAD_TYPES, accept_multiple_files=True, key=key,
                             on_change=state.forget_uploads_if_emptied, args=(key,))
    kept = state.kept_uploads(key, files)
    if kept and not files:
        note, button = st.columns([4, 1], vertical_alignment="center")
        names = ", ".join(f"`{name}`" for name, _ in kept[:NAMES_SHOWN])
        names += f" and {len(kept) - NAMES_SHOWN:,} more" if len(kept) > NAMES_SHOWN else ""
        note.caption(f"Still showing your earlier upload ({names}); upload other files to replace it.")
        # A callback, so the rerun it causes draws the page without them.
        button.button("Clear", icon=":material/close:", key=f"{key}_clear", on_click=state.forget_uploads, args=(key,))
    return kept


def show_reading(image, reading, key: str, truth: str | None = None, truth_from: str = "") -> None:
    """A captcha with its boxes, the text read in big letters (against the truth if known), and each cut letter."""
    colors = [look.box_color_hex(i) for i in range(len(reading.boxes))]
    left, right = st.columns([3, 2], gap="large", vertical_alignment="center")
    boxed = look.draw_boxes(image, reading.boxes, list(reading.text), scale=crisp_scale(image.shape[1], CAPTCHA_WIDTH))
    left.image(boxed, width=min(boxed.shape[1], CAPTCHA_WIDTH))  # pixel for pixel, unless wider than the room
    with right:
        if truth is not None:
            st.markdown(f"Truth{truth_from}")
            views.colored_text(list(truth), [INK] * len(truth), BIG_TEXT_REM)
        st.markdown("The model reads")
        marks, legend = reading_marks(reading, colors, truth)
        views.colored_text(list(reading.text) or ["?"], marks, BIG_TEXT_REM)
        st.caption(f"Text: {reading.text or 'nothing'} · whole-text confidence {reading.confidence:.0%}. {legend}")
        if reading.text and not len(reading.crops):
            st.altair_chart(charts.character_confidence_chart(list(reading.text), reading.confidences, marks), width="stretch")
            # A model trained on crops reads the part around the text, not the whole picture shown (see crops_to_text).
            cropped = ", from a crop around its text, which is small here" if getattr(predictor.classifier, "crops_", False) else ""
            st.caption(f"Read whole, without cutting{cropped}: each bar is the model's peak probability for that character.")
    if not reading.segmented_ok:
        problem = cut_problem(len(reading.boxes), predictor.captcha_length)
        st.warning(views.sentence(problem), icon=":material/content_cut:")
    unlike = size_note(image, predictor.image_sizes, predictor.config.size_tolerance)
    if unlike:
        st.warning(views.sentence(unlike), icon=":material/aspect_ratio:")
    letter_strip(reading, colors, key)


def reading_marks(reading, colors: list[str], truth: str | None) -> tuple[list[str], str]:
    """A color per character read, and what the colors mean: right or wrong against a known truth, else its
    box's color, else how sure the model is."""
    if not reading.text:
        return [BAD_RED], ""  # a lone red "?": nothing read, nothing to explain
    if truth is not None:
        strip = " Each letter below has the colour of its box." if len(reading.crops) else ""
        return right_or_wrong(reading.text, truth), f"The reading is green where it matches the truth, red where not.{strip}"
    if colors:
        return colors, "Each character has the colour of its box."
    return ([confidence_color(c) for c in reading.confidences],
            CONFIDENCE_LEGEND)


def right_or_wrong(read: str, truth: str) -> list[str]:
    """Green for each character read right, red for each one read wrong."""
    return [GOOD_GREEN if i < len(truth) and ch == truth[i] else BAD_RED for i, ch in enumerate(read)]


def letter_strip(reading, colors: list[str], key: str) -> None:
    """Each cut-out letter, as the model saw it, with its best guesses."""
    if not len(reading.crops):
        return
    cols = st.columns(max(len(reading.crops), predictor.captcha_length or 1))
    for i, (col, crop, top) in enumerate(zip(cols, reading.crops, reading.top)):
        letters_seen[f"{key}, letter {i + 1} ({top[0][0]})"] = crop
        col.image(views.zoom(crop), width="content")
        runners_up = " · ".join(f"{label} {views.chance(p)}" for label, p in top[1:])
        col.markdown(f'<span style="color:{colors[i]};font-weight:700;font-size:1.3em">{html.escape(top[0][0])}</span> '
                     f'{top[0][1]:.0%} <span style="color:gray;font-size:.85em">then {html.escape(runners_up)}</span>',
                     unsafe_allow_html=True)


def captcha_tab() -> None:
    """Upload whole captchas and read them."""
    files = uploads("Upload one or more captcha images", "captcha_upload")
    if not files:
        st.caption("Tip: the **Random sample** tab shows a captcha the model never learnt from, beside its truth.")
        return
    good = decode_uploads(files)
    readings = predictor.solve_many([image for _, image in good]) if good else []
    names = [filename for filename, _ in good]
    truths = truths_in_names(names, predictor.labels, predictor.captcha_lengths)
    # A name whose text this model could never read (another set's characters or length) says so, rather than
    # the marks and the count leaving without a word when the Model box picks another model.
    unmarked = [why if truth is None else ""
                for why, truth in zip(unmarked_reasons(names, predictor.labels, predictor.captcha_lengths), truths)]
    right, named = right_by_names([reading.text for reading in readings], truths)
    if named > 1:
        not_marked = sum(map(bool, unmarked))
        others = f" ({not_marked:,} more not marked: see why under each)" if not_marked else ""
        st.markdown(f"**{right} of {named}** captchas read right, going by the text in their file names{others}.")
    for i, ((filename, image), reading, truth, why) in enumerate(zip(good, readings, truths, unmarked)):
        if i:
            st.divider()
        st.markdown(f"**{filename}**" + (" · its name gives its text, so the reading is marked right or wrong" if truth
                                         else f" · {why}" if why else ""))
        # Named so: a file called test.png would otherwise pass for a captcha whose text is "test".
        show_reading(image, reading, filename, truth=truth, truth_from=", from the file name")


def letter_rows(named_letters, readings, key: str) -> None:
    """One row per letter: what was given, what the model saw, and its five best guesses."""
    for (filename, original), reading in zip(named_letters, readings):
        cols = st.columns([1, 1, 3], vertical_alignment="center")
        cols[0].image(original, caption=short_name(filename), width=LETTER_PREVIEW)
        problem = letter_problem(original)
        if problem:
            # Any blank image still gets some top class; showing it would read as the model seeing a letter.
            cols[2].warning(views.sentence(problem), icon=":material/visibility_off:")
            continue
        letters_seen[f"{key}: {filename} ({reading.label})"] = reading.image
        cols[1].image(views.zoom(reading.image), caption=f"model input {reading.image.shape[0]}×{reading.image.shape[1]}")
        cols[2].altair_chart(charts.top_k_chart(reading.top), width="stretch")
        shape = captcha_shape_note(original)
        if shape:
            cols[2].caption(f":material/pattern: {views.sentence(shape)} The **Captcha** tab cuts it into letters first.")


def short_name(filename: str) -> str:
    """A file name that fits under a thumbnail: 'letter_a_cr….png' rather than a break inside '.png'."""
    stem, dot, suffix = filename.rpartition(".")
    if len(filename) <= NAME_CHARS or not dot:
        return filename
    return f"{stem[:max(1, NAME_CHARS - len(suffix) - 2)]}….{suffix}"


def reads_letters() -> bool:
    """Whether the model reads single letters; if not (a sequence model), say so and where to go instead."""
    if predictor.reads_whole:
        st.info("This model reads whole captchas, not single letters: use the **Captcha** or **Random sample** tab, "
                "or pick a letter model (cnn or forest) above.", icon=":material/pattern:")
    return not predictor.reads_whole


def letters_tab() -> None:
    """Upload single letters; every good file is answered even when others are bad."""
    if not reads_letters():
        return
    files = uploads("Upload one or more single-letter images", "letter_upload")
    if not files:
        st.caption("Any size, dark on light or light on dark: each letter is centred and scaled like the training data.")
        return
    good = decode_uploads(files)
    letter_rows(good, predictor.read_letters([image for _, image in good]), "upload")


def draw_tab() -> None:
    """Draw a letter with the mouse and see it read as you draw."""
    from streamlit_drawable_canvas import st_canvas

    if not reads_letters():
        return

    # The box keeps its full side: in a third of a 1024-px page it lost its right part, and a drawn w showed as
    # a V while the model read the whole w. The reading takes the rest of the row, or goes below on a narrow one.
    row = st.container(horizontal=True, gap="large")
    left, right = row.container(width=CANVAS_SIDE), row.container(width="stretch")
    with left:
        # On hover the canvas shows its toolbar just above itself; without this room it covered the tab names.
        st.space("medium")
        result = st_canvas(stroke_width=CANVAS_STROKE, stroke_color="#000000", background_color="#ffffff",
                           width=CANVAS_SIDE, height=CANVAS_SIDE, drawing_mode="freedraw",
                           initial_drawing=state.drawing_to_restore("draw_canvas"),
                           return_image_data=True, key="draw_canvas")
    drawing = state.kept_drawing(result.json_data, result.image_data)
    gray = look.rgba_on_white(drawing) if drawing is not None else None
    with right:
        if gray is None or not look.has_ink(gray):
            st.info("Draw one letter in the box, as big as the box: the model reads it as you draw. "
                    "To start again, point at the box and click the bin icon that appears above it.", icon=":material/draw:")
            return
        reading = predictor.read_letters([gray])[0]
        letters_seen[f"your drawing ({reading.label})"] = reading.image
        st.markdown("The model reads")
        views.colored_text([reading.label], [confidence_color(reading.confidence)], BIG_TEXT_REM)
        cols = st.columns([1, 2], vertical_alignment="center")
        cols[0].image(views.zoom(reading.image), caption="model input")
        cols[1].altair_chart(charts.top_k_chart(reading.top), width="stretch")
        st.caption(f"Blue: at least {SURE_ENOUGH:.0%} sure; grey: less sure. Sure is not the same as right: a dot or a "
                   "scribble still gets one of the model's letters, "
                   "sometimes at a high percentage, since the percentages only weigh its letters against each other.")


def confidence_color(confidence: float) -> str:
    """Blue when the model is sure, grey when it is guessing."""
    return SURE_BLUE if confidence >= SURE_ENOUGH else UNSURE_GRAY


def sample_settings() -> tuple[str, int, str]:
    """Alphabet, length and difficulty of fresh captchas this model should be able to read."""
    settings = generator_settings(predictor.metadata)
    # The generator draws plain letters and digits; other labels of a model are left out of its samples.
    alphabet = "".join(label for label in predictor.labels if len(label) == 1 and label.isascii() and label.isalnum())
    difficulty = settings["difficulty"] if settings["difficulty"] in DIFFICULTIES else DEFAULT.difficulty
    return alphabet, int(predictor.captcha_length or settings["length"]), difficulty


def held_out_pick():
    """(the loaded dataset or None, the Scope of its captchas this model never learnt from or None)."""
    if is_generated(predictor.metadata) or state.dataset_spec()["kind"] == "generated":
        return None, None
    try:
        dataset = state.current_dataset(announce=False)
    except (InputRejected, DatasetError, OSError):
        return None, None
    return dataset, cache.held_out_captchas(model_name, dataset)


def sample_seed() -> int:
    """The session's random-sample draw, a new one per click on the button."""
    st.button("New random captcha", icon=":material/casino:", type="primary", key="new_sample",
              on_click=state.new_sample_seed)
    return state.sample_seed()


def held_out_sample(dataset, scope) -> None:
    """One of the loaded captchas the model never learnt from, its truth beside what the model reads."""
    rows = scope.captchas
    index = int(rows[sample_seed() % len(rows)])
    text, image = dataset.texts[index], dataset.images[index]
    # Read as Evaluate reads its test captchas: the truth's length is not given away.
    reading = predictor.solve(image)
    source, which = dataset.source or "the loaded data", f"`{dataset.names[index]}`, one of {len(rows):,}"
    what = (f"A test captcha held out from {source} ({which}), never seen in training" if scope.exact
            else f"A captcha from {source} that matches none it learnt from ({which})")
    st.caption(f"{what}: **{verdict(reading.text, text)}**")
    show_reading(image, reading, "random sample", truth=text)


def verdict(read: str, truth: str) -> str:
    """'all right!' or how many characters were read right."""
    return "all right!" if read == truth else f"{sum(a == b for a, b in zip(read, truth))} of {len(truth)} right"


def sample_tab(shown: bool) -> None:
    """A captcha the model has never seen, its truth beside what the model reads: one of the loaded captchas it never
    learnt from (its held-out test captchas, for its training data), else a fresh one from the built-in generator."""
    # Every tab runs on every rerun, a drawing's strokes included; a big loaded set is only looked at on this one.
    loaded, unseen = held_out_pick() if shown else (None, None)
    if unseen is not None:
        held_out_sample(loaded, unseen)
        return
    if not shown and not is_generated(predictor.metadata):
        return
    alphabet, length, difficulty = sample_settings()
    if alphabet_problem(alphabet):
        st.info("The built-in generator draws letters and digits only, and this model knows too few of them to "
                "make captchas for it. Try the **Captcha** tab with images like the ones it learnt from.",
                icon=":material/info:")
        return
    seed = sample_seed()
    text, image = generate_captchas(1, length=length, alphabet=alphabet, difficulty=difficulty, seed=seed)[0]
    # A sequence model keeps to the lengths it was trained on; telling it this sample's would hide that.
    reading = predictor.solve(image, None if predictor.reads_whole else length)
    st.caption(f"A fresh {difficulty} captcha (seed {seed}), never seen in training: **{verdict(reading.text, text)}**")
    if not is_generated(predictor.metadata):
        data = predictor.metadata.get("data", {})
        source = data.get("source") or "its own captchas"
        # Only captchas can be shown here: from any set, when the model recorded which ones it learnt from; models
        # saved before that can tell only the very set it learnt from.
        knows_what_it_learnt = has_usable_record(predictor.metadata, predictor.loaded.trained_on)
        instead = ""
        if data.get("kind") == "captchas" and data.get("source"):
            instead = (f" Load {source}, or other captchas like them, on the **Data** page, and this tab shows ones "
                       "it never learnt from instead." if knows_what_it_learnt else
                       f" Load {source} on the **Data** page, and this tab shows captchas held out from it instead.")
        if instead and not knows_what_it_learnt and loaded is not None and loaded.source == data.get("source"):
            instead = (f" The loaded {source} is no longer exactly the data it learnt from (its files or the letter "
                       "cutter changed), so its held-out captchas cannot be told apart from the others.")
        st.info(f"This model learnt from {source}, not from the built-in generator, so this sample is in another "
                f"style and misreads are expected.{instead} The **Captcha** tab reads any captcha you upload.",
                icon=":material/info:")
    show_reading(image, reading, "random sample", truth=text)


def follow_newest_letter() -> None:
    """Point "Look inside" at a letter that just appeared (an upload, a drawing, a new sample)."""
    previous = st.session_state.get("inside_options")
    options = list(letters_seen)
    fresh = [name for name in options if previous is not None and name not in previous]
    if fresh:
        st.session_state["inside_letter"] = fresh[0]
    elif "inside_letter" not in st.session_state and state.inside_letter() in options:
        # A page switch forgets the widget's choice; the letter looked at before is still on the page.
        st.session_state["inside_letter"] = state.inside_letter()
    st.session_state["inside_options"] = options


def inside_section() -> None:
    """Saliency and conv1/conv2 activation maps for any letter shown above."""
    st.subheader("Look inside the model")
    if predictor.reads_whole:
        st.info("This model reads whole captchas, so there is no single letter to look inside. Pick a CNN model "
                "to see its saliency and filters.")
        return
    if not letters_seen:
        st.caption("Upload, draw or sample a letter above, then look at what the network sees in it.")
        return
    if not look.has_layers(predictor.classifier):
        st.info("This model is a random forest: it has no layers to look inside. Pick a CNN model to see them.")
        return
    follow_newest_letter()
    # The Random sample tab draws its captcha even while another tab is open, so a first visit already offers its
    # letters here; without this line, a letter nobody showed the model seemed to come from nowhere.
    st.caption("Any letter from the tabs above: your uploads and drawings, and the **Random sample** tab's captcha.")
    choice = st.selectbox("Letter", list(letters_seen), key="inside_letter")
    state.keep_inside_letter(choice)
    letter = letters_seen[choice]
    maps = look.activations(predictor.classifier, letter)
    reading = predictor.read_normalized(letter[None])[0]  # the very input shown, as the strip above read it
    cols = st.columns([1, 1, 2], gap="medium", vertical_alignment="center")
    cols[0].image(views.zoom(letter), caption="what the model gets")
    cols[1].image(views.zoom(look.heat_overlay(letter, look.saliency(predictor.classifier, letter))),
                  caption=f"pixels that pushed it towards “{reading.label}”")
    cols[2].markdown("**Saliency** (middle) lights up the pixels whose change would most change the answer. "
                     "Below, each small square is one filter's response: dark where it fired, blank where it found "
                     "nothing in this letter.")
    first, second = st.columns([CONV1_COLUMNS, CONV2_COLUMNS + 1], gap="large")
    first.image(look.feature_grid(maps["conv1"], CONV1_COLUMNS, FEATURE_CELL),
                caption=f"conv1: {maps['conv1'].shape[-1]} filters find strokes and edges")
    second.image(look.feature_grid(maps["conv2"], CONV2_COLUMNS, FEATURE_CELL),
                 caption=f"conv2: {maps['conv2'].shape[-1]} filters combine them into letter parts")


TABS = [":material/pattern: Captcha", ":material/text_fields: Letters", ":material/draw: Draw",
        ":material/casino: Random sample"]
# The tab a user was on comes back after a visit to another page (a widget's own state would not).
captcha, letters, draw, sample = st.tabs(
    TABS, default=state.playground_tab(TABS), key="playground_tabs", on_change=state.remember_playground_tab,
    args=("playground_tabs",),
)
with captcha:
    captcha_tab()
with letters:
    letters_tab()
with draw:
    draw_tab()
with sample:
    sample_tab(shown=sample.open is not False)
st.divider()
inside_section()
