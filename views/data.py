"""Data: choose where the captchas come from, look at them, and see the split and the class balance."""
from pathlib import Path

import streamlit as st

from captcha_core.data import DatasetError
from captcha_core.generator import DIFFICULTIES, alphabet_problem, describe_levels
from captcha_core.imageio import InputRejected
from captcha_core.resample import STRATEGIES
from lab_ui import data_views, state
from lab_ui.data_links import LENGTH_RANGE, SEED_MAX, count_problem, upload_link_name
from lab_ui.uploads import discard_upload, keep_upload, upload_path
from lab_ui.workspace import FOLDERS_VARIABLE, folder_allowed, folder_roots

SOURCES = {"generated": "Built-in generator", "zip": "Upload a .zip", "folder": "Folder on the server"}
COUNT_STEP = 100
STRATEGY_HELP = {
    "bootstrap": "copy rare letters until every class has the target",
    "downsample": "drop common letters until every class has the target",
    "none": "train on the split as it is",
}


def generator_controls(spec: dict) -> None:
    """Generator settings in a form: they apply when the button is pressed, since a hard set of thousands takes
    many seconds to draw and cut, and each step of the count would otherwise start it again. Coming from an
    upload or a folder, the same button says it replaces them, so looking at this tab keeps the user's data."""
    loaded = spec["kind"] == "generated"
    current = spec if loaded else state.last_spec("generated") or state.default_dataset_spec()
    with st.form("generator", border=False):
        # The difficulty takes a row of its own: beside the numbers, a 1000-px window with the sidebar open cut
        # off "hard" and "lined".
        difficulty = st.segmented_control(
            "Difficulty", DIFFICULTIES, default=current["difficulty"], required=True, key="gen_difficulty",
            help=describe_levels(" · "),
        )
        cols = st.columns([1, 1, 2, 1])
        # No bounds on the widget itself: it would drop an out-of-range number with only a tooltip to say so.
        count = cols[0].number_input("Captchas", value=current["count"], step=COUNT_STEP, key="gen_count")
        length = cols[1].number_input("Length", *LENGTH_RANGE, value=current["length"], key="gen_length")
        alphabet = cols[2].text_input("Alphabet", value=current["alphabet"], key="gen_alphabet").strip()
        seed = cols[3].number_input("Seed", min_value=0, max_value=SEED_MAX, value=current["seed"], key="gen_seed")
        button, note = st.columns([2, 3], vertical_alignment="center")
        submitted = button.form_submit_button(
            "Generate" if loaded else "Use these generated captchas",
            icon=":material/casino:" if loaded else ":material/swap_horiz:", key="use_generator",
            help=None if loaded else f"Replaces the loaded data ({state.describe_spec(spec)}).",
        )
        note.caption("Changes apply when you press the button (or Enter in a box).")
    if not submitted:
        return
    problem = count_problem(int(count)) or alphabet_problem(alphabet)
    if problem:
        st.error(problem, icon=":material/error:")
        return
    state.set_dataset_spec(
        {"kind": "generated", "difficulty": difficulty, "count": int(count), "length": int(length),
         "alphabet": alphabet, "seed": int(seed)}
    )


def zip_controls(spec: dict) -> None:
    """An upload; it becomes the session's dataset as its load starts, and the earlier data comes back if it fails."""
    upload = st.file_uploader(
        "A .zip of labelled captchas (abcd.png, abcd_2.png, ... or any names with a labels.csv of file,text rows) "
        "or of letter folders (a/1.png, b/7.png, ...)",
        type=["zip"], key="data_zip",
    )
    if upload is None:
        earlier = state.last_spec("zip")
        if spec["kind"] == "zip":
            st.caption(f"Still using the earlier upload {spec['name']}.")
        elif earlier and st.button(f"Use {earlier['name']} again", icon=":material/history:", key="use_earlier_zip"):
            state.set_dataset_spec(earlier)
        return
    name, digest = upload_link_name(upload.name), state.upload_digest_of(upload)
    same = spec.get("kind") == "zip" and spec.get("name") == name and spec.get("digest") == digest
    if same and upload_path(digest):
        return
    try:
        # Kept on disk, and named by its digest in the page's link, so a reload of the tab finds it again. The same
        # file uploaded again after the server pruned it is kept again.
        _, new = keep_upload(upload.getvalue())
    except OSError as exc:  # a full disk, say
        st.error(f"Could not keep that zip on the server. {exc}", icon=":material/error:")
        return
    if not use_if_it_loads({"kind": "zip", "digest": digest, "name": name}, "zip") and new:
        discard_upload(digest)  # left in the uploader, it would otherwise push out uploads that do load


