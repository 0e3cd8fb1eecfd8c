#!/usr/bin/env bash
# Creates .venv (Python 3.11) and installs the pinned requirements; quick when they are already there.
set -euo pipefail
cd "$(dirname "$0")/.."
REQS="${1:-requirements.txt}"
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
  .venv/bin/python -m pip install --quiet --upgrade pip
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$REQS"
