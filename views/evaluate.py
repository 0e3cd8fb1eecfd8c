"""Evaluate: how well a saved model reads captchas it never saw, where it goes wrong, and why the seed's score lied."""
import pandas as pd
import streamlit as st

from captcha_core import review
from lab_ui import cache, data_views, graphs, jobs, state
from lab_ui import model_charts as charts
from lab_ui import model_views as views

GALLERY_MAX = 24
# Wide enough to make out a misread captcha's characters in the narrow column beside the matrix.
CAPTCHA_THUMB = 200
# Misread captchas shown beside the matrix, about its height at 1280 px: twenty in that column made the page 5,000 px tall.
CAPTCHAS_BESIDE = 4
# Misread letters beside it, for the same reason: a dozen, one under another, made the page 4,700 px tall.
LETTERS_BESIDE = 4
# The room for the matrix's cells beside the pictures of a 1280-px-wide page (19 letters at full size), and
# the room for its rows when there are too many classes for that (it then spans the page: 32 classes get rows
# of 20 px, room for a three-digit count; past 42 classes rows keep their 15-px minimum and the matrix grows).
BESIDE_GRID_PIXELS = 460
FULL_GRID_PIXELS = 640
# The pictures' column beside the matrix: a captcha thumbnail and room for its margins.
GALLERY_PIXELS = CAPTCHA_THUMB + 60
SCORE_COLUMNS = ("precision", "recall", "f1")
PERCENT = 100
# Streamlit draws dataframe rows 35 px high; sizing the table to its rows avoids a scrollbar for 19 letters.
TABLE_ROW_PIXELS = 35
# The frame around the rows; half a row more showed as an empty last row.
TABLE_BORDER_PIXELS = 3
# Column widths that fit the five columns of the per-letter table in a 1024-px-wide page.
LETTER_COLUMN_PIXELS = 50
SCORE_COLUMN_PIXELS = 105
SUPPORT_COLUMN_PIXELS = 115
# The protocol demo trains twice in the page. Easy captchas are read almost perfectly either way, so the demo
# uses hard ones, where the leak shows: trained for 15 epochs on seed 0 it read 45% honestly against 81% the
# seed's way (10 epochs: 42% against 66%; 3 epochs: 20% against 26%), about 30 s on 2 busy cores.
DEMO_CAPTCHAS = 200
DEMO_EPOCHS = 15
DEMO_SEED = 0
DEMO_DIFFICULTY = "hard"

st.title("Evaluate")
st.caption("How well does a model read captchas it has never seen, and which letters does it mix up?")

name = views.pick_model("evaluate_model")
predictor = views.load_predictor(name) if name else None
meta = predictor.metadata if predictor else {}
metrics = meta.get("metrics", {})


def headline() -> None:
    """The two accuracies as measured at training time, and exactly what they were measured on."""
    # A wrapping row of figures as wide as their labels: four fixed columns cut "Whole-captcha accuracy" at 1000 px.
    with st.container(horizontal=True, gap="medium"):
        st.metric("Letter accuracy", views.percent(metrics.get("letter_accuracy")), width="content")
        st.metric("Whole-captcha accuracy", views.percent(metrics.get("captcha_accuracy")), width="content",
                  help="Each test captcha is read as the Playground reads it, and counts only if every letter is "
                       "right; captchas the cutter failed on count as wrong. Where a cut had to be forced, reading "
                       "also tries moving it a little and keeps the reading the model is surest of, so more captchas "
                       "can be read whole than the letter figure suggests.")
        st.metric("Test characters" if meta.get("model_kind") == "sequence" else "Test letters",
                  views.count(metrics.get("n_test_letters")), width="content")
        st.metric("Test captchas", views.count(metrics.get("n_test_captchas") or None), width="content")
    if meta.get("protocol") == "leaky-seed":
        st.warning("This model was trained with the original blog's leaky protocol: copies of test letters were in its "
                   "training data, so these numbers are inflated. See the comparison at the bottom.",
                   icon=":material/warning:")
    elif metrics.get("n_test_captchas") and meta.get("model_kind") == "sequence":
        st.caption(f"Measured on {metrics['n_test_captchas']:,} test captchas never seen in training, read whole "
                   "(the sequence model does not cut them into letters). Letter accuracy counts characters in place "
                   "where a reading has the right length, else the length less the edits needed.")
    elif metrics.get("n_test_captchas"):
        failures = metrics.get("segmentation_failures_in_test", 0)
        uncut = (f" ({failures:,} of them could not be cut into letters and count as wrong)" if failures
                 else "; every one of them was cut into letters")
        st.caption(f"Measured on {metrics['n_test_captchas']:,} test captchas that training never saw and "
                   f"resampling never copied{uncut}.")
    else:
        st.caption(f"Measured on {metrics.get('n_test_letters', 0):,} test letters that training never saw and "
                   "resampling never copied.")


