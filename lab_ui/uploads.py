"""Uploaded zips kept in the workspace, so that a tab reloaded mid-lesson gets its data back from its link."""
from __future__ import annotations

import hashlib
import os
import re
import tempfile
import threading
import time
from pathlib import Path

from captcha_core.config import DEFAULT

from .workspace import workspace

# Hex characters of an upload's SHA-256 that name it: in a link, they are also what lets a tab open it.
DIGEST_CHARS = 16
_DIGEST = re.compile(rf"[0-9a-f]{{{DIGEST_CHARS}}}")
# Sessions run in threads of one server: one keeps an upload while another prunes or reads.
_LOCK = threading.Lock()


def uploads_dir() -> Path:
    path = workspace() / "uploads"
    path.mkdir(parents=True, exist_ok=True)
    return path


def upload_digest(data: bytes) -> str:
    """The name an upload is kept under: its content, so one zip uploaded twice is kept once."""
    return hashlib.sha256(data).hexdigest()[:DIGEST_CHARS]


def keep_upload(data: bytes) -> tuple[str, bool]:
    """Keep an uploaded zip (written atomically, uploads nobody uses pruned); its digest, and whether it is new."""
    digest = upload_digest(data)
    path = uploads_dir() / f"{digest}.zip"
    with _LOCK:
        new = not mark_used(path)
        if new:
            write_atomically(path, data)
        prune_uploads(DEFAULT.limits)
    return digest, new


def write_atomically(path: Path, data: bytes) -> None:
    """Write a whole file or nothing: a part written before a full disk stops it is deleted, not left behind."""
    with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".part", delete=False) as part:
        try:
            part.write(data)
        except BaseException:
            part.close()
            os.unlink(part.name)
            raise
    os.replace(part.name, path)


def discard_upload(digest: str) -> None:
    """Delete a kept upload, such as one just kept that turned out not to load."""
    path = upload_path(digest)
    if path is not None:
        with _LOCK:
            path.unlink(missing_ok=True)


def mark_used(path: Path) -> bool:
    """Make a kept upload the most recently used; False when it is not kept (utime, unlike touch, creates nothing)."""
    try:
        os.utime(path)
    except FileNotFoundError:
        return False
    return True


def upload_path(digest: str) -> Path | None:
    """The kept upload with this digest, or None when the digest is malformed or the upload is gone."""
    if not _DIGEST.fullmatch(digest or ""):
        return None
    path = uploads_dir() / f"{digest}.zip"
    return path if path.is_file() else None


def use_upload(digest: str) -> None:
    """Mark a kept upload as in use, on every run that shows it, so that pruning takes uploads nobody looks at."""
    path = upload_path(digest)
    if path is not None:
        with _LOCK:
            mark_used(path)


def read_upload(digest: str) -> bytes:
    """The bytes of a kept upload, marked as in use; FileNotFoundError when it is no longer kept."""
    path = upload_path(digest)
    with _LOCK:
        if path is None or not mark_used(path):
            raise FileNotFoundError("the upload is no longer kept on the server; upload it again")
        return path.read_bytes()


def prune_uploads(limits, now: float | None = None) -> None:
    """Delete the uploads nobody used lately (call with _LOCK held): the newest `kept_uploads` stay, and so does any
    used within `kept_upload_hours`, as long as all that stays fits in `kept_upload_bytes`."""
    now = time.time() if now is None else now
    kept = []
    for path in uploads_dir().glob("*.zip"):
        try:
            stat = path.stat()
        except FileNotFoundError:  # gone already
            continue
        kept.append((stat.st_mtime, stat.st_size, path))
    total = 0
    for rank, (used, size, path) in enumerate(sorted(kept, key=lambda entry: entry[0], reverse=True)):
        stale = rank >= limits.kept_uploads and now - used > limits.kept_upload_hours * 3600
        if stale or total + size > limits.kept_upload_bytes:
            path.unlink(missing_ok=True)
        else:
            total += size
