"""The page's link names its data (lab_ui/data_links.py), and uploads are kept to be found again (lab_ui/uploads.py)."""
import os

import pytest

from lab_ui import uploads
from lab_ui.data_links import spec_from_link, spec_to_link
from lab_ui.state import default_dataset_spec


KEPT = "00000000000000aa"  # kept by the test below: a name, not the digest, is what these get wrong
GOOD = {"difficulty": "easy", "count": "600", "length": "4", "seed": "0", "alphabet": "abc"}


def test_every_kind_of_data_goes_into_a_link_and_comes_back(home, tmp_path):
    digest = uploads.keep_upload(b"zip bytes")
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
                                 {"length": "99"}, {"seed": "-1"}, {"difficulty": "nightmare"}, {"count": "many"},
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
    first = uploads.keep_upload(b"first")
    assert uploads.keep_upload(b"first") == first and len(list(uploads.uploads_dir().glob("*.zip"))) == 1
    assert uploads.read_upload(first) == b"first"
    second, third = uploads.keep_upload(b"second"), uploads.keep_upload(b"third")
    old = uploads.upload_path(second)
    os.utime(old, (1, 1))  # used longest ago
    uploads.prune_uploads(2)
    assert uploads.upload_path(second) is None and uploads.upload_path(first) and uploads.upload_path(third)
    with pytest.raises(FileNotFoundError, match="upload it again"):
        uploads.read_upload(second)
    assert not list(uploads.uploads_dir().glob("*.part"))  # written whole, then renamed
