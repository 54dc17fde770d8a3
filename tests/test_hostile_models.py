"""Hostile model files through the code the Models, Generate and Inside pages use: each gives
a clear CheckpointError or RunError, and the server's memory stays bounded (measured in a
subprocess: its peak over what importing the modules took).

The files are written by hand, byte by byte, so that their safetensors headers can lie.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
import torch
from conftest import tiny_config
from safetensors.torch import load_file

from charrnn.core import checkpoint as checkpoint_module
from charrnn.core.checkpoint import (
    CHECKPOINT_FILE,
    CHECKPOINT_JSON,
    OUT_OF_MEMORY,
    CheckpointError,
    load_checkpoint,
    save_checkpoint,
)
from charrnn.core.checkpoint_header import FORMAT, model_shapes
from charrnn.core.model import CharRNN
from charrnn.core.tokens import SPECIALS, build_vocabulary
from charrnn.runs.bounds import LOCK_FILE
from charrnn.runs.folder import RunError
from charrnn.runs.transfer import clean_import_staging, export_run, import_run

ROOT = Path(__file__).resolve().parents[1]
MAX_ADDED_MB = 150  # generous: every refusal below costs a few MB, the old code 1,300 MB


# ----- writing model files by hand ---------------------------------------------------------
def description(vocab_size: int = 12, **changes) -> dict:
    """A checkpoint description (model_config, vocabulary) of a small LSTM."""
    config = dict(
        vocab_size=vocab_size, cell="lstm", embedding_size=8, hidden_size=16, layers=2, dropout=0.0
    )
    config.update(changes)
    tokens = list(SPECIALS) + [chr(0x41 + i) for i in range(config["vocab_size"] - len(SPECIALS))]
    vocabulary = {"tokens": tokens, "tokenizer": "char", "line_based": False}
    return {"format": FORMAT, "model_config": config, "vocabulary": vocabulary, "step": 3}


def honest_entries(meta: dict) -> dict[str, tuple[str, list[int]]]:
    """name -> (dtype, shape) of every weight the description implies."""
    return {
        name: ("F32", list(shape)) for name, shape in model_shapes(meta["model_config"]).items()
    }


def safetensors_bytes(meta: dict | str, entries: dict, **lies) -> bytes:
    """A safetensors file whose header holds ``meta`` and lists ``entries`` (name -> (dtype,
    shape)) one after another, followed by the zeros they need; ``lies`` replaces a tensor's
    header entry as written."""
    sizes = {"F32": 4, "F64": 8, "U8": 1}
    text = meta if isinstance(meta, str) else json.dumps(meta)
    header: dict = {"__metadata__": {"charrnn": text}}
    offset = 0
    for name, (dtype, shape) in entries.items():
        count = sizes[dtype]
        for size in shape:
            count *= size
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + count]}
        offset += count
    header.update(lies)
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    return len(raw).to_bytes(8, "little") + raw + bytes(offset)


def zip_of(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def huge_description_zip() -> bytes:
    """The attack of issue 12: a few hundred bytes asking for a 3-layer, 4096-wide LSTM."""
    meta = description(40, hidden_size=4096, layers=3, embedding_size=64)
    data = safetensors_bytes(meta, {"model.head.bias": ("F32", [40])})
    return zip_of({CHECKPOINT_FILE: data})


def lying(**lie) -> bytes:
    """A small model's description whose tensors' header entries lie as ``lie`` says."""
    meta = description()
    return safetensors_bytes(meta, honest_entries(meta), **lie)


HOSTILE_CHECKPOINTS = {  # name -> (the file, what the message says)
    "a huge description": (
        lambda: safetensors_bytes(description(40, hidden_size=4096, layers=3), {}),
        "larger than this server accepts: its hidden size is 4,096",
    ),
    "more parameters than allowed": (
        lambda: safetensors_bytes(description(10_000, hidden_size=2048, embedding_size=1024), {}),
        "larger than this server accepts: it would have",
    ),
    "no layers": (
        lambda: safetensors_bytes(description(layers=0), {}),
        "damaged: a size is not a positive whole number",
    ),
    "a size that is true": (
        lambda: safetensors_bytes(description(layers=True), {}),
        "damaged: a size is not a positive whole number",
    ),
    "a weight larger than described": (
        lambda: lying(
            **{
                "model.embedding.weight": {
                    "dtype": "F32",
                    "shape": [4096, 4096],
                    "data_offsets": [0, 4 * 4096**2],
                }
            }
        ),
        "past the end",
    ),
    "a weight of another shape, bytes consistent": (
        lambda: safetensors_bytes(
            description(), {**honest_entries(description()), "model.head.bias": ("F32", [13])}
        ),
        "model.head.bias is 13; the description needs 12",
    ),
    "a weight smaller than described": (
        lambda: safetensors_bytes(
            description(), {**honest_entries(description()), "model.head.weight": ("F32", [4, 4])}
        ),
        "model.head.weight is 4 x 4; the description needs 12 x 16",
    ),
    "a weight of the wrong number type": (
        lambda: safetensors_bytes(
            description(), {**honest_entries(description()), "model.head.bias": ("F64", [12])}
        ),
        "holds F64 numbers",
    ),
    "offsets past the end": (
        lambda: lying(
            **{
                "model.head.bias": {
                    "dtype": "F32",
                    "shape": [12],
                    "data_offsets": [10**9, 10**9 + 48],
                }
            }
        ),
        "past the end",
    ),
    "a missing weight": (
        lambda: safetensors_bytes(
            description(),
            {k: v for k, v in honest_entries(description()).items() if "head" not in k},
        ),
        "model.head.weight is missing",
    ),
    "a 10^12-element tensor": (
        lambda: lying(
            **{
                "optim.0.exp_avg": {
                    "dtype": "F32",
                    "shape": [10**6, 10**6],
                    "data_offsets": [0, 4 * 10**12],
                }
            }
        ),
        "past the end",
    ),
    "a 10^12-element tensor whose bytes do not match": (
        lambda: lying(
            **{"optim.0.exp_avg": {"dtype": "F32", "shape": [10**6, 10**6], "data_offsets": [0, 4]}}
        ),
        "bytes do not match",
    ),
    "training state far larger than the model": (
        lambda: safetensors_bytes(
            description(), {**honest_entries(description()), "raw.0": ("U8", [20 * 1024**2])}
        ),
        "far more training state",
    ),
    "thousands of extra tensors": (
        lambda: safetensors_bytes(
            description(),
            {**honest_entries(description()), **{f"x.{i}": ("U8", [1]) for i in range(5000)}},
        ),
        "far more tensors",
    ),
    "a vocabulary of a million tokens": (
        lambda: safetensors_bytes({**description(), "vocabulary": {"tokens": ["x"] * 10**6}}, {}),
        "more than 10,000 tokens",
    ),
    "a token of a thousand characters": (
        lambda: safetensors_bytes(
            {**description(), "vocabulary": {"tokens": [*SPECIALS, "x" * 1000, *"ABCDEFGH"]}}, {}
        ),
        "a token is not text of at most 32 characters",
    ),
    "a description nested a million deep": (
        lambda: safetensors_bytes(
            json.dumps(description())[:-1] + ', "deep": ' + "[" * 10**6 + "]" * 10**6 + "}", {}
        ),
        "not a charrnn checkpoint",
    ),
    "a description of 20 MB": (
        lambda: safetensors_bytes({**description(), "note": "x" * 20_000_000}, {}),
        "at most 8 MB is accepted",
    ),
    "a description of 8 MB of numbers, and no weights": (
        lambda: safetensors_bytes({**description(), "epoch_batches": [0] * 2_600_000}, {}),
        "model.embedding.weight is missing",
    ),
    "a pickle": (lambda: pickle.dumps({"weights": list(range(1000))}), "never opens pickles"),
}


def upload_of(case: str) -> bytes:
    """The hostile checkpoint as a model zip (stored when deflate would look like a bomb)."""
    data = HOSTILE_CHECKPOINTS[case][0]()
    return zip_of(
        {CHECKPOINT_FILE: data}, zipfile.ZIP_STORED if len(data) > 10**6 else zipfile.ZIP_DEFLATED
    )


@pytest.mark.parametrize("case", list(HOSTILE_CHECKPOINTS))
def test_a_hostile_checkpoint_is_refused_with_a_clear_message(tmp_path, case):
    make, message = HOSTILE_CHECKPOINTS[case]
    (tmp_path / CHECKPOINT_FILE).write_bytes(make())
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(tmp_path, max_header_bytes=8_000_000)


@pytest.mark.parametrize("case", ["a huge description", "a vocabulary of a million tokens"])
def test_a_hostile_upload_is_refused_and_leaves_nothing(space, case):
    message = HOSTILE_CHECKPOINTS[case][1]
    with pytest.raises(CheckpointError, match=message):
        import_run(space, upload_of(case))
    assert space.runs() == []
    assert [path.name for path in space.folder.iterdir()] == [LOCK_FILE]


def test_the_huge_description_zip_is_a_few_hundred_bytes_and_refused(space):
    data = huge_description_zip()
    assert len(data) < 1000
    with pytest.raises(CheckpointError, match="larger than this server accepts"):
        import_run(space, data)


def test_a_description_of_20_mb_is_refused_on_upload(space):
    data = upload_of("a description of 20 MB")
    with pytest.raises(CheckpointError, match="at most 8 MB is accepted"):
        import_run(space, data)


@pytest.mark.parametrize(
    "error",
    [
        MemoryError(),
        RuntimeError("[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate"),
    ],
)
def test_running_out_of_memory_is_a_clear_message(space, tmp_path, monkeypatch, error):
    vocabulary = build_vocabulary(["abc"])
    save_checkpoint(tmp_path, CharRNN(tiny_config(vocabulary.size)), vocabulary, {"step": 1})
    data = export_run(tmp_path)

    def no_memory(config):
        raise error

    monkeypatch.setattr(checkpoint_module, "CharRNN", no_memory)
    with pytest.raises(CheckpointError, match="not enough free memory"):
        load_checkpoint(tmp_path)
    with pytest.raises(CheckpointError) as raised:
        import_run(space, data)
    assert str(raised.value) == OUT_OF_MEMORY
    assert space.runs() == []


# ----- downloads and uploads of honest models ----------------------------------------------
def trained_folder(folder: Path) -> Path:
    """A checkpoint with what a trainer writes beside the weights: Adam, raw weights, RNG."""
    vocabulary = build_vocabulary(["hello world"])
    model = CharRNN(tiny_config(vocabulary.size))
    optimizer = torch.optim.Adam(model.parameters())
    model(torch.tensor([[3, 4, 5]]))[0].sum().backward()
    optimizer.step()
    tensors, groups = checkpoint_module.optimizer_tensors(optimizer)
    tensors.update({f"raw.{i}": p.detach().clone() for i, p in enumerate(model.parameters())})
    tensors["rng.torch"] = torch.get_rng_state()
    info = {"step": 9, "optimizer_param_groups": groups, "epoch_batches": [[1, 2]]}
    save_checkpoint(folder, model, vocabulary, info, tensors)
    return folder


def test_a_download_holds_the_weights_only_stored(tmp_path, space):
    folder = trained_folder(tmp_path / "run")
    data = export_run(folder)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        member = archive.getinfo(CHECKPOINT_FILE)
        assert member.compress_type == zipfile.ZIP_STORED
        (tmp_path / "out.safetensors").write_bytes(archive.read(CHECKPOINT_FILE))
        written = json.loads(archive.read(CHECKPOINT_JSON))
    tensors = load_file(tmp_path / "out.safetensors")  # safetensors itself reads it
    assert tensors and all(name.startswith("model.") for name in tensors)
    assert "optimizer_param_groups" not in written and written["step"] == 9
    original = load_checkpoint(folder)
    for name, weight in original.model.state_dict().items():
        assert torch.equal(tensors[f"model.{name}"], weight)
    assert not [p for p in folder.iterdir() if p.name.startswith(".download")]
    run_id = import_run(space, data, "back")
    assert load_checkpoint(space.run_dir(run_id)).step == 9


def test_an_upload_with_training_state_keeps_the_weights_only(tmp_path, space):
    folder = trained_folder(tmp_path / "run")
    data = zip_of({CHECKPOINT_FILE: (folder / CHECKPOINT_FILE).read_bytes()})
    run_id = import_run(space, data, "old download")
    kept = load_checkpoint(space.run_dir(run_id))
    assert kept.tensors == {} and kept.step == 9
    assert torch.equal(kept.model.head.weight, load_checkpoint(folder).model.head.weight)


def test_uploaded_metrics_are_cleaned_a_line_at_a_time(tmp_path, space):
    folder = trained_folder(tmp_path / "run")
    lines = [json.dumps({"kind": "step", "step": i, "train_loss": 1.0}) for i in range(100)]
    lines.insert(50, "[" * 200_000)  # one line longer than any event: skipped unread
    lines.insert(10, "{not json")
    metrics = ("\n".join(lines) + "\n").encode()
    data = zip_of(
        {CHECKPOINT_FILE: (folder / CHECKPOINT_FILE).read_bytes(), "metrics.jsonl": metrics}
    )
    run_id = import_run(space, data)
    assert [event["step"] for event in space.metrics(run_id)] == list(range(100))


def test_a_metrics_file_larger_than_a_run_writes_is_refused(tmp_path, space):
    folder = trained_folder(tmp_path / "run")
    members = {CHECKPOINT_FILE: (folder / CHECKPOINT_FILE).read_bytes()}
    members["metrics.jsonl"] = os.urandom(17 * 1024**2).hex().encode()  # 34 MB
    with pytest.raises(RunError, match="metrics.jsonl takes 34 MB"):
        import_run(space, zip_of(members))


# ----- staging folders a killed server left behind -----------------------------------------
def test_a_killed_imports_staging_folder_is_removed(tmp_path, space, root):
    stale = space.folder / ".import-0123456789ab"
    (stale / "deep").mkdir(parents=True)
    (stale / "deep" / CHECKPOINT_FILE).write_bytes(b"half")
    import_run(space, export_run(trained_folder(tmp_path / "run")))
    assert not stale.exists()  # removed by the next import into the workspace

    stale.mkdir()
    fresh = space.folder / ".import-ba9876543210"
    fresh.mkdir()
    hour_ago = time.time() - 3700
    os.utime(stale, (hour_ago, hour_ago))
    assert clean_import_staging(root) == 1  # the housekeeping's: old ones only
    assert not stale.exists() and fresh.exists()
    assert clean_import_staging(root, older_than_seconds=0) == 1
    assert [p.name for p in space.folder.iterdir() if p.name.startswith(".")] == [LOCK_FILE]


# ----- the server's memory, measured in a subprocess ---------------------------------------
MEASURE = """
import json, resource, sys
from pathlib import Path
from charrnn.runs.workspace import Workspace, new_workspace
from charrnn.runs.transfer import import_run

