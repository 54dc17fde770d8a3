#!/usr/bin/env bash
# Install charrnn into .venv, then run a short command-line demo on the built-in corpora, offline:
# train a small model on RDKit's NCI molecules and on Python's documentation prose, and
# sample from both. (The web app is started by scripts/start.sh.)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh requirements.txt
python=.venv/bin/python
minutes="${CHARRNN_DEMO_MINUTES:-1}"
echo
echo "== 1/2  Molecules: training on RDKit's NCI first 5K for ${minutes} minute(s) =="
rm -rf runs/demo-molecules runs/demo-text
$python -m charrnn train builtin:nci-5k --drop-invalid --out runs/demo-molecules --minutes "$minutes"
$python -m charrnn sample runs/demo-molecules --num 10 --temperature 0.8 --check
$python -m charrnn evaluate runs/demo-molecules --num 500
echo
echo "== 2/2  Text: training on Python's documentation for ${minutes} minute(s) =="
$python -m charrnn train builtin:python-docs --out runs/demo-text --minutes "$minutes"
$python -m charrnn sample runs/demo-text --num 2 --length 300 --temperature 0.7 --prompt "The "
echo
echo "Done. Your runs are in runs/. Try: $python -m charrnn --help"