def load_review():
    """This model's mistakes with their images (its rebuilt test split, or the session's current dataset), the
    data they come from, and whether they are missing only because the data it was trained on is not loaded."""
    try:
        dataset = cache.review_dataset(name, None if review.is_generated(meta) else state.current_dataset())
        return cache.model_review(name, dataset), dataset, False
    except review.NothingToReview as exc:
        st.info(str(exc), icon=":material/dataset:")
        return None, None, True
    except Exception as exc:  # a dataset that no longer loads should not take the whole page down
        st.warning(f"Could not re-create the test letters to show pictures of the mistakes: {exc}")
        return None, None, False


def selected_cell(event, fallback):
    """The (true, read-as) pair clicked in the heatmap, else the most common mix-up."""
    points = event.selection.get(charts.CONFUSION_SELECTION) if event else None
    if points:
        return points[0]["true"], points[0]["pred"], True
    return (*fallback, False) if fallback else (None, None, False)


def chosen_cell(report, cell_key: str):
    """The cell last clicked in this very matrix (kept across page switches), else the most common mix-up."""
    kept = state.clicked_cell(cell_key)
    if kept and set(kept) <= set(report.labels):
        return (*kept, True)
    return selected_cell(None, review.top_confusion(report))


def keep_click(chart_key: str, cell_key: str, pictures_below: bool) -> None:
    """On a click in the matrix, keep its cell, which a page switch would clear from the chart; a click that clears
    the selection forgets it. Where the pictures went below a matrix that spans the page, say so."""
    true, pred, clicked = selected_cell(st.session_state.get(chart_key), None)
    state.keep_clicked_cell(cell_key, (true, pred) if clicked else None)
    if clicked and pictures_below:
        st.toast(f"**{true} → {pred}**: the pictures are below the matrix.", icon=":material/arrow_downward:")


def mistakes_gallery(result, dataset, true: str, pred: str, clicked: bool, beside: bool) -> None:
    """Pictures of the test letters (or, for a sequence model, captchas) that were `true` but read as `pred`."""
    if result.reads_whole:
        cell_captchas(result, true, pred, clicked)
        return
    if true is None:
        no_mistakes("letters")
        return
    if not holds_mistakes(true, pred):
        return
    found = review.mistakes_for(result.report, true, pred)
    how = cell_heading(true, pred, clicked)
    st.caption(f"{views.plural(len(found), 'test letter')}: truth **{true}**, read as **{pred}** ({how}).")
    if not found:
        st.info("No test letter fell in this cell.")
        return
    shown = found[:GALLERY_MAX]
    views.pictures([views.zoom(result.images[m.row]) for m in shown], [mistake_caption(result, m) for m in shown], len(found),
                   first=LETTERS_BESIDE if beside else None)
    if result.sources:
        source_captchas(result, dataset, [m.row for m in shown[:LETTERS_BESIDE]], pred)
        # Else "100% sure it's an A" beside a Playground that reads the same captcha right looks like a bug.
        st.caption("Each letter here was scored as the cutter cut it. When the Playground reads a whole captcha, it "
                   "also tries moving a forced cut a little, so a captcha named here may still be read right as a whole.")


