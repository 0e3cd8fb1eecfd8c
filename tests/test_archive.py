"""Tests for captcha_core.archive: zips are read in memory and every hostile trick is refused."""
from __future__ import annotations

import io
import os
import stat
import struct
import zipfile

import pytest

from captcha_core.archive import ZipReport, read_zip
from captcha_core.config import Limits
from captcha_core.imageio import InputRejected

CENTRAL_HEADER = b"PK\x01\x02"
CENTRAL_UNCOMPRESSED_SIZE_AT = 24  # byte offset of "uncompressed size" in a central directory header
MEGABYTE = 1024 * 1024


def make_zip(files: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in files.items():
            archive.writestr(zipfile.ZipInfo(name), data, compress_type=method)
    return buffer.getvalue()


def declare_uncompressed_size(data: bytes, size: int) -> bytes:
    """Rewrite the first central directory entry to claim a different uncompressed size."""
    patched = bytearray(data)
    at = patched.index(CENTRAL_HEADER) + CENTRAL_UNCOMPRESSED_SIZE_AT
    patched[at:at + 4] = struct.pack("<L", size)
    return bytes(patched)


def skipped_reasons(report: ZipReport) -> dict[str, str]:
    return dict(report.skipped)


@pytest.fixture
def no_extraction(monkeypatch):
    """Make extract/extractall fail the test, and run from an empty folder we can inspect."""
    def refuse(*_args, **_kwargs):
        raise AssertionError("zip was extracted")
    monkeypatch.setattr(zipfile.ZipFile, "extract", refuse)
    monkeypatch.setattr(zipfile.ZipFile, "extractall", refuse)


@pytest.fixture
def no_reading(monkeypatch):
    """Make reading any entry fail the test (writing, to build test zips, still works)."""
    original_open = zipfile.ZipFile.open

    def open_for_writing_only(self, name, mode="r", *args, **kwargs):
        if mode == "r":
            raise AssertionError("an entry was read")
        return original_open(self, name, mode, *args, **kwargs)
    monkeypatch.setattr(zipfile.ZipFile, "open", open_for_writing_only)


# --- ordinary archives ----------------------------------------------------------------------

def test_reads_entries_in_memory_from_bytes_and_path(tmp_path):
    files = {"a/1.png": b"one", "b/2.png": b"two", "labels.txt": b"x"}
    data = make_zip(files)
    assert read_zip(data) == ZipReport(entries=list(files.items()), skipped=[])
    path = tmp_path / "set.zip"
    path.write_bytes(data)
    assert read_zip(path).entries == list(files.items())


def test_shared_top_folder_is_stripped():
    report = read_zip(make_zip({"mydata/a/1.png": b"1", "mydata/b/2.png": b"2"}))
    assert report.entries == [("a/1.png", b"1"), ("b/2.png", b"2")]


def test_different_top_folders_are_kept():
    report = read_zip(make_zip({"a/1.png": b"1", "b/2.png": b"2"}))
    assert [path for path, _ in report.entries] == ["a/1.png", "b/2.png"]


def test_directory_entries_are_not_files():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.mkdir("a")
        archive.writestr("a/1.png", b"1")
        archive.writestr("b.png", b"2")
    assert read_zip(buffer.getvalue()) == ZipReport(entries=[("a/1.png", b"1"), ("b.png", b"2")])


def test_stored_and_deflated_entries_read_the_same():
    files = {"x.png": bytes(range(256)) * 4}
    assert read_zip(make_zip(files, zipfile.ZIP_STORED)).entries == read_zip(make_zip(files)).entries


# --- hostile names ---------------------------------------------------------------------------

def test_traversal_and_absolute_names_are_skipped_and_nothing_is_written(tmp_path, monkeypatch, no_extraction):
    escape = tmp_path / "escaped.png"
    names = ["../x.png", "a/../../y.png", "/etc/x.png", str(escape), "C:\\x.png", "c:/x.png", "..\\z.png"]
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    report = read_zip(make_zip({**{name: b"evil" for name in names}, "ok.png": b"ok"}))
    assert report.entries == [("ok.png", b"ok")]
    reasons = skipped_reasons(report)
    assert set(reasons) == set(names)
    assert "outside the archive" in reasons["../x.png"] and "outside the archive" in reasons["..\\z.png"]
    assert "absolute path" in reasons["/etc/x.png"] and "absolute path" in reasons["C:\\x.png"]
    assert list(work.iterdir()) == [] and not escape.exists()


def test_symlink_entry_is_skipped():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        link = zipfile.ZipInfo("link.png")
        link.create_system = 3  # Unix, so the mode bits below are meaningful
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")
        archive.writestr("real.png", b"real")
    report = read_zip(buffer.getvalue())
    assert report.entries == [("real.png", b"real")]
    assert "symbolic link" in skipped_reasons(report)["link.png"]


def test_mac_and_hidden_litter_is_skipped_and_never_becomes_a_class():
    report = read_zip(make_zip({
        "mydata/a/1.png": b"1",
        "mydata/b/2.png": b"2",
        "__MACOSX/mydata/a/._1.png": b"junk",
        "mydata/.DS_Store": b"junk",
        "mydata/.git/config": b"junk",
        "mydata/a/Thumbs.db": b"junk",
    }))
    assert report.entries == [("a/1.png", b"1"), ("b/2.png", b"2")]
    assert skipped_reasons(report) == {
        "__MACOSX/mydata/a/._1.png": "hidden or system file",
        "mydata/.DS_Store": "hidden or system file",
        "mydata/.git/config": "hidden or system file",
        "mydata/a/Thumbs.db": "hidden or system file",
    }


def test_control_characters_in_names_are_skipped():
    report = read_zip(make_zip({"a\u202egnp.exe": b"x", "b.png": b"b"}))
    assert report.entries == [("b.png", b"b")]
    assert "control" in skipped_reasons(report)["a\u202egnp.exe"]


def _with_raw_name(placeholder: str, raw: bytes) -> bytes:
    """A zip whose entry name is the raw bytes given, without the UTF-8 flag (as old tools write)."""
    assert len(placeholder.encode()) == len(raw)
    data = make_zip({placeholder: b"data", "other/2.png": b"2"})
    return data.replace(placeholder.encode(), raw)


def test_cp437_name_without_utf8_flag_is_decoded():
    report = read_zip(_with_raw_name("X/1.png", "ä/1.png".encode("cp437")))
    assert ("ä/1.png", b"data") in report.entries


def test_utf8_name_without_utf8_flag_is_decoded():
    report = read_zip(_with_raw_name("XY/1.png", "ä/1.png".encode("utf-8")))
    assert ("ä/1.png", b"data") in report.entries


def test_undecodable_name_bytes_do_not_crash():
    report = read_zip(_with_raw_name("XY/1.png", b"\xff\xfe/1.png"))
    assert len(report.entries) == 2
    assert all(path.endswith(".png") for path, _ in report.entries)


# --- caps -----------------------------------------------------------------------------------

def test_too_many_entries_refuses_the_archive():
    data = make_zip({f"{i}.png": b"x" for i in range(5)})
    with pytest.raises(InputRejected, match="zip has 5 entries, more than the 3 allowed"):
        read_zip(data, Limits(max_zip_entries=3))


def test_oversized_central_directory_is_refused_before_parsing(monkeypatch):
    data = make_zip({f"{i}.png": b"x" for i in range(5)})
    monkeypatch.setattr(zipfile, "ZipFile", None)  # any attempt to parse would crash
    with pytest.raises(InputRejected, match="zip directory is .* bytes, more than the 100 allowed"):
        read_zip(data, Limits(max_zip_directory_bytes=100))


def test_file_over_the_size_cap_is_skipped(no_reading):
    report_limits = Limits(max_file_bytes=1000)
    bitten = read_zip(make_zip({"small.png": b"s"}), report_limits)
    assert "an entry was read" in skipped_reasons(bitten)["small.png"]  # proves no_reading bites
    report = read_zip(make_zip({"big.png": os.urandom(2000)}), report_limits)
    assert report.entries == []
    assert skipped_reasons(report)["big.png"] == "2,000 bytes, more than the 1,000 allowed per file"


def test_highly_compressed_entry_is_skipped_as_a_possible_bomb():
    report = read_zip(make_zip({"zeros.png": bytes(2 * MEGABYTE), "ok.png": b"ok"}))
    assert report.entries == [("ok.png", b"ok")]
    assert "more than the 200:1 allowed" in skipped_reasons(report)["zeros.png"]


def test_zip_expanding_past_the_total_cap_is_refused_before_reading(no_reading):
    buffer = io.BytesIO()
    chunk = bytes(MEGABYTE)
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("zeros.bin", "w") as member:  # streamed, so the test never holds 50 MB
            for _ in range(50):
                member.write(chunk)
    data = buffer.getvalue()
    assert len(data) < MEGABYTE
    with pytest.raises(InputRejected, match=f"expand to {50 * MEGABYTE:,} bytes, more than the {10 * MEGABYTE:,}"):
        read_zip(data, Limits(max_zip_total_bytes=10 * MEGABYTE))


def test_declared_gigabyte_is_refused_before_reading(no_reading):
    lying = declare_uncompressed_size(make_zip({"a.png": b"tiny"}), 1024 * MEGABYTE)
    with pytest.raises(InputRejected, match="expand to 1,073,741,824 bytes"):
        read_zip(lying)


def test_header_understating_the_size_cannot_smuggle_extra_bytes():
    lying = declare_uncompressed_size(make_zip({"a.png": b"x" * 100, "b.png": b"b"}), 10)
    report = read_zip(lying)
    assert report.entries == [("b.png", b"b")]
    assert "damaged" in skipped_reasons(report)["a.png"]


def test_folders_nested_too_deep_are_skipped():
    report = read_zip(make_zip({"a/b/c/d.png": b"deep", "a/b/c.png": b"ok", "e.png": b"top"}), Limits(max_zip_depth=2))
    assert report.entries == [("a/b/c.png", b"ok"), ("e.png", b"top")]
    assert skipped_reasons(report)["a/b/c/d.png"] == "nested 3 folders deep, more than the 2 allowed"


def test_duplicate_paths_keep_the_first():
    report = read_zip(make_zip({"a/1.png": b"first", "a/./1.png": b"second", "b.png": b"b"}))
    assert report.entries == [("a/1.png", b"first"), ("b.png", b"b")]
    assert skipped_reasons(report) == {"a/./1.png": "duplicate of an earlier entry"}


def test_oversized_zip_bytes_are_refused():
    with pytest.raises(InputRejected, match="the uploaded zip: zip is .* bytes, more than the 10 allowed"):
        read_zip(make_zip({"a.png": b"a"}), Limits(max_zip_bytes=10))


# --- not a zip -------------------------------------------------------------------------------

@pytest.mark.parametrize("data", [b"", b"hello, not a zip", b"PK\x03\x04 broken"])
def test_bytes_that_are_not_a_zip_are_refused(data):
    with pytest.raises(InputRejected, match="the uploaded zip is not a valid zip archive"):
        read_zip(data)


def test_truncated_zip_is_refused_with_its_name():
    data = make_zip({"a.png": os.urandom(500), "b.png": os.urandom(500)})
    with pytest.raises(InputRejected, match="upload.zip is not a valid zip archive"):
        read_zip(data[: len(data) // 2], name="upload.zip")


def test_symlinked_zip_path_is_refused(tmp_path):
    real = tmp_path / "real.zip"
    real.write_bytes(make_zip({"a.png": b"a"}))
    link = tmp_path / "link.zip"
    link.symlink_to(real)
    with pytest.raises(InputRejected, match=r"link\.zip: is a symbolic link"):
        read_zip(link)


def test_oversized_zip_file_on_disk_is_refused(tmp_path):
    path = tmp_path / "big.zip"
    path.write_bytes(make_zip({"a.png": b"a"}))
    with pytest.raises(InputRejected, match=r"big\.zip: file is .* bytes, more than the 10 allowed"):
        read_zip(path, Limits(max_zip_bytes=10))


def _as_zip64(data: bytes, declared_entries: int) -> bytes:
    """Rewrite a small zip's end records in ZIP64 form, declaring the given entry count there."""
    end_at = data.rfind(b"PK\x05\x06")
    end = list(struct.unpack_from("<4s4H2LH", data, end_at))
    directory_bytes, directory_offset = end[5], end[6]
    record = struct.pack("<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0,
                         declared_entries, declared_entries, directory_bytes, directory_offset)
    locator = struct.pack("<4sLQL", b"PK\x06\x07", 0, end_at, 1)
    end[3] = end[4] = 0xFFFF  # "see the ZIP64 record"
    return data[:end_at] + record + locator + struct.pack("<4s4H2LH", *end)


def test_zip64_end_record_is_understood():
    data = make_zip({"a.png": b"a", "b.png": b"b"})
    assert read_zip(_as_zip64(data, 2), Limits(max_zip_entries=100)).entries == [("a.png", b"a"), ("b.png", b"b")]
    with pytest.raises(InputRejected, match="zip has 200 entries, more than the 100 allowed"):
        read_zip(_as_zip64(data, 200), Limits(max_zip_entries=100))
