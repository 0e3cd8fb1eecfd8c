"""Whole-captcha reading without segmentation: conv columns, bidirectional GRUs and CTC."""
from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field

import cv2
import numpy as np
from sklearn.metrics import confusion_matrix
from sklearn.model_selection import train_test_split

from .config import DEFAULT, Config
from .data import Dataset, DatasetError, check_enough_to_split, check_sequence_data
from .evaluation import Report, per_class_scores
from .models import (
    captcha_readings, configure_tensorflow, execution_steps, never_read, predict_function, steps_per_epoch,
)
from .resample import Resampled
from .segmentation import dark_on_light
from .split import Split

# CTC's blank is output 0 (Keras' convention), so alphabet character i is output i + 1.
BLANK = 0
# The first two conv blocks halve the width (see Config.sequence_filters): one time step per 4 columns.
WIDTH_HALVINGS = 2
PAPER = 255
# Readings searched for a path of an allowed length at once: the search keeps a (steps x length x outputs)
# table of back-pointers per reading, about 50 KB for 5 characters, so a chunk stays near 13 MB.
DECODE_CHUNK = 256


# ---------------------------------------------------------------- inputs


def to_strip(gray: np.ndarray, height: int, width: int, turn_round: bool = True) -> np.ndarray:
    """Scale a grayscale captcha to `height` rows keeping its aspect, stretch its contrast, pad it right with paper.

    turn_round: make light text on a dark ground dark on light first, as the cutter does; else its padding would be
    a white block beside white letters on black, and the model would learn two kinds of captcha. Models saved
    before strips were turned round read them as they came (persistence passes their metadata's word on).
    """
    gray = np.asarray(gray, np.uint8)
    if turn_round:
        gray = dark_on_light(gray)
    lo, hi = int(gray.min()), int(gray.max())
    if hi > lo:
        # Paper tones differ between captchas; stretching makes paper white and ink dark for every one.
        gray = ((gray.astype(np.float32) - lo) * (PAPER / (hi - lo))).astype(np.uint8)
    h, w = gray.shape
    # A captcha wider than the training ones is squeezed rather than cut, so no character is lost.
    scaled = int(np.clip(round(w * height / h), 1, width))
    interpolation = cv2.INTER_AREA if h >= height else cv2.INTER_LINEAR
    strip = np.full((height, width), PAPER, np.uint8)
    strip[:, :scaled] = cv2.resize(gray, (scaled, height), interpolation=interpolation)
    return strip


def text_box(gray: np.ndarray, config: Config = DEFAULT) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) of the text in a grayscale captcha, with config.text_margin around it.

    The text is what is dark, once light text on a dark ground is turned round, against the image's own noise, not
    Otsu's split: on a noisy ground with little text, Otsu splits the noise.
    """
    gray = dark_on_light(np.asarray(gray, np.uint8))
    h, w = gray.shape
    kernel = max(3, int(config.text_blur_share * min(h, w)) | 1)  # GaussianBlur takes odd sizes only
    blur = cv2.GaussianBlur(gray, (kernel, kernel), 0).astype(np.float32)
    median = float(np.median(blur))
    noise = float(np.median(np.abs(blur - median))) * 1.4826  # the median deviation of a normal is 0.6745 sigma
    ink = (blur < min(median - config.text_noise_sigmas * noise, median - config.text_contrast)).astype(np.uint8)
    n, _, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    if n <= 1:
        return 0, h, 0, w
    pieces = stats[1:]
    pieces = pieces[pieces[:, cv2.CC_STAT_AREA] >= config.text_piece_share * pieces[:, cv2.CC_STAT_AREA].max()]
    top, left = pieces[:, cv2.CC_STAT_TOP].min(), pieces[:, cv2.CC_STAT_LEFT].min()
    bottom = (pieces[:, cv2.CC_STAT_TOP] + pieces[:, cv2.CC_STAT_HEIGHT]).max()
    right = (pieces[:, cv2.CC_STAT_LEFT] + pieces[:, cv2.CC_STAT_WIDTH]).max()
    pad = int(round(config.text_margin * (bottom - top)))
    return max(0, top - pad), min(h, bottom + pad), max(0, left - pad), min(w, right + pad)


def text_height_share(gray: np.ndarray, config: Config = DEFAULT) -> float:
    """The share of a captcha's height its text box takes up."""
    top, bottom, _, _ = text_box(gray, config)
    return (bottom - top) / gray.shape[0]


def crop_to_text(gray: np.ndarray, config: Config = DEFAULT) -> np.ndarray:
    """The part of a grayscale captcha around its text (see text_box), in its own tones."""
    top, bottom, left, right = text_box(gray, config)
    return np.asarray(gray, np.uint8)[top:bottom, left:right]