def source_captchas(result, dataset, rows: list[int], pred: str) -> None:
    """The captchas the first misread letters were cut from, with their cut boxes: a letter cut badly shows in its
    box and its neighbours', which tells the cutter's mistakes from the model's."""
    if dataset is None or not dataset.is_captchas:
        return
    captchas = tuple(int(dataset.letters.groups[row]) for row in rows)
    items = data_views.boxed_captchas(dataset.fingerprint(), captchas, dataset)
    with st.expander(f"The {views.plural(len(rows), 'captcha')} they were cut from", icon=":material/content_cut:"):
        st.image([picture for picture, _ in items], width=CAPTCHA_THUMB,
                 caption=[f"{text}: letter {place} read as {pred}" for text, place in map(result.sources.get, rows)])


def mistake_caption(result, mistake) -> str:
    """How sure the model was, and the captcha the letter was cut from: a bad cut shows in its neighbours."""
    sure = f"{mistake.confidence:.0%} sure"
    if mistake.row not in result.sources:
        return sure
    text, place = result.sources[mistake.row]
    return f"{sure} · letter {place} of {text}"


def no_mistakes(what: str) -> None:
    """A perfect score, and where to find mistakes to learn from: Quick start's easy captchas are read perfectly."""
    st.success(f"No mistakes at all on these test {what}.", icon=":material/celebration:")
    st.caption("To see what a model mixes up, give it a harder task: on the **Data** page pick the *medium* or "
               "*hard* level and press **Generate**, then train on it.")


def holds_mistakes(true: str, pred: str) -> bool:
    """False, with a pointer to the red cells, when the chosen cell is on the diagonal."""
    if true == pred:
        st.info(f"The diagonal holds the right answers: {true!r} read as {true!r}. Click a red cell to see its mistakes.")
    return true != pred


def cell_heading(true: str, pred: str, clicked: bool) -> str:
    """The chosen cell as a heading; returns how it was chosen, for the caption under it."""
    st.markdown(f"#### {true} → {pred}")
    return "you clicked" if clicked else "the most common mix-up; click any cell to choose another"


def cell_captchas(result, true: str | None, pred: str | None, clicked: bool) -> None:
    """The first misread captchas behind a confusion cell (the pictures beside the matrix)."""
    if true is None:
        if not review.length_misreads(result.report):
            no_mistakes("captchas")
        return
    if not holds_mistakes(true, pred):
        return
    found = review.misreads_for(result.report, true, pred)
    how = cell_heading(true, pred, clicked)
    # The matrix counts characters; a captcha can make the same mistake twice ("ckbk" read as "chbh").
    times = sum((t, r) == (true, pred) for _, truth, read, _ in found for t, r in zip(truth, read))
    also = f" ({views.plural(times, 'character')}, the count in the matrix)" if times != len(found) else ""
    st.caption(f"{views.plural(len(found), 'test captcha')}{also} where the truth **{true}** was read as "
               f"**{pred}** ({how}).")
    if not found:
        st.info("No test captcha fell in this cell.")
    captcha_gallery(result, found, CAPTCHAS_BESIDE)


def wrong_length_captchas(result) -> None:
    """The captchas read with too many or too few characters, which the matrix cannot line up (below it)."""
    wrong_length = review.length_misreads(result.report)
    if not wrong_length:
        return
    st.markdown("#### Read with the wrong number of characters")
    st.caption(f"{views.plural(len(wrong_length), 'test captcha')}: not in the matrix, which only lines up "
               "readings of the right length.")
    captcha_gallery(result, wrong_length, GALLERY_MAX)


def captcha_gallery(result, misreads: list, first: int) -> None:
    """Misread captchas, each captioned truth → reading: the first `first` of them, then more on request."""
    shown = misreads[:GALLERY_MAX]
    captions = [f"{truth} → {read or '(nothing)'}" for _, truth, read, _ in shown]
    views.pictures([result.images[row] for row, *_ in shown], captions, len(misreads), CAPTCHA_THUMB, first)


