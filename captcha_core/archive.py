"""Safe zip input: read an uploaded or local zip entirely in memory, never extracting anything.

Every name, size and ratio in a zip is attacker-controlled, so each is checked against Limits
before the entry is read, and reads are bounded so that a lying header cannot blow memory.
"""
from __future__ import annotations

import io
import os
import re
import stat
import struct
import unicodedata
import zipfile
from dataclasses import dataclass, field
from typing import BinaryIO

from .config import DEFAULT, Limits
from .imageio import InputRejected, open_regular_file

# Layout constants from the ZIP specification (PKWARE APPNOTE.TXT), not tunables.
_END_RECORD = struct.Struct("<4s4H2LH")
_END_SIGNATURE = b"PK\x05\x06"
_MAX_COMMENT_BYTES = 0xFFFF
_ZIP64_LOCATOR = struct.Struct("<4sLQL")
_ZIP64_LOCATOR_SIGNATURE = b"PK\x06\x07"
_ZIP64_END_RECORD = struct.Struct("<4sQ2H2L4Q")
_ZIP64_END_SIGNATURE = b"PK\x06\x06"
_ENCRYPTED_FLAG = 0x1
_UTF8_NAME_FLAG = 0x800
_UNIX_MODE_SHIFT = 16  # the high half of external_attr holds the Unix st_mode

_WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:")
# Operating-system litter that is never part of a dataset; hidden names (".x") are caught separately.
_SYSTEM_NAMES = frozenset({"__macosx", "thumbs.db", "desktop.ini"})


@dataclass
class ZipReport:
    """What read_zip accepted and what it skipped, with reasons for the user."""

    entries: list[tuple[str, bytes]] = field(default_factory=list)  # (clean relative posix path, file bytes)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (original entry name, reason)


@dataclass
class _Candidate:
    info: zipfile.ZipInfo
    shown: str
    parts: list[str]


def read_zip(
    source: str | os.PathLike | bytes, limits: Limits = DEFAULT.limits, *, name: str | None = None
) -> ZipReport:
    """Read a zip entirely in memory, never extracting, applying every cap."""
    label = name or _describe(source)
    with _open_source(source, label, limits) as stream:
        _check_central_directory(stream, label, limits)
        with _open_archive(stream, label) as archive:
            return _read_archive(archive, label, limits)


def _describe(source: str | os.PathLike | bytes) -> str:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return "the uploaded zip"
    return os.fspath(source)


def _open_source(source: str | os.PathLike | bytes, label: str, limits: Limits) -> BinaryIO:
    if not isinstance(source, (bytes, bytearray, memoryview)):
        return open_regular_file(source, limits.max_zip_bytes)
    if len(source) > limits.max_zip_bytes:
        raise InputRejected(f"{label}: zip is {len(source):,} bytes, more than the {limits.max_zip_bytes:,} allowed")
    return io.BytesIO(source)


def _check_central_directory(stream: BinaryIO, label: str, limits: Limits) -> None:
    """Refuse an oversized directory before zipfile parses all of it into memory."""
    entries, directory_bytes = _declared_directory(stream, label)
    if entries > limits.max_zip_entries:
        raise InputRejected(f"{label}: zip has {entries:,} entries, more than the {limits.max_zip_entries:,} allowed")
    if directory_bytes > limits.max_zip_directory_bytes:
        raise InputRejected(
            f"{label}: zip directory is {directory_bytes:,} bytes, "
            f"more than the {limits.max_zip_directory_bytes:,} allowed"
        )


def _declared_directory(stream: BinaryIO, label: str) -> tuple[int, int]:
    """Return (entry count, central directory size) as the end record declares them."""
    size = stream.seek(0, io.SEEK_END)
    tail_start = max(0, size - _END_RECORD.size - _MAX_COMMENT_BYTES)
    stream.seek(tail_start)
    tail = stream.read()
    found = tail.rfind(_END_SIGNATURE)
    if found < 0 or found + _END_RECORD.size > len(tail):
        raise InputRejected(f"{label} is not a valid zip archive")
    end = _END_RECORD.unpack_from(tail, found)
    entries, directory_bytes = end[4], end[5]
    zip64 = _zip64_directory(stream, tail_start + found)
    return zip64 if zip64 is not None else (entries, directory_bytes)


def _zip64_directory(stream: BinaryIO, end_offset: int) -> tuple[int, int] | None:
    """Return the ZIP64 (entry count, directory size) when the archive has them, as zipfile would use them."""
    locator_offset = end_offset - _ZIP64_LOCATOR.size
    record_offset = locator_offset - _ZIP64_END_RECORD.size
    if record_offset < 0:
        return None
    stream.seek(record_offset)
    raw = stream.read(_ZIP64_END_RECORD.size + _ZIP64_LOCATOR.size)
    locator = _ZIP64_LOCATOR.unpack_from(raw, _ZIP64_END_RECORD.size)
    record = _ZIP64_END_RECORD.unpack_from(raw, 0)
    if locator[0] != _ZIP64_LOCATOR_SIGNATURE or record[0] != _ZIP64_END_SIGNATURE:
        return None
    return record[7], record[8]


