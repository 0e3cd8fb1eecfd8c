import io
import zipfile

import numpy as np
import pytest

from captcha_core.persistence import ModelDamaged, model_zip_bytes
from captcha_core.preview import (
    BOX_FAILED, BOX_FORCED, BOX_OK, class_samples, crisp_scale, draw_boxes, failed_captchas, pad_to_size,
    preview_captchas, tile, training_balance,
)


def test_class_samples_cover_every_class_with_at_most_n(easy_dataset):
    samples = class_samples(easy_dataset.letters, per_class=3)
    assert list(samples) == sorted(set(easy_dataset.letters.labels.tolist()))
    for label, rows in samples.items():
        assert 1 <= len(rows) <= 3
        assert (easy_dataset.letters.labels[rows] == label).all()


def test_tile_puts_images_side_by_side_with_white_gaps():
    images = np.zeros((3, 10, 8), np.uint8)
    strip = tile(images, gap=2)
    assert strip.shape == (10, 3 * 8 + 2 * 2)
    assert (strip[:, 8:10] == 255).all() and (strip[:, :8] == 0).all()
    with pytest.raises(ValueError):
        tile(images[:0])
    # A rare class keeps the width of a full strip, its empty places left white.
    short = tile(images[:1], gap=2, slots=3)
    assert short.shape == strip.shape and (short[:, 8:] == 255).all()


def test_draw_boxes_colours_by_outcome_and_leaves_the_original_alone():
    gray = np.full((20, 30), 255, np.uint8)
    ok = draw_boxes(gray, [(2, 3, 10, 12)], ok=True)
    bad = draw_boxes(gray, [(2, 3, 10, 12)], ok=False)
    forced = draw_boxes(gray, [(2, 3, 10, 12)], ok=True, clean=False)
    assert ok.shape == (20, 30, 3) and tuple(ok[3, 2]) == BOX_OK and tuple(bad[3, 2]) == BOX_FAILED
    assert tuple(forced[3, 2]) == BOX_FORCED
    assert (gray == 255).all()


def test_failed_captchas_and_letter_data(easy_dataset):
    assert len(failed_captchas(easy_dataset)) == int((~easy_dataset.segment_ok).sum())


def test_training_balance_resamples_the_training_split_only(easy_dataset, tiny_config):
    balance = training_balance(easy_dataset, tiny_config.with_(resample="downsample", per_class=2))
    assert set(balance.resampled.after.values()) == {2}
    assert balance.sizes["train"] == len(balance.split.train)
    assert balance.sizes["train after resampling"] == 2 * len(balance.resampled.after)
    assert sum(balance.resampled.before.values()) == len(balance.split.train)


def test_model_zip_holds_model_labels_and_metadata(tiny_model_dir, tmp_path):
    data = model_zip_bytes(tiny_model_dir)
    names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
    assert names == {f"{tiny_model_dir.name}/{n}" for n in ("model.keras", "labels.json", "metadata.json", "trained_on.npy")}
    with pytest.raises(ModelDamaged):
        model_zip_bytes(tmp_path)


def test_small_captchas_are_enlarged_by_whole_pixels_with_their_boxes():
    gray = np.full((24, 72), 255, np.uint8)
    gray[5:15, 10:20] = 0
    # Never larger than the room it is shown in: 150 px shown in 420 px is doubled, not tripled to 450.
    assert crisp_scale(72, 220) == 3 and crisp_scale(150, 420) == 2 and crisp_scale(400, 220) == 1
    big = draw_boxes(gray, [(10, 5, 10, 10)], ok=True, scale=3)
    assert big.shape == (72, 216, 3)
    # Ink repeated pixel for pixel (no grey smoothing); the box at the scaled corner, thicker but not as thick
    # as the scale, so the enlarged ink inside it shows.
    assert set(np.unique(big[..., 0])) <= {0, 255, BOX_OK[0]}
    assert tuple(big[15, 30]) == BOX_OK and tuple(big[20, 33]) == (0, 0, 0)
    huge = draw_boxes(gray, [(10, 5, 10, 10)], ok=True, scale=4)
    edge = int((huge[30, 30:50] == BOX_OK).all(axis=1).sum())  # the box's left side, across one row
    assert 1 < edge < 4


def test_pictures_of_different_sizes_are_padded_with_their_paper_to_one_size():
    wide = np.full((10, 40, 3), 200, np.uint8)
    tall = np.full((20, 30, 3), 230, np.uint8)
    tall[5:15, 10:20] = 0  # ink in the middle, paper around it
    padded = [pad_to_size(p, 20, 40) for p in (wide, tall)]
    assert [p.shape for p in padded] == [(20, 40, 3), (20, 40, 3)]
    assert (padded[0][:5] == 200).all() and (padded[1][:, :5] == 230).all() and (padded[1][5:15, 15:25] == 0).all()
    gray = np.full((4, 6), 180, np.uint8)  # grayscale pictures have a paper level, not a colour
    assert (pad_to_size(gray, 6, 6) == 180).all()


def test_the_segmentation_preview_shows_forced_cuts_beside_clean_ones_and_a_new_handful_per_draw(easy_dataset):
    from dataclasses import replace

    n = len(easy_dataset.texts)
    ok = np.ones(n, bool)
    ok[:3] = False  # failed: shown elsewhere, never here
    clean = np.ones(n, bool)
    clean[3:13] = False  # ten cut by count
    dataset = replace(easy_dataset, segment_ok=ok, clean_cut=clean)
    first = preview_captchas(dataset, 8, draw=0)
    assert len(first) == 8 and list(first) == sorted(first) and min(first) >= 3
    assert sum(3 <= i < 13 for i in first) == 4  # half of them forced
    assert preview_captchas(dataset, 8, draw=0) == first and preview_captchas(dataset, 8, draw=1) != first
    # Too few clean ones: forced ones fill the rest; too few captchas: all of them.
    only_forced = replace(easy_dataset, segment_ok=np.ones(n, bool), clean_cut=np.arange(n) < 2)
    assert len(preview_captchas(only_forced, 8)) == 8
    assert preview_captchas(replace(easy_dataset, segment_ok=np.arange(n) < 5, clean_cut=None), 8) == (0, 1, 2, 3, 4)
