"""Persistence: a model folder holds the model, its label list and metadata, written atomically."""
from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import platform
import re
import shutil
import tempfile
import time
import zipfile
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

from .config import DEFAULT, Config, Limits
from .data import DIGEST_SCHEME
from .imageio import InputRejected

LABELS_FILE = "labels.json"
METADATA_FILE = "metadata.json"
# Digests of the captchas (letters, for letter data) the model learnt from or was tuned on, so that scoring it on
# any data can leave those out. Optional: models saved before it have none.
TRAINED_ON_FILE = "trained_on.npy"
# The sequence model has its own file name, so a folder's kind can be told from its files alone.
MODEL_FILES = {"cnn": "model.keras", "forest": "model.skops", "sequence": "sequence.keras"}
# Registry names are plain words so a name can never climb out of the models folder.
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
# Only these types may come out of a forest file; anything else means the file was not written by us.
FOREST_TRUSTED_TYPES = {
    "sklearn.ensemble._forest.RandomForestClassifier",
    "sklearn.tree._classes.DecisionTreeClassifier",
    "sklearn.tree._tree.Tree",
    "numpy.dtype",
    "numpy.ndarray",
    "builtins.int",
    "builtins.float",
    "builtins.str",
    "numpy.random._generator.Generator",
}


class ModelExists(FileExistsError):
    """Saving would replace an existing model."""


class ModelDamaged(ValueError):
    """A model folder that cannot be loaded safely."""


@dataclass
class LoadedModel:
    """A classifier with the label list and metadata it travels with."""

    classifier: object
    labels: list[str]
    metadata: dict
    path: Path
    trained_on: np.ndarray | None = None  # digests of its training and validation items, when recorded

    @property
    def version(self) -> str:
        """Content hash and time of the model file: a retrained model under the same name differs."""
        return self.metadata.get("_version", "")


def library_versions() -> dict[str, str]:
    """Versions of the libraries a model depends on, for its metadata."""
    import cv2
    import sklearn

    versions = {"python": platform.python_version(), "numpy": np.__version__, "opencv": cv2.__version__, "scikit-learn": sklearn.__version__}
    # From the installed packages' records: importing TensorFlow only to read its version would cost a forest's
    # training seconds and print TensorFlow's start-up lines.
    for name, distributions in (("keras", ("keras",)), ("tensorflow", ("tensorflow", "tensorflow-cpu"))):
        for distribution in distributions:
            try:
                versions[name] = importlib.metadata.version(distribution)
                break
            except importlib.metadata.PackageNotFoundError:
                continue
    return versions


# The generator's settings. They made built-in data, which records them in data.generator; a folder's captchas
# owe them nothing, so a model trained on one does not carry defaults that played no part.
GENERATOR_SETTINGS = ("captcha_length", "alphabet", "difficulty", "generate_count")


def training_settings(config: Config, dataset) -> dict:
    """The config as it shaped this training run: without the generator's settings unless it made the data."""
    settings = config.to_dict()
    if dataset.generator is None:
        for key in GENERATOR_SETTINGS:
            settings.pop(key, None)
    return settings


