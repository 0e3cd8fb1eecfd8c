"""Looking inside a model and drawing what it sees: layer activations, saliency, boxes, canvas input."""
from __future__ import annotations

import cv2
import numpy as np

from .config import DEFAULT
from .models import as_batch
from .preview import enlarge, scale_boxes

INSPECTED_LAYERS = ("conv1", "conv2")
WHITE = 255
# One colour per cut letter, by position. No green and no red: beside a known truth those say right and wrong,
# and a correctly read fourth letter in a red box looked misread.
BOX_COLORS = ((59, 111, 216), (230, 120, 30), (130, 80, 200), (20, 150, 170), (150, 95, 40), (200, 160, 0))

# Raw gradients speckle pixel by pixel; a small blur shows the regions that matter.
SALIENCY_BLUR = 5
LETTER_GHOST = 0.3

_PROBES: dict[object, tuple] = {}


def has_layers(classifier) -> bool:
    """True when the classifier is a Keras model with the layers we can show."""
    model = getattr(classifier, "model_", None)
    names = {layer.name for layer in getattr(model, "layers", [])}
    return all(name in names for name in INSPECTED_LAYERS)


def _probe(model):
    """A model sharing `model`'s weights that outputs the inspected layers, built once per model."""
    key = id(model)
    # The model is kept beside its probe so a new model reusing a freed id never gets a stale probe.
    if key not in _PROBES or _PROBES[key][0] is not model:
        import keras
        import tensorflow as tf

        sub = keras.Model(inputs=model.inputs, outputs=[model.get_layer(n).output for n in INSPECTED_LAYERS])
        size = model.input_shape[1:3]
        # Traced once like prediction, so clicking through letters costs a graph run, not a retrace.
        probe = tf.function(
            lambda x: sub(x, training=False),
            input_signature=[tf.TensorSpec((None, *size, 1), tf.float32)],
        )
        _PROBES[key] = (model, probe)
    return _PROBES[key][1]


def activations(classifier, letter: np.ndarray) -> dict[str, np.ndarray]:
    """Each inspected layer's output for one normalized letter, as (H, W, channels) floats."""
    import tensorflow as tf

    outputs = _probe(classifier.model_)(tf.constant(as_batch(letter[None])))
    return {name: out.numpy()[0] for name, out in zip(INSPECTED_LAYERS, outputs)}


def _gradient_function(model):
    """A traced function giving d(class score)/d(pixels) for one letter, built once per model."""
    key = ("gradient", id(model))
    if key not in _PROBES or _PROBES[key][0] is not model:
        import tensorflow as tf

        size = model.input_shape[1:3]

        def gradient(x, index):
            with tf.GradientTape() as tape:
                tape.watch(x)
                probs = model(x, training=False)
                chosen = tf.where(index < 0, tf.argmax(probs[0], output_type=tf.int32), index)
                score = probs[0, chosen]
            return tape.gradient(score, x)

        signature = [tf.TensorSpec((1, *size, 1), tf.float32), tf.TensorSpec((), tf.int32)]
        _PROBES[key] = (model, tf.function(gradient, input_signature=signature))
    return _PROBES[key][1]


def saliency(classifier, letter: np.ndarray, class_index: int | None = None) -> np.ndarray:
    """How much each pixel moves the chosen class's score (the top class by default), scaled to 0..1."""
    import tensorflow as tf

    index = tf.constant(-1 if class_index is None else class_index, tf.int32)
    grad = _gradient_function(classifier.model_)(tf.constant(as_batch(letter[None])), index)
    grad = np.abs(grad.numpy()[0, ..., 0])
    grad = cv2.GaussianBlur(grad, (SALIENCY_BLUR, SALIENCY_BLUR), 0)
    peak = grad.max()
    return grad / peak if peak > 0 else grad


