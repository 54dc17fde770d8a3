#!/usr/bin/env bash
# Regenerate the README's screenshots (docs/images/*.png) from the browser tests, so that
# they show the app as it is: the tests that visit Home, Train, Generate, Steer and the
# guessing game write the top of those pages there as well as to tests/artifacts/.
# Needs Debian's chromium (/usr/bin/chromium) and the test requirements (bash scripts/test.sh
# installs both); takes a few minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
export CHARRNN_SCREENSHOTS="${CHARRNN_SCREENSHOTS:-docs/images}"
# The status icons in run titles are emoji: without an emoji font chromium draws a box.
if ! fc-list 2>/dev/null | grep -qi emoji && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get install -y -qq fonts-noto-color-emoji >/dev/null || echo "no emoji font: icons show as boxes"
fi
PYTHONPATH=. .venv/bin/python -m pytest -m browser tests/test_browser.py tests/test_browser_game.py \
    -k "fine_tunes_the_prior or steers_the_prior or round_against_the_prior" "$@"
ls -l "$CHARRNN_SCREENSHOTS"
