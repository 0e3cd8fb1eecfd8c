"""Home: what Captcha Lab is, the pipeline at a glance, where this session stands, and a one-click start."""
import streamlit as st

from captcha_core.config import DEFAULT
from lab_ui import job_views, jobs, state

QUICK_START_NAME = "quickstart"
DATA_PAGE = "views/data.py"
# Each step's title links to the page where it happens.
PIPELINE = [
    (":material/image:", "Data", "Generated or uploaded captchas", DATA_PAGE),
    (":material/content_cut:", "Segment", "Cut each captcha into letters", DATA_PAGE),
    (":material/call_split:", "Split", "Train, validation, test: by captcha", DATA_PAGE),
    (":material/balance:", "Resample", "Balance the train split's classes", DATA_PAGE),
    (":material/neurology:", "Model", "A letter CNN, or a whole-captcha model", job_views.TRAIN_PAGE),
    (":material/grid_on:", "Evaluate", "Score the untouched test split", job_views.EVALUATE_PAGE),
    (":material/draw:", "Play", "Draw or upload, watch it read", job_views.PLAYGROUND_PAGE),
]


# Cards of one size in a row that wraps: seven equal columns broke "Segment" into "Seg-men-t" at 1000 px, and seven
# 100-px cards in one row broke "Resam-ple" and cut off the end of its text. Four of these fit in the 820 px a
# 1280-px window leaves the page and three in a 1024-px one, with each title on one line and each text on two.
CARD_PIXELS = 170
CARD_HEIGHT_PIXELS = 125


def pipeline_row() -> None:
    """The seven steps from images to a trained reader, as a row of cards that wraps on narrow screens."""
    with st.container(horizontal=True, gap="small"):
        for number, (icon, title, text, page) in enumerate(PIPELINE, start=1):
            with st.container(border=True, width=CARD_PIXELS, height=CARD_HEIGHT_PIXELS):
                st.page_link(page, label=f"**{number}. {title}**", icon=icon)
                st.caption(text)


def quick_start() -> None:
    """Load the built-in dataset with default settings and train the default model on it in the background."""
    spec = state.default_dataset_spec()
    state.set_dataset_spec(spec)
    dataset = state.current_dataset()
    attempt = job_views.start_training(dataset, DEFAULT, QUICK_START_NAME, state.describe_spec(spec))
    attempt.show()


st.title("Captcha Lab", anchor=False)
st.markdown(
    "Teach a small neural network to **read captchas**: make or upload a set of captchas, "
    "watch them being cut into letters, train a CNN on the letters (or a sequence model that reads captchas "
    "whose letters touch) and try it on your own handwriting."
)

launch, status = st.columns([1, 1], gap="large")
with launch:
    st.subheader(":material/rocket_launch: Quick start", anchor=False)
    st.write(
        f"One click generates {DEFAULT.generate_count} {DEFAULT.difficulty} captchas and trains the default CNN "
        "on them (about half a minute). Then open the Playground."
    )
    busy = jobs.get_job().snapshot().active
    loaded = state.dataset_spec()
    # Said where the click happens, as the Data page says it: the quick start swaps the user's own data out.
    replaces = (None if loaded == state.default_dataset_spec()
                else f"Replaces the loaded data ({state.describe_spec(loaded)}) with {DEFAULT.generate_count} "
                     f"{DEFAULT.difficulty} built-in captchas.")
    if st.button("Generate data and train", type="primary", icon=":material/play_arrow:", key="quick_start", disabled=busy,
                 help=replaces):
        quick_start()
    if replaces:
        # In words under the button, not only in its tooltip: a teacher back on Home to restart the demo swapped a
        # class's own captchas out without seeing one.
        st.caption(f":material/swap_horiz: {replaces} The Data page can load yours again.")
    st.page_link(job_views.PLAYGROUND_PAGE, label="Open the Playground", icon=":material/draw:")
    st.page_link("views/data.py", label="Or look at the data first", icon=":material/dataset:")

with status:
    st.subheader(":material/info: Where you stand", anchor=False)
    st.markdown(f":material/dataset: **Dataset:** {state.describe_spec(state.dataset_spec())}")
    st.markdown(":material/inventory_2: **Trained models:**")
    # While a training runs the button is disabled, so the empty registry points at the training instead.
    empty = ("No trained models yet: the training below adds one when it finishes." if busy
             else "No trained models yet: press **Generate data and train**.")
    job_views.registry_list(empty)

# Right under the button that starts it, so the progress shows where the reader is looking.
job_views.job_panel()

st.subheader(":material/account_tree: How it works", anchor=False)
pipeline_row()
# Last, so the page is on screen first: TensorFlow loads while the reader decides what to click.
jobs.warm_up()
