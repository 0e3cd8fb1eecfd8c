"""Models: the seed's CNN (with its missing Flatten) and a random-forest baseline, behind one interface."""
from __future__ import annotations

import contextlib
import math
import os
import sys
import tempfile
import threading
from typing import Callable

import numpy as np

from .config import DEFAULT, Config

MODEL_KINDS = ("cnn", "forest", "sequence")


def reads_whole(classifier) -> bool:
    """True for the sequence model, which reads captchas whole instead of letter by letter."""
    return getattr(classifier, "kind", None) == "sequence"


def captcha_readings(history: dict[str, list[float]]) -> tuple[str, list[float]]:
    """The per-epoch share of captchas a sequence model read right, and on which split: validation, or training
    when there is no validation split."""
    if history.get("val_accuracy"):
        return "validation", history["val_accuracy"]
    return "training", history.get("accuracy") or []


def never_read(history: dict[str, list[float]]) -> bool:
    """True when a sequence model has finished epochs but read no captcha right, on validation (or, without a
    validation split, training) captchas: CTC's start, where it outputs only blanks."""
    read = captcha_readings(history)[1]
    return bool(read) and max(read) == 0


_TF_IMPORT_LOCK = threading.Lock()


@contextlib.contextmanager
def import_chatter_hidden():
    """Hold back TensorFlow's C++ start-up lines (oneDNN notices that TF_CPP_MIN_LOG_LEVEL no longer filters) from
    the command line's terminal, where students read the progress; if the import fails, they are written out after
    all, since they may say why.

    Only on the main thread, the command line's: the dashboard imports from a worker thread, and sending the
    server's stderr elsewhere for those seconds could hide another thread's message.
    """
    if threading.current_thread() is not threading.main_thread() or sys.stderr is None:
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real file descriptor 2 to move aside
        yield
        return
    failed = False
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        except BaseException:
            failed = True
            raise
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            if failed:
                held.seek(0)
                os.write(2, held.read())


def configure_tensorflow() -> None:
    """Import TensorFlow and Keras once, under a lock, with thread settings suited to a small CPU-only machine.

    Two threads importing Keras at once (the dashboard warms it up in the background while a student
    may already press Train) can see a half-initialised module; every TensorFlow user calls this first.
    """
    with _TF_IMPORT_LOCK:
        if getattr(configure_tensorflow, "done", False):
            return
        with import_chatter_hidden():
            import keras  # noqa: F401  (imported here so no thread ever sees it half-initialised)
            import tensorflow as tf

        cores = os.cpu_count() or 1
        try:
            # Both pools sized to the cores: more threads than cores only adds context switches.
            tf.config.threading.set_intra_op_parallelism_threads(cores)
            tf.config.threading.set_inter_op_parallelism_threads(min(cores, 2))
        except RuntimeError:
            pass  # TensorFlow was already initialised by someone else; its settings stand.
        configure_tensorflow.done = True


def build_cnn(input_shape: tuple[int, int, int], n_classes: int, config: Config = DEFAULT):
    """Build the seed's CNN: Conv 20@6x6, MaxPool 3, Conv 15@3x3, MaxPool 3, Flatten, Dense 300, softmax."""
    configure_tensorflow()
    import keras
    from keras import layers

    inputs = keras.Input(shape=input_shape, name="letter")
    # Inputs are raw 0..255 gray with dark ink; inverting makes ink the signal and blank paper zero.
    x = layers.Rescaling(-1.0 / 255, offset=1.0, name="ink")(inputs)
    x = layers.Conv2D(config.conv1_filters, config.conv1_kernel, padding="same", activation="relu", name="conv1")(x)
    x = layers.MaxPooling2D(config.pool_size, name="pool1")(x)
    x = layers.Conv2D(config.conv2_filters, config.conv2_kernel, padding="same", activation="relu", name="conv2")(x)
    x = layers.MaxPooling2D(config.pool_size, name="pool2")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(config.dense_units, activation="relu", name="dense")(x)
    outputs = layers.Dense(n_classes, activation="softmax", name="softmax")(x)
    return keras.Model(inputs, outputs, name="seed_cnn")