def build_metadata(result, dataset, config: Config) -> dict:
    """Everything worth knowing about a training run, as JSON-able data."""
    return {
        "model_kind": config.model,
        "model_choice": getattr(result, "choice", None),
        "protocol": result.protocol,
        "config": training_settings(config, dataset),
        "seed": config.seed,
        "data": {
            "source": dataset.source,
            "kind": dataset.kind,
            "fingerprint": dataset.fingerprint(),
            "digest_scheme": DIGEST_SCHEME,  # how trained_on.npy's digests were made
            "n_captchas": len(dataset.texts),
            "n_letters": len(dataset.letters),
            "segmentation_yield": dataset.segmentation_yield,
            "captcha_lengths": dataset.lengths,
            "generator": dataset.generator,
            "image_sizes": image_sizes(dataset.images),
        },
        "captcha_length": dataset.lengths[0] if len(dataset.lengths) == 1 else None,
        # The lengths a sequence model keeps its readings to: those of its training captchas, not the whole set's.
        "reading_lengths": list(getattr(result.classifier, "lengths_", None) or []),
        # A sequence model reads strips made as it was trained on; those saved before this key took them unturned.
        "turns_strips_round": bool(getattr(result.classifier, "turns_round_", False)),
        # ...and from crops around the text when that was small in its training images (absent: whole images).
        "crops_to_text": bool(getattr(result.classifier, "crops_", False)),
        "letter_size": int(dataset.letters.images.shape[1]),
        "split_sizes": result.split.sizes(),
        "class_counts_before": result.resampled.before,
        "class_counts_after": result.resampled.after,
        "resample_target": result.resampled.target,
        "metrics": result.report.to_dict(),
        "history": result.history,
        "seconds": result.seconds,
        "libraries": library_versions(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def image_sizes(images: list[np.ndarray]) -> dict | None:
    """The smallest and largest height, and width for each height, of the captchas: what `solve` compares with."""
    if not images:
        return None  # letter folders
    heights = [im.shape[0] for im in images]
    aspects = [im.shape[1] / im.shape[0] for im in images]
    return {"height": [min(heights), max(heights)], "aspect": [round(min(aspects), 3), round(max(aspects), 3)]}


def learnt_digests(result, dataset) -> np.ndarray:
    """The sorted digests of every captcha (letter, for letter data) outside a training run's test split."""
    digests = dataset.content_digests()
    if result.protocol != "honest":
        return np.unique(digests)  # the leaky protocol trained on copies of its test letters too
    held_out = result.split.test_captchas if dataset.is_captchas else result.split.test
    return np.unique(np.delete(digests, held_out))


def save_training(result, dataset, out: str | os.PathLike, overwrite: bool = False) -> Path:
    """Save a training run's model with its label list, its metadata and the digests of what it learnt from."""
    labels = [str(c) for c in result.classifier.classes_]
    metadata = build_metadata(result, dataset, result.config)  # auto resolved: the kind actually trained
    return save_model(result.classifier, labels, metadata, out, overwrite, trained_on=learnt_digests(result, dataset))


def save_model(classifier, labels: list[str], metadata: dict, out: str | os.PathLike, overwrite: bool = False,
               trained_on: np.ndarray | None = None) -> Path:
    """Write the model folder under a temporary name in the same parent, then rename it into place."""
    out = Path(out)
    if out.exists() and not overwrite:
        raise ModelExists(f"{out} already exists; choose another name or pass --overwrite")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        write_model_file(classifier, tmp / MODEL_FILES[classifier.kind])
        write_json(tmp / LABELS_FILE, list(labels))
        write_json(tmp / METADATA_FILE, metadata)
        if trained_on is not None:
            write_digests(tmp / TRAINED_ON_FILE, trained_on)
        if out.exists():
            # Move the old folder aside first so the swap leaves either the old or the new model, never half.
            backup = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".old", dir=out.parent))
            os.replace(out, backup / out.name)
            os.replace(tmp, out)
            shutil.rmtree(backup, ignore_errors=True)
        else:
            os.rename(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def write_model_file(classifier, path: Path) -> None:
    """Save the underlying Keras or scikit-learn model to `path`."""
    if classifier.kind in ("cnn", "sequence"):
        classifier.model_.save(path)
    else:
        import skops.io

        skops.io.dump(classifier.model_, path)


def write_json(path: Path, data) -> None:
    """Write JSON and flush it to disk before the folder is renamed into place."""
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2, default=_json_default)
        fh.flush()
        os.fsync(fh.fileno())


def write_digests(path: Path, digests: np.ndarray) -> None:
    """Write the learnt-from digests as a plain .npy array and flush it, as write_json does."""
    with open(path, "wb") as fh:
        np.save(fh, np.asarray(digests, np.uint64), allow_pickle=False)
        fh.flush()
        os.fsync(fh.fileno())