def folder_controls(spec: dict) -> None:
    """A folder path on the server, loaded when the button is pressed."""
    roots = folder_roots(st.get_option("server.address"))
    if roots == []:
        st.info(f"This server is open to the network, so it reads no folders: anyone who reaches it could show any "
                f"image on this computer. To allow some, start it with `{FOLDERS_VARIABLE}` set to them, e.g. "
                f"`{FOLDERS_VARIABLE}=/data/captchas ./run.sh --server.address 0.0.0.0`. Uploading a .zip still works.",
                icon=":material/lock:")
        return
    default = (spec if spec["kind"] == "folder" else state.last_spec("folder") or {}).get("path", "")
    # A form, so that Enter in the box loads the folder as the button does (the generator's boxes work so too).
    with st.form("folder", border=False):
        path_col, button_col = st.columns([3, 1], vertical_alignment="bottom")  # room for "Load folder" at 1000 px
        path = path_col.text_input("Folder on the server", value=default, key="data_folder",
                                   placeholder="/data/captchas",
                                   help=None if roots is None else f"Inside {' or '.join(map(str, roots))}.").strip()
        pressed = button_col.form_submit_button("Load folder", icon=":material/folder_open:", key="load_folder")
    if not pressed:
        return
    if not path:
        st.error("Type the path of a folder first.", icon=":material/error:")
        return
    if not folder_allowed(path, roots):
        st.error(f"This server reads folders only inside {' or '.join(map(str, roots))} (set by `{FOLDERS_VARIABLE}`).",
                 icon=":material/lock:")
        return
    if Path(path).is_file() and Path(path).suffix.lower() != ".zip":  # a zip on the server reads like a folder
        st.error(f"{path} is a file, not a folder. Name the folder (or .zip) that holds the captchas.",
                 icon=":material/error:")
        return
    use_if_it_loads({"kind": "folder", "path": path}, "folder")


def use_if_it_loads(spec: dict, what: str) -> bool:
    """Make `spec` the session's data and load it; keep the earlier data, and say why, if it does not load."""
    state.try_dataset_spec(spec)
    try:
        state.current_dataset(announce=False)  # on failure it switches back by itself, and this page says why
    except (InputRejected, DatasetError, OSError) as exc:
        st.error(f"Could not use that {what}. {exc}", icon=":material/error:")  # the reason names the file or path
        return False
    return True


def resampling_controls() -> None:
    """Resampling options, shared with the Train page."""
    options = state.training_options()
    left, right = st.columns([3, 2])  # [2, 1, 2] cut off "None" at 1000 px
    strategy = left.segmented_control(
        "Resampling of the training split", STRATEGIES, default=options["resample"], required=True, key="data_resample",
        format_func=str.capitalize, help=" · ".join(f"{k}: {v}" for k, v in STRATEGY_HELP.items()),
    )
    target = right.number_input(
        "Letters per class", min_value=1, value=options["per_class"], placeholder="auto", key="data_per_class",
        disabled=strategy == "none", help="Empty: the largest class for bootstrap, the smallest for downsample.",
    )
    state.update_training_options(resample=strategy, per_class=None if target is None else int(target))


st.title("Data", anchor=False)
st.caption("Where the captchas come from, how they are cut into letters, and how the letters are split and balanced.")

spec = state.dataset_spec()
source = st.segmented_control(
    "Source", list(SOURCES), format_func=SOURCES.get, default=spec["kind"], required=True, key="data_source"
)
with st.container(border=True):
    {"generated": generator_controls, "zip": zip_controls, "folder": folder_controls}[source](spec)

spec = state.dataset_spec()
try:
    # Loaded before the line naming it, so that line never names new data above the old data's pictures.
    dataset = state.current_dataset()
except (InputRejected, DatasetError, OSError) as exc:
    if state.dataset_spec() == spec:
        st.error(f"The dataset could not be loaded: {exc}", icon=":material/error:")
        st.stop()
    # A folder or zip on trial failed (a toast said why) and the earlier data is back: show that.
    spec = state.dataset_spec()
    dataset = state.current_dataset()
st.markdown(f":material/dataset: **Loaded:** {state.describe_spec(spec)}")
if dataset.labels_from:
    st.caption(f"Texts read from {dataset.labels_from}.")

trainable = data_views.summary(dataset, state.training_config())
data_views.skipped_report(dataset)
if len(dataset.letters):
    data_views.letter_gallery(dataset)
if dataset.is_captchas:
    data_views.segmentation_preview(dataset)

st.subheader(":material/balance: Split and class balance", anchor=False)
resampling_controls()
if not trainable:  # one reason, said once: the warning under the figures at the top
    st.caption("No split to show: this data cannot train a model yet (see the warning at the top).")
else:
    try:
        data_views.balance_section(dataset, state.training_config())
    except (DatasetError, ValueError) as exc:
        st.warning(f"This data cannot be split yet: {exc}", icon=":material/warning:")
st.page_link("views/train.py", label="Train a model on this data", icon=":material/model_training:")