def learning_rate_schedule(config: Config, total_steps: int):
    """Adam's rate: constant, or decayed along a half cosine to nothing over the whole training.

    Large batches need a large rate early, but a large rate at the end leaves the weights jittering
    around the optimum; decaying it settles them, which is what the last epochs are for.
    """
    if config.lr_decay == "none":
        return config.learning_rate
    if config.lr_decay != "cosine":
        raise ValueError(f"lr_decay must be cosine or none, not {config.lr_decay!r}")
    import keras

    return keras.optimizers.schedules.CosineDecay(config.learning_rate, decay_steps=max(1, total_steps))


def steps_per_epoch(n_samples: int, batch_size: int) -> int:
    """Batches in one pass over the samples, the last one possibly short; at least one."""
    return max(1, math.ceil(n_samples / batch_size))


def execution_steps(config: Config, n_samples: int, batch_size: int) -> int:
    """Batches Keras runs per graph call: the configured number, but never more than an epoch holds."""
    return max(1, min(config.steps_per_execution, steps_per_epoch(n_samples, batch_size)))


def as_batch(images: np.ndarray) -> np.ndarray:
    """Shape (N, S, S) uint8 letters as the CNN's (N, S, S, 1) float32 input."""
    return np.asarray(images, dtype=np.float32)[..., None]


class CnnClassifier:
    """The seed CNN with a scikit-learn-like contract: fit returns self, learned attributes end in _."""

    kind = "cnn"

    def __init__(self, config: Config = DEFAULT):
        self.config = config

    def fit(self, images, labels, val_images=None, val_labels=None, callbacks=(), classes=None) -> "CnnClassifier":
        """Train on (N, S, S) uint8 letters and string labels; validation data is optional."""
        configure_tensorflow()
        import keras

        keras.utils.set_random_seed(self.config.seed)
        self.classes_ = np.asarray(classes if classes is not None else np.unique(labels))
        lookup = {c: i for i, c in enumerate(self.classes_.tolist())}
        y = np.array([lookup[c] for c in labels], np.int32)
        size = images.shape[1]
        self.model_ = build_cnn((size, size, 1), len(self.classes_), self.config)
        steps = steps_per_epoch(len(images), self.config.batch_size) * self.config.epochs
        self.model_.compile(
            optimizer=keras.optimizers.Adam(learning_rate_schedule(self.config, steps)),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
            steps_per_execution=execution_steps(self.config, len(images), self.config.batch_size),
        )
        # Adam's slots would otherwise be created inside the first traced step, which makes tracing slower.
        self.model_.optimizer.build(self.model_.trainable_variables)
        train = self._pipeline(images, y, shuffle=True)
        val = None
        if val_images is not None and len(val_images):
            yv = np.array([lookup[c] for c in val_labels], np.int32)
            val = self._pipeline(val_images, yv, shuffle=False)
        history = self.model_.fit(
            train, validation_data=val, epochs=self.config.epochs, verbose=0, callbacks=list(callbacks), shuffle=False
        )
        self.history_ = {k: [float(v) for v in vals] for k, vals in history.history.items()}
        return self

    def _pipeline(self, images: np.ndarray, y: np.ndarray, shuffle: bool):
        """A cached, prefetched tf.data pipeline that shuffles itself (so fit is told not to)."""
        import tensorflow as tf

        ds = tf.data.Dataset.from_tensor_slices((images[..., None], y)).cache()
        if shuffle:
            ds = ds.shuffle(len(y), seed=self.config.seed, reshuffle_each_iteration=True)
        ds = ds.batch(self.config.batch_size).map(lambda x, t: (tf.cast(x, tf.float32), t))
        return ds.prefetch(tf.data.AUTOTUNE)

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        """Class probabilities for (N, S, S) uint8 letters, in one compiled call per batch."""
        return predict_function(self.model_)(images)

    def predict(self, images: np.ndarray) -> np.ndarray:
        """The most likely label for each letter."""
        return self.classes_[np.argmax(self.predict_proba(images), axis=1)]


# The traced inference function lives on the model itself: a module-level cache keyed on the model
# kept every model ever trained or loaded alive, so a long-running server's memory only grew.
_INFER_ATTRIBUTE = "_captcha_lab_infer"