def confusion_section() -> None:
    """The clickable confusion matrix beside the pictures of the chosen cell's mistakes."""
    st.subheader("Where it goes wrong")
    result, dataset, data_missing = load_review()
    if result is None:
        saved_matrix(data_missing)
        return
    st.caption(f"Scored on {result.description}. Rows are the true letter, columns what the model read; "
               "blue cells are right answers, red ones mistakes, darker when there are more.")
    scores_here(result)
    labels = result.report.labels
    beside = charts.confusion_cell(labels, BESIDE_GRID_PIXELS) * len(labels) <= BESIDE_GRID_PIXELS
    # One key per model: a cell clicked for one model means nothing in another's matrix.
    key, cell_key = f"confusion-{name}", views.matrix_key(name, result.report)
    pairs = review.confusion_pairs(result.report)
    if beside:
        # A row that wraps: the pictures sit beside the matrix where the page has room for both, and below it on
        # a narrower one (a 1024-px projector), where fixed columns let them cover the matrix's right-hand cells.
        with st.container(horizontal=True, gap="large"):
            st.altair_chart(charts.confusion_chart(pairs, labels, BESIDE_GRID_PIXELS), key=key, width="content",
                            on_select=lambda: keep_click(key, cell_key, pictures_below=False))
            gallery_area = st.container(width=GALLERY_PIXELS)
    else:
        # Too many classes to sit beside the pictures: the matrix spans the page, as wide as the window allows
        # (a fixed width ran off a 1000-px page), and the pictures come below it, out of sight of the click.
        st.altair_chart(charts.confusion_chart(pairs, labels, FULL_GRID_PIXELS), key=key, width="stretch",
                        on_select=lambda: keep_click(key, cell_key, pictures_below=True))
        gallery_area = st.container()
    with gallery_area:
        mistakes_gallery(result, dataset, *chosen_cell(result.report, cell_key), beside)
    if result.reads_whole:
        wrong_length_captchas(result)


def scores_here(result) -> None:
    """How well it read the data scored here, when that is not the test split the figures at the top come from."""
    report = result.report
    if result.exact:
        if result.reads_whole and report.captcha_accuracy is not None:
            st.caption(f"{views.percent(report.captcha_accuracy)} of these captchas read right; "
                       f"{views.plural(len(report.misreads), 'captcha')} misread.")
        return
    # As large as the figures at the top, which a class would otherwise quote for this data too.
    with st.container(horizontal=True, gap="medium"):
        if not result.reads_whole:
            st.metric("Letter accuracy here", views.percent(report.letter_accuracy), width="content")
        if report.captcha_accuracy is not None:
            st.metric("Whole-captcha accuracy here", views.percent(report.captcha_accuracy), width="content")
        scored = ("Captchas", report.n_captchas) if report.n_captchas else ("Letters", report.n_letters)
        st.metric(f"{scored[0]} scored here", views.count(scored[1]), width="content")
    maybe = "" if result.all_unseen else " Some of these may be ones it learnt from, so they may be optimistic."
    st.caption("The figures at the top were measured on its own test split when it was trained; these, on the data "
               f"described above.{maybe}")


def saved_matrix(data_missing: bool) -> None:
    """The matrix measured at training time, when its test data is not at hand to click through to pictures."""
    pairs, labels = review.saved_confusion_pairs(meta)
    if not pairs:
        return
    hint = " Load its data on the Data page to click a cell and see the pictures." if data_missing else ""
    st.caption("The matrix measured on its test split at training time. Rows are the true letter, columns what the "
               f"model read.{hint}")
    st.altair_chart(charts.confusion_chart(pairs, labels, BESIDE_GRID_PIXELS), width="content")


