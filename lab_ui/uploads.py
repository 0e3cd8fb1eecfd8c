"""Uploaded zips kept in the workspace, so that a tab reloaded mid-lesson gets its data back from its link."""
from __future__ import annotations

import hashlib
import os
import re
import tempfile
import threading
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


def keep_upload(data: bytes) -> str:
    """Keep an uploaded zip (written atomically, oldest uploads pruned) and return its digest."""
    digest = upload_digest(data)
    path = uploads_dir() / f"{digest}.zip"
    with _LOCK:
        if not mark_used(path):
            with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".part", delete=False) as part:
                part.write(data)
            os.replace(part.name, path)
        prune_uploads(DEFAULT.limits.kept_uploads)
    return digest


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


def prune_uploads(keep: int) -> None:
    """Delete all but the `keep` most recently used uploads (call with _LOCK held)."""
    kept = []
    for path in uploads_dir().glob("*.zip"):
        try:
            kept.append((path.stat().st_mtime, path))
        except FileNotFoundError:  # gone already
            continue
    for _, old in sorted(kept, reverse=True)[keep:]:
        old.unlink(missing_ok=True)
