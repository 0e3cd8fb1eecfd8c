"""Faults: a save killed half-way, and the server's protective defaults."""
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

from captcha_core.persistence import list_models, load_model

ROOT = Path(__file__).resolve().parents[1]


def test_save_killed_midway_leaves_the_old_model(tmp_path, tiny_model_dir):
    """SIGKILL during a re-save: the earlier model still loads and no temporary folder is listed."""
    import shutil

    registry = tmp_path / "models"
    shutil.copytree(tiny_model_dir, registry / "tiny")
    script = textwrap.dedent(
        f"""
        import os, signal, sys
        sys.path.insert(0, {str(ROOT)!r})
        from captcha_core import persistence
        loaded = persistence.load_model({str(registry / "tiny")!r})
        real_write_json = persistence.write_json
        def write_then_die(path, data):
            real_write_json(path, data)
            if path.name == persistence.METADATA_FILE:
                os.kill(os.getpid(), signal.SIGKILL)  # after every file is written, before the swap
        persistence.write_json = write_then_die
        persistence.save_model(loaded.classifier, loaded.labels, {{"model_kind": "cnn"}}, {str(registry / "tiny")!r}, overwrite=True)
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120)
    assert result.returncode == -9, result.stderr.decode()[-2000:]
    assert [entry.name for entry in list_models(registry)] == ["tiny"]
    assert load_model(registry / "tiny").metadata["model_kind"] == "cnn"
    assert load_model(registry / "tiny").metadata.get("data")  # still the original, full metadata


def test_server_defaults_protect_a_classroom():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["enableXsrfProtection"] is True
    assert config["server"]["address"] == "127.0.0.1"
    assert config["client"]["showErrorDetails"] == "none"
    assert config["browser"]["gatherUsageStats"] is False
    assert 0 < config["server"]["maxUploadSize"] <= 50
