"""Session-state owners: each piece of state has one helper that sets its default and returns it."""
from __future__ import annotations

import secrets

import streamlit as st

from captcha_core.choice import AUTO
from captcha_core.config import DEFAULT, NETWORK_FIELDS, network_settings, with_network_settings
from captcha_core.data import Dataset, DatasetError
from captcha_core.imageio import InputRejected

from . import cache
from .data_links import LINK_KEYS, spec_from_link, spec_to_link
from .uploads import upload_digest, use_upload
from .workspace import folder_roots

# Seeds of the Playground's random samples are drawn below this.
SAMPLE_SEED_LIMIT = 2**31

# The data a session had before its newest folder or zip, until that one has loaded once.
BEFORE_TRIAL = "dataset_before_trial"


def default_dataset_spec() -> dict:
    """The built-in generator with the configuration's defaults."""
    return {
        "kind": "generated",
        "difficulty": DEFAULT.difficulty,
        "count": DEFAULT.generate_count,
        "length": DEFAULT.captcha_length,
        "alphabet": DEFAULT.alphabet,
        "seed": DEFAULT.seed,
    }


def dataset_spec() -> dict:
    """Which dataset this session works on: at first the one the page's link names, else the generator's defaults."""
    if "dataset_spec" not in st.session_state:
        st.session_state["dataset_spec"] = default_dataset_spec()
        open_linked_data()
    spec = st.session_state["dataset_spec"]
    st.session_state.setdefault("last_specs", {}).setdefault(spec["kind"], spec)
    return spec


def open_linked_data() -> None:
    """A new session (a reloaded tab, a shared link) takes the data its link names, on trial: if it does not load,
    the session keeps the defaults and a toast says why."""
    params = linked_params()
    if not params:
        return
    linked = spec_from_link(params, folder_roots(st.get_option("server.address")))
    if linked is None:  # its values are not repeated: anyone can write a link
        st.toast("The data this page's link names is no longer here or may not be opened on this server, so the "
                 "built-in captchas are loaded instead.", icon=":material/link_off:")
        return
    try_dataset_spec(linked)


def linked_params() -> dict[str, str]:
    """The page link's parameters that name data."""
    return {key: st.query_params[key] for key in LINK_KEYS if key in st.query_params}


def keep_data_in_link() -> None:
    """Name this session's data in the page's link (nothing for the defaults), so a reload keeps it."""
    spec = dataset_spec()
    wanted = {} if spec == default_dataset_spec() else spec_to_link(spec)
    if linked_params() != wanted:
        for key in LINK_KEYS:
            if key in st.query_params and key not in wanted:
                del st.query_params[key]
        st.query_params.update(wanted)


def set_dataset_spec(spec: dict) -> None:
    """Switch this session to another dataset, remembered as the last one of its kind."""
    st.session_state.pop(BEFORE_TRIAL, None)  # a choice made since a trial began replaces what it would restore
    st.session_state["dataset_spec"] = spec
    st.session_state.setdefault("last_specs", {})[spec["kind"]] = spec
    keep_data_in_link()


def try_dataset_spec(spec: dict) -> None:
    """Switch to `spec` before it loads, so that leaving the page during a long load keeps the new data (the next
    page follows the same load); current_dataset() switches back if it fails to load, on whichever page."""
    # A second try while the first is still loading keeps the data from before both: the first never loaded.
    before = st.session_state.get(BEFORE_TRIAL) or (dataset_spec(), dict(st.session_state.get("last_specs", {})))
    set_dataset_spec(spec)
    st.session_state[BEFORE_TRIAL] = before


def current_dataset(announce: bool = True) -> Dataset:
    """The dataset the spec names, from the cache. A folder or zip on trial that fails to load gives the session
    its earlier data back (with a toast when `announce`) before the error goes on to the page."""
    spec = dataset_spec()
    try:
        dataset = load_spec(spec)
    except (InputRejected, DatasetError, OSError) as exc:
        trial = st.session_state.pop(BEFORE_TRIAL, None)
        if trial is not None:
            st.session_state["dataset_spec"], st.session_state["last_specs"] = trial
            keep_data_in_link()
            if announce:
                st.toast(f"Could not use the {describe_spec(spec)}: {exc}. Back to the {describe_spec(trial[0])}.",
                         icon=":material/error:")
        raise
    st.session_state.pop(BEFORE_TRIAL, None)
    return dataset


def last_spec(kind: str) -> dict | None:
    """The last dataset of this kind (generated, zip, folder) the session used, so a source keeps its settings."""
    return st.session_state.setdefault("last_specs", {}).get(kind)