def read_digests(folder: Path, limits: Limits = DEFAULT.limits) -> np.ndarray | None:
    """The learnt-from digests of a model folder, None for a model saved before they were recorded."""
    path = folder / TRAINED_ON_FILE
    if not path.exists() and not path.is_symlink():
        return None
    path = model_part(folder, TRAINED_ON_FILE)
    damaged = ModelDamaged(f"{folder.name}: model file is damaged ({TRAINED_ON_FILE} is not a list of digests)")
    if path.stat().st_size > limits.max_trained_on_bytes:
        raise damaged
    try:
        digests = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError):
        raise damaged from None
    # A zip file loads as an NpzFile, not an array.
    if not isinstance(digests, np.ndarray) or digests.dtype != np.uint64 or digests.ndim != 1:
        raise damaged
    return digests


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def file_version(path: Path) -> str:
    """A content hash plus modification time, the cache key of a model file."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    return f"{digest}-{path.stat().st_mtime_ns}"


def load_model(folder: str | os.PathLike) -> LoadedModel:
    """Load a model folder in safe mode: no Lambda layers, no pickles, a clear error when damaged."""
    folder = Path(folder)
    if not folder.exists():
        raise InputRejected(f"{folder}: no such model folder")
    if folder.is_symlink() or not folder.is_dir():
        raise InputRejected(f"{folder}: not a model folder")
    if not any((folder / name).exists() for name in (LABELS_FILE, METADATA_FILE, *MODEL_FILES.values())):
        # A folder of captchas, say, named where the model goes: nothing of a model in it, so nothing damaged.
        raise InputRejected(f"{folder}: not a model folder (no {METADATA_FILE}, {LABELS_FILE} or model file in it)")
    labels = read_model_json(folder, LABELS_FILE, list)
    metadata = read_model_json(folder, METADATA_FILE, dict)
    kind = metadata.get("model_kind")
    if kind not in MODEL_FILES:
        raise ModelDamaged(f"{folder.name}: model file is damaged (unknown model kind {kind!r})")
    model_path = model_part(folder, MODEL_FILES[kind])
    metadata["_version"] = file_version(model_path)
    sequence = partial(read_sequence, lengths=reading_lengths(metadata),
                       turns_round=bool(metadata.get("turns_strips_round", False)),
                       crops=bool(metadata.get("crops_to_text", False)))
    readers = {"cnn": read_cnn, "forest": read_forest, "sequence": sequence}
    classifier = readers[kind](model_path, labels)
    return LoadedModel(classifier, [str(x) for x in labels], metadata, folder, read_digests(folder))


def reading_lengths(metadata: dict) -> tuple[int, ...]:
    """The captcha lengths a model reads: a sequence model's own, else those of its training captchas."""
    # Models saved before a sequence model's own lengths were recorded fall back on those of their whole data set.
    return tuple(metadata.get("reading_lengths") or (metadata.get("data") or {}).get("captcha_lengths") or ())


def model_part(folder: Path, name: str) -> Path:
    """The path of one file of a model folder, or ModelDamaged when it is missing. A link counts as missing: the
    app never writes one."""
    path = folder / name
    if path.is_symlink() or not path.is_file():
        raise ModelDamaged(f"{folder.name}: model folder is incomplete ({name} is missing)")
    return path


def read_model_json(folder: Path, name: str, shape: type):
    """One of the model folder's JSON files, which must hold a `shape` (list or dict), or ModelDamaged saying
    which file is missing, unreadable or of the wrong shape."""
    path = model_part(folder, name)
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise ModelDamaged(f"{folder.name}: model file is damaged ({name} is not readable JSON)") from None
    if not isinstance(content, shape):
        raise ModelDamaged(f"{folder.name}: model file is damaged ({name} holds a {type(content).__name__}, not a "
                           f"{shape.__name__})")
    return content


def read_cnn(path: Path, labels: list[str]):
    """Load the letter CNN's .keras file safely and check it has one output per label."""
    from .models import CnnClassifier

    model = read_keras_safely(path)
    if model.output_shape[-1] != len(labels):
        raise ModelDamaged(f"{path.parent.name}: model file is damaged ({model.output_shape[-1]} outputs, {len(labels)} labels)")
    classifier = CnnClassifier()
    classifier.model_ = model
    classifier.classes_ = np.asarray(labels)
    return classifier


