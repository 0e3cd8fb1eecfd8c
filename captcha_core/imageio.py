"""Safe image input: every image the project reads, from disk, upload or zip, comes through here.

Decoding uses Pillow rather than OpenCV so that results (GIF frames, 16-bit scaling, palette
handling) do not change with the installed OpenCV version, and so that the image header can be
checked against our limits before a single pixel is decoded.
"""
from __future__ import annotations

import io
import os
import stat
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageFile, UnidentifiedImageError

from .config import DEFAULT, Limits


class InputRejected(ValueError):
    """A user input we refuse, with a clear one-line message naming the input (str(e) is shown to users, no traceback)."""


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
# Pillow can parse dozens of formats; each extra parser is extra attack surface we do not need.
PILLOW_FORMATS = ("PNG", "JPEG", "BMP", "GIF")
_FORMATS_FOR_USERS = "PNG, JPEG, BMP or GIF"

_WHITE = np.iinfo(np.uint8).max
_BLACK = 0
# ITU-R 601 luma, the weights Pillow's convert("L") uses.
_LUMA_WEIGHTS = np.array([0.299, 0.587, 0.114])
# An image at least this opaque on average is a picture with some see-through parts, not ink on nothing.
_MOSTLY_OPAQUE = 0.5
# Light ink means that even the darkest few percent of its opaque pixels are lighter than mid-gray.
_DARK_INK_PERCENTILE = 5
# A 16-bit sample v*257 is the exact 16-bit spelling of the 8-bit sample v, so dividing by this
# maps 16-bit files onto the same gray levels as their 8-bit versions.
_SIXTEEN_TO_EIGHT_BIT = np.iinfo(np.uint16).max / np.iinfo(np.uint8).max
_SIXTEEN_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I")

# Pillow raises a zoo of exception types on hostile bytes (OSError, SyntaxError, struct.error,
# zlib.error, EOFError, IndexError...); for untrusted input every one of them means "bad file".
_DECODE_FAILURES = (Exception,)


def decode_image(data: bytes, name: str, limits: Limits = DEFAULT.limits) -> np.ndarray:
    """Decode image bytes to a 2-D uint8 grayscale array (dark ink on light background as in the file)."""
    gray, _notes = decode_image_with_notes(data, name, limits)
    return gray


def decode_image_with_notes(
    data: bytes, name: str, limits: Limits = DEFAULT.limits
) -> tuple[np.ndarray, list[str]]:
    """Decode image bytes like decode_image, also returning notices for the user (e.g. animated GIF)."""
    _check_byte_size(len(data), name, limits)
    with _open_lazily(data, name, limits) as image:
        _check_dimensions(image.size, name, limits)
        notes = _frame_notes(image, name)
        _load_completely(image, name)
        return _to_gray(image), notes


def read_image_file(path: str | os.PathLike, limits: Limits = DEFAULT.limits) -> np.ndarray:
    """Read one image file safely (refuses symlinks, non-regular files, too-large files), then decode_image."""
    name = os.fspath(path)
    with open_regular_file(path, limits.max_file_bytes) as handle:
        # One byte past the cap is enough to tell that a file grew after it was checked.
        data = handle.read(limits.max_file_bytes + 1)
    return decode_image(data, name, limits)


def image_to_png_bytes(gray: np.ndarray) -> bytes:
    """Encode a 2-D uint8 grayscale array as PNG bytes."""
    if gray.ndim != 2 or gray.dtype != np.uint8:
        raise ValueError(f"expected a 2-D uint8 array, got shape {gray.shape} and dtype {gray.dtype}")
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(gray)).save(buffer, format="PNG")
    return buffer.getvalue()


def open_regular_file(path: str | os.PathLike, max_bytes: int) -> BinaryIO:
    """Open a regular, non-symlink file of at most max_bytes for binary reading, or raise InputRejected."""
    name = os.fspath(path)
    before = _lstat_or_reject(path, name)
    if stat.S_ISLNK(before.st_mode):
        raise InputRejected(f"{name}: is a symbolic link; links are not followed")
    if not stat.S_ISREG(before.st_mode):
        raise InputRejected(f"{name}: is not a regular file")
    # O_NOFOLLOW closes the gap between the lstat above and the open: a file swapped for a link
    # in between fails to open instead of being followed; O_NONBLOCK keeps a swapped-in FIFO from hanging us.
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        descriptor = os.open(path, flags)
    except OSError as error:
        raise InputRejected(f"{name}: cannot be opened ({error.strerror})") from None
    handle = os.fdopen(descriptor, "rb")
    try:
        _check_opened_file(os.fstat(descriptor), before, name, max_bytes)
    except InputRejected:
        handle.close()
        raise
    return handle


def _lstat_or_reject(path: str | os.PathLike, name: str) -> os.stat_result:
    try:
        return os.lstat(path)
    except FileNotFoundError:
        raise InputRejected(f"{name}: no such file") from None
    except OSError as error:
        raise InputRejected(f"{name}: cannot be read ({error.strerror})") from None


def _check_opened_file(opened: os.stat_result, checked: os.stat_result, name: str, max_bytes: int) -> None:
    if not stat.S_ISREG(opened.st_mode) or (opened.st_dev, opened.st_ino) != (checked.st_dev, checked.st_ino):
        raise InputRejected(f"{name}: changed while being opened; refusing it")
    if opened.st_size > max_bytes:
        raise InputRejected(f"{name}: file is {opened.st_size:,} bytes, more than the {max_bytes:,} allowed")


