"""The one place that holds Captcha Lab's tunable numbers."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Limits:
    """Caps that protect the server from hostile or accidental input."""

    # Largest file we accept at all, image or archive entry: a classroom upload, not a dataset dump.
    max_file_bytes: int = 8 * 1024 * 1024
    # Header-declared pixel count above which we refuse before decoding (a 30000x30000 bomb is 9e8).
    max_image_pixels: int = 4_000_000
    # Widest and tallest image we read; a captcha wider than this is a strip, not a captcha.
    max_image_side: int = 4096
    # Aspect ratio beyond which an image is "too wide" to be a captcha (60000x12 is 5000:1).
    max_aspect_ratio: float = 40.0
    # At most this many characters are cut from one captcha, whatever the image claims.
    max_segments: int = 16
    # Files read from one folder on disk. A folder is the user's own, not an upload, so it may hold a public set
    # of some 100,000 captchas (the bytes stay in memory until decoded: about 1 GB at 10 kB a file).
    max_folder_files: int = 200_000
    # Zip caps: entries, bytes after inflation, inflation ratio, and folder depth.
    max_zip_entries: int = 50_000
    max_zip_total_bytes: int = 512 * 1024 * 1024
    max_zip_ratio: float = 200.0
    max_zip_depth: int = 6
    # The zip file itself: below Streamlit's 200 MB upload default, far above a class dataset of captchas.
    max_zip_bytes: int = 128 * 1024 * 1024
    # zipfile parses the whole central directory into memory before any per-entry cap can act,
    # so its size is capped first; 50,000 entries with ordinary names need about 5 MB.
    max_zip_directory_bytes: int = 8 * 1024 * 1024
    # A model's record of what it learnt from (8 bytes a captcha): 8 million captchas, far more than 2 cores train on.
    max_trained_on_bytes: int = 64 * 1024 * 1024
    # Uploaded zips the dashboard keeps on disk so that a reloaded tab gets its data back: the newest this many
    # (at Streamlit's 20 MB upload cap, at most 200 MB); one in use is touched, so it stays among the newest.
    kept_uploads: int = 10
    # ...and any other used within this many hours, so that a class of thirty, each with a zip of their own, keeps
    # them all through a school day (a tab left open on Evaluate marks its upload used only when it reruns)...
    kept_upload_hours: float = 12.0
    # ...as long as all the kept uploads together stay under this many bytes; the least recently used go first.
    kept_upload_bytes: int = 2 * 1024**3


@dataclass(frozen=True)
class SegmentationTuning:
    """Knobs of the captcha cutter; sizes are relative to the text so they hold at any image size."""

    # Gaussian blur side before Otsu: just enough to close anti-aliasing gaps, not to fuse letters.
    blur_kernel: int = 3
    # Opening side as a share of the stroke width: removes lines and dots thinner than the letters' strokes.
    open_fraction: float = 0.75
    # Ink removed by the opening stays removed only if this many times wider than tall: a line, not a thin letter.
    line_aspect: float = 3.0
    # ...and only when such flat pieces together cover at least this share of the text's columns: a line runs
    # through the text, where the bar of a thin-font e covers a few percent. Without this, 1% of the built-in easy
    # letters (no lines at all) lost a bar ('e' cut out as 'c') or part of an 'a'. Flat pieces covered at most
    # 7-16% of the columns of built-in easy and medium captchas (300 each, seeds 0 to 2). The hard level's lines
    # are mostly as thick as its letters, so their flat pieces rarely reach a fifth; its captchas train the
    # sequence model, which reads them uncut.
    line_min_span: float = 0.2
    # Components smaller than (this x text height)^2 pixels are noise dots, not letter parts.
    speck_fraction: float = 0.15
    # Only this many largest ink components are considered: joining them is quadratic, and a hostile
    # image of a million specks would otherwise stall the server.
    max_pieces: int = 200
    # Pieces overlapping horizontally by this share of the narrower one are one character (dot of a j, broken stroke).
    merge_overlap: float = 0.5
    # Both pieces taller than this share of the text height are two letters, however much they overlap.
    letter_height_fraction: float = 0.75
    # A blob is never cut into characters narrower than this share of its height: real touching pairs
    # give 0.45 and up (really-simple-captcha), so narrower parts mean the expected count is wrong,
    # as with ten-letter labels on four-letter images, and the captcha should fail rather than be forced.
    min_char_aspect: float = 0.4
    # A cut is sought this share of a character's width either side of its ideal position.
    cut_window: float = 0.35
    # Weight of the distance from the ideal position against the ink crossed, when choosing a cut column.
    cut_distance_weight: float = 5.0
    # Columns, the lowest of the projection profile near each ideal cut, from which a leaning cut path is tried.
    cut_candidates: int = 3
    # Per-row cost of a cut path leaning away from its starting column, in the same units.
    cut_lean_weight: float = 2.0
    # Solving also tries every forced cut moved by these shares of a character's even width and keeps the
    # variant the model reads most confidently: touching characters differ in width (a wide M against a
    # narrow 2), and on the real set most misread captchas were such cuts made at the even position.
    cut_shifts: tuple[float, ...] = (-0.3, -0.15, 0.15, 0.3)
    # Below this gray-level spread an image (or letter) holds no ink, only paper.
    min_contrast: int = 24
    # Empty border kept around a letter's ink, as a share of its longer side.
    letter_margin: float = 0.08
    # Ink components below this share of a letter's ink are specks and do not stretch its bounding box.
    letter_speck_share: float = 0.02


@dataclass(frozen=True)
class Config:
    """Every default of the pipeline; override with dataclasses.replace or Config.with_(...)."""

    # Side of the square grayscale letter image fed to the CNN, as in the seed (60x60).
    letter_size: int = 60
    # Characters per generated captcha; solving reads the length from the model's metadata.
    captcha_length: int = 4
    # The seed worked with 19 distinct lowercase letters; these skip look-alikes (i/l/o/v/x...).
    alphabet: str = "abcdefghjkmnpqrstuw"
    # Generator difficulty: easy | medium | hard | lined (generator.LEVEL_LOOKS says what each looks like).
    difficulty: str = "easy"
    # Captchas generated when nothing else is given: about the seed's 2,090 letters after resampling.
    generate_count: int = 600
    # Seed for everything random: generator, split, resampling, weight init.
    seed: int = 0
    # Share of captchas (or letters) held out for the test split, never resampled.
    test_size: float = 0.2
    # Share of the remaining data used for validation during training.
    val_size: float = 0.1
    # Resampling of the training split only: bootstrap | downsample | none.
    resample: str = "bootstrap"
    # Target count per class for resampling; None means the largest class (bootstrap) or smallest (downsample).
    per_class: int | None = None
    # Model kind: cnn (the seed's network, with its missing Flatten), forest (scikit-learn baseline),
    # sequence (reads whole captchas, no segmentation) or auto (cnn when segmentation works well enough).
    model: str = "cnn"
    # auto picks the letter CNN when at least this share of the training captchas fall into exactly as many
    # ink pieces as their labels have characters, with no forced cut or merge. Measured clean shares: built-in
    # easy 100%, medium ~97%, the real really-simple-captcha set 90%, hard ~0%. Below the threshold too many
    # letters would be guessed cuts, so the sequence model reads the captchas whole.
    auto_yield_threshold: float = 0.75
    # The seed trained 10 epochs with adam at batch 32 (rate 1e-3). Batch 128 does a quarter of the steps, each
    # using the 2 cores better: 10 epochs on the seed-size data took 7.2 s against 10.1 s at batch 64 (same run).
    # The doubled rate, decayed to zero, kept the real set's accuracy (99.75% letters) where a constant 3e-3 lost it.
    epochs: int = 10
    batch_size: int = 128
    learning_rate: float = 2e-3
    # cosine: the rate falls along a half cosine to zero by the last step | none: constant, as the seed's adam.
    lr_decay: str = "cosine"
    # Batches per graph call. One call per batch left a core idle between steps: the seed-size training took
    # 8.6-8.8 s that way and 6.7-6.8 s with the whole epoch in one call. Progress and Stop are checked between
    # calls, so 32 batches of 128 (about a second on 2 cores) keeps the bar moving on large data.
    steps_per_execution: int = 32
    # The seed's CNN layer sizes: Conv 20@6x6, MaxPool 3, Conv 15@3x3, MaxPool 3, Dense 300.
    conv1_filters: int = 20
    conv1_kernel: int = 6
    conv2_filters: int = 15
    conv2_kernel: int = 3
    pool_size: int = 3
    dense_units: int = 300
    # Random-forest baseline size; small enough to train in seconds on 2 cores.
    forest_trees: int = 200
    # Trees grown between progress reports (and checks of Stop): a forest on the real set takes about 1.5 min.
    forest_trees_per_batch: int = 20
    # Sequence model: captchas are scaled to this height (aspect kept) and padded to the widest training
    # captcha. On 12,000 built-in hard captchas 48 rows read 93.9% of fresh captchas whole where 32 rows
    # read 91-93%: overlapping letters need the detail (python -m benchmarks.hard; training 30 min).
    sequence_height: int = 48
    # Conv blocks (filters each); the first two halve height and width, the rest halve only the height,
    # so a captcha keeps a quarter of its width as time steps, enough for CTC's blanks between repeats.
    sequence_filters: tuple[int, ...] = (32, 64, 96)
    # Batch-norm running statistics follow the last ~10 batches (Keras' 0.99 would average over ~100, and a
    # small dataset ends training before they settle, so inference would see stale statistics).
    sequence_norm_momentum: float = 0.9
    # Width of the per-column features fed to the recurrent layers, and their dropout.
    sequence_dense_units: int = 64
    sequence_dropout: float = 0.25
    # Bidirectional GRU layers reading the columns left to right and back.
    sequence_rnn_units: int = 64
    sequence_rnn_layers: int = 2
    # Upper bound on epochs; small sets end sequence_decay_epochs after their start, large ones stop early on
    # validation loss, usually well before it.
    sequence_epochs: int = 60
    # Batch 64 uses 2 cores better than 32; the rate is scaled with it (hard level: 3e-3 trained steadily).
    sequence_batch_size: int = 64
    # CTC first learns to output only blanks and needs many steps to get past that. 750 captchas make 12 batches
    # of 64 an epoch: after 17 such epochs the model still read nothing and its loss had barely moved, where
    # batches of 16 got past it in about 25 epochs. So small sets use smaller batches (not below
    # sequence_min_batch) until an epoch has sequence_min_steps batches (0 turns this off). Sets whose pass makes at
    # most half that many batches even at sequence_min_batch (384 captchas or fewer) go over their captchas as many
    # times an epoch as fit in sequence_min_steps batches: 216 lined captchas at 14
    # batches an epoch were still in CTC's start at the 60-epoch limit and read 17% of 500 fresh ones; three
    # passes an epoch left it by epoch 23 and read 81% (another seed: 77%), in 4.3 min on one core (ad hoc).
    sequence_min_steps: int = 48
    sequence_min_batch: int = 16
    # Adam's rate for batches of sequence_batch_size; smaller batches get it scaled down in proportion. Unscaled
    # (3e-3 at batch 16), training on the 750 lined captchas stayed in CTC's all-blank start for 12 to 31 epochs
    # over four runs, and the late starters ended at 14-24% of fresh captchas whole. Scaled (7.5e-4), it read
    # half the validation captchas by epoch 13 and 97.4% of 1,000 fresh ones at the end (python -m
    # benchmarks.hard --level lined); seed 2 started late (epoch 25) and read 96.8%.
    sequence_learning_rate: float = 3e-3
    # Large sets: epochs without validation-loss progress before stopping (best weights restored) / halving the rate;
    # validation loss on hard captchas jumps around, so the rate waits 3 epochs before it is halved.
    sequence_patience: int = 6
    sequence_lr_patience: int = 3
    sequence_lr_factor: float = 0.5
    # Training-time random shift, as a share of height and width, in whole pixels: augmentation against exact
    # placement. Done as a crop of a padded strip in the data pipeline; Keras' RandomTranslation layer did the
    # same at about a third of each training step.
    sequence_shift: float = 0.05
    # Small sets overfit: on 1,040 built-in "lined" captchas (750 to train) the model read 99% of its training
    # captchas and 47% of the held-out ones. Training sets below sequence_small_below captchas therefore also
    # scale and shear each strip by up to this share: 95.9% of 1,000 fresh captchas whole, from the same 750
    # (python -m benchmarks.hard --level lined).
    # Larger sets are left as measured without it (12,000 hard captchas, python -m benchmarks.hard).
    sequence_warp: float = 0.15
    # Below this many training captchas a set counts as small: warped strips, and the rate schedule below.
    sequence_small_below: int = 4000
    # Small sets hold out too few validation captchas (84 of 1,040) for early stopping on validation loss: on
    # captchas of the captcha package it stopped one training at 32 epochs (96.2% of fresh captchas read) and let
    # another run 58 epochs (8.5 min). Small sets therefore keep the rate until the model reads
    # sequence_decay_from of its validation captchas, then lower it along a half cosine to zero over
    # sequence_decay_epochs epochs and stop there: that second set read 98.2% of fresh captchas after 39 epochs
    # (halving on plateaus: 98.2% at epoch 38, 98.5% at 58). Lined seed 0: 97.5% (was 97.4%); seed 2: 95.8%
    # (was 96.8%), a late start at epoch 29.
    sequence_decay_epochs: int = 30
    sequence_decay_from: float = 0.5
    # A set whose text takes up little of its images (small text at a random spot of a large noisy image) is read
    # from crops around the text: scaled whole to sequence_height rows, 20-pixel digits in a 400x150 image kept 6
    # rows and a trial read 0 of 350; from crops it read 344 of 350 (docs/sequence-model.md). The crop is used when
    # the training captchas' median text box, margin included, is below this share of their height. Measured
    # medians: every benchmarked style and the really-simple-captcha set 0.77 to 1.00 (so none is cropped, and
    # their figures stand), that trial's set 0.19.
    sequence_crop_below: float = 0.3
    # Captchas, evenly spread over the training set, whose text boxes decide that (a median needs no more).
    sequence_crop_sample: int = 200
    # The text finder blurs with a kernel of text_blur_share of the shorter side (3 pixels at least) to average noise
    # away; ink is then what lies text_noise_sigmas noise deviations (robustly estimated) and at least text_contrast
    # grey levels below the median tone; pieces under text_piece_share of the largest are specks; and the box gets
    # text_margin of its height on every side.
    text_blur_share: float = 1 / 30
    text_noise_sigmas: float = 4.0
    text_contrast: int = 20
    text_piece_share: float = 0.1
    text_margin: float = 0.25
    # Reading averages the model's output over the strip and its moves left, right, up and down by this share of
    # its height (2 pixels at 48 rows). On 12,000 hard captchas, one model read 95.1% of 1,000 fresh captchas
    # whole from one look and 95.5% from five, and the held-out test went from 95.0% to 95.8%. 0 reads once.
    sequence_read_shift: float = 0.04
    # Minutes of fitting after which the networks stop and keep what they have learnt (the sequence model's best
    # epoch when it stops early on validation loss), so a lesson can budget its time; None: epochs alone bound it.
    # Checked between graph calls (about a second each), and an epoch is not begun that would likely overrun it.
    time_limit_minutes: float | None = None
    # An image at least this many times wider than tall is a row of letters, not one: the seed's letters are square.
    # Reading one as a single letter gets a note that points to solving it as a captcha.
    captcha_aspect: float = 2.0
    # A captcha whose height, or whose width for its height, lies more than this many times outside the range of
    # the training captchas' gets a note from `solve`: a trial model read a 50x16 copy of a 200x64 captcha wrong,
    # and a copy padded to 1000x64, where its text is squeezed, as nonsense, both without a word.
    size_tolerance: float = 1.5
    # How many top labels predict() reports.
    top_k: int = 5
    # Letters per inference call: all crops of a batch go in one request, run in chunks of this many so a
    # 10,000-letter evaluation does not hold 3 GB of activations; larger chunks were not faster on 2 cores.
    predict_batch_size: int = 256
    limits: Limits = field(default_factory=Limits)
    segmentation: SegmentationTuning = field(default_factory=SegmentationTuning)

    def with_(self, **changes) -> "Config":
        """Return a copy with the given fields changed, ignoring None values."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})

    def to_dict(self) -> dict:
        """Return the configuration as plain JSON-able data."""
        return dataclasses.asdict(self)


DEFAULT = Config()

# The settings a user tunes per network, and the Config fields that hold them for each kind: the letter CNN
# and the sequence model train very differently (10 epochs at batch 128 against up to 60 at batch 64).
NETWORK_FIELDS = {
    "cnn": {"epochs": "epochs", "batch_size": "batch_size", "learning_rate": "learning_rate"},
    "sequence": {"epochs": "sequence_epochs", "batch_size": "sequence_batch_size", "learning_rate": "sequence_learning_rate"},
}


def network_settings(config: Config, kind: str) -> dict:
    """Epochs, batch size and learning rate a network kind trains with under `config`."""
    return {name: getattr(config, field) for name, field in NETWORK_FIELDS[kind].items()}


def with_network_settings(config: Config, kind: str, **settings) -> Config:
    """`config` with a network kind's epochs, batch size or learning rate changed (None keeps the value)."""
    return config.with_(**{NETWORK_FIELDS[kind][name]: value for name, value in settings.items()})
