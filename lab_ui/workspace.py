"""Where the dashboard keeps its models: one workspace folder, set by CAPTCHA_LAB_HOME."""
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def workspace() -> Path:
    """The folder the app writes to (models, nothing else); created on first use."""
    path = Path(os.environ.get("CAPTCHA_LAB_HOME", ROOT / "workspace")).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def models_dir() -> Path:
    """The model registry folder."""
    path = workspace() / "models"
    path.mkdir(parents=True, exist_ok=True)
    return path
