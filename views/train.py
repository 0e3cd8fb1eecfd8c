"""Train: pick the hyperparameters, train in the background, watch the curves, compare the trained models."""
import streamlit as st

from captcha_core.data import DatasetError
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
MODEL_HELP = (
    "cnn: the seed's convolutional network, one letter at a time · forest: a random forest on raw pixels, "
    "a quick baseline · sequence: reads the whole captcha without cutting it (for touching letters)"
)


def settings_form() -> None:
    """Hyperparameter inputs; every change is written to the session's training options."""
    options = state.training_options()
    row1 = st.columns([3, 2, 2, 2])
    model = row1[0].segmented_control(
        "Model", MODEL_KINDS, default=options["model"], required=True, key="train_model", help=MODEL_HELP
    )
    # Only the forest trains in one go; every network has epochs, batches and a learning rate.
    is_network = model != "forest"
    epochs = row1[1].number_input("Epochs", *EPOCH_RANGE, value=options["epochs"], key="train_epochs", disabled=not is_network)
    batch = row1[2].select_slider("Batch size", BATCH_SIZES, value=options["batch_size"], key="train_batch", disabled=not is_network)
    rate = row1[3].number_input(
        "Learning rate", *LEARNING_RATE_RANGE, value=options["learning_rate"], step=LEARNING_RATE_STEP,
        format="%.4f", key="train_rate", disabled=not is_network,
    )
    row2 = st.columns(4)
    strategy = row2[0].selectbox(
        "Resampling", STRATEGIES, index=STRATEGIES.index(options["resample"]), key="train_resample",
        help="Balances the classes of the training split only; validation and test stay as they are.",
    )
    target = row2[1].number_input(
        "Letters per class", min_value=1, value=options["per_class"], placeholder="auto", key="train_per_class",
        disabled=strategy == "none", help="Empty: the largest class for bootstrap, the smallest for downsample.",
    )
    seed = row2[2].number_input("Seed", min_value=0, value=options["seed"], key="train_seed", help="Split, resampling and weights.")
    name = row2[3].text_input("Model name", value=options["name"], key="train_name").strip()
    state.update_training_options(
        model=model, epochs=int(epochs), batch_size=int(batch), learning_rate=float(rate), resample=strategy,
        per_class=None if target is None else int(target), seed=int(seed), name=name,
    )


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

with st.container(border=True):
    settings_form()
    name_ok = name_note(state.training_options()["name"])
    clicked = st.button("Train", type="primary", icon=":material/play_arrow:", key="train_start", disabled=not name_ok)

if clicked:
    try:
        dataset = state.current_dataset()
    except (InputRejected, DatasetError, OSError) as exc:
        st.error(f"The dataset could not be loaded: {exc}", icon=":material/error:")
    else:
        attempt = job_views.start_training(
            dataset, state.training_config(), state.training_options()["name"], state.describe_spec(spec)
        )
        attempt.show_refusal()

job_views.job_panel()

st.subheader(":material/inventory_2: Trained models", anchor=False)
entries = job_views.registry_table(key="train_registry")
if entries:
    job_views.download_model(entries)

jobs.warm_up()
