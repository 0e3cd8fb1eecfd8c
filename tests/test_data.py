"""Data in: folders, zips, sidecar labels, letter folders, and datasets that cannot train."""
import io
import zipfile

import cv2
import numpy as np
import pytest

from captcha_core.config import DEFAULT
from captcha_core.data import DatasetError, check_trainable, collect_images, generate_dataset, load_path, load_zip_bytes
from captcha_core.generator import generate_captchas
from captcha_core.imageio import InputRejected


def png(image: np.ndarray) -> bytes:
    return cv2.imencode(".png", image)[1].tobytes()


@pytest.fixture(scope="module")
def captchas():
    return generate_captchas(20, seed=11)


def test_captcha_folder_labelled_by_stem_and_sidecar(tmp_path, captchas):
    for i, (text, image) in enumerate(captchas[:10]):
        (tmp_path / f"{text}_{i}.png").write_bytes(png(image))
    text, image = captchas[10]
    (tmp_path / "mystery.png").write_bytes(png(image))
    (tmp_path / "mystery.txt").write_text(text + "\n")
    dataset = load_path(tmp_path)
    assert dataset.is_captchas
    assert sorted(dataset.texts) == sorted(t for t, _ in captchas[:11])
    assert dataset.segmentation_yield > 0.9
    assert dataset.lengths == [4]


def test_letter_folders_in_a_zip_with_one_top_folder(captchas):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for label in "abc":
            for i in range(3):
                image = np.full((40, 30), 255, np.uint8)
                cv2.putText(image, label, (5, 30), cv2.FONT_HERSHEY_SIMPLEX, 1.0, 0, 2)
                zf.writestr(f"Einfach_letters/{label}/{i}.png", png(image))
        zf.writestr("__MACOSX/Einfach_letters/a/._0.png", b"junk")
        zf.writestr("Einfach_letters/.DS_Store", b"junk")
    dataset = load_zip_bytes(buffer.getvalue(), "letters.zip")
    assert dataset.kind == "letters"
    assert dataset.letters.class_counts() == {"a": 3, "b": 3, "c": 3}
    assert dataset.letters.images.shape[1:] == (DEFAULT.letter_size, DEFAULT.letter_size)
    assert len(dataset.skipped) == 2


def test_mixed_layouts_are_refused(tmp_path, captchas):
    text, image = captchas[0]
    (tmp_path / f"{text}.png").write_bytes(png(image))
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "1.png").write_bytes(png(image))
    with pytest.raises(DatasetError, match="mixed with loose captchas"):
        load_path(tmp_path)


def test_empty_folder_and_non_images(tmp_path):
    with pytest.raises(DatasetError, match="it holds no files"):
        load_path(tmp_path)
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(DatasetError, match="its one file is not an image"):
        load_path(tmp_path)
    (tmp_path / "more.md").write_text("hello")
    with pytest.raises(DatasetError, match="none of its 2 files is an image"):
        load_path(tmp_path)


def test_images_that_cannot_be_used_are_named_with_their_reasons(tmp_path):
    (tmp_path / "bad.png").write_text("not a picture")
    (tmp_path / "README.md").write_text("the class set")  # left out too, but named after the image
    with pytest.raises(DatasetError, match=r"its one image could not be used \(bad\.png: not a PNG"):
        load_path(tmp_path)
    for i in range(4):
        (tmp_path / f"worse{i}.png").write_text("not a picture either")
    with pytest.raises(DatasetError, match=r"none of its 5 images could be used \(bad\.png: .*worse1\.png: [^;]*; and 3 more left out\)$"):
        load_path(tmp_path)


def test_an_uploaded_zip_is_named_in_its_refusals():
    with pytest.raises(DatasetError, match=r"^class\.zip: it holds no files"):
        load_zip_bytes(empty_zip(), "class.zip")


def empty_zip() -> bytes:
    buffer = io.BytesIO()
    zipfile.ZipFile(buffer, "w").close()
    return buffer.getvalue()


def test_bad_files_are_skipped_with_a_reason(tmp_path, captchas):
    for text, image in captchas[:5]:
        (tmp_path / f"{text}.png").write_bytes(png(image))
    (tmp_path / "zzzz.png").write_bytes(b"")
    dataset = load_path(tmp_path)
    assert len(dataset.texts) == 5
    assert [name for name, _ in dataset.skipped] == ["zzzz.png"]


def test_symlinked_input_is_not_followed(tmp_path, captchas):
    real = tmp_path / "real"
    real.mkdir()
    text, image = captchas[0]
    (real / f"{text}.png").write_bytes(png(image))
    (tmp_path / "link").symlink_to(real)
    with pytest.raises(InputRejected, match="symbolic links"):
        load_path(tmp_path / "link")
    decoded, rejected = collect_images([str(tmp_path / "link"), str(real / f"{text}.png")])
    assert len(decoded) == 1 and "symbolic links" in rejected[0][1]


def test_transparent_letter_reads_like_one_on_white(tmp_path, captchas):
    text, image = captchas[0]
    rgba = np.zeros((*image.shape, 4), np.uint8)
    rgba[..., 3] = 255 - image  # black ink whose opacity carries the letter; the paper is see-through
    (tmp_path / "t.png").write_bytes(png(rgba))
    (tmp_path / "w.png").write_bytes(png(image))
    decoded, rejected = collect_images([str(tmp_path / "t.png"), str(tmp_path / "w.png")])
    (_, on_transparent), (_, on_white) = decoded
    assert not rejected
    assert np.array_equal(on_transparent, on_white)


def test_labels_that_never_match_segmentation_fail_before_training(tmp_path, captchas):
    for i, (_, image) in enumerate(captchas[:6]):
        (tmp_path / f"abcdefghij_{i}.png").write_bytes(png(image))
    with pytest.raises(DatasetError, match="labels match"):
        check_trainable(load_path(tmp_path))


def test_fingerprint_is_stable_and_data_dependent():
    a = generate_dataset(DEFAULT.with_(generate_count=10))
    b = generate_dataset(DEFAULT.with_(generate_count=10))
    c = generate_dataset(DEFAULT.with_(generate_count=10, seed=1))
    assert a.fingerprint() == b.fingerprint() != c.fingerprint()


def test_loading_reports_decoding_then_cutting_with_the_file_count(tmp_path, captchas):
    for i, (text, image) in enumerate(captchas):
        (tmp_path / f"{text}_{i}.png").write_bytes(png(image))
    calls = []
    load_path(tmp_path, report=lambda stage, done, total: calls.append((stage, done, total)))
    stages = list(dict.fromkeys(stage for stage, _, _ in calls))
    assert stages == ["reading images", "cutting captchas into letters"]
    assert {total for _, _, total in calls} == {len(captchas)}
    assert calls[-1] == ("cutting captchas into letters", len(captchas), len(captchas))


def test_generating_reports_drawing_then_cutting():
    calls = []
    generate_dataset(DEFAULT.with_(generate_count=12), report=lambda stage, done, total: calls.append((stage, done, total)))
    assert [c for c in calls if c[1] == c[2]] == [("drawing captchas", 12, 12), ("cutting captchas into letters", 12, 12)]
