"""The one-click molecules path, timed in a real browser: Home -> "Generate molecules" -> Train.

Starts `streamlit run` (a fresh workspaces folder, 1 worker) and Debian's chromium, presses
the Home page's "Generate molecules" start and then Train with the page's defaults (for a
molecule corpus: fine-tuning the shipped prior on NCI 5K), and records, against the seconds
since Train was pressed:
- every chemistry check the run makes as it trains (validity, uniqueness, novelty of its
  samples), as they appear on the Train page's chart (read from the run folder the page
  reads, polled every 0.2 s);
- the first valid molecule drawn on the Train page ("What the model writes now");
- when the run finished, and the validity of 1,000 samples of its final model at
  temperature 1 (the Generate page's sampler).
Usage: python benchmarks/bench_one_click.py [--runs 1]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, machine, save

sys.path.insert(0, str(ROOT / "tests"))
from browser_support import (  # noqa: E402
    StreamlitServer,
    chromium_browser,
    click_button,
    keyed,
    settle,
)

LIMIT_SECONDS = 240


def run_once(browser, server: StreamlitServer) -> dict:
    from charrnn.chem.smiles import parse_smiles

    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(server.url)
    keyed(page, "start_molecules").wait_for()
    click_button(page, "start_molecules")
    page.locator("h1", has_text="Train a model").wait_for()
    settle(page)
    started = time.monotonic()
    click_button(page, "train_start")
    token = re.search(r"[?&]ws=([^&]+)", page.url).group(1)
    space = server.home / "workspaces" / token
    checks, first_valid, finished, seen = [], None, None, 0
    while time.monotonic() - started < LIMIT_SECONDS and finished is None:
        now = time.monotonic() - started
        runs = list(space.glob("r-*"))
        if runs:
            metrics = runs[0] / "metrics.jsonl"
            lines = metrics.read_text().splitlines() if metrics.is_file() else []
            for line in lines[seen:]:
                event = json.loads(line)
                if event.get("kind") == "chem":
                    checks.append({"seconds": round(now, 1), **event})
                if event.get("kind") == "done":
                    finished = round(now, 1)
            seen = len(lines)
        if first_valid is None:
            shown = page.locator('[data-testid="stCode"]').all_inner_texts()
            if any(parse_smiles(text.strip()) is not None for text in shown):
                first_valid = round(now, 1)
        page.wait_for_timeout(200)
    validity = final_validity(runs[0]) if finished else None
    context.close()
    return {
        "first_valid_drawn": first_valid,
        "finished": finished,
        "checks": checks,
        "final_validity_1000": validity,
    }


def final_validity(folder: Path) -> float:
    from charrnn.chem.smiles import parse_smiles
    from charrnn.core.checkpoint import load_checkpoint
    from charrnn.core.sample import SampleConfig, sample

    checkpoint = load_checkpoint(folder, training_state=False)
    options = SampleConfig(temperature=1.0, max_length=150, num_samples=1000, seed=1)
    texts = [item.text for item in sample(checkpoint.model, checkpoint.vocabulary, options)]
    return sum(parse_smiles(text) is not None for text in texts) / len(texts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    before = machine()
    print(f"machine: {before}")
    results = []
    with tempfile.TemporaryDirectory() as folder, chromium_browser() as browser:
        server = StreamlitServer(Path(folder), workers=1)
        try:
            server.wait_healthy(seconds=90)
            for number in range(args.runs):
                result = run_once(browser, server)
                results.append(result)
                print(
                    f"\nrun {number + 1}: first valid molecule drawn on the Train page "
                    f"{result['first_valid_drawn']} s after Train; run finished at "
                    f"{result['finished']} s; 1,000 samples of its final model at "
                    f"temperature 1: {result['final_validity_1000']} valid"
                )
                print(f"{'s after Train':>14} {'step':>6} {'valid':>6} {'unique':>7} {'novel':>6}")
                for check in result["checks"]:
                    print(
                        f"{check['seconds']:>14} {check['step']:>6} {check['validity']:>6.2f} "
                        f"{check.get('uniqueness', 0):>7.2f} {check.get('novelty', 0):>6.2f}"
                    )
        finally:
            server.stop()
    after = machine()
    print(f"load average before {before['load_average']}, after {after['load_average']}")
    save("one-click", {"machine_before": before, "machine_after": after, "results": results})


if __name__ == "__main__":
    main()
