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
    assert dataset.labels_from == "1 sidecar .txt file, the file names of 10"
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
    with pytest.raises(DatasetError, match=r"none of its 2 files is an image .*; it holds \.md files, which would need"):
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
        (tmp_path / f"abcdefghi{i}.png").write_bytes(png(image))
    with pytest.raises(DatasetError, match="labels match"):
        check_trainable(load_path(tmp_path))


def test_fingerprint_is_stable_and_data_dependent():
    a = generate_dataset(DEFAULT.with_(generate_count=10))
    b = generate_dataset(DEFAULT.with_(generate_count=10))
    c = generate_dataset(DEFAULT.with_(generate_count=10, seed=1))
    assert a.fingerprint() == b.fingerprint() != c.fingerprint()


def test_hashes_worked_out_once_travel_with_a_pickled_copy_and_are_forgotten_on_request():
    import pickle
    from dataclasses import replace

    dataset = generate_dataset(DEFAULT.with_(generate_count=10)).hash_now()
    copy = pickle.loads(pickle.dumps(dataset))  # what st.cache_data hands each page run
    assert copy._hashes["fingerprint"] == dataset.fingerprint()
    assert (copy._hashes["content"] == dataset.content_digests()).all()
    before, key = dataset.fingerprint(), dataset.content_key()
    dataset.content_digests()[0] = 0  # a caller's edit of the digests it was given stays its own
    assert dataset.content_key() == key
    dataset.letters.images[0, 0, 0] ^= 1
    dataset.images[0][0, 0] ^= 1
    assert dataset.fingerprint() == before  # in place, unseen until told ...
    dataset.forget_hashes()
    assert dataset.fingerprint() != before and dataset.content_key() != key  # ... and then worked out again
    assert not replace(dataset, source="another")._hashes  # a replaced copy works its own out


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


def write_set(folder, captchas, name=lambda i, text: f"{text}.png"):
    folder.mkdir(parents=True, exist_ok=True)
    for i, (text, image) in enumerate(captchas):
        (folder / name(i, text)).write_bytes(png(image))


def test_folders_that_wrap_a_download_or_split_it_into_train_and_test_hold_captchas(tmp_path, captchas):
    write_set(tmp_path / "download" / "samples", captchas)  # what unpacking a downloaded set often gives
    wrapped = load_path(tmp_path)
    assert wrapped.is_captchas and sorted(wrapped.texts) == sorted(t for t, _ in captchas)
    write_set(tmp_path / "split" / "train", captchas[:14])
    write_set(tmp_path / "split" / "test", captchas[14:])
    split = load_path(tmp_path / "split")
    assert split.is_captchas and sorted(split.texts) == sorted(t for t, _ in captchas)
    assert not split.skipped


def test_names_that_only_count_the_images_are_refused_with_how_to_label(tmp_path, captchas):
    write_set(tmp_path / "img", captchas, lambda i, _: f"img_{i:04d}.png")
    with pytest.raises(DatasetError, match=r"all 20 captchas would get the same label 'img'.*sidecar abcd\.txt"):
        load_path(tmp_path / "img")
    write_set(tmp_path / "numbered", captchas, lambda i, _: f"{i + 1:04d}.png")
    with pytest.raises(DatasetError, match=r"the file names count the images \(such as 0001\.png\)"):
        load_path(tmp_path / "numbered")


def test_a_counter_in_front_of_the_text_and_a_download_copys_suffix_are_not_the_label(tmp_path, captchas):
    write_set(tmp_path / "counted", captchas, lambda i, text: f"{i:04d}_{text}.png")
    assert load_path(tmp_path / "counted").texts == [t for t, _ in captchas]
    write_set(tmp_path / "copies", captchas[:3], lambda i, text: f"{text} ({i + 1}).png")
    assert sorted(load_path(tmp_path / "copies").texts) == sorted(t for t, _ in captchas[:3])


@pytest.mark.parametrize("separator", ["_", "-", "."])
def test_a_repeat_number_after_the_text_or_a_counter_before_it_is_not_the_label(tmp_path, captchas, separator):
    write_set(tmp_path / "repeats", captchas, lambda i, text: f"{text}{separator}{i + 80}.png")
    assert sorted(load_path(tmp_path / "repeats").texts) == sorted(t for t, _ in captchas)
    write_set(tmp_path / "counted", captchas, lambda i, text: f"{i:04d}{separator}{text}.png")
    assert load_path(tmp_path / "counted").texts == [t for t, _ in captchas]


@pytest.mark.parametrize("list_name, line", [
    ("labels.csv", lambda name, text: f"{name},{text}"),
    ("labels.txt", lambda name, text: f"{name} {text}"),
    ("train.tsv", lambda name, text: f"images/{name}\t{text}"),
])
def test_a_label_list_names_the_texts_and_images_it_leaves_out_are_skipped(tmp_path, captchas, list_name, line):
    write_set(tmp_path / "set", captchas, lambda i, _: f"c{i:03d}.png")
    rows = [line(f"c{i:03d}.png", text) for i, (text, _) in enumerate(captchas[:-1])]  # the last one is not listed
    (tmp_path / "set" / list_name).write_text("file,text\n" * list_name.endswith(".csv") + "\n".join(rows) + "\n")
    (tmp_path / "set" / "README.txt").write_text("Captchas from somewhere")
    dataset = load_path(tmp_path / "set")
    assert dataset.texts == [t for t, _ in captchas[:-1]]
    assert dict(dataset.skipped) == {
        "c019.png": f"not listed in {list_name}",
        "README.txt": "not an image, nor the label of one (no image has its name) nor a list of their texts",
    }


