"""Streamlit pieces for Home and Train: starting the job, its live panel, and the model registry table."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath
from typing import TYPE_CHECKING

import streamlit as st

from captcha_core.config import Config
from captcha_core.data import GENERATED_SOURCE, Dataset, DatasetError, check_trainable
from captcha_core.imageio import InputRejected
from captcha_core.models import never_read
from captcha_core.persistence import ModelDamaged, model_zip_bytes

from . import cache, jobs, state
from .model_views import MISSING, percent
from .workspace import models_dir

if TYPE_CHECKING:
    import pandas as pd

# pandas and altair (with graphs) are imported where a table or a chart is drawn: together they took 0.57 s,
# which a first visit to Home, with no model and no training yet, does not need to wait for.

PLAYGROUND_PAGE = "views/playground.py"
EVALUATE_PAGE = "views/evaluate.py"
TRAIN_PAGE = "views/train.py"
# Every refresh redraws the panel and its two Vega curves, which competes with TensorFlow for 2 cores:
# measured through chromium, the default training took 44 s polling every 1 s and 25 s every 2 s
# (13 s with no page open). 2 s still moves the bar every epoch or so.
POLL_SECONDS = 2.0
PHASE_TEXT = {
    "preparing": "Preparing: splitting the data and loading TensorFlow (up to 15 s the first time)",
    "evaluating": "Scoring the held-out test split",
    "done": "Scoring the held-out test split",
    "saving": "Saving the model to the registry",
}
FOREST_TEXT = "Growing the random forest: it has no epochs, so the bar counts its trees"


SECONDS_PER_MINUTE = 60


def duration(seconds: float) -> str:
    """Seconds in words a person reads at a glance: "45 s", "3 min 20 s"."""
    seconds = round(seconds)
    if seconds < SECONDS_PER_MINUTE:
        return f"{seconds} s"
    minutes, rest = divmod(seconds, SECONDS_PER_MINUTE)
    return f"{minutes} min {rest} s" if rest else f"{minutes} min"


@dataclass
class StartAttempt:
    """What a Train click led to: a started job, or a message explaining why not."""

    started: bool
    message: str
    busy: bool = False  # refused because another training runs, not because of the data

    def show(self) -> None:
        """Redraw the page once a job started, so its Train buttons show they wait for it; else explain the
        refusal: a wait for a busy server, an error for unusable data."""
        if self.started:
            st.rerun()
        if self.busy:
            st.warning(self.message, icon=":material/hourglass_top:")
        elif not self.started:
            st.error(f"Training could not start: {self.message}", icon=":material/error:")


def chosen_model(dataset: Dataset, config: Config) -> str:
    """The model kind a training with `config` will fit on `dataset`: auto's pick, or the one asked for."""
    from captcha_core.choice import resolve_model

    try:
        return resolve_model(dataset, config)[0].model
    except ValueError:  # too few captchas for auto's split: the check that follows says so in its words
        return "cnn"


def start_training(dataset: Dataset, config: Config, name: str, data_label: str) -> StartAttempt:
    """Check the data and the name, then hand the run to the server's job (refused when one is running)."""
    try:
        check_trainable(dataset, chosen_model(dataset, config))
        result = jobs.get_job().start(dataset, config, name, models_dir(), data_label=data_label)
    except (DatasetError, InputRejected) as exc:
        return StartAttempt(False, str(exc))
    if result.started:
        state.remember_started_job(result.job_id)
    return StartAttempt(result.started, result.message, busy=not result.started)


# ---------------------------------------------------------------- the live panel


def job_panel() -> None:
    """The training job's progress, curves and outcome, refreshed every second while it runs."""
    job = jobs.get_job()
    was_active = job.snapshot().active

    @st.fragment(run_every=POLL_SECONDS if was_active else None)
    def panel() -> None:
        snap = job.snapshot()
        if was_active and not snap.active:
            # The whole page, so tables show the new model and polling stops. It comes before anything is
            # drawn: Streamlit folds a rerun into a pending page switch and keeps the later one's page, so
            # a click on the outcome's links while this run drew them could be undone by this rerun.
            st.rerun()
        if state.follows_job(snap.job_id, snap.active):
            render_job(snap)

    panel()