def load_spec(spec: dict) -> Dataset:
    """The dataset a spec names, from the cache."""
    if spec["kind"] == "zip":
        use_upload(spec["digest"])  # a cache hit reads no file: without this, pruning would take an upload in use
        return cache.zip_dataset(spec["digest"], spec["name"])
    if spec["kind"] == "folder":
        return cache.folder_dataset(spec["path"])
    return cache.generated_dataset(spec["difficulty"], spec["count"], spec["length"], spec["alphabet"], spec["seed"])


def describe_spec(spec: dict) -> str:
    """A one-line description of a dataset spec for status lines."""
    # Names as code: shown to other sessions too (the sidebar's training note), they must not be read as Markdown.
    if spec["kind"] == "zip":
        return f"uploaded zip {as_code(spec['name'])}"
    if spec["kind"] == "folder":
        return f"server folder {as_code(spec['path'])}"
    return (f"built-in generator: {spec['count']:,} {spec['difficulty']} captchas, length {spec['length']}, "
            f"alphabet {spec['alphabet']}, seed {spec['seed']}")


def as_code(text: str) -> str:
    """`text` as inline code, which Markdown shows as it is (a backtick in it would end the code, so it goes)."""
    return f"`{text.replace('`', '')}`"


def upload_digest_of(upload) -> str:
    """The digest of a file in an uploader, worked out once per file rather than on every rerun of its page."""
    digests = st.session_state.setdefault("upload_digests", {})
    if upload.file_id not in digests:
        digests.clear()  # only the file the uploader holds now is asked for again
        digests[upload.file_id] = upload_digest(upload.getvalue())
    return digests[upload.file_id]


def selected_model() -> str | None:
    """The registry model this session looks at in Evaluate and Playground (newest by default)."""
    names = [entry.name for entry in cache.registry()]
    current = st.session_state.get("model_name")
    if current not in names:
        current = names[0] if names else None
        st.session_state["model_name"] = current
    return current


def is_selected(name: str) -> bool:
    """Whether Evaluate and the Playground look at this model, without choosing a default as selected_model does."""
    return st.session_state.get("model_name") == name


def select_model(name: str) -> None:
    st.session_state["model_name"] = name


def training_options() -> dict:
    """The session's training settings (shared by Data's resampling preview and Train); config defaults at first.

    Each network kind keeps its own epochs, batch size and rate under "networks", so switching the model
    shows that model's settings instead of carrying the CNN's 10 epochs over to the sequence model.
    """
    return st.session_state.setdefault("training_options", default_training_options())


def default_training_options() -> dict:
    """The training settings a session starts with: the configuration's defaults, as `train` uses them."""
    return {
        # The dashboard lets the data choose, as `train` does: auto picks cnn or sequence from the cut yield.
        "model": AUTO,
        "networks": {kind: network_settings(DEFAULT, kind) for kind in NETWORK_FIELDS},
        "resample": DEFAULT.resample,
        "per_class": DEFAULT.per_class,
        "seed": DEFAULT.seed,
        "time_limit": DEFAULT.time_limit_minutes,
        "name": "model",
    }


# The widgets that show the training settings, on the Train page and the Data page's resampling.
TRAINING_WIDGETS = ("train_model", "train_time_limit", "train_resample", "train_per_class", "train_seed", "train_name",
                    "data_resample", "data_per_class")
NETWORK_WIDGETS = ("train_epochs_", "train_batch_", "train_rate_")


def reset_training_options() -> None:
    """Back to the default training settings, widgets included (a callback: it runs before they are drawn)."""
    st.session_state["training_options"] = default_training_options()
    for key in [*TRAINING_WIDGETS, *(prefix + kind for prefix in NETWORK_WIDGETS for kind in NETWORK_FIELDS)]:
        st.session_state.pop(key, None)


def update_training_options(**changes) -> None:
    """Change some training settings of this session."""
    training_options().update(changes)


def update_network_options(kind: str, **settings) -> None:
    """Change one network kind's epochs, batch size or learning rate for this session."""
    training_options()["networks"][kind].update(settings)


def training_config():
    """The pipeline Config these settings describe, on top of the defaults (a None target keeps the default)."""
    options = training_options()
    config = DEFAULT.with_(**{key: options[key] for key in ("model", "resample", "per_class", "seed")},
                           time_limit_minutes=options.get("time_limit"))  # a session from before the setting existed
    for kind, settings in options["networks"].items():
        config = with_network_settings(config, kind, **settings)
    return config


def started_job() -> int | None:
    """The id of the last training job this session started, so its result can be picked for it."""
    return st.session_state.get("started_job")


def remember_started_job(job_id: int) -> None:
    """Note that this session started the given job."""
    st.session_state["started_job"] = job_id
    st.session_state.pop("adopted_job", None)


