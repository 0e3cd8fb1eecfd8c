"""Where the dashboard keeps its models and uploads: one workspace folder, set by CAPTCHA_LAB_HOME."""
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def workspace() -> Path:
    """The folder the app writes to (models and kept uploads, nothing else); created on first use."""
    path = Path(os.environ.get("CAPTCHA_LAB_HOME", ROOT / "workspace")).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def models_dir() -> Path:
    """The model registry folder."""
    path = workspace() / "models"
    path.mkdir(parents=True, exist_ok=True)
    return path


# Addresses that only this machine can reach: there, whoever types a folder path is the machine's own user.
LOCAL_ADDRESSES = {"127.0.0.1", "localhost", "::1"}
# Folders a server open to a network may read from, separated like PATH (os.pathsep).
FOLDERS_VARIABLE = "CAPTCHA_LAB_FOLDERS"


def folder_roots(address: str | None) -> list[Path] | None:
    """The folders whose contents the Data page may load: None for anywhere (a server only this machine can
    reach, with no roots set), else the roots in CAPTCHA_LAB_FOLDERS (none at all when a server open to a
    network has none set, since any student could then show any image on the teacher's disk)."""
    listed = [Path(p).resolve() for p in os.environ.get(FOLDERS_VARIABLE, "").split(os.pathsep) if p.strip()]
    if listed:
        return listed
    return None if (address or "").strip() in LOCAL_ADDRESSES else []


def folder_allowed(path: str, roots: list[Path] | None) -> bool:
    """Whether `path` lies inside one of `roots` (every path when roots is None), after resolving links and '..'."""
    if roots is None:
        return True
    try:
        resolved = Path(path).resolve()  # the path as the loader will open it: no '~' expansion there either
    except (ValueError, OSError):  # a NUL byte, a loop of links: not a folder anyone may read
        return False
    return any(resolved == root or root in resolved.parents for root in roots)