def predict_function(model) -> Callable[[np.ndarray], np.ndarray]:
    """A traced inference function for the model, so each call is one graph run, not model.predict."""
    run = model.__dict__.get(_INFER_ATTRIBUTE)
    if run is None:
        run = _traced_inference(model)
        # Set through __dict__ so Keras does not try to track a plain function as model state.
        model.__dict__[_INFER_ATTRIBUTE] = run
    return run


def _traced_inference(model) -> Callable[[np.ndarray], np.ndarray]:
    import tensorflow as tf

    size = model.input_shape[1:3]

    @tf.function(input_signature=[tf.TensorSpec((None, *size, 1), tf.float32)], reduce_retracing=True)
    def infer(x):
        return model(x, training=False)

    def run(images: np.ndarray) -> np.ndarray:
        if len(images) == 0:
            return np.zeros((0, model.output_shape[-1]), np.float32)
        # Chunks bound memory: conv1's output is 288 kB per letter, so 10,000 letters at once took 3 GB.
        step = DEFAULT.predict_batch_size
        return np.concatenate([infer(tf.constant(as_batch(images[i : i + step]))).numpy() for i in range(0, len(images), step)])

    return run


class ForestClassifier:
    """A random forest on flattened pixels: the seed's baseline, with the same interface as the CNN."""

    kind = "forest"

    def __init__(self, config: Config = DEFAULT):
        self.config = config

    def fit(self, images, labels, val_images=None, val_labels=None, callbacks=(), classes=None,
            report: Callable[[int, int], None] | None = None, cancel: threading.Event | None = None) -> "ForestClassifier":
        """Train the forest a few trees at a time (the same trees as in one go: scikit-learn's warm start draws each
        new tree's seed where a single fit would).

        report: told (trees grown, trees in all) after each batch of trees.
        cancel: when set, growing stops before the next batch of trees (the caller discards the forest).
        """
        from sklearn.ensemble import RandomForestClassifier

        pixels, labels = flatten(images), np.asarray(labels)
        total = self.config.forest_trees
        self.model_ = RandomForestClassifier(n_estimators=0, random_state=self.config.seed, n_jobs=-1, warm_start=True)
        for grown in tree_batches(total, self.config.forest_trees_per_batch):
            if cancel is not None and cancel.is_set():
                # The caller discards a stopped forest: no more trees, and no scoring of the ones grown.
                self.classes_, self.history_ = np.unique(labels), {}
                return self
            self.model_.set_params(n_estimators=grown).fit(pixels, labels)
            if report is not None:
                report(grown, total)
        self.model_.set_params(warm_start=False)  # a refit of the saved forest starts afresh
        self.classes_ = self.model_.classes_
        train_acc = float(np.mean(self.model_.predict(pixels) == labels))
        self.history_ = {"accuracy": [train_acc]}
        if val_images is not None and len(val_images):
            self.history_["val_accuracy"] = [float(np.mean(self.predict(val_images) == val_labels))]
        return self

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        """Class probabilities: the share of trees voting for each class."""
        return self.model_.predict_proba(flatten(images))

    def predict(self, images: np.ndarray) -> np.ndarray:
        """The majority vote of the trees."""
        return self.model_.predict(flatten(images))


def tree_batches(total: int, per_batch: int) -> list[int]:
    """Tree counts to grow the forest to, a batch at a time: [20, 40, ..., total]."""
    per_batch = max(1, per_batch)
    return [min(n, total) for n in range(per_batch, total + per_batch, per_batch)] if total > 0 else []


def flatten(images: np.ndarray) -> np.ndarray:
    """Flatten letters to rows of pixels scaled to 0..1, ink high, as the forest sees them."""
    return 1.0 - np.asarray(images, np.float32).reshape(len(images), -1) / 255.0


def make_classifier(config: Config = DEFAULT):
    """The classifier the configuration names."""
    if config.model == "cnn":
        return CnnClassifier(config)
    if config.model == "forest":
        return ForestClassifier(config)
    if config.model == "sequence":
        from .sequence import SequenceClassifier

        return SequenceClassifier(config)
    raise ValueError(f"model must be one of {', '.join(MODEL_KINDS)}, not {config.model!r}")