def _check_byte_size(size: int, name: str, limits: Limits) -> None:
    if size == 0:
        raise InputRejected(f"{name}: file is empty")
    if size > limits.max_file_bytes:
        raise InputRejected(f"{name}: file is {size:,} bytes, more than the {limits.max_file_bytes:,} allowed")


def _open_lazily(data: bytes, name: str, limits: Limits) -> ImageFile.ImageFile:
    """Identify the image and read its header only; no pixel data is decoded here."""
    try:
        return Image.open(io.BytesIO(data), formats=PILLOW_FORMATS)
    except Image.DecompressionBombError:
        # Pillow's own guard fires only far above our limit, and before we can see the size.
        raise InputRejected(
            f"{name}: image header declares far more than the {limits.max_image_pixels:,} pixels allowed; not decoded"
        ) from None
    except UnidentifiedImageError:
        raise InputRejected(f"{name}: not a {_FORMATS_FOR_USERS} image") from None
    except _DECODE_FAILURES as error:
        raise InputRejected(f"{name}: image header is damaged ({error})") from None


def _check_dimensions(size: tuple[int, int], name: str, limits: Limits) -> None:
    width, height = size
    if width <= 0 or height <= 0:
        raise InputRejected(f"{name}: image has no pixels ({width}x{height})")
    if width * height > limits.max_image_pixels:
        raise InputRejected(
            f"{name}: image is {width}x{height} = {width * height:,} pixels, "
            f"more than the {limits.max_image_pixels:,} allowed; not decoded"
        )
    if max(width, height) / min(width, height) > limits.max_aspect_ratio:
        shape = "wide" if width > height else "tall"
        raise InputRejected(
            f"{name}: image is {width}x{height} pixels, too {shape} for a captcha "
            f"(aspect ratio above {limits.max_aspect_ratio:g}:1)"
        )
    if max(width, height) > limits.max_image_side:
        raise InputRejected(
            f"{name}: image is {width}x{height} pixels; sides longer than {limits.max_image_side} are refused"
        )


def _frame_notes(image: ImageFile.ImageFile, name: str) -> list[str]:
    try:
        frames = getattr(image, "n_frames", 1)
    except _DECODE_FAILURES as error:
        raise InputRejected(f"{name}: image frames are damaged ({error})") from None
    if frames > 1:
        return [f"animated {image.format}: used the first of {frames} frames"]
    return []


def _load_completely(image: ImageFile.ImageFile, name: str) -> None:
    _require_truncated_images_refused()
    try:
        image.seek(0)
        image.load()
    except _DECODE_FAILURES as error:
        raise InputRejected(f"{name}: image data is damaged or truncated ({error})") from None


def _require_truncated_images_refused() -> None:
    # With this Pillow switch on, a half-uploaded file decodes to a half-gray image without any
    # error, and the model would silently learn from it; it is process-wide, so check every time.
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        raise RuntimeError(
            "PIL.ImageFile.LOAD_TRUNCATED_IMAGES was switched on elsewhere; "
            "refusing to decode because truncated images would pass unnoticed"
        )


def _to_gray(image: Image.Image) -> np.ndarray:
    if image.mode in _SIXTEEN_BIT_MODES:
        return _sixteen_bit_to_gray(image)
    if image.has_transparency_data:
        image = _over_paper(image)
    if image.mode != "L":
        # Going through RGB gives palette, bilevel and CMYK files the same luma formula as RGB ones.
        image = image.convert("RGB").convert("L")
    return np.array(image, dtype=np.uint8)


def _sixteen_bit_to_gray(image: Image.Image) -> np.ndarray:
    samples = np.asarray(image).astype(np.float64)
    scaled = np.rint(samples / _SIXTEEN_TO_EIGHT_BIT)
    return np.clip(scaled, 0, _WHITE).astype(np.uint8)


def _over_paper(image: Image.Image) -> Image.Image:
    """Composite onto paper that shows the ink: white, since captcha ink is usually dark and transparent means
    paper, unless the image is mostly see-through and what is drawn on it is light (white ink on nothing would
    vanish on white)."""
    rgba = image.convert("RGBA")
    paper = _BLACK if _light_ink_on_nothing(np.asarray(rgba)) else _WHITE
    backing = Image.new("RGBA", rgba.size, (paper, paper, paper, _WHITE))
    return Image.alpha_composite(backing, rgba).convert("RGB")


def _light_ink_on_nothing(rgba: np.ndarray) -> bool:
    """True when under half the image is opaque and almost none of its opaque part is darker than mid-gray: dark
    text on an opaque white label covering part of the canvas is dark ink, whatever the label's average."""
    alpha = rgba[..., 3].astype(np.float64) / _WHITE
    opaque = alpha >= _MOSTLY_OPAQUE
    if not opaque.any() or alpha.mean() >= _MOSTLY_OPAQUE:
        return False
    luma = rgba[..., :3].astype(np.float64) @ _LUMA_WEIGHTS
    return float(np.percentile(luma[opaque], _DARK_INK_PERCENTILE)) > _WHITE / 2
