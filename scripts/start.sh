#!/usr/bin/env bash
# Install charrnn into .venv and start the web app on http://localhost:8501 (offline: the
# built-in corpora need no download). Workspaces are kept in ./workspaces (CHARRNN_HOME).
# Extra arguments go to `streamlit run`, e.g. --server.port 8600.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh requirements.txt
echo "Starting charrnn: open the Local URL printed below in your browser (Ctrl-C stops it)."
exec .venv/bin/python -m streamlit run streamlit_app.py --server.headless true "$@"
