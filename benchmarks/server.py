"""A real `streamlit run` on loopback for the browser test and the benchmarks: start it, wait for it, stop it."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from .common import ROOT

HOST = "127.0.0.1"
# A health answer slower than this counts as none; a server that busy is reported, not waited for.
HEALTH_TIMEOUT = 10
# How much of the server's log a failure message shows: its last traceback, not the whole start-up.
LOG_TAIL = 3000
STOP_SECONDS = 10


def free_port() -> int:
    """A TCP port on loopback that nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def start_server(home: Path, port: int, log: Path | None = None, script: str = "app.py") -> subprocess.Popen:
    """`streamlit run script` from the project folder (so its .streamlit/config.toml applies), with `home` as the
    workspace, in its own process group so that stop_server stops its children too. Output goes to `log`."""
    env = {**os.environ, "CAPTCHA_LAB_HOME": str(home), "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "streamlit", "run", script, "--server.port", str(port), "--server.address", HOST,
               "--server.headless", "true", "--browser.gatherUsageStats", "false"]
    with open(log or os.devnull, "wb") as out:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def health(url: str) -> int:
    """The health endpoint's HTTP status, 0 when it does not answer at all."""
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=HEALTH_TIMEOUT) as response:
            return response.status if response.read() == b"ok" else 0
    except OSError:
        return 0


def wait_healthy(url: str, server: subprocess.Popen, log: Path, seconds: float) -> None:
    """Wait for the health endpoint; raise RuntimeError with the log's tail if the server died or took too long."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"streamlit exited with {server.returncode}:\n{log_tail(log)}")
        if health(url) == 200:
            return
        time.sleep(0.2)
    raise RuntimeError(f"streamlit was not healthy after {seconds:g} s:\n{log_tail(log)}")


def log_tail(log: Path) -> str:
    """The end of a server log, where its last error is."""
    return log.read_text(errors="replace")[-LOG_TAIL:]


def stop_server(server: subprocess.Popen) -> None:
    """Stop the server and its children, forcefully if it does not stop in time."""
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()