def test_light_ink_on_a_transparent_background_is_not_lost_on_white(tmp_path, captchas):
    text, image = captchas[0]
    ink = 255 - image  # how much ink each pixel holds
    rgba = np.zeros((*image.shape, 4), np.uint8)
    rgba[..., :3] = 255  # white ink...
    rgba[..., 3] = ink  # ...on nothing: on white paper it would vanish
    (tmp_path / "white_ink.png").write_bytes(png(rgba))
    (tmp_path / "on_black.png").write_bytes(png(ink))
    decoded, rejected = collect_images([str(tmp_path / "white_ink.png"), str(tmp_path / "on_black.png")])
    (_, white_ink), (_, on_black) = decoded
    assert not rejected and np.abs(white_ink.astype(int) - on_black).max() <= 1
    assert white_ink.std() > 30  # the letters are there to cut


def test_a_character_found_in_one_captcha_only_is_refused_with_that_captchas_name():
    from captcha_core.data import from_captchas

    captchas = generate_captchas(120, seed=11)  # enough that every character is in two of them
    odd = generate_captchas(1, alphabet="xz", seed=1)[0]
    dataset = from_captchas([*captchas, odd], names=[f"{t}.png" for t, _ in captchas] + ["odd_one.png"])
    assert dataset.segment_ok[-1]  # its letters are there, all from that one captcha
    with pytest.raises(DatasetError, match=r"^'x' \(odd_one\.png\), 'z' \(odd_one\.png\): these characters appear in only one captcha"):
        check_trainable(dataset)
    check_trainable(from_captchas(captchas))  # every character of the plain set is in two captchas or more


def test_past_its_caps_a_folder_names_the_cap_and_a_big_zip_says_to_unzip_it(tmp_path, captchas):
    from captcha_core.config import Limits

    write_set(tmp_path / "set", captchas[:5])
    small = DEFAULT.with_(limits=Limits(max_folder_files=3, max_zip_bytes=100))
    with pytest.raises(InputRejected, match=r"more than 3 files \(the cap is max_folder_files in captcha_core/config\.py\)"):
        load_path(tmp_path / "set", small)
    with zipfile.ZipFile(tmp_path / "set.zip", "w") as zf:
        for path in (tmp_path / "set").iterdir():
            zf.write(path, path.name)
    with pytest.raises(InputRejected, match=r"more than the 100 a zip may have; unzip it and pass the folder"):
        load_path(tmp_path / "set.zip", small)
    assert len(load_path(tmp_path / "set.zip").texts) == 5


@pytest.mark.parametrize("layout", [
    {"train": lambda i, t: f"{i:04d}.png", "test": lambda i, t: f"{i:04d}.png"},  # counters restart per folder
    {"all": lambda i, t: f"{i if i < 10 else i + 1:04d}.png"},  # one file of the count missing
    {"all": lambda i, t: f"img{i:04d}.png"},  # a word and a counter, no separator
    {"all": lambda i, t: f"{i:04d} (1).png" if i == 3 else f"{i:04d}.png"},  # a browser's second copy
])
def test_counters_are_refused_however_they_are_written(tmp_path, layout):
    many = generate_captchas(40, seed=12)
    for folder, name in layout.items():
        write_set(tmp_path / "set" / folder, many[:20] if folder == "train" else many[20:] if folder == "test" else many, name)
    with pytest.raises(DatasetError, match="the file names count the images"):
        load_path(tmp_path / "set")


def test_counters_in_front_of_the_text_restart_in_train_and_test(tmp_path):
    many = generate_captchas(40, seed=12)
    write_set(tmp_path / "set" / "train", many[:20], lambda i, t: f"{i:04d}_{t}.png")
    write_set(tmp_path / "set" / "test", many[20:], lambda i, t: f"{i:04d}_{t}.png")
    assert sorted(load_path(tmp_path / "set").texts) == sorted(t for t, _ in many)


def test_digit_texts_given_by_a_list_are_not_taken_for_a_counter(tmp_path):
    digits = generate_captchas(30, alphabet="0123456789", length=2, seed=3)
    write_set(tmp_path / "set", digits, lambda i, t: f"c{i}.png")
    rows = [f"c{i}.png,{10 + i}" for i in range(30)]  # 10, 11, ... 39: a run, but the list says so
    (tmp_path / "set" / "labels.csv").write_text("\n".join(rows))
    dataset = load_path(tmp_path / "set")
    assert dict(zip(dataset.names, dataset.texts)) == {f"c{i}.png": str(10 + i) for i in range(30)}