def crops_to_text(images: list[np.ndarray], config: Config = DEFAULT) -> bool:
    """Whether a set's text is small in its images: the median text box under config.sequence_crop_below of the height."""
    if not len(images):
        return False
    sample = images[:: max(1, len(images) // config.sequence_crop_sample)]
    return float(np.median([text_height_share(im, config) for im in sample])) < config.sequence_crop_below


def moved(strips: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """Strips (N, H, W) moved right by dx and down by dy whole pixels, paper filling the uncovered edge."""
    out = np.full_like(strips, PAPER)
    h, w = strips.shape[1:3]
    if abs(dx) >= w or abs(dy) >= h:
        return out
    out[:, max(dy, 0) : h + min(dy, 0), max(dx, 0) : w + min(dx, 0)] = strips[:, max(-dy, 0) : h - max(dy, 0), max(-dx, 0) : w - max(dx, 0)]
    return out


def strip_width(images: list[np.ndarray], texts: list[str], config: Config) -> int:
    """The padded input width: the widest training captcha at the model's height, rounded to whole time steps."""
    height = config.sequence_height
    step = 2**WIDTH_HALVINGS
    widest = max(round(im.shape[1] * height / im.shape[0]) for im in images)
    widest = min(widest, int(height * config.limits.max_aspect_ratio))
    # CTC needs a blank between repeated characters, so 2L+1 time steps for the longest label.
    needed = step * (2 * max(len(t) for t in texts) + 1)
    return int(math.ceil(max(widest, needed) / step) * step)


def to_strips(images: list[np.ndarray], height: int, width: int, turn_round: bool = True) -> np.ndarray:
    """Stack captchas as (N, height, width) uint8 strips."""
    if not len(images):
        return np.zeros((0, height, width), np.uint8)
    return np.stack([to_strip(im, height, width, turn_round) for im in images])


def encode_texts(texts: list[str], classes: list[str]) -> np.ndarray:
    """Texts as (N, longest) int32 labels, characters from 1 and padded with the blank 0."""
    lookup = {c: i + 1 for i, c in enumerate(classes)}
    longest = max(len(t) for t in texts)
    out = np.full((len(texts), longest), BLANK, np.int32)
    for row, text in enumerate(texts):
        out[row, : len(text)] = [lookup[c] for c in text]
    return out


# ---------------------------------------------------------------- model


def build_sequence_model(input_shape: tuple[int, int, int], n_classes: int, config: Config = DEFAULT):
    """Conv blocks, image columns as time steps, bidirectional GRUs, softmax over the alphabet plus the blank (index 0)."""
    configure_tensorflow()
    import keras
    from keras import layers

    inputs = keras.Input(shape=input_shape, name="captcha")
    x = layers.Rescaling(-1.0 / 255, offset=1.0, name="ink")(inputs)
    for i, filters in enumerate(config.sequence_filters, 1):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"conv{i}")(x)
        x = layers.BatchNormalization(momentum=config.sequence_norm_momentum, name=f"norm{i}")(x)
        x = layers.Activation("relu", name=f"relu{i}")(x)
        x = layers.MaxPooling2D((2, 2) if i <= WIDTH_HALVINGS else (2, 1), name=f"pool{i}")(x)
    rows, columns, channels = x.shape[1:]
    x = layers.Permute((2, 1, 3), name="columns_first")(x)
    x = layers.Reshape((columns, rows * channels), name="columns")(x)
    x = layers.Dense(config.sequence_dense_units, activation="relu", name="column_features")(x)
    x = layers.Dropout(config.sequence_dropout, name="dropout")(x)
    for i in range(1, config.sequence_rnn_layers + 1):
        x = layers.Bidirectional(layers.GRU(config.sequence_rnn_units, return_sequences=True), name=f"gru{i}")(x)
    logits = layers.Dense(n_classes + 1, name="logits")(x)
    outputs = layers.Activation("softmax", name="softmax")(logits)
    return keras.Model(inputs, outputs, name="sequence_reader")


def greedy_decode(probs: np.ndarray, blank: int = BLANK) -> list[tuple[list[int], list[float]]]:
    """Best path per sample: collapse repeats, drop blanks; a character's confidence is its run's peak probability."""
    return [collapse_path(row.argmax(axis=1), row, blank) for row in np.asarray(probs)]


def decode(probs: np.ndarray, lengths=(), blank: int = BLANK) -> list[tuple[list[int], list[float]]]:
    """Greedy CTC decoding, except that a reading of a length not in `lengths` is replaced by the most
    probable path whose reading has one of them (when `lengths` is empty, every length is allowed)."""
    probs = np.asarray(probs)
    out = greedy_decode(probs, blank)
    allowed = sorted({int(n) for n in lengths})
    if not allowed:
        return out
    # The unconstrained best path is the greedy one, so only readings of another length need the search.
    redo = [i for i, (indices, _) in enumerate(out) if len(indices) not in allowed]
    for start in range(0, len(redo), DECODE_CHUNK):
        chunk = redo[start : start + DECODE_CHUNK]
        for i, found in zip(chunk, best_paths_of_lengths(probs[chunk], allowed, blank)):
            out[i] = found or out[i]
    return out


def best_paths_of_lengths(probs: np.ndarray, lengths: list[int], blank: int = BLANK):
    """Viterbi over CTC paths that counts the characters emitted, for (N, T, outputs) probabilities: per sample,
    (indices, confidences) of the most probable path whose reading has one of `lengths`, or None if none fits."""
    n, steps, n_out = probs.shape
    lengths = [k for k in lengths if k <= steps]  # T steps emit at most T characters
    if not lengths:
        return [None] * n
    top = max(lengths)
    logp = np.log(np.maximum(probs, 1e-30))
    chars = np.array([c for c in range(n_out) if c != blank], dtype=np.intp)
    # score[s, k, c]: best log-probability of a path of sample s that has emitted k characters and sits on output c.
    score = np.full((n, top + 1, n_out), -np.inf)
    score[:, 0, blank] = logp[:, 0, blank]
    if top >= 1:
        score[:, 1, chars] = logp[:, 0, chars]
    came_from = np.zeros((n, steps, top + 1, n_out), np.int32)  # the output at the previous step
    for t in range(1, steps):
        new = np.full_like(score, -np.inf)
        # Onto the blank: from anything with the same count.
        came_from[:, t, :, blank] = score.argmax(axis=2)
        new[:, :, blank] = score.max(axis=2) + logp[:, t, blank][:, None]
        if top >= 1 and len(chars):
            # Onto character c with count k: stay on c, or arrive from the blank or another character (count k - 1).
            stay = score[:, 1:, chars]
            from_blank = np.broadcast_to(score[:, :-1, blank][..., None], stay.shape)
            others = score[:, :-1, chars]
            best = others.argmax(axis=2)[..., None]
            runner_up = np.where(np.arange(len(chars)) == best, -np.inf, others).argmax(axis=2)[..., None]
            other_choice = np.where(np.arange(len(chars)) == best, runner_up, best)
            other_score = np.take_along_axis(others, other_choice, axis=2)
            other_score = np.where(other_choice == np.arange(len(chars)), -np.inf, other_score)  # one character only
            candidates = np.stack([stay, from_blank, other_score])
            pick = candidates.argmax(axis=0)
            previous = np.where(pick == 0, chars, np.where(pick == 1, blank, chars[other_choice]))
            came_from[:, t, 1:, chars] = np.moveaxis(previous, 2, 0)  # this indexing puts the character axis first
            new[:, 1:, chars] = candidates.max(axis=0) + logp[:, t, chars][:, None, :]
        score = new
    ends = score[:, lengths].max(axis=2)  # (n, len(lengths))
    count = np.asarray(lengths)[ends.argmax(axis=1)]
    state = score[np.arange(n), count].argmax(axis=1)
    found = np.isfinite(ends.max(axis=1))
    # Walk every sample back from its best end state at once.
    path = np.zeros((n, steps), np.int64)
    path[:, -1] = state
    for t in range(steps - 1, 0, -1):
        previous = came_from[np.arange(n), t, count, state]
        count = count - ((state != blank) & (previous != state))
        state = previous
        path[:, t - 1] = state
    return [collapse_path(path[i], probs[i], blank) if found[i] else None for i in range(n)]


def collapse_path(path: np.ndarray, probs: np.ndarray, blank: int = BLANK) -> tuple[list[int], list[float]]:
    """A CTC path's reading: repeats merged, blanks dropped; each character's confidence is its run's peak."""
    indices: list[int] = []
    confidences: list[float] = []
    previous = blank
    for t, label in enumerate(path.tolist()):
        if label != blank and label == previous:
            confidences[-1] = max(confidences[-1], float(probs[t, label]))
        elif label != blank:
            indices.append(label)
            confidences.append(float(probs[t, label]))
        previous = label
    return indices, confidences


class SequenceClassifier:
    """Reads whole captchas with CTC; same contract as the letter models: fit returns self, learned attributes end in _."""

    kind = "sequence"

    def __init__(self, config: Config = DEFAULT):
        self.config = config

    @classmethod
    def from_model(cls, model, classes: list[str], config: Config = DEFAULT, lengths=(),
                   turns_round: bool = True, crops: bool = False) -> "SequenceClassifier":
        """Wrap a loaded inference model; its input shape fixes the strip size.

        lengths: the captcha lengths it was trained on; readings are kept to them (empty: any length).
        turns_round: whether it was trained on strips turned dark on light (see to_strip).
        crops: whether it was trained on crops around the text (see crops_to_text).
        """
        reader = cls(config)
        reader.model_ = model
        reader.turns_round_ = turns_round
        reader.crops_ = crops
        reader.classes_ = [str(c) for c in classes]
        reader.lengths_ = sorted({int(n) for n in lengths})
        reader.height_, reader.width_ = (int(v) for v in model.input_shape[1:3])
        return reader

    def fit(self, images, texts, val_images=None, val_texts=None, callbacks=(), classes=None) -> "SequenceClassifier":
        """Train on grayscale captchas of any size and their texts; validation readings drive when training ends."""
        configure_tensorflow()
        import keras

        keras.utils.set_random_seed(self.config.seed)
        texts = [str(t) for t in texts]
        self.classes_ = list(classes) if classes is not None else sorted(set("".join(texts)))
        self.lengths_ = sorted({len(t) for t in texts})
        self.turns_round_ = True
        self.crops_ = crops_to_text(images, self.config)
        images = self.prepared(images)
        if val_images is not None:
            val_images = self.prepared(val_images)
        self.height_ = self.config.sequence_height
        self.width_ = strip_width(images, texts, self.config)
        self.batch_size_ = training_batch_size(len(images), self.config)
        self.repeats_ = training_repeats(len(images), self.batch_size_, self.config)
        self.warp_ = training_warp(len(images), self.config)
        self.learning_rate_ = training_rate(self.batch_size_, self.config)
        self.decay_epochs_ = training_decay_epochs(len(images), self.config)
        self.model_ = build_sequence_model((self.height_, self.width_, 1), len(self.classes_), self.config)
        trainer = keras.Model(self.model_.input, self.model_.get_layer("logits").output, name="ctc_trainer")
        trainer.compile(
            optimizer=keras.optimizers.Adam(self.learning_rate_),
            loss=keras.losses.CTC(),
            steps_per_execution=execution_steps(self.config, len(images) * self.repeats_, self.batch_size_),
        )
        train_strips = to_strips(images, self.height_, self.width_, self.turns_round_)
        has_val = val_images is not None and len(val_images) > 0
        val, val_strips = None, None
        if has_val:
            val_strips = to_strips(val_images, self.height_, self.width_, self.turns_round_)
            val = self._pipeline(val_strips, encode_texts(val_texts, self.classes_), shuffle=False)
        monitor = "val_loss" if has_val else "loss"
        # The accuracy callback goes first: it writes into the epoch logs the others (and the progress hook) read.
        watchers = [make_accuracy_callback(self, train_strips, texts, val_strips, list(val_texts) if has_val else [])]
        decay, keeper = None, None
        if self.decay_epochs_:
            reading = "val_accuracy" if has_val else "accuracy"
            decay = make_decay_callback(self.learning_rate_, self.decay_epochs_, self.config.sequence_decay_from,
                                        reading, limit=self.config.sequence_epochs)
            keeper = make_best_keeper(reading)
            watchers += [decay, keeper]
        else:
            watchers += [
                keras.callbacks.EarlyStopping(monitor=monitor, patience=self.config.sequence_patience, restore_best_weights=True),
                keras.callbacks.ReduceLROnPlateau(
                    monitor=monitor, factor=self.config.sequence_lr_factor, patience=self.config.sequence_lr_patience
                ),
            ]
        history = trainer.fit(
            self._pipeline(train_strips, encode_texts(texts, self.classes_), shuffle=True),
            validation_data=val,
            epochs=self.config.sequence_epochs,
            verbose=0,
            callbacks=watchers + list(callbacks),
            shuffle=False,
        )
        self.history_ = {k: [float(v) for v in vals] for k, vals in history.history.items()}
        # Only a full decay counts as done: after a shortened one, more epochs may still help.
        self.schedule_done_ = bool(decay is not None and decay.finished and not decay.shortened)
        # A run whose rate fell all the way keeps its last epoch, which the benchmarks measured; one cut off (by
        # its epochs or time limit) or decayed in a hurry takes its best validation epoch back if that read more.
        self.best_epoch_ = keeper.restore() if decay is not None and not self.schedule_done_ else None
        return self

    def prepared(self, images: list[np.ndarray]) -> list[np.ndarray]:
        """The captchas as the model reads them: cropped around their text when it was trained so."""
        if not getattr(self, "crops_", False):
            return list(images)
        return [crop_to_text(im, self.config) for im in images]

    def _pipeline(self, strips: np.ndarray, labels: np.ndarray, shuffle: bool):
        """A cached, prefetched tf.data pipeline that shuffles itself (so fit is told not to)."""
        import tensorflow as tf

        ds = tf.data.Dataset.from_tensor_slices((strips[..., None], labels)).cache()
        if shuffle:
            # Each repeat is a pass in a new order (see training_repeats).
            ds = ds.shuffle(len(labels), seed=self.config.seed, reshuffle_each_iteration=True).repeat(self.repeats_)
            if self.config.sequence_shift:
                ds = ds.map(self._random_shift, num_parallel_calls=tf.data.AUTOTUNE)
        ds = ds.batch(self.batch_size_).map(lambda x, y: (tf.cast(x, tf.float32), y))
        if shuffle and self.warp_:
            ds = ds.map(self._random_warp, num_parallel_calls=tf.data.AUTOTUNE)
        return ds.prefetch(tf.data.AUTOTUNE)

    def _random_warp(self, strips, labels):
        """Scale and shear each strip of a float batch about its centre by up to warp_, paper filling in."""
        import tensorflow as tf

        n = tf.shape(strips)[0]
        warp = self.warp_
        scale = 1.0 / tf.random.uniform([n], 1 - warp, 1 + warp, seed=self.config.seed)
        shear = tf.random.uniform([n], -warp, warp, seed=self.config.seed + 1)
        cx, cy = self.width_ / 2, self.height_ / 2
        zero = tf.zeros([n])
        # Output pixel (x, y) samples the input at (s(x - cx) + h(y - cy) + cx, s(y - cy) + cy).
        transforms = tf.stack([scale, shear, cx - scale * cx - shear * cy, zero, scale, cy - scale * cy, zero, zero], axis=1)
        warped = tf.raw_ops.ImageProjectiveTransformV3(
            images=strips, transforms=transforms, output_shape=tf.shape(strips)[1:3],
            fill_value=float(PAPER), interpolation="BILINEAR", fill_mode="CONSTANT",
        )
        return warped, labels

    def _random_shift(self, strip, label):
        """Move a training strip by whole pixels, up to config.sequence_shift of its size, filling with paper."""
        import tensorflow as tf

        # Whole-pixel crops of a paper-padded strip: Keras' RandomTranslation resamples every pixel and cost
        # about a third of each training step on 2 cores, for the same augmentation.
        dy = max(1, round(self.config.sequence_shift * self.height_))
        dx = max(1, round(self.config.sequence_shift * self.width_))
        padded = tf.pad(strip, [[dy, dy], [dx, dx], [0, 0]], constant_values=PAPER)
        return tf.image.random_crop(padded, tf.shape(strip), seed=self.config.seed), label

    def strip_probabilities(self, strips: np.ndarray, averaged: bool = True) -> np.ndarray:
        """Per-time-step probabilities (N, T, classes + 1) for prepared strips, in one compiled call.

        averaged: mean over the strip and its moves (see Config.sequence_read_shift); False reads each strip once.
        """
        if not len(strips):
            return np.zeros((0, self.width_ // 2**WIDTH_HALVINGS, len(self.classes_) + 1), np.float32)
        moves = self.read_moves() if averaged else [(0, 0)]
        probs = predict_function(self.model_)(np.concatenate([moved(strips, dx, dy) for dx, dy in moves]))
        return probs.reshape(len(moves), len(strips), *probs.shape[1:]).mean(axis=0)

    def read_moves(self) -> list[tuple[int, int]]:
        """(dx, dy) pixel moves whose readings are averaged: none, then left, right, up and down."""
        step = round(self.config.sequence_read_shift * self.height_)
        if step < 1:
            return [(0, 0)]
        return [(0, 0), (-step, 0), (step, 0), (0, -step), (0, step)]

    def read_strips(self, strips: np.ndarray, averaged: bool = True, lengths=None) -> list[tuple[str, list[float]]]:
        """CTC reading of prepared strips, kept to `lengths` (default: the lengths it was trained on)."""
        decoded = decode(self.strip_probabilities(strips, averaged), self.lengths_ if lengths is None else lengths)
        return [("".join(self.classes_[i - 1] for i in idx), conf) for idx, conf in decoded]

    def predict_texts(self, images: list[np.ndarray], lengths=None) -> list[tuple[str, list[float]]]:
        """(text, per-character confidences) for grayscale captchas of any size, all in one model call."""
        strips = to_strips(self.prepared(images), self.height_, self.width_, self.turns_round_)
        return self.read_strips(strips, lengths=lengths)


def training_batch_size(n_train: int, config: Config) -> int:
    """config.sequence_batch_size, made smaller (down to sequence_min_batch) so an epoch has sequence_min_steps."""
    if not config.sequence_min_steps:
        return config.sequence_batch_size
    fitting = n_train // config.sequence_min_steps
    return int(np.clip(fitting, min(config.sequence_min_batch, config.sequence_batch_size), config.sequence_batch_size))


def training_repeats(n_train: int, batch_size: int, config: Config) -> int:
    """Passes over the training captchas in one epoch: as many whole passes as fit in config.sequence_min_steps
    batches, so more than one only when a pass makes at most half of them (750 captchas at batch 16 make 47: one)."""
    if not config.sequence_min_steps:
        return 1
    return max(1, config.sequence_min_steps // steps_per_epoch(n_train, batch_size))


def training_steps(n_train: int, config: Config) -> int:
    """Batches in one training epoch of n_train captchas, repeated passes included (what the progress bar counts)."""
    batch = training_batch_size(n_train, config)
    return steps_per_epoch(n_train * training_repeats(n_train, batch, config), batch)


def training_rate(batch_size: int, config: Config) -> float:
    """config.sequence_learning_rate, scaled with the batch: it is the rate for batches of sequence_batch_size."""
    return config.sequence_learning_rate * batch_size / config.sequence_batch_size


def is_small_set(n_train: int, config: Config) -> bool:
    """Whether a training set is small enough for warped strips and the falling rate (config.sequence_small_below)."""
    return n_train < config.sequence_small_below


def training_warp(n_train: int, config: Config) -> float:
    """How far training strips are scaled and sheared: config.sequence_warp for small sets, else 0."""
    return config.sequence_warp if is_small_set(n_train, config) else 0.0


def training_decay_epochs(n_train: int, config: Config) -> int:
    """Epochs of falling rate after the start for small sets (config.sequence_decay_epochs); 0 means plateau halving."""
    return config.sequence_decay_epochs if is_small_set(n_train, config) else 0


# Fewest epochs a decay squeezed in before the epoch limit is given: fewer would drop the rate to zero in a step.
MIN_DECAY_EPOCHS = 5


def make_decay_callback(rate: float, epochs: int, start_share: float, reading: str, limit: int | None = None):
    """A callback holding `rate` until the model reads `start_share` of its captchas (the `reading` log), then
    lowering it along a half cosine to zero over `epochs` epochs and ending training there. A start too late for
    that before the `limit` of epochs gets a shorter decay that ends at the limit (MIN_DECAY_EPOCHS at least).

    A model cut off at a high rate reads erratically: a set whose model started at epoch 48 of 60 read 96% of
    its validation captchas at epoch 58 and 76% at 60, its last. A decay that ends at the limit lets it settle.
    """
    import keras

    class DecayAfterStart(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.started_after: int | None = None  # epochs done when the model first read start_share
            self.epochs = epochs  # of decay: fewer when the start came too late for all of them
            self.finished = False  # the rate reached zero and ended training

        @property
        def shortened(self) -> bool:
            return self.epochs < epochs

        def on_epoch_begin(self, epoch, logs=None):
            if self.started_after is not None:
                self.model.optimizer.learning_rate.assign(decayed_rate(rate, epoch - self.started_after, self.epochs))

        def on_epoch_end(self, epoch, logs=None):
            if logs is not None:
                logs["learning_rate"] = float(self.model.optimizer.learning_rate.numpy())  # for the curves
            if self.started_after is None and (logs or {}).get(reading, 0.0) >= start_share:
                self.started_after = epoch + 1
                if limit:
                    self.epochs = min(epochs, max(limit - self.started_after, MIN_DECAY_EPOCHS))
            if self.started_after is not None and epoch + 1 >= self.started_after + self.epochs:
                self.model.stop_training = True
                self.finished = True

    return DecayAfterStart()


def make_best_keeper(reading: str):
    """A callback keeping the weights of the epoch that read most of the `reading` log's captchas (the later of
    equals), for a training that ends before its rate has fallen: restore() puts them back if the end read fewer."""
    import keras

    class KeepBest(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.best, self.best_epoch, self.weights, self.last = -1.0, 0, None, -1.0

        def on_epoch_end(self, epoch, logs=None):
            self.last = (logs or {}).get(reading, 0.0)
            if self.last >= self.best:
                self.best, self.best_epoch, self.weights = self.last, epoch + 1, self.model.get_weights()

        def restore(self) -> int | None:
            """Put the best epoch's weights back when the last epoch read fewer; the epoch restored, or None."""
            if self.weights is None or self.last >= self.best:
                return None
            self.model.set_weights(self.weights)
            return self.best_epoch

    return KeepBest()


def decayed_rate(rate: float, epochs_done: int, epochs: int) -> float:
    """`rate` after `epochs_done` of `epochs` decay epochs, along a half cosine from rate down to 0."""
    return rate * 0.5 * (1 + math.cos(math.pi * min(max(epochs_done, 0) / epochs, 1.0)))


def make_accuracy_callback(reader: "SequenceClassifier", train_strips, train_texts, val_strips, val_texts):
    """A callback adding whole-captcha accuracy to the epoch logs: on validation, and on a same-sized training sample.

    Each strip is read once: the averaged reading would cost five times as much at every epoch.
    """
    import keras

    sample = slice(0, max(len(val_texts), 1))

    class CaptchaAccuracy(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if logs is None:
                return
            if len(val_texts):
                logs["val_accuracy"] = captcha_share(reader.read_strips(val_strips, averaged=False), val_texts)
            logs["accuracy"] = captcha_share(reader.read_strips(train_strips[sample], averaged=False), train_texts[sample])

    return CaptchaAccuracy()


def captcha_share(readings: list[tuple[str, list[float]]], texts: list[str]) -> float:
    """Share of captchas read exactly right."""
    return float(np.mean([r == t for (r, _), t in zip(readings, texts)])) if len(texts) else 0.0


# ---------------------------------------------------------------- splitting, training, evaluation


def split_captchas(n: int, config: Config = DEFAULT) -> Split:
    """Seeded train/validation/test split of captcha indices (no letters: the sequence model reads captchas whole)."""
    rows = np.arange(n)
    rest, test = train_test_split(rows, test_size=config.test_size, random_state=config.seed)
    train, val = train_test_split(rest, test_size=config.val_size, random_state=config.seed + 1)
    test = np.sort(test)
    return Split(train=np.sort(train), val=np.sort(val), test=test, test_captchas=test)


def check_sequence_trainable(dataset: Dataset, config: Config = DEFAULT) -> None:
    """Raise DatasetError when the data cannot train a whole-captcha reader."""
    if not dataset.is_captchas:
        raise DatasetError("the sequence model reads whole captchas; letter folders need the cnn or forest model")
    check_enough_to_split(dataset, config)
    check_sequence_data(dataset)


def train_sequence(dataset: Dataset, config: Config, progress=None, cancel: threading.Event | None = None, choice: dict | None = None):
    """Split captchas, fit the sequence model with progress and cancel, evaluate on the test captchas."""
    from .training import Progress, TrainingCancelled, TrainResult, make_keras_callback, time_limit_note, time_limit_seconds

    check_sequence_trainable(dataset, config)
    report_phase = progress or (lambda p: None)
    report_phase(Progress(phase="preparing"))
    seconds: dict[str, float] = {}
    start = time.perf_counter()
    split = split_captchas(len(dataset.texts), config)
    counts = char_counts([dataset.texts[i] for i in split.train])
    resampled = Resampled(np.arange(len(split.train)), counts, counts, None)  # whole captchas are never resampled
    seconds["split_and_resample"] = time.perf_counter() - start

    pick = lambda rows, seq: [seq[i] for i in rows]  # noqa: E731
    steps = training_steps(len(split.train), config)
    callback = make_keras_callback(config.sequence_epochs, steps, progress, cancel, time_limit_seconds(config))
    classifier = SequenceClassifier(config)
    start = time.perf_counter()
    classifier.fit(
        pick(split.train, dataset.images),
        pick(split.train, dataset.texts),
        pick(split.val, dataset.images),
        pick(split.val, dataset.texts),
        callbacks=[callback],
        classes=sorted(set("".join(dataset.texts))),
    )
    seconds["training"] = time.perf_counter() - start
    if cancel is not None and cancel.is_set():
        raise TrainingCancelled("training was stopped before it finished; nothing was saved")

    epochs = config.sequence_epochs
    report_phase(Progress(phase="evaluating", epochs=epochs, history=classifier.history_))
    start = time.perf_counter()
    report = evaluate_sequence(classifier, dataset, split.test)
    if callback.timed_out:
        report.note = time_limit_note(config, len(classifier.history_.get("loss", [])), epochs)
    report.hint = training_advice(classifier.history_, callback.timed_out, config.sequence_epochs,
                                  classifier.schedule_done_)
    if classifier.best_epoch_:
        report.note = " ".join(filter(None, [report.note, kept_epoch_note(classifier.history_, classifier.best_epoch_)]))
    if classifier.crops_:
        report.note = " ".join(filter(None, [report.note, crop_note(config)]))
    seconds["evaluation"] = time.perf_counter() - start
    report_phase(Progress(phase="done", epochs=epochs, history=classifier.history_))
    return TrainResult(
        classifier=classifier,
        config=config,
        split=split,
        resampled=resampled,
        report=report,
        history=classifier.history_,
        seconds=seconds,
        protocol="honest",
        choice=choice,
    )


# Training that ends at its epoch limit while its validation readings over the last CLIMB_WINDOW epochs average
# CLIMB_GAIN more than over the window before, and still read under CLIMB_BELOW of them, was cut off mid-climb (a
# 300-captcha set left CTC's start at epoch 48 of 60 and ended at 8%). Averages, because one more captcha of a
# small validation split (24 captchas: 4%) in the last epoch is not a climb. A model that already reads nearly
# all of them needs no advice.
CLIMB_WINDOW = 5
CLIMB_GAIN = 0.02
CLIMB_BELOW = 0.95


def training_advice(history: dict[str, list[float]], timed_out: bool, epochs: int | None = None,
                    schedule_done: bool = False) -> str:
    """stall_hint's advice, except after a stop at the time limit, whose note already says a longer one may read
    more: then only a model that never read a captcha right is told so, or its blank readings look like answers."""
    if timed_out and not never_read(history):
        return ""
    return stall_hint(history, epochs, schedule_done)


def stall_hint(history: dict[str, list[float]], epochs: int | None = None, schedule_done: bool = False) -> str:
    """Advice when training went wrong in a known way: it never got past CTC's start (not one validation, or
    training, captcha read right), or it reached its limit of `epochs` while its readings were still climbing.

    schedule_done: the falling rate ran its course (it may end exactly at the limit); more epochs would not help.
    """
    if never_read(history):
        return (
            "The sequence model never read a validation captcha right: its training did not get past CTC's start, "
            "where it outputs only blanks. More epochs or another seed usually get it past that; on small sets it "
            "can take 10 to 30 epochs, and more on very small ones."
        )
    which, read = captcha_readings(history)
    cut_off = bool(epochs) and len(read) >= epochs and len(read) >= 2 * CLIMB_WINDOW and not schedule_done
    last, before = read[-CLIMB_WINDOW:], read[-2 * CLIMB_WINDOW : -CLIMB_WINDOW]
    if cut_off and read[-1] < CLIMB_BELOW and np.mean(last) - np.mean(before) >= CLIMB_GAIN:
        return (
            f"Training stopped at its limit of {epochs} epochs while the model was still getting better: over its "
            f"last {CLIMB_WINDOW} epochs it read {np.mean(last):.0%} of its {which} captchas on average, against "
            f"{np.mean(before):.0%} over the {CLIMB_WINDOW} before. Train again with more epochs, or with more captchas."
        )
    return ""


def crop_note(config: Config) -> str:
    """Why a model reads crops around the text instead of whole captchas."""
    return (f"The text takes up less than {config.sequence_crop_below:.0%} of these captchas' height, so the model "
            "finds it first and reads a crop around it, in training and in reading alike.")


def kept_epoch_note(history: dict[str, list[float]], epoch: int) -> str:
    """What a model cut off before its rate fell kept instead of its last epoch."""
    which, read = captcha_readings(history)
    return (f"Training ended before its learning rate had finished its usual fall, so it kept the model of epoch "
            f"{epoch}, which read {read[epoch - 1]:.0%} of its {which} captchas, more than the last epoch's {read[-1]:.0%}.")


def char_counts(texts: list[str]) -> dict[str, int]:
    """Characters per class over the given texts, in sorted order."""
    chars, counts = np.unique(list("".join(texts)), return_counts=True)
    return {str(c): int(n) for c, n in zip(chars, counts)}


@dataclass
class SequenceReport(Report):
    """A Report for whole-captcha reading, plus the misread captchas and how many came out the wrong length."""

    misreads: list[tuple[int, str, str, float]] = field(default_factory=list)  # (captcha row, truth, reading, confidence)
    length_mismatches: int = 0
    hint: str = ""  # advice for the user when training went wrong in a known way

    def to_dict(self) -> dict:
        """Report.to_dict plus the sequence-only counts."""
        out = super().to_dict()
        # A captcha's characters are not letters only: character_accuracy names the share for what it is, and
        # letter_accuracy stays for scripts that read the key both model kinds report.
        out.update(character_accuracy=self.letter_accuracy, n_misread_captchas=len(self.misreads),
                   length_mismatches=self.length_mismatches, hint=self.hint,
                   character_accuracy_basis="position-wise when lengths match, else length minus edit distance")
        return out


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance between two strings."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def correct_characters(truth: str, reading: str) -> int:
    """Characters read right: position-wise when the lengths match, else the truth's length minus the edit distance."""
    if len(truth) == len(reading):
        return sum(t == r for t, r in zip(truth, reading))
    return max(0, len(truth) - edit_distance(truth, reading))


def evaluate_sequence(classifier: SequenceClassifier, dataset: Dataset, captcha_rows: np.ndarray) -> SequenceReport:
    """Whole-captcha and per-character accuracy; the confusion matrix counts aligned positions of same-length readings."""
    rows = np.asarray(captcha_rows, dtype=np.int64)
    readings = classifier.predict_texts([dataset.images[i] for i in rows])
    truths = [dataset.texts[i] for i in rows]
    aligned = [(t, r) for truth, (reading, _) in zip(truths, readings) if len(truth) == len(reading) for t, r in zip(truth, reading)]
    true_chars = np.array([t for t, _ in aligned], dtype=str)
    read_chars = np.array([r for _, r in aligned], dtype=str)
    labels = sorted(set(classifier.classes_) | set(true_chars.tolist()))
    n_chars = sum(len(t) for t in truths)
    misreads = [(int(row), t, r, float(np.prod(c)) if c else 0.0) for row, t, (r, c) in zip(rows, truths, readings) if t != r]
    return SequenceReport(
        letter_accuracy=sum(correct_characters(t, r) for t, (r, _) in zip(truths, readings)) / n_chars if n_chars else 0.0,
        captcha_accuracy=captcha_share(readings, truths) if len(rows) else None,
        n_letters=n_chars,
        n_captchas=len(rows),
        labels=labels,
        confusion=confusion_matrix(true_chars, read_chars, labels=labels) if aligned else np.zeros((len(labels),) * 2, int),
        per_class=per_class_scores(true_chars, read_chars, labels),
        misreads=misreads,
        length_mismatches=sum(len(t) != len(r) for t, (r, _) in zip(truths, readings)),
    )
