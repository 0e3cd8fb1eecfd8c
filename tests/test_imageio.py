"""Tests for captcha_core.imageio: every image input path and the ways it can go wrong."""
from __future__ import annotations

import io
import os
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFile

from captcha_core.config import Limits
from captcha_core.imageio import (
    InputRejected,
    decode_image,
    decode_image_with_notes,
    image_to_png_bytes,
    read_image_file,
)

WIDTH, HEIGHT = 40, 24


def letter_mask() -> np.ndarray:
    """A boolean 'ink' mask shaped like a crude letter, so tests compare real structure."""
    canvas = Image.new("L", (WIDTH, HEIGHT), 0)
    ImageDraw.Draw(canvas).rectangle((8, 4, 14, 20), fill=1)
    ImageDraw.Draw(canvas).rectangle((8, 4, 30, 8), fill=1)
    return np.asarray(canvas).astype(bool)


def black_on_white() -> np.ndarray:
    return np.where(letter_mask(), 0, 255).astype(np.uint8)


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def png_claiming_size(width: int, height: int) -> bytes:
    """A valid tiny PNG whose IHDR is rewritten to claim width x height, CRC fixed up."""
    data = bytearray(encode(Image.new("L", (1, 1), 255), "PNG"))
    ihdr_start = 8  # after the 8-byte PNG signature
    body_start = ihdr_start + 8  # after chunk length and type
    data[body_start:body_start + 8] = struct.pack(">II", width, height)
    body = bytes(data[ihdr_start + 4:body_start + 13])  # type + 13-byte IHDR body
    data[body_start + 13:body_start + 17] = struct.pack(">I", zlib.crc32(body))
    return bytes(data)


@pytest.fixture
def no_decoding(monkeypatch):
    """Make any attempt to decode pixel data fail the test."""
    def refuse(self):
        raise AssertionError("pixel data was decoded")
    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse)


# --- formats that must work -------------------------------------------------------------

def test_grayscale_png_round_trips_exactly():
    gray = black_on_white()
    assert np.array_equal(decode_image(encode(Image.fromarray(gray), "PNG"), "a.png"), gray)


def test_rgb_png_reads_as_luma_gray():
    rgb = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    rgb[...] = (255, 255, 255)
    rgb[letter_mask()] = (200, 0, 0)
    result = decode_image(encode(Image.fromarray(rgb), "PNG"), "red.png")
    assert result.shape == (HEIGHT, WIDTH) and result.dtype == np.uint8
    ink = np.unique(result[letter_mask()])
    assert len(ink) == 1 and abs(int(ink[0]) - 200 * 0.299) <= 1
    assert set(np.unique(result[~letter_mask()])) == {255}


def test_rgba_transparent_background_reads_as_white():
    rgba = np.zeros((HEIGHT, WIDTH, 4), np.uint8)  # fully transparent black everywhere
    rgba[letter_mask()] = (0, 0, 0, 255)
    result = decode_image(encode(Image.fromarray(rgba), "PNG"), "t.png")
    assert np.array_equal(result, black_on_white())


def test_half_transparent_ink_blends_with_white():
    rgba = np.zeros((HEIGHT, WIDTH, 4), np.uint8)
    rgba[letter_mask()] = (0, 0, 0, 128)
    result = decode_image(encode(Image.fromarray(rgba), "PNG"), "half.png")
    assert set(np.unique(result[letter_mask()])) == {127}
    assert set(np.unique(result[~letter_mask()])) == {255}


def test_sixteen_bit_png_reads_like_its_eight_bit_version():
    gray = (np.arange(HEIGHT * WIDTH).reshape(HEIGHT, WIDTH) % 256).astype(np.uint8)
    wide = Image.fromarray(gray.astype(np.uint16) * 257)
    data = encode(wide, "PNG")
    assert Image.open(io.BytesIO(data)).mode == "I;16"
    assert np.array_equal(decode_image(data, "deep.png"), gray)


def test_palette_png_and_gif_read_like_their_plain_versions():
    palette = [(255, 255, 255), (0, 0, 0), (30, 120, 200)]
    indices = letter_mask().astype(np.uint8)
    indices[0, :] = 2
    paletted = Image.frombytes("P", (WIDTH, HEIGHT), indices.tobytes())
    paletted.putpalette([c for colour in palette for c in colour])
    plain_rgb = np.array(palette, np.uint8)[indices]
    expected = decode_image(encode(Image.fromarray(plain_rgb), "PNG"), "plain.png")
    assert np.array_equal(decode_image(encode(paletted, "PNG"), "pal.png"), expected)
    assert np.array_equal(decode_image(encode(paletted, "GIF"), "pal.gif"), expected)
    assert len(np.unique(expected)) == 3


def test_palette_with_transparent_index_reads_as_white():
    indices = letter_mask().astype(np.uint8)  # 0 = background, 1 = ink
    paletted = Image.frombytes("P", (WIDTH, HEIGHT), indices.tobytes())
    paletted.putpalette([0, 0, 0, 0, 0, 0])  # background colour is black but transparent
    result = decode_image(encode(paletted, "PNG", transparency=0), "tp.png")
    assert np.array_equal(result, black_on_white())


def test_bmp_round_trips_exactly():
    gray = black_on_white()
    assert np.array_equal(decode_image(encode(Image.fromarray(gray), "BMP"), "a.bmp"), gray)