def sidebar_note() -> None:
    """A line under the navigation while a training runs, for the pages that have no job panel."""
    snap = jobs.get_job().snapshot()
    if not snap.active:
        return
    with st.sidebar:
        st.caption(f":material/model_training: Training `{snap.name}` ({snap.model_kind}) on {snap.data}, "
                   f"{snap.fraction:.0%} done when this page was drawn. It keeps that data whatever is loaded since.")
        st.page_link(TRAIN_PAGE, label="Follow it on the Train page", icon=":material/monitoring:")


def render_job(snap: jobs.JobState) -> None:
    """Draw one snapshot of the job."""
    if snap.status == jobs.IDLE:
        return
    if snap.active:
        render_running(snap)
    elif snap.status == jobs.DONE:
        render_done(snap)
    elif snap.status == jobs.FAILED:
        st.error(f"Training {snap.name!r} failed: {snap.message}", icon=":material/error:")
        hide_button(snap)
    elif snap.status == jobs.CANCELLED:
        st.info(snap.message, icon=":material/stop_circle:")
        hide_button(snap)
    # A forest has no epochs: its one accuracy is in the outcome line, not worth a chart.
    if snap.history and snap.model_kind != "forest":
        from . import graphs  # altair, only once there are curves to draw

        graphs.training_curves(snap.history)


def progress_text(snap: jobs.JobState) -> str:
    """Epoch, step and time left in words, or what the job is doing between epochs."""
    if snap.status == jobs.STOPPING:
        return "Stopping after the current batch..."
    if snap.model_kind == "forest" and snap.phase == "training" and snap.steps:
        eta = f" · about {duration(snap.time_left)} left" if snap.time_left is not None else ""
        return f"Growing the random forest · {snap.step} of {snap.steps} trees{eta}"
    if snap.phase in ("training", "validating") and snap.steps:
        # The sequence model's epochs are a limit it usually stops short of, so its time left is a limit too. The
        # test after the last epoch is not in it (tens of seconds for the sequence model), hence "of training".
        bound = "up to" if snap.model_kind == "sequence" else "about"
        eta = f" · {bound} {duration(snap.time_left)} of training left" if snap.time_left is not None else ""
        # Keras reports batches once per graph call, which may hold a whole small epoch: no "step 0/30" then.
        stepping = f"step {snap.step}/{snap.steps}" if snap.step else "training"
        where = "checking the validation split" if snap.phase == "validating" else stepping
        return f"Epoch {snap.epoch}/{snap.epochs} · {where}{eta}"
    if snap.phase == "preparing" and snap.model_kind == "forest":
        return FOREST_TEXT
    return PHASE_TEXT.get(snap.phase, "Working...")


def render_running(snap: jobs.JobState) -> None:
    """The progress bar, who trains what, and the Stop button."""
    with st.container(border=True):
        head, stop = st.columns([5, 1], vertical_alignment="center")
        head.markdown(
            f":material/model_training: **Training in progress:** `{snap.name}` ({snap.model_kind}) "
            f"on {snap.data} · running for {duration(snap.elapsed)}"
        )
        if snap.choice:
            head.caption(f"auto chose {snap.model_kind}: {snap.choice}")
        if snap.job_id == state.started_job():
            stop.button(
                "Stop", icon=":material/stop:", key="job_stop", on_click=jobs.get_job().stop, args=(snap.job_id,),
                disabled=snap.status == jobs.STOPPING, help="Stops after the current batch; nothing is saved.",
            )
        else:
            stop_someone_elses(stop, snap)
        st.progress(snap.fraction, text=progress_text(snap))
        if reads_nothing_yet(snap):
            st.caption(CTC_START_TEXT)


def stop_someone_elses(area, snap: jobs.JobState) -> None:
    """Stop behind a second click for a training this session did not start: in a classroom, one stray click
    would otherwise throw away a classmate's (or the teacher's) run."""
    with area.popover("Stop", icon=":material/stop:", disabled=snap.status == jobs.STOPPING, key="job_stop_confirm"):
        st.markdown("This training was started in another tab, on another computer, or in this tab before it was "
                    "reloaded. Stopping it throws its work away for whoever started it.")
        st.button("Stop it anyway", icon=":material/stop:", key="job_stop", type="primary",
                  on_click=lambda: jobs.get_job().stop(snap.job_id, from_elsewhere=True))


# A sequence model at 0% for minutes looks broken; it is CTC's usual start, and people should know to wait.
CTC_START_TEXT = (
    ":material/hourglass_top: Reading no captcha yet is normal at first: a model trained with CTC first learns to "
    "output only blanks, then its readings climb within a few epochs. On small sets that start can take 10 to 30 "
    "epochs, and more on very small ones."
)


