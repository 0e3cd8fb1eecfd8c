"""The blog's recipe as the blog describes it: a reference to measure against, never part of the product."""
# Faithful on purpose: letters read one file at a time with cv2.imread, bootstrap before the split (so copies
# of a letter land in train and test), one-hot labels, the seed CNN on raw 0..255 pixels, adam, batch 32,
# numpy arrays to fit, model.predict once per letter. Two changes only, both because the post cannot run
# as printed: the Flatten it forgot, and OneHotEncoder(sparse_output=False) for the removed sparse=.
# The post says "we need to shuffle" yet prints a permutation of np.arange; we shuffle, because an
# unshuffled class-sorted list puts whole classes only in its test third, and the post reports 96%.
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import cv2
import numpy as np
from sklearn.preprocessing import OneHotEncoder
from sklearn.utils import resample

from .common import summarize_ms, write_json

# The blog's constants: 2/3 train, the last 1/3 test, a "validation" fifth that overlaps the training part.
TRAIN_SIZE = 2 / 3
VAL_SIZE = 1 / 5
BATCH_SIZE = 32
EPOCHS = 10
BOOTSTRAP_RANDOM_STATE = 1
SHUFFLE_SEED = 0
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")


def class_target(folder: str | os.PathLike) -> int:
    """The blog bootstrapped every class to 110, its largest class; for other data that is the largest class."""
    return max(len(os.listdir(Path(folder) / f)) for f in os.listdir(folder))


def load_letters(folder: str | os.PathLike, target: int) -> tuple[list[np.ndarray], list[str]]:
    """Read one folder per class, one file at a time, bootstrapping classes under `target` up to it."""
    data, labels = [], []
    for f in sorted(os.listdir(folder)):
        data_sub, labels_sub = [], []
        for name in sorted(os.listdir(Path(folder) / f)):
            if not name.lower().endswith(IMAGE_SUFFIXES):
                continue
            image_file = os.path.join(folder, f, name)
            image = cv2.imread(image_file, cv2.IMREAD_GRAYSCALE)
            # Keras wants a channel axis; the blog adds it per image.
            image = np.expand_dims(image, axis=2)
            data_sub.append(image)
            labels_sub.append(image_file.split(os.path.sep)[-2])
        if not data_sub:
            continue
        if len(data_sub) < target:
            boot = resample(data_sub, replace=True, n_samples=target, random_state=BOOTSTRAP_RANDOM_STATE)
            data.extend(boot)
            labels.extend([labels_sub[0]] * len(boot))
        else:
            data.extend(data_sub)
            labels.extend(labels_sub)
    return data, labels


def encode_labels(labels: list[str]) -> tuple[np.ndarray, OneHotEncoder, dict[int, str]]:
    """Labels to 1-based numbers (the blog's alphabet dictionary), then one-hot columns."""
    alphabet = sorted(set(labels))
    dic = dict(zip(alphabet, range(1, len(alphabet) + 1)))
    dic_rev = {v: k for k, v in dic.items()}
    new_labels = np.asarray([dic[v] for v in labels]).reshape(-1, 1)
    ohe = OneHotEncoder(sparse_output=False)
    return ohe.fit_transform(new_labels), ohe, dic_rev


def shuffle_and_split(data: list[np.ndarray], labels_ohe: np.ndarray, seed: int = SHUFFLE_SEED):
    """The blog's index arithmetic: train is the first 2/3, test the rest, validation a slice inside train."""
    permutation = np.arange(len(data))
    np.random.RandomState(seed).shuffle(permutation)
    data_shuffled = [data[i] for i in permutation]
    labels_ohe_shuffled = [labels_ohe[i] for i in permutation]
    n = len(data)
    train_end = round(n * TRAIN_SIZE)
    val_start = round(n * VAL_SIZE) * 2
    val_end = val_start + round(n * VAL_SIZE)
    return (
        (data_shuffled[0:train_end], labels_ohe_shuffled[0:train_end]),
        (data_shuffled[val_start:val_end], labels_ohe_shuffled[val_start:val_end]),
        (data_shuffled[train_end:n], labels_ohe_shuffled[train_end:n]),
    )


