"""Hostile corpus files through the code the pages use: a clear message, bounded memory.

Each file goes through charrnn.corpora.uploads (the Corpus page's check, run in a child process
with limits) and through the SMILES checks the web process itself still calls; the peak
memory each adds to the calling process is measured in a fresh subprocess and asserted
with a generous margin (never a wall time).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from charrnn import bounded
from charrnn.chem.smiles import smiles_problem
from charrnn.corpora.reading import CorpusError
from charrnn.corpora.uploads import check_upload_bounded
from charrnn.limits import MAX_SMILES_LENGTH

ROOT = Path(__file__).resolve().parent.parent
LIMIT = 50 * 1024 * 1024
MB = 1024 * 1024

HOSTILE = {  # name -> (file name, bytes)
    "unclosed branches, 40 KB": ("long.smi", b"C(" * 20_000 + b"\n"),
    "unclosed branches, 200 KB": ("longer.smi", b"C(" * 100_000 + b"\n"),
    "deep nesting": ("deep.smi", b"C" + b"(C" * 60_000 + b")" * 60_000 + b"\n"),
    "ring digits": ("rings.smi", b"C1" * 100_000 + b"\n"),
    "brackets": ("brackets.smi", b"[" * 200_000 + b"\n"),
    "a 60 KB CSV cell": ("cell.csv", b"name,smiles\nok,CCO\nbig," + b"C(" * 30_000 + b"\n"),
    "a 200 KB CSV cell": ("huge.csv", b"name,smiles\nbig," + b"C(" * 100_000 + b"\n"),
    "100,000 columns": ("wide.csv", b",".join([b"smiles"] * 100_000) + b"\nCCO\n"),
    "a million short lines": ("many.smi", b"CC\n" * 1_000_000),
    "100,000 invalid lines": ("invalid.smi", b"CCO\n" + b"C(C\n" * 100_000),
    "not UTF-8": ("latin.smi", "Café\n".encode("latin-1") * 1000),
    "binary": ("binary.smi", b"\x00\x01\x02" * 10_000),
}

MEASURE = """
import json, sys
sys.path.insert(0, sys.argv[1])
from charrnn.chem.smiles import smiles_problem
from charrnn.corpora.reading import CorpusError
from charrnn.corpora.uploads import check_upload_bounded
def peak():  # VmHWM: this process's own peak (ru_maxrss starts at the forking parent's)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
cases = json.loads(sys.stdin.read())
results = {}
for name, (filename, path) in cases.items():
    data = open(path, "rb").read()
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")  # the peak mark starts again from the memory now
    before = peak()
    try:
        preview = check_upload_bounded(
            data, filename, kind=None, smiles_column=None, max_bytes=50 * 1024 * 1024
        )
        said = f"{preview.invalid_count} invalid: " + "; ".join(
            line.reason for line in preview.invalid_lines[:2]
        )
    except CorpusError as error:
        said = str(error)
    if filename.endswith(".smi"):  # what the web process itself does with such a line
        first = data.split(b"\\n", 1)[0].decode("utf-8", "replace").strip()
        said += " | " + str(smiles_problem(first))
    del data
    added = peak() - before
    results[name] = {"added_kb": added, "said": said}
print(json.dumps(results))
"""


def test_hostile_corpora_get_a_message_and_bounded_memory(tmp_path):
    cases = {}
    for number, (name, (filename, data)) in enumerate(HOSTILE.items()):
        path = tmp_path / f"{number}-{filename}"
        path.write_bytes(data)
        cases[name] = (filename, str(path))
    # Warm up first (imports, RDKit's tables), so each case's peak is its own.
    warm = {"warm-up": ("warm.smi", str(tmp_path / "warm.smi"))}
    (tmp_path / "warm.smi").write_bytes(b"CCO\nC(\n" + b"C" * 2000 + b"\n")
    answer = subprocess.run(
        [sys.executable, "-c", MEASURE, str(ROOT)],
        input=json.dumps({**warm, **cases}),
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    results = json.loads(answer.stdout)
    for name in HOSTILE:
        result = results[name]
        assert result["said"], name
        # The file's own bytes are read in the caller (as Streamlit holds an upload): its
        # size, plus a generous margin; before the fix the 40 KB line alone added 1.5 GB.
        size_mb = len(HOSTILE[name][1]) / MB
        assert result["added_kb"] / 1024 < 3 * size_mb + 100, (name, result)
    assert "too long: 40,000 characters" in results["unclosed branches, 40 KB"]["said"]
    assert "too long: 200,000 characters" in results["unclosed branches, 200 KB"]["said"]
    assert "too long: 60,000 characters" in results["a 60 KB CSV cell"]["said"]
    assert "field larger than field limit" in results["a 200 KB CSV cell"]["said"]
    assert "100000 invalid" in results["100,000 invalid lines"]["said"]
    assert "not UTF-8" in results["not UTF-8"]["said"]
    assert "binary" in results["binary"]["said"]


@pytest.mark.parametrize("length", [MAX_SMILES_LENGTH + 1, 40_000])
def test_a_smiles_past_the_limit_is_never_parsed(length):
    assert smiles_problem("C" * length).startswith(f"too long: {length:,} characters")


def test_a_smiles_at_the_limit_is_still_read():
    assert smiles_problem("C" * MAX_SMILES_LENGTH) is None
    assert "'(' has no matching ')'" in smiles_problem("C(" * (MAX_SMILES_LENGTH // 2))


def test_the_upload_check_returns_what_the_page_shows():
    preview = check_upload_bounded(
        b"CCO\nC1CC\n" + b"c1ccccc1\n" * 50, "m.smi", kind=None, smiles_column=None, max_bytes=LIMIT
    )
    assert (preview.kind, preview.line_count, preview.invalid_count) == ("smiles", 52, 1)
    assert preview.invalid_lines[0].line_number == 2
    assert "never closed" in preview.invalid_lines[0].reason
    assert len(preview.first_lines) == 20


def test_the_child_reports_memory_time_user_errors_and_bugs_apart():
    with pytest.raises(bounded.ChildFailed) as failed:  # 4 GB asked of a 1.5 GB child
        bounded.call("builtins:bytearray", {"source": 4 * 1024**3}, memory_mb=1536)
    assert failed.value.reason == "memory"
    with pytest.raises(bounded.ChildFailed) as failed:
        bounded.call("subprocess:call", {"args": ["sleep", "30"]}, seconds=1)
    assert failed.value.reason == "time"
    with pytest.raises(CorpusError, match="There is no file"):  # a user error keeps its class
        bounded.call("charrnn.corpora.reading:read_corpus", {"data": "/no/such/corpus.txt"})
    with pytest.raises(RuntimeError, match="JSONDecodeError"):  # a bug is not a user error
        bounded.call("json:loads", {"s": "{"})