def test_jpeg_reads_close_to_the_original():
    gray = black_on_white()
    result = decode_image(encode(Image.fromarray(gray), "JPEG", quality=95), "a.jpg")
    assert result.shape == gray.shape
    assert np.abs(result.astype(int) - gray).mean() < 8


def test_animated_gif_returns_first_frame_with_a_note():
    first = Image.fromarray(black_on_white())
    others = [Image.new("L", (WIDTH, HEIGHT), value) for value in (90, 180)]
    data = encode(first, "GIF", save_all=True, append_images=others)
    gray, notes = decode_image_with_notes(data, "anim.gif", Limits())
    assert np.array_equal(gray, black_on_white())
    assert notes == ["animated GIF: used the first of 3 frames"]
    assert np.array_equal(decode_image(data, "anim.gif"), gray)


def test_still_image_has_no_notes():
    _gray, notes = decode_image_with_notes(encode(Image.fromarray(black_on_white()), "GIF"), "s.gif")
    assert notes == []


def test_read_image_file_reads_a_regular_file(tmp_path):
    path = tmp_path / "ok.png"
    path.write_bytes(encode(Image.fromarray(black_on_white()), "PNG"))
    assert np.array_equal(read_image_file(path), black_on_white())


def test_image_to_png_bytes_round_trips():
    gray = black_on_white()
    assert np.array_equal(decode_image(image_to_png_bytes(gray), "out.png"), gray)


def test_image_to_png_bytes_refuses_colour_arrays():
    with pytest.raises(ValueError, match="2-D uint8"):
        image_to_png_bytes(np.zeros((4, 4, 3), np.uint8))


# --- inputs that must be refused ---------------------------------------------------------

def test_empty_file_is_rejected(tmp_path):
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    with pytest.raises(InputRejected, match=r"empty\.png: file is empty"):
        read_image_file(path)


@pytest.mark.parametrize("content", [b"hello, this is not an image\n", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n"])
def test_non_image_named_png_is_rejected(content):
    with pytest.raises(InputRejected, match=r"fake\.png: not a PNG, JPEG, BMP or GIF image"):
        decode_image(content, "fake.png")


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_half_truncated_image_is_rejected_not_partly_decoded(fmt):
    noise = np.random.default_rng(0).integers(0, 256, (HEIGHT * 4, WIDTH * 4), dtype=np.uint8)
    data = encode(Image.fromarray(noise), fmt)
    with pytest.raises(InputRejected, match=r"cut\.img: image data is damaged or truncated"):
        decode_image(data[: len(data) // 2], "cut.img")


def test_truncated_images_stay_refused_even_if_pillow_is_told_to_allow_them(monkeypatch):
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    data = encode(Image.fromarray(black_on_white()), "PNG")
    with pytest.raises(RuntimeError, match="LOAD_TRUNCATED_IMAGES"):
        decode_image(data[: len(data) // 2], "cut.png")


def test_symlink_is_rejected(tmp_path):
    target = tmp_path / "real.png"
    target.write_bytes(encode(Image.fromarray(black_on_white()), "PNG"))
    link = tmp_path / "link.png"
    link.symlink_to(target)
    with pytest.raises(InputRejected, match=r"link\.png: is a symbolic link"):
        read_image_file(link)


def test_directory_is_rejected(tmp_path):
    folder = tmp_path / "folder.png"
    folder.mkdir()
    with pytest.raises(InputRejected, match=r"folder\.png: is not a regular file"):
        read_image_file(folder)


def test_fifo_is_rejected_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    with pytest.raises(InputRejected, match="is not a regular file"):
        read_image_file(fifo)


def test_missing_file_is_rejected(tmp_path):
    with pytest.raises(InputRejected, match=r"gone\.png: no such file"):
        read_image_file(tmp_path / "gone.png")


def test_file_over_the_byte_cap_is_rejected_before_reading(tmp_path):
    path = tmp_path / "big.png"
    path.write_bytes(encode(Image.fromarray(black_on_white()), "PNG"))
    tiny = Limits(max_file_bytes=path.stat().st_size - 1)
    with pytest.raises(InputRejected, match="more than the .* allowed"):
        read_image_file(path, tiny)
    with pytest.raises(InputRejected, match="more than the .* allowed"):
        decode_image(path.read_bytes(), "big.png", tiny)


def test_bomb_header_far_past_pillows_guard_is_rejected_unread(no_decoding):
    bomb = png_claiming_size(30000, 30000)
    assert len(bomb) < 100
    with pytest.raises(InputRejected, match=r"bomb\.png: image header declares far more than the 4,000,000 pixels allowed; not decoded"):
        decode_image(bomb, "bomb.png")


def test_header_over_our_pixel_limit_is_rejected_unread_with_its_size(no_decoding):
    with pytest.raises(InputRejected, match=r"3000x3000 = 9,000,000 pixels, more than the 4,000,000 allowed"):
        decode_image(png_claiming_size(3000, 3000), "big.png", Limits(max_image_pixels=4_000_000))


def test_very_wide_image_is_rejected_as_too_wide():
    data = encode(Image.new("L", (60000, 12), 255), "PNG")
    with pytest.raises(InputRejected, match=r"strip\.png: image is 60000x12 pixels, too wide"):
        decode_image(data, "strip.png")


def test_long_side_over_cap_is_rejected(no_decoding):
    square_enough = Limits(max_image_side=100, max_aspect_ratio=40.0)
    with pytest.raises(InputRejected, match="sides longer than 100 are refused"):
        decode_image(png_claiming_size(200, 50), "long.png", square_enough)
