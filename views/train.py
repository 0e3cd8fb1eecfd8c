"""Train: pick the hyperparameters, train in the background, watch the curves, compare the trained models."""
import streamlit as st

from captcha_core.choice import AUTO, resolve_model
from captcha_core.config import DEFAULT, NETWORK_FIELDS
from captcha_core.data import DatasetError, check_enough_to_split, check_trainable
from captcha_core.imageio import InputRejected
from captcha_core.models import MODEL_KINDS
from captcha_core.persistence import check_name, next_free_name
from captcha_core.resample import STRATEGIES
from lab_ui import job_views, jobs, state
from lab_ui.workspace import models_dir

# Input bounds: wide enough to experiment, narrow enough that a typo cannot tie up the server for hours.
EPOCH_RANGE = (1, 100)
BATCH_SIZES = [16, 32, 64, 128, 256]
LEARNING_RATE_RANGE = (1e-5, 1.0)
LEARNING_RATE_STEP = 5e-4
TIME_LIMIT_RANGE = (1, 600)  # minutes
TIME_LIMIT_HELP = (
    "Training stops after this many minutes and keeps the model it has, so a lesson can plan its time. "
    "Empty: the epochs alone decide when it ends."
)
MODEL_CHOICES = (AUTO, *MODEL_KINDS)
MODEL_HELP = (
    "auto: lets the data choose between cnn and sequence · cnn: the original blog's convolutional network, one letter at "
    "a time · forest: a random forest on raw pixels, a quick baseline · sequence: reads the whole captcha "
    "without cutting it (for touching letters)"
)
AUTO_TEXT = (
    f"**auto** first cuts the training captchas into letters. If at least {DEFAULT.auto_yield_threshold:.0%} cut "
    "cleanly, it trains the letter CNN, otherwise the sequence model. The settings below are for the model it will "
    "pick; each model keeps its own."
)
WHOLE_HELP = "The sequence model reads whole captchas, so there are no letters to balance."
FOREST_TEXT = "The **forest** has no epochs, batches or learning rate: it grows its trees, and the bar counts them."
SEQUENCE_EPOCHS_HELP = (
    f"The most epochs. Sets under {DEFAULT.sequence_small_below:,} captchas stop {DEFAULT.sequence_decay_epochs} epochs "
    f"after the model first reads {DEFAULT.sequence_decay_from:.0%} of its validation captchas, the rate falling to zero "
    "over them; larger sets stop once the validation loss stops improving."
)
SEQUENCE_BATCH_HELP = (
    f"For large sets. A small set trains on smaller batches (down to {DEFAULT.sequence_min_batch}) so that an epoch "
    f"still makes {DEFAULT.sequence_min_steps} steps, with the learning rate scaled down to match; a very small set "
    "also goes over its captchas more than once an epoch."
)


def auto_choice() -> dict | None:
    """What auto will train on the session's data, and why; None when that data does not load or cannot be split
    (data_problem says why, above the Train button)."""
    try:
        return resolve_model(state.current_dataset(), state.training_config().with_(model=AUTO))[1]
    except (ValueError, OSError):  # DatasetError and InputRejected are ValueErrors, as is scikit-learn's split
        return None


def data_problem(kind: str) -> str | None:
    """Why the session's data cannot train the `kind` of model, in the Data page's words, or None when it can."""
    try:
        dataset = state.current_dataset()
        check_enough_to_split(dataset, state.training_config())
        check_trainable(dataset, kind)
    except (InputRejected, DatasetError, OSError) as exc:
        return str(exc)
    return None


def settings_form() -> str:
    """Hyperparameter inputs, every change written to the session's training options; returns the kind of model
    that will train (auto's pick, when the data lets it choose)."""
    options = state.training_options()
    model = st.segmented_control(
        "Model", MODEL_CHOICES, default=options["model"], required=True, key="train_model", help=MODEL_HELP
    )
    choice = auto_choice() if model == AUTO else None
    if model == AUTO:
        st.markdown(AUTO_TEXT)
    if choice:
        st.markdown(f"On the loaded data, auto will train the **{choice['chosen']}** model: {choice['reason']}.")
    kind = choice["chosen"] if choice else model
    # Under auto, the picked model's own settings, so its epochs can be lowered without leaving auto.
    network_fields(kind)
    row2 = st.columns(4)
    # The sequence model reads whole captchas; letters are only balanced for the letter models.
    whole = kind == "sequence"
    strategy = row2[0].selectbox(
        "Resampling", STRATEGIES, index=STRATEGIES.index(options["resample"]), key="train_resample", disabled=whole,
        format_func=str.capitalize,  # as the Data page names them
        help=WHOLE_HELP if whole else "Balances the classes of the training split only; validation and test stay as they are.",
    )
    target = optional_number(
        row2[1], "Letters per class", "train_per_class", options["per_class"], min_value=1, placeholder="auto",
        disabled=whole or strategy == "none", help="Empty: the largest class for bootstrap, the smallest for downsample.",
    )
    seed = row2[2].number_input("Seed", min_value=0, value=options["seed"], key="train_seed", help="Split, resampling and weights.")
    name = row2[3].text_input("Model name", value=options["name"], key="train_name").strip()
    state.update_training_options(
        model=model, resample=strategy, per_class=None if target is None else int(target), seed=int(seed), name=name,
    )
    return kind


