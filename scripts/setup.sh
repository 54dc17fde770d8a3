#!/usr/bin/env bash
# Create .venv (if missing) and install charrnn's dependencies into it.
# Usage: bash scripts/setup.sh [requirements file]   (default: requirements.txt)
set -euo pipefail
cd "$(dirname "$0")/.."
requirements="${1:-requirements.txt}"
python="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv
fi
# torch is pinned to 2.13.0; where a local wheel of it exists pip takes it from disk.
find_links=()
for folder in /opt/wheels; do
    [ -d "$folder" ] && find_links+=(--find-links "$folder")
done
.venv/bin/python -m pip install --quiet --disable-pip-version-check "${find_links[@]}" -r "$requirements"