def follows_job(job_id: int, active: bool) -> bool:
    """Whether this session shows the server's job: while it runs, and once it ended, only to the sessions that
    started it or saw it running. A tab opened later would otherwise greet its user with someone's old outcome."""
    if active:
        st.session_state["watched_job"] = job_id
        return True
    if st.session_state.get("dismissed_job") == job_id:
        return False
    return job_id in (started_job(), st.session_state.get("watched_job"))


def dismiss_job(job_id: int) -> None:
    """Stop showing a finished job's outcome in this session; its model stays in the registry."""
    st.session_state["dismissed_job"] = job_id


def adopt_finished_job(job_id: int, model_name: str) -> None:
    """Select a finished job's model for this session once, so Evaluate and Playground show the new model."""
    if st.session_state.get("adopted_job") != job_id:
        st.session_state["adopted_job"] = job_id
        select_model(model_name)


def preview_draw() -> int:
    """Which handful of captchas the Data page's segmentation preview shows: 0 at first, one more per click."""
    return st.session_state.setdefault("preview_draw", 0)


def next_preview_draw() -> None:
    """Show another handful of captchas in the segmentation preview."""
    st.session_state["preview_draw"] = preview_draw() + 1


def clicked_cell(matrix: str) -> tuple[str, str] | None:
    """The cell last clicked in this confusion matrix, kept across page switches (which clear the chart's own)."""
    cell = st.session_state.setdefault("clicked_cells", {}).get(matrix)
    return tuple(cell) if cell else None


def keep_clicked_cell(matrix: str, cell: tuple[str, str] | None) -> None:
    """Remember (or, with None, forget) the cell clicked in this confusion matrix."""
    st.session_state.setdefault("clicked_cells", {})[matrix] = cell


def inside_letter() -> str | None:
    """The Playground's "Look inside" letter last chosen, kept across page switches (which clear the widget's)."""
    return st.session_state.get("inside_kept")


def keep_inside_letter(choice: str) -> None:
    """Remember the letter "Look inside" shows."""
    st.session_state["inside_kept"] = choice


def drawing_to_restore(widget_key: str) -> dict | None:
    """The drawing the Playground's canvas starts from: on a visit, the last one drawn before the page was left.

    Streamlit forgets a widget's state when its page is left. Within one visit the canvas must get the very same
    starting drawing on every run: a change redraws it, and None empties it."""
    if widget_key not in st.session_state:
        st.session_state["drawing_start"] = st.session_state.get("kept_drawing")
    return st.session_state.get("drawing_start")


def kept_drawing(drawing: dict, image):
    """The canvas's drawing, kept for the next visit to the page, and its picture: the one the canvas sent, or on a
    visit's first run, before the canvas has sent any (its drawing is then the one it was given), the picture kept
    with the drawing it restores."""
    if image is not None:
        st.session_state["kept_drawing"], st.session_state["kept_drawing_image"] = drawing, image
        return image
    return st.session_state.get("kept_drawing_image") if st.session_state.get("drawing_start") else None


def sample_seed() -> int:
    """The seed of the Playground's random sample: one per session until the user asks for another."""
    return st.session_state.setdefault("sample_seed", secrets.randbelow(SAMPLE_SEED_LIMIT))


def new_sample_seed() -> None:
    """Draw another random sample."""
    st.session_state["sample_seed"] = secrets.randbelow(SAMPLE_SEED_LIMIT)


def playground_tab(tabs: list[str]) -> str:
    """The Playground tab this session last chose, the first one at first."""
    chosen = st.session_state.setdefault("playground_tab", tabs[0])
    return chosen if chosen in tabs else tabs[0]


def remember_playground_tab(key: str) -> None:
    """Keep the tab just chosen in the tabs widget `key`, for the next visit to the page."""
    st.session_state["playground_tab"] = st.session_state[key]


def kept_uploads(key: str, files) -> list[tuple[str, bytes]]:
    """The (name, bytes) of the files in uploader `key`; while it is empty, the ones it last held.

    Streamlit empties an uploader when its page is left, and a class that switches to Evaluate and back should
    find its captchas still read. forget_uploads(key) lets them go.
    """
    kept = st.session_state.setdefault("kept_uploads", {})
    if files:
        kept[key] = [(file.name, file.getvalue()) for file in files]
    return kept.get(key, [])


def forget_uploads(key: str) -> None:
    """Drop what kept_uploads holds for this uploader."""
    st.session_state.setdefault("kept_uploads", {}).pop(key, None)


def forget_uploads_if_emptied(key: str) -> None:
    """The uploader's on_change: when the user removes its last file, let the kept copies go too (a page switch
    empties it without calling this)."""
    if not st.session_state.get(key):
        forget_uploads(key)