def test_letter_folders_under_train_and_test_are_letters(tmp_path):
    for split in ("train", "test"):
        for label in "abc":
            folder = tmp_path / "letters" / split / label
            folder.mkdir(parents=True)
            for i in range(3):
                image = np.full((40, 30), 255, np.uint8)
                cv2.putText(image, label, (5, 30), cv2.FONT_HERSHEY_SIMPLEX, 1.0, 0, 2)
                (folder / f"{i}.png").write_bytes(png(image))
    dataset = load_path(tmp_path / "letters")
    assert dataset.kind == "letters" and dataset.letters.class_counts() == {"a": 6, "b": 6, "c": 6}


def test_label_lists_in_each_folder_a_fuller_list_and_sidecars_all_count(tmp_path, captchas):
    write_set(tmp_path / "set" / "train", captchas[:8], lambda i, _: f"c{i}.png")
    write_set(tmp_path / "set" / "test", captchas[8:16], lambda i, _: f"c{i}.png")  # the same names as train
    rows = lambda part: "\n".join(f"c{i},{t}" for i, (t, _) in enumerate(part))  # noqa: E731
    (tmp_path / "set" / "train" / "labels.csv").write_text(rows(captchas[:8]) + "\nc99,zzzz\nc98,yyyy")
    (tmp_path / "set" / "test" / "labels.csv").write_text(rows(captchas[8:16]))
    text, image = captchas[16]
    (tmp_path / "set" / "test" / "extra.png").write_bytes(png(image))
    (tmp_path / "set" / "test" / "extra.txt").write_text(text)  # a sidecar still labels its image
    dataset = load_path(tmp_path / "set")
    assert sorted(dataset.texts) == sorted(t for t, _ in captchas[:17]) and not dataset.skipped
    assert dataset.labels_from == "test/labels.csv, train/labels.csv, 1 sidecar .txt file"


def test_a_csv_that_is_not_about_the_text_does_not_label_the_captchas(tmp_path, captchas):
    write_set(tmp_path / "set", captchas)
    (tmp_path / "set" / "sources.csv").write_text("\n".join(f"{t}.png,kaggle" for t, _ in captchas))
    (tmp_path / "set" / "split.csv").write_text("\n".join(f"{t}.png,{'train' if i % 4 else 'test'}"
                                                            for i, (t, _) in enumerate(captchas)))
    dataset = load_path(tmp_path / "set")
    assert sorted(dataset.texts) == sorted(t for t, _ in captchas)
    assert sorted(name for name, _ in dataset.skipped) == ["sources.csv", "split.csv"]


def test_dark_text_on_an_opaque_label_over_a_transparent_canvas_stays_on_white(tmp_path, captchas):
    text, image = captchas[0]
    h, w = image.shape
    rgba = np.zeros((h * 2, w * 2, 4), np.uint8)  # the canvas: see-through, three quarters of it
    rgba[:h, :w, :3] = image[..., None]
    rgba[:h, :w, 3] = 255  # the captcha itself: an opaque white label with dark text
    (tmp_path / "label.png").write_bytes(png(rgba))
    [(_, gray)], _ = collect_images([str(tmp_path / "label.png")])
    assert np.array_equal(gray[:h, :w], image) and (gray[h:, :] == 255).all()


def test_captchas_no_letter_model_can_use_can_still_train_the_sequence_model():
    from captcha_core.data import from_captchas

    touching = generate_captchas(120, difficulty="lined", length=5, seed=2)
    blank = from_captchas([(text, np.full((50, 200), 255, np.uint8)) for text, _ in touching])
    with pytest.raises(DatasetError, match="labels match"):
        check_trainable(blank)  # nothing to cut, so no letters for the cnn or the forest
    check_trainable(blank, "sequence")  # the sequence model reads whole captchas and needs none


@pytest.mark.parametrize("row", [
    lambda i, name, text: f"{i},{name},{text}",  # a numbered list
    lambda i, name, text: f"{text},{name}",  # the text first
])
def test_a_label_list_finds_the_text_beside_the_image_name(tmp_path, captchas, row):
    write_set(tmp_path / "set", captchas, lambda i, _: f"c{i:03d}.png")
    (tmp_path / "set" / "labels.csv").write_text("\n".join(row(i, f"c{i:03d}.png", t) for i, (t, _) in enumerate(captchas)))
    dataset = load_path(tmp_path / "set")
    assert dict(zip(dataset.names, dataset.texts)) == {f"c{i:03d}.png": t for i, (t, _) in enumerate(captchas)}


def test_a_label_list_saved_as_excels_unicode_text_is_read(tmp_path, captchas):
    write_set(tmp_path / "set", captchas, lambda i, _: f"c{i:03d}.png")
    rows = "\r\n".join(f"c{i:03d}.png\t{t}" for i, (t, _) in enumerate(captchas))
    (tmp_path / "set" / "labels.txt").write_bytes(rows.encode("utf-16"))  # with its byte-order mark
    dataset = load_path(tmp_path / "set")
    assert dict(zip(dataset.names, dataset.texts)) == {f"c{i:03d}.png": t for i, (t, _) in enumerate(captchas)}