def per_class_section() -> None:
    """Precision, recall and F1 of each letter, as a table and as bars."""
    per_class = metrics.get("per_class") or []
    if not per_class:
        return
    st.subheader("Letter by letter")
    st.caption("Precision: when it says *a*, how often is it an *a*? Recall: of the real *a*s, how many did it find? "
               "F1 balances the two, on its own test split when it was trained. The letters it reads worst come first; "
               "click a column's name to sort by it.")
    # Worst first, so the few letters that matter lead; a bar chart of 19 F1s between 92% and 100% was a green wall.
    table = pd.DataFrame(per_class).rename(columns={"label": "letter"}).sort_values("f1", kind="stable")
    for column in SCORE_COLUMNS:
        table[column] = table[column] * PERCENT
    score = st.column_config.ProgressColumn
    st.dataframe(
        table,
        hide_index=True,
        width="content",
        height=TABLE_ROW_PIXELS * (len(table) + 1) + TABLE_BORDER_PIXELS,
        column_config={
            "letter": st.column_config.TextColumn("letter", width=LETTER_COLUMN_PIXELS),
            "precision": score("precision", format="%.0f%%", min_value=0, max_value=PERCENT, width=SCORE_COLUMN_PIXELS),
            "recall": score("recall", format="%.0f%%", min_value=0, max_value=PERCENT, width=SCORE_COLUMN_PIXELS),
            "f1": score("F1", format="%.0f%%", min_value=0, max_value=PERCENT, width=SCORE_COLUMN_PIXELS),
            "support": st.column_config.NumberColumn(
                "test characters" if meta.get("model_kind") == "sequence" else "test letters", width=SUPPORT_COLUMN_PIXELS
            ),
        },
    )


def curves_section() -> None:
    """Accuracy and loss per epoch, training against validation."""
    history = meta.get("history") or {}
    if not history or meta.get("model_kind") == "forest":  # one fit, no epochs: nothing to draw (as on Train)
        return
    st.subheader("How it learned")
    st.caption("If training accuracy keeps climbing while validation stalls, the model is memorising, not learning.")
    graphs.training_curves(history)


def protocol_section() -> None:
    """The seed's leaky protocol beside the honest one, on the same tiny data."""
    st.subheader("Honest vs the original blog's leaky protocol")
    st.markdown(
        "The blog post this lab grew from copied letters to balance the classes *before* splitting, so copies of "
        "the same letter "
        "landed in both training and test, and the test partly measured memory. Here the test captchas are "
        "split off first and only the training split is resampled, so every test letter is truly unseen."
    )
    run = st.button(f"Train both ways on {DEMO_CAPTCHAS} {DEMO_DIFFICULTY} captchas (about a minute, more while a "
                    "training runs)",
                    icon=":material/science:", key="compare_protocols")
    if not run and not st.session_state.get("compared"):
        return
    # With no model picked, nothing on this page has waited for Home's background TensorFlow import yet, and
    # two threads importing it at once can deadlock.
    jobs.warm_up().join()
    with st.spinner("Training the same tiny model twice, honestly and the blog's way..."):
        result = cache.protocol_comparison(DEMO_CAPTCHAS, DEMO_EPOCHS, DEMO_SEED, DEMO_DIFFICULTY)
    st.session_state["compared"] = True
    left, right = st.columns([2, 3], gap="large")
    left.metric("Honest test accuracy", views.percent(result.honest))
    left.metric("Leaky (blog) test accuracy", views.percent(result.leaky),
                delta=f"{(result.leaky - result.honest) * PERCENT:+.1f} points", delta_color="inverse")
    right.altair_chart(charts.protocol_chart(result.honest, result.leaky), width="stretch")
    right.caption(f"{result.duplicated_test_letters} of the leaky protocol's {result.leaky_test_letters} test letters "
                  "were exact copies of training letters.")


if predictor is not None:
    headline()
    confusion_section()
    per_class_section()
    curves_section()
# The protocol lesson trains its own tiny models, so it needs no saved one.
protocol_section()