def feature_grid(maps: np.ndarray, columns: int, cell: int, gap: int = 2) -> np.ndarray:
    """Tile (H, W, C) activation maps into one gray image, each map scaled on its own, ink dark."""
    h, w, channels = maps.shape
    rows = -(-channels // columns)
    grid = np.full((rows * (cell + gap) - gap, columns * (cell + gap) - gap), WHITE, np.uint8)
    for c in range(channels):
        tile = _scaled(maps[..., c])
        tile = cv2.resize(tile, (cell, cell), interpolation=cv2.INTER_NEAREST)
        r, k = divmod(c, columns)
        grid[r * (cell + gap) : r * (cell + gap) + cell, k * (cell + gap) : k * (cell + gap) + cell] = WHITE - tile
    return grid


def _scaled(values: np.ndarray) -> np.ndarray:
    peak = float(values.max())
    if peak <= 0:
        return np.zeros(values.shape, np.uint8)
    return (np.clip(values / peak, 0, 1) * WHITE).astype(np.uint8)


def heat_overlay(letter: np.ndarray, heat: np.ndarray) -> np.ndarray:
    """A letter in gray with a 0..1 heat map laid over it in color, as RGB."""
    colored = cv2.applyColorMap((np.clip(heat, 0, 1) * WHITE).astype(np.uint8), cv2.COLORMAP_INFERNO)
    colored = cv2.cvtColor(colored, cv2.COLOR_BGR2RGB)
    # The letter is faded to a light ghost so the heat, not the ink, is what the eye lands on.
    faded = (WHITE - (WHITE - letter.astype(np.float32)) * LETTER_GHOST).astype(np.uint8)
    base = cv2.cvtColor(faded, cv2.COLOR_GRAY2RGB)
    weight = np.clip(heat, 0, 1)[..., None]
    return (base * (1 - weight) + colored * weight).astype(np.uint8)


def draw_boxes(
    gray: np.ndarray, boxes: list[tuple[int, int, int, int]], labels: list[str] | None = None, scale: int = 1
) -> np.ndarray:
    """The captcha in RGB with each character's box drawn in its own color, and its reading above it.

    scale: a whole-number enlargement (see preview.enlarge), so a small captcha shown large stays sharp.
    """
    gray, boxes = enlarge(gray, scale), scale_boxes(boxes, scale)
    rgb = cv2.cvtColor(np.ascontiguousarray(gray), cv2.COLOR_GRAY2RGB)
    # Thin lines vanish on a small captcha shown large; scale strokes with the image.
    thickness = max(1, round(max(gray.shape) / 200))
    for i, (x, y, w, h) in enumerate(boxes):
        color = BOX_COLORS[i % len(BOX_COLORS)]
        cv2.rectangle(rgb, (x, y), (x + w - 1, y + h - 1), color, thickness)
        if labels and i < len(labels):
            font_scale = 0.4 * thickness
            (_, text_height), _ = cv2.getTextSize(labels[i], cv2.FONT_HERSHEY_SIMPLEX, font_scale, thickness)
            # Above the box, but never above the image's top edge, where an enlarged label lost its upper half.
            origin = (x + 1, max(y - 3, text_height + thickness))
            cv2.putText(rgb, labels[i], origin, cv2.FONT_HERSHEY_SIMPLEX, font_scale, color, thickness, cv2.LINE_AA)
    return rgb


def box_color_hex(index: int) -> str:
    """The color `draw_boxes` uses for the index-th box, for matching captions."""
    r, g, b = BOX_COLORS[index % len(BOX_COLORS)]
    return f"#{r:02x}{g:02x}{b:02x}"


def rgba_on_white(rgba: np.ndarray) -> np.ndarray:
    """Composite an RGBA drawing onto white paper and return it as uint8 grayscale."""
    rgba = np.asarray(rgba, dtype=np.float32)
    gray = rgba[..., :3].mean(axis=2)
    alpha = rgba[..., 3] / WHITE
    return np.clip(gray * alpha + WHITE * (1 - alpha), 0, WHITE).astype(np.uint8)


def has_ink(gray: np.ndarray) -> bool:
    """True when an image holds something darker than its paper, i.e. worth reading."""
    return int(gray.max()) - int(gray.min()) >= DEFAULT.segmentation.min_contrast
