#!/usr/bin/env bash
# One command: set up, then start the dashboard on http://127.0.0.1:8501 with the built-in data.
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/setup.sh requirements.txt
exec .venv/bin/python -m streamlit run app.py "$@"
