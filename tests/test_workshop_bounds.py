"""A room of users on one server: settings, per-workspace bounds, idle clean-up, isolation.

One workspace never reaches another's runs or corpora, whatever it passes as a run id, token,
name or corpus reference; the bounds on runs and disk hold at creation, upload and import.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from test_runs import TOY, finished_run, make_run

from charrnn.runs.bounds import LOCK_FILE, WorkspaceFullError
from charrnn.runs.folder import RunError
from charrnn.runs.housekeeping import cleanup_idle_workspaces
from charrnn.runs.plan import new_run_config
from charrnn.runs.settings import MB, ServerSettings, load_settings, threads_per_worker
from charrnn.runs.status import update_status
from charrnn.runs.transfer import export_run, import_run
from charrnn.runs.workspace import Workspace, default_root, new_workspace

DAY = 86400.0


@pytest.fixture(scope="module")
def model_zip(tmp_path_factory) -> bytes:
    """A trained tiny model as the Models page's Download button gives it."""
    root = tmp_path_factory.mktemp("exported")
    space = Workspace(new_workspace(root), root)
    return export_run(space.run_dir(finished_run(space, "exported")))


def bounded(root: Path, **limits) -> Workspace:
    """A fresh workspace under ``root`` with the given server bounds."""
    return Workspace(new_workspace(root), root, ServerSettings(home=root, **limits))


def files_under(folder: Path) -> set[str]:
    return {str(path.relative_to(folder)) for path in folder.rglob("*")}


# ----- settings -------------------------------------------------------------------------
def test_settings_default_to_a_small_safe_server():
    settings = load_settings({})
    assert settings == ServerSettings()
    assert (settings.workers, settings.jobs_per_workspace, settings.job_minutes) == (0, 1, 60)
    assert (settings.workspace_quota_mb, settings.runs_per_workspace) == (500, 50)
    assert (settings.upload_mb, settings.idle_days) == (50, 30)
    assert settings.worker_nice == 10
    assert settings.home == Path("workspaces").resolve()
    assert settings.instructor_password is None and settings.job_seconds == 3600


@pytest.mark.parametrize(
    "variable, text, field, expected",
    [
        ("CHARRNN_WORKERS", "3", "workers", 3),
        ("CHARRNN_WORKERS", "0", "workers", 0),
        ("CHARRNN_JOBS_PER_WORKSPACE", "2", "jobs_per_workspace", 2),
        ("CHARRNN_JOB_MINUTES", "7.5", "job_minutes", 7.5),
        ("CHARRNN_JOB_MINUTES", "0", "job_minutes", None),
        ("CHARRNN_JOB_MINUTES", "", "job_minutes", 60),
        ("CHARRNN_WORKER_NICE", "0", "worker_nice", 0),
        ("CHARRNN_WORKER_NICE", "19", "worker_nice", 19),
        ("CHARRNN_WORKSPACE_QUOTA_MB", "250", "workspace_quota_mb", 250),
        ("CHARRNN_RUNS_PER_WORKSPACE", " 12 ", "runs_per_workspace", 12),
        ("CHARRNN_UPLOAD_MB", "20", "upload_mb", 20),
        ("CHARRNN_IDLE_DAYS", "0", "idle_days", 0),
        ("CHARRNN_IDLE_DAYS", "0.5", "idle_days", 0.5),
        ("CHARRNN_INSTRUCTOR_PASSWORD", "s3cret", "instructor_password", "s3cret"),
        ("CHARRNN_INSTRUCTOR_PASSWORD", "", "instructor_password", None),
    ],
)
def test_each_variable_sets_its_field(variable, text, field, expected):
    assert getattr(load_settings({variable: text}), field) == expected