def reads_nothing_yet(snap: jobs.JobState) -> bool:
    """True while a sequence model has finished epochs but has read no captcha right."""
    return snap.model_kind == "sequence" and never_read(snap.history)


# The registry's percent bars show two places; the outcome line and Home's list match them.
ACCURACY_DECIMALS = 2


def render_done(snap: jobs.JobState) -> None:
    """The outcome in one sentence, with links to the pages that use the new model."""
    if snap.job_id == state.started_job():
        state.adopt_finished_job(snap.job_id, snap.saved_as)
    metrics = snap.metrics
    scores = f"letter accuracy **{percent(metrics.get('letter_accuracy', 0), ACCURACY_DECIMALS)}**"
    if metrics.get("captcha_accuracy") is not None:
        scores += f", whole-captcha accuracy **{percent(metrics['captcha_accuracy'], ACCURACY_DECIMALS)}**"
    renamed = f" `{snap.name}` already existed, so this run got a new name." if snap.saved_as != snap.name else ""
    # Saved either way, but a model that reads no captcha is not a success to celebrate in green.
    went_wrong = bool(metrics.get("hint")) or metrics.get("captcha_accuracy") == 0
    outcome = st.warning if went_wrong else st.success
    # Said at once: the new model replaces the one this session had picked, which a teacher may have built on.
    picked = (" Evaluate and the Playground now show it; their Model box picks another."
              if snap.job_id == state.started_job() and state.is_selected(snap.saved_as) else "")
    outcome(
        f"Trained and saved `{snap.saved_as}` ({snap.model_kind}) on {snap.data} in {duration(snap.elapsed)}: "
        f"{scores} on its held-out test split.{renamed}{picked}",
        icon=":material/warning:" if went_wrong else ":material/check_circle:",
    )
    if snap.choice:
        st.caption(f"auto chose {snap.model_kind}: {snap.choice}")
    outcome_notes(metrics, snap.model_kind)
    with st.container(horizontal=True, vertical_alignment="center"):
        st.page_link(PLAYGROUND_PAGE, label="Try it in the Playground", icon=":material/draw:")
        st.page_link(EVALUATE_PAGE, label="See where it errs", icon=":material/grid_on:")
        hide_button(snap)


def hide_button(snap: jobs.JobState) -> None:
    """A button that takes a finished job's outcome and curves off this session's pages, where they would otherwise
    stay on Home and Train for the rest of the session."""
    st.button("Hide this result", icon=":material/close:", key="job_dismiss", type="tertiary",
              on_click=state.dismiss_job, args=(snap.job_id,),
              help="A saved model stays in the registry." if snap.status == jobs.DONE else None)


def outcome_notes(metrics: dict, model_kind: str) -> None:
    """What the scores alone do not say: why whole captchas beat letters, a time limit or an earlier epoch kept,
    advice after a stall."""
    if (metrics.get("captcha_accuracy") or 0) > metrics.get("letter_accuracy", 1) and model_kind != "sequence":
        st.caption(CHECKED_CUTS_TEXT)
    if metrics.get("note"):
        st.info(metrics["note"], icon=":material/info:")
    if metrics.get("hint"):
        st.warning(metrics["hint"], icon=":material/warning:")


# Students expect whole captchas to score below single letters; with checked cuts they can score above.
CHECKED_CUTS_TEXT = (
    "Whole captchas can score above single letters: where a cut had to be forced, reading also tries it moved a "
    "little and keeps the surest version, as the Playground and `solve` do. The letter figure counts the plain cuts."
)


# ---------------------------------------------------------------- the registry


def registry_frame(entries) -> pd.DataFrame:
    """One row per trained model with the numbers worth comparing."""
    import pandas as pd

    rows = []
    for entry in entries:
        meta = entry.metadata
        metrics = meta.get("metrics", {})
        rows.append(
            {
                "name": entry.name,
                "kind": meta.get("model_kind", "?"),
                "letter acc": metrics.get("letter_accuracy"),
                "captcha acc": metrics.get("captcha_accuracy"),
                # Epochs actually run: the sequence model stops early, and its limit is not the CNN's. A forest has
                # none, which the table's placeholder shows as the app's dash while the column still sorts as numbers.
                "epochs": len(meta.get("history", {}).get("loss", [])) or None,
                "data": meta.get("data", {}).get("source", ""),
                "created": meta.get("created", "")[: len("YYYY-MM-DDTHH:MM")].replace("T", " "),
            }
        )
    # The long data description last, where running past the table's edge hides only its own end.
    frame = pd.DataFrame(rows, columns=["name", "kind", "letter acc", "captcha acc", "epochs", "created", "data"])
    return frame.astype({"epochs": "Int64"})