def status_mb(key):
    with open('/proc/self/status') as status:
        for line in status:
            if line.startswith(key):
                return int(line.split()[1]) / 1024

def start():  # the peak so far becomes the memory in use now (Linux); the baseline
    try:
        with open('/proc/self/clear_refs', 'w') as refs:
            refs.write('5')
        return status_mb('VmRSS'), 'VmHWM'
    except OSError:  # elsewhere: the peak so far, a weaker baseline
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, None

def peak_mb(key):
    return status_mb(key) if key else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

root = Path(sys.argv[1])
space = Workspace(new_workspace(root), root)
import_run(space, Path(sys.argv[2]).read_bytes(), 'warm-up')  # a real model: torch is warm
results = {}
for path in sys.argv[3:]:
    data = Path(path).read_bytes()  # as Streamlit holds an upload
    base, key = start()
    try:
        import_run(space, data)
        outcome = 'accepted'
    except ValueError as error:
        outcome = f'{type(error).__name__}: {error}'
    results[Path(path).stem] = [round(peak_mb(key) - base, 1), outcome]
print(json.dumps(results))
"""


def bomb(megabytes: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        with archive.open(CHECKPOINT_FILE, "w", force_zip64=True) as member:
            for _ in range(megabytes):
                member.write(bytes(1024 * 1024))
    return buffer.getvalue()


def test_hostile_uploads_keep_the_servers_memory_bounded(tmp_path):
    files = {"good": export_run(trained_folder(tmp_path / "run"))}
    files["huge-description"] = huge_description_zip()
    for case in HOSTILE_CHECKPOINTS:
        files[case.replace(" ", "-")] = upload_of(case)
    files["zip-bomb"] = bomb(150)
    paths = []
    for name, data in files.items():
        paths.append(tmp_path / f"{name}.zip")
        paths[-1].write_bytes(data)
    (tmp_path / "root").mkdir()
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, str(tmp_path / "root"), *map(str, paths)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=environment,
        check=False,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(done.stdout.splitlines()[-1])
    print(json.dumps(results, indent=1))  # the figures, with -s
    assert len(results) == len(files) - 1
    for name, (added_mb, outcome) in results.items():
        assert outcome.startswith(("CheckpointError", "RunError")), (name, outcome)
        assert added_mb < MAX_ADDED_MB, (name, added_mb)