def read_sequence(path: Path, labels: list[str], lengths=(), turns_round: bool = False, crops: bool = False):
    """Load the sequence model's .keras file safely; it has one output per label plus CTC's blank."""
    from .sequence import SequenceClassifier

    model = read_keras_safely(path)
    if len(model.output_shape) != 3 or model.output_shape[-1] != len(labels) + 1:
        raise ModelDamaged(f"{path.parent.name}: model file is damaged (outputs {model.output_shape}, {len(labels)} labels + blank)")
    return SequenceClassifier.from_model(model, labels, lengths=lengths, turns_round=turns_round, crops=crops)


def read_keras_safely(path: Path):
    """Load a .keras file with safe_mode on, refusing anything that fails to load cleanly."""
    from .models import configure_tensorflow

    # Before TensorFlow is imported, which a file that is no model at all need not wait for. Keras would call it
    # "File not found", though it is there.
    if not zipfile.is_zipfile(path):
        raise ModelDamaged(f"{path.parent.name}: model file is damaged ({path.name} is not a Keras model file)")
    configure_tensorflow()
    import keras

    try:
        model = keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as exc:  # Keras raises many types for bad files; all mean the same to a user.
        reason = "it uses code we do not load (Lambda layer or custom object)" if "safe_mode" in str(exc) or "Lambda" in str(exc) else str(exc).splitlines()[0][:200]
        raise ModelDamaged(f"{path.parent.name}: model file is damaged or unsafe: {reason}") from None
    return model


def read_forest(path: Path, labels: list[str]):
    """Load a forest with skops, trusting only the scikit-learn types a forest is made of."""
    import skops.io

    from .models import ForestClassifier

    try:
        untrusted = set(skops.io.get_untrusted_types(file=path))
        unexpected = untrusted - FOREST_TRUSTED_TYPES
        if unexpected:
            raise ModelDamaged(f"{path.parent.name}: model file is damaged or unsafe: unexpected types {sorted(unexpected)}")
        model = skops.io.load(path, trusted=sorted(untrusted))
    except ModelDamaged:
        raise
    except Exception as exc:
        raise ModelDamaged(f"{path.parent.name}: model file is damaged ({str(exc).splitlines()[0][:200]})") from None
    classifier = ForestClassifier()
    classifier.model_ = model
    classifier.classes_ = model.classes_
    return classifier


@dataclass
class ModelEntry:
    """One row of the registry listing."""

    name: str
    path: Path
    metadata: dict


def list_models(root: str | os.PathLike) -> list[ModelEntry]:
    """Models this app wrote under `root`: valid names, real folders, with metadata; newest first."""
    root = Path(root)
    if not root.is_dir():
        return []
    entries = []
    for child in root.iterdir():
        if not NAME_PATTERN.match(child.name) or child.is_symlink() or not child.is_dir():
            continue
        meta_path = child / METADATA_FILE
        if meta_path.is_symlink() or not meta_path.is_file():
            continue
        try:
            metadata = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            metadata = {"damaged": True}
        entries.append(ModelEntry(child.name, child, metadata))
    return sorted(entries, key=lambda e: e.metadata.get("created", ""), reverse=True)


def check_name(name: str) -> str:
    """Validate a registry name, so it stays a single folder inside the models folder."""
    if not NAME_PATTERN.match(name or ""):
        raise InputRejected(f"{name!r} is not a valid model name: use letters, digits, '-', '_' or '.', up to 64 characters")
    return name


def next_free_name(root: str | os.PathLike, name: str) -> str:
    """`name`, or `name-2`, `name-3`... whichever does not exist yet."""
    root = Path(root)
    candidate, n = name, 2
    while (root / candidate).exists():
        candidate, n = f"{name}-{n}", n + 1
    return candidate


def model_zip_bytes(folder: str | os.PathLike) -> bytes:
    """A registry model folder (model file, labels, metadata) as zip bytes built in memory, for downloading."""
    import io
    import zipfile

    folder = Path(folder)
    wanted = [*MODEL_FILES.values(), LABELS_FILE, METADATA_FILE, TRAINED_ON_FILE]
    files = [folder / name for name in wanted if (folder / name).is_file() and not (folder / name).is_symlink()]
    if not any(f.name in MODEL_FILES.values() for f in files):
        raise ModelDamaged(f"{folder.name}: model file is damaged (no model file to download)")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            archive.write(path, f"{folder.name}/{path.name}")
    return buffer.getvalue()