def test_home_is_read_and_resolved(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert load_settings({"CHARRNN_HOME": "room"}).home == tmp_path / "room"
    monkeypatch.setenv("CHARRNN_HOME", str(tmp_path / "elsewhere"))
    assert default_root() == tmp_path / "elsewhere"
    monkeypatch.delenv("CHARRNN_HOME")
    assert default_root() == tmp_path / "workspaces"


def test_a_workspace_without_a_root_lives_in_the_settings_home(tmp_path, monkeypatch):
    monkeypatch.setenv("CHARRNN_HOME", str(tmp_path))
    monkeypatch.setenv("CHARRNN_RUNS_PER_WORKSPACE", "7")
    space = Workspace(new_workspace())
    assert space.folder.parent == tmp_path
    assert space.server_settings.runs_per_workspace == 7


@pytest.mark.parametrize(
    "variable, text",
    [
        ("CHARRNN_WORKERS", "two"),
        ("CHARRNN_WORKERS", "-1"),
        ("CHARRNN_WORKERS", "1.5"),
        ("CHARRNN_JOBS_PER_WORKSPACE", "0"),
        ("CHARRNN_JOB_MINUTES", "-3"),
        ("CHARRNN_JOB_MINUTES", "nan"),
        ("CHARRNN_WORKSPACE_QUOTA_MB", "0"),
        ("CHARRNN_WORKSPACE_QUOTA_MB", "inf"),
        ("CHARRNN_RUNS_PER_WORKSPACE", "0"),
        ("CHARRNN_UPLOAD_MB", "50MB"),
        ("CHARRNN_IDLE_DAYS", "-1"),
        ("CHARRNN_WORKER_NICE", "20"),
        ("CHARRNN_WORKER_NICE", "-5"),
        ("CHARRNN_HOME", "a\x00b"),
    ],
)
def test_a_bad_value_names_its_variable_and_what_it_accepts(variable, text):
    with pytest.raises(ValueError, match=rf"^{variable}.*accepts"):
        load_settings({variable: text})


def test_upload_limit_is_the_smaller_of_ours_and_streamlits():
    settings = ServerSettings(upload_mb=20)
    assert settings.upload_limit_bytes() == 20 * MB
    assert settings.upload_limit_bytes(streamlit_max_mb=200) == 20 * MB
    assert settings.upload_limit_bytes(streamlit_max_mb=5) == 5 * MB
    assert ServerSettings(job_minutes=10).job_seconds == 600


@pytest.mark.parametrize(
    "workers, cores, threads", [(0, 8, 1), (2, 8, 4), (3, 8, 2), (3, 2, 1), (1, None, 1)]
)
def test_workers_never_oversubscribe_the_cores(workers, cores, threads):
    assert threads_per_worker(ServerSettings(workers=workers), cores) == threads


# ----- isolation ------------------------------------------------------------------------
@pytest.fixture
def two_spaces(root, model_zip) -> tuple[Workspace, Workspace, str]:
    """A victim workspace with a trained run, and an intruder workspace beside it."""
    victim = Workspace(new_workspace(root), root)
    intruder = Workspace(new_workspace(root), root)
    return victim, intruder, import_run(victim, model_zip, "victim's run")


def attempts(intruder: Workspace, run_id: str) -> list:
    """Everything the intruder could do with a run id, each as a call."""
    return [
        lambda: intruder.run_dir(run_id),
        lambda: intruder.summary(run_id),
        lambda: intruder.metrics(run_id),
        lambda: export_run(intruder.run_dir(run_id)),
        lambda: intruder.rename(run_id, "mine now"),
        lambda: intruder.send(run_id, "stop"),
        lambda: intruder.delete(run_id),
        lambda: new_run_config(intruder, TOY, "tiny", init_from=run_id),
    ]


def assert_untouched(victim: Workspace, run_id: str, before: set[str]) -> None:
    assert victim.summary(run_id).name == "victim's run"
    assert files_under(victim.folder) == before


def test_another_workspaces_run_ids_reach_nothing(two_spaces):
    victim, intruder, run_id = two_spaces
    before = files_under(victim.folder)
    for attempt in attempts(intruder, run_id):
        with pytest.raises(RunError):
            attempt()
    assert intruder.runs() == []
    assert_untouched(victim, run_id, before)


TRAVERSALS = [
    "../{token}/{run}",
    "{folder}/{run}",  # an absolute path
    "..",
    ".",
    "../",
    "/",
    "..%2F{token}%2F{run}",
    "%2e%2e/{token}/{run}",
    "{run}\x00",
    "{run}\n",
    "\x00",
    "{run}/../../{token}/{run}",
    "r-" + "0" * 10_000,
    "{run}" + "/x" * 2000,
    "R-{run}",
]


@pytest.mark.parametrize("pattern", TRAVERSALS)
def test_traversal_run_ids_reach_nothing(two_spaces, pattern):
    victim, intruder, run_id = two_spaces
    forged = pattern.format(token=victim.token, run=run_id, folder=victim.folder)
    before = files_under(victim.folder)
    for attempt in attempts(intruder, forged):
        with pytest.raises(RunError):
            attempt()
    assert_untouched(victim, run_id, before)


@pytest.mark.parametrize("pattern", [*TRAVERSALS, "{token}/..", "{token}\x00", "{token}\n"])
def test_traversal_tokens_open_no_workspace(two_spaces, root, pattern):
    victim, _, run_id = two_spaces
    forged = pattern.format(token=victim.token, run=run_id, folder=victim.folder)
    with pytest.raises(RunError):
        Workspace(forged, root)


def test_a_link_named_like_a_token_opens_no_workspace(two_spaces, root):
    victim = two_spaces[0]
    os.symlink(victim.folder, root / ("L" * 32))
    with pytest.raises(RunError):
        Workspace("L" * 32, root)


NAMES = ["../../escape", "/etc/passwd", "..", "a\x00b", "%2e%2e%2fx", "x" * 10_000, "run\\..\\x"]


@pytest.mark.parametrize("name", NAMES)
def test_names_never_become_paths(root, space, name):
    before = files_under(root.parent)
    run_id = make_run(space, name)
    space.rename(run_id, name)
    reference = space.save_corpus(b"abc abd abe " * 100, name + ".txt", 100_000)
    created = files_under(root.parent) - before
    assert all(path.startswith(f"{root.name}/{space.token}/") for path in created)
    assert Path(reference).parent == space.folder / "corpora"
    assert Path(reference).name.startswith("c-")
    assert len(space.summary(run_id).name) <= 80
    assert space.owns_corpus(reference)


def test_another_workspaces_corpus_is_refused(two_spaces, root):
    victim, intruder, _ = two_spaces
    reference = victim.save_corpus(b"private words " * 100, "diary.txt", 100_000)
    name = Path(reference).name
    forged = [
        reference,
        str(intruder.folder / "corpora" / ".." / ".." / victim.token / "corpora" / name),
        f"../{victim.token}/corpora/{name}",
        f"{victim.token}/corpora/{name}",
        reference + "\x00",
        "/" + "x" * 10_000,
        str(victim.folder / "corpora" / "names.json"),
    ]
    for candidate in forged:
        assert not intruder.owns_corpus(candidate)
        with pytest.raises(RunError, match="Corpus page"):
            new_run_config(intruder, {"reference": candidate, "kind": "text"}, "tiny")
    assert intruder.corpus_name(reference) == "uploaded file"  # its name stays private
    assert victim.owns_corpus(reference) and victim.corpus_name(reference) == "diary.txt"


# ----- bounds ---------------------------------------------------------------------------
def test_runs_per_workspace_is_a_limit_with_a_way_out(root):
    space = bounded(root, runs_per_workspace=2)
    first, _ = make_run(space, "one"), make_run(space, "two")
    with pytest.raises(WorkspaceFullError, match=r"2 runs.*Delete.*Models page"):
        make_run(space, "three")
    assert len(space.runs()) == 2
    space.delete(first)
    make_run(space, "three")
    assert len(space.runs()) == 2


def test_two_tabs_adding_the_last_run_at_once_get_one_run(root, monkeypatch):
    space = bounded(root, runs_per_workspace=3)
    make_run(space, "one"), make_run(space, "two")
    counting = Workspace.run_count

    def slow_count(self):  # widen the gap between the check and the write
        found = counting(self)
        time.sleep(0.05)
        return found

    monkeypatch.setattr(Workspace, "run_count", slow_count)
    start, outcomes = threading.Barrier(6), []

    def tab(number: int) -> None:
        start.wait()
        try:
            make_run(Workspace(space.token, root, space.server_settings), f"tab {number}")
            outcomes.append("added")
        except WorkspaceFullError:
            outcomes.append("refused")

    tabs = [threading.Thread(target=tab, args=(n,)) for n in range(6)]
    for thread in tabs:
        thread.start()
    for thread in tabs:
        thread.join()
    assert sorted(outcomes) == ["added"] + ["refused"] * 5
    assert len(space.runs()) == 3


def test_another_process_waits_while_a_workspace_is_adding(space):
    probe = (
        "import fcntl, sys\n"
        "with open(sys.argv[1], 'a+b') as handle:\n"
        "    try:\n"
        "        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)\n"
        "    except BlockingIOError:\n"
        "        sys.exit(3)\n"
    )
    lock = str(space.folder / LOCK_FILE)
    with space.adding():
        with space.adding():  # the same thread may nest (an import checks twice)
            held = subprocess.run([sys.executable, "-c", probe, lock], check=False)
    free = subprocess.run([sys.executable, "-c", probe, lock], check=False)
    assert (held.returncode, free.returncode) == (3, 0)


def test_an_import_into_a_full_workspace_writes_nothing(root, model_zip):
    space = bounded(root, runs_per_workspace=1)
    import_run(space, model_zip)
    before = files_under(space.folder)
    with pytest.raises(WorkspaceFullError, match="holds 1 run,"):
        import_run(space, model_zip)
    assert files_under(space.folder) == before


def test_disk_usage_counts_files_and_follows_no_links(tmp_path, space):
    outside = tmp_path / "outside.bin"
    outside.write_bytes(bytes(MB))
    space.save_corpus(b"a" * 1000, "small.txt", 10_000)
    used = space.disk_usage()
    assert 1000 <= used < 2000  # the corpus and its name
    os.symlink(outside, space.folder / "link.bin")
    os.symlink(tmp_path, space.folder / "link-folder")
    assert space.disk_usage() == used


def test_an_upload_past_the_quota_is_refused(root):
    space = bounded(root, workspace_quota_mb=0.01)  # about 10 kB
    space.save_corpus(b"a" * 4000, "first.txt", MB)
    before = files_under(space.folder)
    with pytest.raises(WorkspaceFullError, match=r"MB of its 0.01 MB.*Delete.*Models page"):
        space.save_corpus(b"b" * 8000, "second.txt", MB)
    assert files_under(space.folder) == before


def test_a_new_run_past_the_quota_is_refused(root):
    space = bounded(root, workspace_quota_mb=1)
    config = new_run_config(space, TOY, "tiny")
    space.create_run("fits", config)
    # Training may write past the quota (a checkpoint is never refused)...
    (space.folder / "corpora").mkdir()
    (space.folder / "corpora" / "big.txt").write_bytes(bytes(2 * MB))
    # ...but then nothing new is created until runs are deleted.
    with pytest.raises(WorkspaceFullError, match=r"2\.0 MB of its 1 MB"):
        space.create_run("too much", config)
    assert len(space.runs()) == 1


def test_an_import_past_the_quota_writes_nothing(root, model_zip):
    space = bounded(root, workspace_quota_mb=1)
    (space.folder / "filler.bin").write_bytes(bytes(MB - 1000))  # room for less than a model
    before = files_under(space.folder)
    with pytest.raises(WorkspaceFullError, match="this needs"):
        import_run(space, model_zip)
    assert files_under(space.folder) == before


# ----- idle clean-up --------------------------------------------------------------------
def age(folder: Path, days: float) -> None:
    """Make everything in ``folder`` (and the folder) look last touched ``days`` ago."""
    stamp = time.time() - days * DAY
    for path in [folder, *folder.rglob("*")]:
        os.utime(path, (stamp, stamp), follow_symlinks=False)


def test_idle_workspaces_are_removed_and_nothing_else(tmp_path, root):
    idle = Workspace(new_workspace(root), root)
    update_status(idle.run_dir(make_run(idle, "finished long ago")), status="finished")
    recent = Workspace(new_workspace(root), root)
    busy = Workspace(new_workspace(root), root)
    update_status(busy.run_dir(make_run(busy, "queued for ages")), status="queued")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("not a workspace's")
    os.symlink(outside, idle.folder / "link-out")
    os.symlink(outside / "keep.txt", idle.folder / "file-link-out")
    notes = root / "notes-not-a-token"
    notes.mkdir()
    (notes / ("N" * 32)).mkdir()  # token-like, but not directly under root
    (root / ("F" * 32)).write_text("a file named like a token")
    os.symlink(outside, root / ("S" * 32))  # a link named like a token
    for folder in (idle.folder, busy.folder, notes):
        age(folder, 40)
    age(recent.folder, 29)
    for path in (root / ("F" * 32), root / ("S" * 32), outside, outside / "keep.txt"):
        os.utime(path, (time.time() - 40 * DAY,) * 2, follow_symlinks=False)

    assert cleanup_idle_workspaces(root, idle_days=0) == []  # 0 = never
    assert cleanup_idle_workspaces(root, idle_days=30) == [idle.token]
    assert not idle.folder.exists()
    with pytest.raises(RunError, match="cleaned up"):
        Workspace(idle.token, root)
    assert (outside / "keep.txt").read_text() == "not a workspace's"
    assert recent.folder.is_dir() and busy.folder.is_dir() and (notes / ("N" * 32)).is_dir()
    assert (root / ("F" * 32)).is_file() and (root / ("S" * 32)).is_symlink()
    assert cleanup_idle_workspaces(root, idle_days=30, now=time.time() + 2 * DAY) == [recent.token]
    assert busy.folder.is_dir()  # its run is still waiting


def test_one_recent_file_keeps_a_workspace(root):
    spaces = [Workspace(new_workspace(root), root) for _ in range(2)]
    for space in spaces:
        update_status(space.run_dir(make_run(space, "old")), status="stopped")
        age(space.folder, 40)
    spaces[0].update_choices(run=None)  # this person came back today
    assert cleanup_idle_workspaces(root, idle_days=30) == [spaces[1].token]
    assert spaces[0].folder.is_dir()
    assert cleanup_idle_workspaces(root / "missing", idle_days=30) == []


def test_two_tabs_choosing_at_once_keep_both_choices(root, monkeypatch):
    """update_choices reads, changes and writes under the workspace's lock."""
    space = bounded(root)
    reading = Workspace._read_json

    def slow_read(self, name):  # widen the gap between the read and the write
        found = reading(self, name)
        time.sleep(0.002)
        return found

    monkeypatch.setattr(Workspace, "_read_json", slow_read)

    def tab(key: str) -> None:
        other = Workspace(space.token, root, space.server_settings)
        for number in range(30):
            other.update_choices(**{key: number})

    tabs = [threading.Thread(target=tab, args=(key,)) for key in ("corpus", "run", "preset")]
    for thread in tabs:
        thread.start()
    for thread in tabs:
        thread.join()
    assert space.choices == {"corpus": 29, "run": 29, "preset": 29}