def build_model(input_shape: tuple[int, int, int], n_classes: int):
    """The seed CNN layer by layer, plus the Flatten the post left out."""
    import keras
    from keras.layers import Conv2D, Dense, Flatten, MaxPooling2D
    from keras.models import Sequential

    model = Sequential()
    model.add(keras.Input(shape=input_shape))
    model.add(Conv2D(20, (6, 6), padding="same", activation="relu"))
    model.add(MaxPooling2D(pool_size=(3, 3), strides=(3, 3)))
    model.add(Conv2D(15, (3, 3), padding="same", activation="relu"))
    model.add(MaxPooling2D(pool_size=(3, 3), strides=(3, 3)))
    model.add(Flatten())
    model.add(Dense(300, activation="relu"))
    model.add(Dense(n_classes, activation="softmax"))
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    return model


def solve_one(model, gray: np.ndarray, ohe: OneHotEncoder, dic_rev: dict[int, str], length: int, config) -> str:
    """Cut a captcha and read it the blog's way: one model.predict call per letter."""
    from captcha_core.segmentation import segment_captcha

    text = ""
    for crop in segment_captcha(gray, expected=length, config=config).crops:
        probs = model.predict(np.expand_dims(np.expand_dims(crop, axis=2), axis=0), verbose=0)
        text += dic_rev[int(ohe.categories_[0][int(np.argmax(probs))])]
    return text


def main(argv=None) -> None:
    """Train and judge the seed recipe on a letter folder; write its figures as JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--letters", required=True)
    parser.add_argument("--fresh", required=True, help="npz of fresh letters written by benchmarks.product")
    parser.add_argument("--solve-files", required=True, help="text file with one captcha path a line")
    parser.add_argument("--solve-runs", type=int, required=True)
    parser.add_argument("--solve-warmup", type=int, required=True)
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    seconds = {}

    start = time.perf_counter()
    import keras
    import tensorflow as tf

    from captcha_core.config import DEFAULT
    from captcha_core.models import configure_tensorflow

    # Same thread settings as the product, so the ratio measures the recipe and not the thread pools.
    configure_tensorflow()
    seconds["tensorflow_import"] = time.perf_counter() - start
    keras.utils.set_random_seed(SHUFFLE_SEED)

    start = time.perf_counter()
    data, labels = load_letters(args.letters, class_target(args.letters))
    labels_ohe, ohe, dic_rev = encode_labels(labels)
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = shuffle_and_split(data, labels_ohe)
    seconds["data_preparation"] = time.perf_counter() - start

    start = time.perf_counter()
    model = build_model(data[0].shape, labels_ohe.shape[1])
    model.fit(np.array(x_train), np.array(y_train), validation_data=(np.array(x_val), np.array(y_val)), batch_size=BATCH_SIZE, epochs=args.epochs, verbose=0)
    seconds["training"] = time.perf_counter() - start

    start = time.perf_counter()
    _, test_accuracy = model.evaluate(np.array(x_test), np.array(y_test), verbose=0)
    seconds["evaluation"] = time.perf_counter() - start

    from .product import letter_scores

    fresh = np.load(args.fresh)
    # Accuracy does not depend on how calls are batched, so the fresh set is scored in one predict;
    # the per-letter calls the blog makes are timed below, on whole captchas.
    probs = model.predict(fresh["images"][..., None], verbose=0) if len(fresh["images"]) else np.zeros((0, len(dic_rev)))
    predicted = np.array([dic_rev[int(ohe.categories_[0][i])] for i in np.argmax(probs, axis=1)], dtype=str)
    texts = fresh["texts"].tolist()
    fresh_scores = letter_scores(predicted, fresh["labels"], fresh["groups"], fresh["ok"], texts)

    from captcha_core.imageio import read_image_file

    paths = Path(args.solve_files).read_text().split("\n")
    images = [read_image_file(p) for p in paths[: args.solve_runs + args.solve_warmup] if p]
    length = len(texts[0]) if texts else DEFAULT.captcha_length
    durations = []
    for i in range(args.solve_warmup + args.solve_runs):
        image = images[i % len(images)]
        start = time.perf_counter()
        solve_one(model, image, ohe, dic_rev, length, DEFAULT)
        if i >= args.solve_warmup:
            durations.append(time.perf_counter() - start)

    write_json(
        Path(args.out),
        {
            "n_letters_after_resampling": len(data),
            "class_target": class_target(args.letters),
            "n_train": len(x_train),
            "seconds": seconds,
            "leaky_test_letter_accuracy": float(test_accuracy),
            "fresh": fresh_scores,
            "solve": summarize_ms(durations),
            "tensorflow": tf.__version__,
        },
    )


if __name__ == "__main__":
    main()
