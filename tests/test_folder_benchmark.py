"""The folder benchmark's split: read the texts as the loader does, keep every image on one side, copy it readably."""
import cv2
import numpy as np

from benchmarks.folder import copy_into, labelled_images, split_by_image
from captcha_core.labels import stem_label


def write_images(folder, names):
    folder.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(names):
        cv2.imwrite(str(folder / name), np.full((10, 30), i % 255, np.uint8))


def test_texts_come_from_the_names_with_a_counter_in_front_skipped(tmp_path):
    counted = [f"{i:04d}_{text}.png" for i, text in enumerate(["ab12", "cd34", "ef56"] * 5)]
    write_images(tmp_path / "counted" / "train", counted)
    (tmp_path / "counted" / "notes.md").write_text("not an image")
    texts = {path.name: text for path, text in labelled_images(tmp_path / "counted")}
    assert len(texts) == 15  # the Markdown file is no image
    assert texts["0000_ab12.png"] == "ab12" and texts["0014_ef56.png"] == "ef56"
    write_images(tmp_path / "plain", ["zz99.png", "zz99_2.png", "zz99-3.png"])
    assert {text for _, text in labelled_images(tmp_path / "plain")} == {"zz99"}


def test_the_split_is_seeded_and_puts_each_image_on_one_side():
    images = [(f"{i}.png", str(i)) for i in range(40)]
    train, held = split_by_image(images, 0.25, seed=3)
    assert len(held) == 10 and len(train) == 30
    assert not set(train) & set(held) and set(train) | set(held) == set(images)
    assert split_by_image(images, 0.25, seed=3) == (train, held)
    assert split_by_image(images, 0.25, seed=4) != (train, held)


def test_copies_keep_their_text_and_equal_texts_do_not_collide(tmp_path):
    write_images(tmp_path / "a", ["ab12.png"])
    write_images(tmp_path / "b", ["ab12.png", "0001_cd34.jpg"])
    sources = [(tmp_path / "a" / "ab12.png", "ab12"), (tmp_path / "b" / "ab12.png", "ab12"),
               (tmp_path / "b" / "0001_cd34.jpg", "cd34")]
    copies = copy_into(sources, tmp_path / "out")
    assert len({c.name for c in copies}) == 3 and all(c.exists() for c in copies)
    assert [stem_label(c.stem) for c in copies] == ["ab12", "ab12", "cd34"]
    assert copies[2].read_bytes() == sources[2][0].read_bytes()