def network_fields(model: str) -> None:
    """Epochs, batch size and rate of the chosen network, each kind with its own widgets and values."""
    if model == AUTO:
        return  # the data did not say what auto would pick; settings_form said how it picks
    if model not in NETWORK_FIELDS:
        st.markdown(FOREST_TEXT)
        return
    settings = state.training_options()["networks"][model]
    cols = st.columns(4)
    epochs = cols[0].number_input(
        "Epochs", *EPOCH_RANGE, value=settings["epochs"], key=f"train_epochs_{model}",
        help=SEQUENCE_EPOCHS_HELP if model == "sequence" else None,
    )
    batch = cols[1].select_slider(
        "Batch size", BATCH_SIZES, value=settings["batch_size"], key=f"train_batch_{model}",
        help=SEQUENCE_BATCH_HELP if model == "sequence" else None,
    )
    rate = cols[2].number_input(
        "Learning rate", *LEARNING_RATE_RANGE, value=settings["learning_rate"], step=LEARNING_RATE_STEP,
        format="%g", key=f"train_rate_{model}",
    )
    state.update_network_options(model, epochs=int(epochs), batch_size=int(batch), learning_rate=float(rate))
    limit = optional_number(
        cols[3], "Time limit (min)", "train_time_limit", state.training_options()["time_limit"],
        min_value=TIME_LIMIT_RANGE[0], max_value=TIME_LIMIT_RANGE[1], placeholder="none", help=TIME_LIMIT_HELP,
    )
    state.update_training_options(time_limit=None if limit is None else int(limit))


def optional_number(column, label: str, key: str, current: int | None, **options) -> int | float | None:
    """A number input that can be emptied again, showing `current` (the session's setting) at first.

    Its value is seeded in session state and its default stays None: given a number as its default, the browser
    offers no way to clear the field and turns an emptied one back into that number.
    """
    st.session_state.setdefault(key, current)
    return column.number_input(label, value=None, key=key, **options)


def name_note(name: str) -> bool:
    """Say what the model will be saved as; False when the name cannot be used."""
    try:
        check_name(name)
    except InputRejected as exc:
        st.error(str(exc), icon=":material/error:")
        return False
    free = next_free_name(models_dir(), name)
    if free != name:
        st.caption(f":material/info: A model named `{name}` exists and is kept: this run will be saved as `{free}`.")
    return True


st.title("Train", anchor=False)
spec = state.dataset_spec()
st.markdown(f":material/dataset: **Data:** {state.describe_spec(spec)}")
st.page_link("views/data.py", label="Change or inspect the data", icon=":material/dataset:")

# One training at a time per server: while one runs, the button waits for it (another session's click that races
# this one is still refused, with a message), so the settings fold away and the progress and live curves come up
# where they can be watched without scrolling.
busy = jobs.get_job().snapshot().active
settings_area = (st.expander(":material/tune: Settings for the next training", expanded=False) if busy
                 else st.container(border=True))
with settings_area:
    kind = settings_form()
    name_ok = name_note(state.training_options()["name"])
    problem = data_problem(kind)
    if problem:
        st.warning(f"This data cannot train a model yet: {problem}", icon=":material/warning:")
    with st.container(horizontal=True, vertical_alignment="center"):
        clicked = st.button("Train", type="primary", icon=":material/play_arrow:", key="train_start",
                            disabled=not name_ok or busy or bool(problem))
        # Settings stay for the session, so a lesson's second training would otherwise inherit the first's.
        st.button("Reset settings to defaults", icon=":material/restart_alt:", key="train_reset", type="tertiary",
                  on_click=state.reset_training_options,
                  disabled=state.training_options() == state.default_training_options())
    if busy:
        st.caption(":material/hourglass_top: A training is running (below); the button comes back when it ends.")

if clicked:
    try:
        dataset = state.current_dataset()
    except (InputRejected, DatasetError, OSError) as exc:
        st.error(f"The dataset could not be loaded: {exc}", icon=":material/error:")
    else:
        attempt = job_views.start_training(
            dataset, state.training_config(), state.training_options()["name"], state.describe_spec(spec)
        )
        attempt.show()

job_views.job_panel()

st.subheader(":material/inventory_2: Trained models", anchor=False)
entries = job_views.registry_table(key="train_registry")
if entries:
    job_views.download_model(entries)

jobs.warm_up()
