"""The page's link names its data (lab_ui/data_links.py), and uploads are kept to be found again (lab_ui/uploads.py)."""
import os
import tempfile
import time
from dataclasses import replace

import pytest

from captcha_core.config import DEFAULT
from lab_ui import uploads
from lab_ui.data_links import spec_from_link, spec_to_link, upload_link_name
from lab_ui.state import default_dataset_spec


KEPT = "00000000000000aa"  # kept by the test below: a name, not the digest, is what these get wrong
GOOD = {"difficulty": "easy", "count": "600", "length": "4", "seed": "0", "alphabet": "abc"}


def test_every_kind_of_data_goes_into_a_link_and_comes_back(home, tmp_path):
    digest, _ = uploads.keep_upload(b"zip bytes")
    for spec in (
        {**default_dataset_spec(), "difficulty": "hard", "count": 600, "alphabet": "AB12cd"},
        {"kind": "folder", "path": str(tmp_path / "a&b=c")},
        {"kind": "zip", "digest": digest, "name": "class (2) & more.zip"},
    ):
        link = spec_to_link(spec)
        assert all(isinstance(value, str) for value in link.values())  # as st.query_params holds them
        assert spec_from_link(link, roots=None) == spec


@pytest.mark.parametrize("params", [
    {"upload": "0123456789abcdef", "name": "gone.zip"}, {"upload": "../../etc/passwd", "name": "x.zip"},
    {"upload": "", "name": "x.zip"}, {"folder": ""}, {"folder": "  "}, {"count": "600"},
    {"upload": KEPT, "name": "[click](https://example.com).zip"}, {"upload": KEPT, "name": "![x](http://e.x/a.png)"},
    {"upload": KEPT, "name": "notes.txt"}, {"upload": KEPT, "name": "a" * 200 + ".zip"},
    *({**GOOD, **bad} for bad in ({"count": "5"},  # fewer captchas than the page allows
                                 {"length": "99"}, {"seed": "-1"}, {"seed": str(2**53)}, {"difficulty": "nightmare"}, {"count": "many"},
                                 {"alphabet": ""}, {"alphabet": "a/b"})),
])
def test_links_to_nothing_this_server_has_name_no_data(home, params):
    (uploads.uploads_dir() / f"{KEPT}.zip").write_bytes(b"kept")
    assert spec_from_link(params, roots=None) is None


def test_a_folder_link_obeys_the_servers_folder_roots(tmp_path):
    inside, outside = tmp_path / "allowed" / "caps", tmp_path / "private"
    assert spec_from_link({"folder": str(inside)}, roots=[tmp_path / "allowed"]) == {"kind": "folder", "path": str(inside)}
    assert spec_from_link({"folder": str(outside)}, roots=[tmp_path / "allowed"]) is None
    assert spec_from_link({"folder": str(inside)}, roots=[]) is None  # a server open to the network, with no roots set


def test_an_upload_is_kept_once_read_back_and_the_least_recently_used_are_pruned(home):
    first, new = uploads.keep_upload(b"first")
    assert new and uploads.keep_upload(b"first") == (first, False)
    assert len(list(uploads.uploads_dir().glob("*.zip"))) == 1
    assert uploads.read_upload(first) == b"first"
    (second, _), (third, _) = uploads.keep_upload(b"second"), uploads.keep_upload(b"third")
    os.utime(uploads.upload_path(second), (1, 1))  # used longest ago, in 1970
    uploads.prune_uploads(replace(DEFAULT.limits, kept_uploads=2))
    assert uploads.upload_path(second) is None and uploads.upload_path(first) and uploads.upload_path(third)
    with pytest.raises(FileNotFoundError, match="upload it again"):
        uploads.read_upload(second)
    assert not list(uploads.uploads_dir().glob("*.part"))  # written whole, then renamed


def test_uploads_used_today_stay_beyond_the_count_while_they_fit_on_disk(home):
    now = time.time()
    digests = [uploads.keep_upload(f"class zip {i}".encode())[0] for i in range(6)]
    hours_ago = [0, 1, 2, 11, 13, 30]  # when each was last used
    for digest, hours in zip(digests, hours_ago):
        os.utime(uploads.upload_path(digest), (now - hours * 3600,) * 2)
    limits = replace(DEFAULT.limits, kept_uploads=2, kept_upload_hours=12)
    uploads.prune_uploads(limits, now=now)
    kept = [digest for digest in digests if uploads.upload_path(digest)]
    assert kept == digests[:4]  # the newest two, and the others used within 12 hours
    size = uploads.upload_path(digests[0]).stat().st_size
    uploads.prune_uploads(replace(limits, kept_upload_bytes=3 * size), now=now)
    assert [digest for digest in digests if uploads.upload_path(digest)] == digests[:3]  # the least recently used go


def test_an_upload_that_cannot_be_written_leaves_no_part_behind(home, monkeypatch):
    def full_disk(self, data):
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patch:  # undo() would also undo `home`'s workspace
        patch.setattr(tempfile._TemporaryFileWrapper, "write", full_disk, raising=False)
        with pytest.raises(OSError, match="No space"):
            uploads.keep_upload(b"too big")
    assert uploads.uploads_dir().is_dir() and not list(uploads.uploads_dir().iterdir())


@pytest.mark.parametrize(("uploaded", "linked"), [
    ("class.zip", "class.zip"), ("Class (2).ZIP", "Class (2).zip"), ("captchas[1].zip", "captchas_1_.zip"),
    ("100%.zip", "100_.zip"), ("![x](http://e.x/a.png).zip", "__x_(http___e.x_a.png).zip"),
    ("noext", "noext.zip"), (".zip", "upload.zip"), ("a" * 300 + ".zip", "a" * 100 + ".zip"),
])
def test_an_uploads_name_is_one_its_link_gives_back(home, uploaded, linked):
    digest, _ = uploads.keep_upload(b"zip bytes")
    spec = {"kind": "zip", "digest": digest, "name": upload_link_name(uploaded)}
    assert spec["name"] == linked
    assert spec_from_link(spec_to_link(spec), roots=None) == spec
