#!/usr/bin/env bash
# One command: set up, then run every test (core, pages with AppTest, and the browser test).
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/setup.sh requirements-dev.txt
exec .venv/bin/python -m pytest -q "$@"