def accuracy_column(name: str):
    """A 0-100% bar for one of the registry's accuracies."""
    return st.column_config.ProgressColumn(name, format="percent", min_value=0.0, max_value=1.0)


ACCURACIES = ("letter acc", "captcha acc")
# Pixels that fit the longest kind ("sequence") and a two-digit epoch count, leaving the rest to the data's description.
KIND_PIXELS, EPOCHS_PIXELS = 84, 64
REGISTRY_COLUMNS = {
    **{column: accuracy_column(column) for column in ACCURACIES},
    "kind": st.column_config.TextColumn("kind", width=KIND_PIXELS),
    "epochs": st.column_config.NumberColumn("epochs", width=EPOCHS_PIXELS, format="%d"),
    "data": st.column_config.TextColumn("data", width="large"),
}


NO_MODELS = "No trained models yet. Train one here, or use Quick start on the Home page."


def registry_table(key: str, empty: str = NO_MODELS) -> list:
    """The registry as a table (or the `empty` hint when there is none); returns its entries."""
    entries = cache.registry()
    if not entries:
        st.info(empty, icon=":material/inventory_2:")
        return entries
    st.dataframe(registry_frame(entries), hide_index=True, placeholder=MISSING, column_config=REGISTRY_COLUMNS, key=key)
    return entries


# Home lists the newest few; the Train page has them all.
HOME_MODELS_SHOWN = 4
SCORES_IN_WORDS = (("letter_accuracy", "of letters"), ("captcha_accuracy", "of whole captchas"))


def model_line(metadata: dict, name: str) -> str:
    """One model in words: its name, kind, held-out accuracies and the data it learnt from."""
    metrics = metadata.get("metrics", {})
    scores = [f"{percent(metrics[key], ACCURACY_DECIMALS)} {what}" for key, what in SCORES_IN_WORDS
              if metrics.get(key) is not None]
    source = str((metadata.get("data") or {}).get("source") or "")
    # Beside the session's loaded data on Home, which need not be what any of these models learnt from.
    learnt_from = [f"from {source_in_words(source)}"] if source else []
    return " · ".join([f"`{name}`", metadata.get("model_kind", "?"), *scores, *learnt_from])


def source_in_words(source: str) -> str:
    """A training set's source, short: "built-in 600 easy captchas, seed 0", else its file or folder's name."""
    if source.startswith(GENERATED_SOURCE):
        return f"built-in {source.removeprefix(GENERATED_SOURCE)}"
    return PurePath(source).name or source


def registry_list(empty: str, shown: int = HOME_MODELS_SHOWN) -> None:
    """The newest models as lines that wrap, where half a page is too narrow for the registry's table: at 1024 px
    its columns scrolled the accuracies out of sight."""
    entries = cache.registry()
    if not entries:
        st.info(empty, icon=":material/inventory_2:")
        return
    lines = [f"- {model_line(entry.metadata, entry.name)}" for entry in entries[:shown]]
    if len(entries) > shown:
        lines.append(f"- and {len(entries) - shown:,} older on the **Train** page")
    st.markdown("\n".join(lines))
    st.caption("Accuracies on each model's held-out test split.")


@st.cache_data(max_entries=4, show_spinner=False)
def model_zip(name: str, version: str) -> bytes:
    """The model folder as zip bytes, rebuilt when the model file changes."""
    return model_zip_bytes(cache.model_path(name))


def download_model(entries) -> None:
    """Pick a model and download it as one zip (model file, labels.json, metadata.json)."""
    names = [entry.name for entry in entries]
    pick, button = st.columns([3, 2], vertical_alignment="bottom")
    # Keyed by the newest model and its creation time, so a model trained since the last pick (even one that
    # replaced a model of the same name) is the one offered first.
    newest = f"{names[0]}@{entries[0].metadata.get('created', '')}"
    name = pick.selectbox("Download a model", names, key=f"download_pick_{newest}")
    try:
        data = model_zip(name, cache.model_version(name))
    except (ModelDamaged, OSError) as exc:
        button.error(str(exc))
        return
    button.download_button(
        "Download .zip", data=data, file_name=f"{name}.zip", mime="application/zip",
        icon=":material/download:", key="download_model",
    )