def _open_archive(stream: BinaryIO, label: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(stream)
    # zipfile raises many types on hostile bytes (BadZipFile, ValueError, EOFError, UnicodeDecodeError
    # for a bad UTF-8 name...); each means the same thing to the user.
    except Exception:
        raise InputRejected(f"{label} is not a valid zip archive") from None


def _read_archive(archive: zipfile.ZipFile, label: str, limits: Limits) -> ZipReport:
    infos = archive.infolist()
    if len(infos) > limits.max_zip_entries:
        raise InputRejected(f"{label}: zip has {len(infos):,} entries, more than the {limits.max_zip_entries:,} allowed")
    files = [info for info in infos if not info.is_dir()]
    _check_declared_total(files, label, limits)
    report = ZipReport()
    candidates = _acceptable_entries(files, limits, report)
    _strip_shared_top_folder(candidates)
    seen: set[str] = set()
    for candidate in candidates:
        reason = _placement_problem(candidate.parts, seen, limits)
        if reason is None:
            reason = _read_into(archive, candidate, limits, report)
        if reason is not None:
            report.skipped.append((candidate.shown, reason))
    return report


def _check_declared_total(files: list[zipfile.ZipInfo], label: str, limits: Limits) -> None:
    # zipfile never returns more than an entry's declared size, so capping the declared sum also
    # caps what can actually be inflated.
    total = sum(info.file_size for info in files)
    if total > limits.max_zip_total_bytes:
        raise InputRejected(
            f"{label}: zip would expand to {total:,} bytes, more than the {limits.max_zip_total_bytes:,} allowed"
        )


def _acceptable_entries(files: list[zipfile.ZipInfo], limits: Limits, report: ZipReport) -> list[_Candidate]:
    """Entries whose name and header pass every check that needs no reading; the rest go to report.skipped."""
    candidates = []
    for info in files:
        shown = _entry_name(info)
        reason = _name_problem(shown) or _header_problem(info, limits)
        if reason is None:
            candidates.append(_Candidate(info, shown, _path_parts(shown)))
        else:
            report.skipped.append((shown, reason))
    return candidates


def _entry_name(info: zipfile.ZipInfo) -> str:
    """The entry name as the user meant it."""
    name = info.filename
    if info.flag_bits & _UTF8_NAME_FLAG or name.isascii():
        return name
    # zipfile reads unflagged names as cp437, as the spec says, but many tools write UTF-8 without
    # setting the flag; when the raw bytes are valid UTF-8 that is almost surely what they are.
    try:
        return name.encode("cp437").decode("utf-8")
    except UnicodeError:
        return name


def _name_problem(name: str) -> str | None:
    unified = name.replace("\\", "/")
    if unified.startswith("/") or _WINDOWS_DRIVE.match(unified):
        return "absolute path; nothing outside the archive is touched"
    raw_parts = unified.split("/")
    if ".." in raw_parts:
        return "path leads outside the archive ('..')"
    if any(unicodedata.category(char).startswith("C") for char in unified):
        return "name contains control or invisible characters"
    parts = _path_parts(name)
    if not parts:
        return "empty name"
    if any(part.startswith(".") or part.lower() in _SYSTEM_NAMES for part in parts):
        return "hidden or system file"
    return None


def _path_parts(name: str) -> list[str]:
    return [part for part in name.replace("\\", "/").split("/") if part not in ("", ".")]


def _header_problem(info: zipfile.ZipInfo, limits: Limits) -> str | None:
    mode = info.external_attr >> _UNIX_MODE_SHIFT
    if stat.S_ISLNK(mode):
        return "symbolic link; links are not followed"
    if stat.S_IFMT(mode) not in (0, stat.S_IFREG):
        return "not a regular file"
    if info.flag_bits & _ENCRYPTED_FLAG:
        return "encrypted"
    if info.file_size > limits.max_file_bytes:
        return f"{info.file_size:,} bytes, more than the {limits.max_file_bytes:,} allowed per file"
    ratio = info.file_size / max(info.compress_size, 1)
    if ratio > limits.max_zip_ratio:
        return f"compressed {ratio:,.0f}:1, more than the {limits.max_zip_ratio:g}:1 allowed (zip bomb?)"
    return None


def _strip_shared_top_folder(candidates: list[_Candidate]) -> None:
    """Drop one folder that wraps everything (mydata/a/1.png -> a/1.png), as zipping a folder makes."""
    if not candidates or any(len(candidate.parts) < 2 for candidate in candidates):
        return
    if len({candidate.parts[0] for candidate in candidates}) == 1:
        for candidate in candidates:
            candidate.parts = candidate.parts[1:]


def _placement_problem(parts: list[str], seen: set[str], limits: Limits) -> str | None:
    folders = len(parts) - 1
    if folders > limits.max_zip_depth:
        return f"nested {folders} folders deep, more than the {limits.max_zip_depth} allowed"
    path = "/".join(parts)
    if path in seen:
        return "duplicate of an earlier entry"
    seen.add(path)
    return None


def _read_into(archive: zipfile.ZipFile, candidate: _Candidate, limits: Limits, report: ZipReport) -> str | None:
    """Read one entry into report.entries, or return why it was skipped."""
    try:
        with archive.open(candidate.info) as member:
            # Bounded even if zipfile's own size bookkeeping were fooled: one byte past the cap proves excess.
            data = member.read(limits.max_file_bytes + 1)
    # A damaged entry (bad CRC, truncated stream, unsupported method) costs only that entry.
    except Exception as error:
        return f"damaged or unsupported entry ({error})"
    if len(data) > limits.max_file_bytes:
        return f"more than the {limits.max_file_bytes:,} bytes allowed per file"
    report.entries.append(("/".join(candidate.parts), data))
    return None
