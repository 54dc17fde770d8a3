"""The room's bounds on workspaces: a visit writes nothing, the first write makes the folder,
and the server's global caps (workspaces, total disk, free space) refuse writes plainly."""

from __future__ import annotations

import shutil
from collections import namedtuple
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from charrnn.runs import serverroom
from charrnn.runs.plan import new_run_config
from charrnn.runs.settings import MB, ServerSettings
from charrnn.runs.workspace import ServerFullError, Workspace, new_token, new_workspace

APP = Path(__file__).resolve().parents[1] / "streamlit_app.py"
TOY = {"reference": "builtin:toy-pattern", "name": "toy", "kind": "text"}


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("CHARRNN_HOME", str(tmp_path / "workspaces"))
    monkeypatch.setenv("CHARRNN_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("CHARRNN_WORKERS", "1")
    serverroom.forget_total(tmp_path / "workspaces")
    return tmp_path / "workspaces"


def folders(home: Path) -> list[str]:
    return sorted(path.name for path in home.iterdir()) if home.is_dir() else []


# ----- created on the first write ----------------------------------------------------------
def test_visiting_every_page_makes_no_folder_and_choosing_a_corpus_makes_one(home):
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    token = at.session_state["ws"]
    assert at.query_params["ws"] == token
    # Its address leads nowhere yet: the sidebar does not ask to bookmark it now.
    assert "Nothing is saved yet" in " ".join(c.value for c in at.sidebar.caption)
    for page in ("corpus", "train", "generate", "inside", "models", "chemistry", "gallery"):
        at.switch_page(f"pages/{page}.py").run()
        assert not at.exception, page
        assert at.session_state["ws"] == token  # the same token all along
    at.switch_page("pages/home.py").run()
    assert folders(home) == []
    at.button(key="start_pattern").click().run()
    assert not at.exception
    assert folders(home) == [token]
    again = AppTest.from_file(APP, default_timeout=60)  # the address reopened: now it leads
    again.query_params["ws"] = token  # back to this work, which the sidebar says to bookmark
    again.run()
    assert "Bookmark this page's address" in " ".join(c.value for c in again.sidebar.caption)
    assert Workspace(token, home).choices["corpus"]["reference"] == "builtin:toy-pattern"


def test_a_link_to_no_folder_is_refused_with_a_fresh_token(home):
    made_up = new_token()
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["ws"] = made_up
    at.run()
    assert "No workspace has this link" in " ".join(w.value for w in at.warning)
    assert at.session_state["ws"] != made_up
    assert folders(home) == []


def test_a_pending_workspace_reads_empty_and_its_first_write_makes_it(tmp_path):
    root = tmp_path / "workspaces"
    space = Workspace.pending(new_token(), root, ServerSettings(home=root))
    assert space.runs() == [] and space.choices == {} and space.run_count() == 0
    assert not space.folder.exists()
    space.create_run("first", new_run_config(space, TOY, "tiny"))
    assert len(space.runs()) == 1
    assert Workspace(space.token, root).run_count() == 1  # an ordinary workspace now


# ----- the server's global bounds ----------------------------------------------------------
def test_no_more_workspaces_than_the_server_keeps(tmp_path):
    root = tmp_path / "workspaces"
    settings = ServerSettings(home=root, max_workspaces=2)
    for _ in range(2):
        Workspace.pending(new_token(), root, settings).update_choices(preset="tiny")
    late = Workspace.pending(new_token(), root, settings)
    with pytest.raises(ServerFullError, match="Tell the workshop's instructor"):
        late.update_choices(preset="tiny")
    with pytest.raises(ServerFullError):
        late.save_corpus(b"hello", "a.txt")
    assert not late.folder.exists()
    assert len(folders(root)) == 2


def test_all_workspaces_together_stay_within_the_servers_disk(tmp_path):
    root = tmp_path / "workspaces"
    settings = ServerSettings(home=root, disk_mb=1, free_space_mb=0)
    serverroom.forget_total(root)
    first = Workspace(new_workspace(root), root, settings)
    first.save_corpus(b"x" * (MB // 2), "half.txt")
    serverroom.forget_total(root)  # the cached total is trusted a few seconds
    second = Workspace(new_workspace(root), root, settings)
    with pytest.raises(ServerFullError, match="use all the disk space"):
        second.save_corpus(b"y" * (MB // 2 + 1000), "more.txt")
    second.save_corpus(b"small", "small.txt")


def test_the_total_is_walked_once_every_few_seconds(tmp_path, monkeypatch):
    root = tmp_path / "workspaces"
    new_workspace(root)
    walks = []
    walk = serverroom.walk
    monkeypatch.setattr(serverroom, "walk", lambda folder: walks.append(folder) or walk(folder))
    serverroom.forget_total(root)
    for second in range(5):
        serverroom.total_usage(root, now=1000.0 + second)
    assert len(walks) == 1
    serverroom.total_usage(root, now=1000.0 + serverroom.TOTAL_SECONDS + 5)
    assert len(walks) == 2


def test_writes_are_refused_below_the_free_space_floor(tmp_path, monkeypatch):
    root = tmp_path / "workspaces"
    settings = ServerSettings(home=root, free_space_mb=1024)
    space = Workspace(new_workspace(root), root, settings)
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10**12, 10**12, 500 * MB))
    with pytest.raises(ServerFullError, match="disk is nearly full"):
        space.save_corpus(b"hello", "a.txt")
    with pytest.raises(ServerFullError, match="disk is nearly full"):
        space.create_run("run", new_run_config(space, TOY, "tiny"))
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10**12, 0, 2000 * MB))
    space.save_corpus(b"hello", "a.txt")


def test_the_home_page_says_plainly_when_the_server_is_full(home, monkeypatch):
    monkeypatch.setenv("CHARRNN_MAX_WORKSPACES", "1")
    new_workspace(home)
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.button(key="start_pattern").click().run()
    assert not at.exception
    assert "Tell the workshop's instructor" in " ".join(e.value for e in at.error)
    assert len(folders(home)) == 1


def test_an_upload_on_a_nearly_full_disk_is_refused_plainly(home, monkeypatch):
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.switch_page("pages/corpus.py").run()
    at.radio(key="corpus_source").set_value("Upload").run()
    at.file_uploader(key="corpus_upload").set_value(
        ("notes.txt", b"hello world\n" * 50, "text/plain")
    )
    at.run()
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10**12, 10**12, 10 * MB))
    at.button(key="use_corpus").click().run()
    assert not at.exception
    message = " ".join(error.value for error in at.error)
    assert "disk is nearly full" in message and "instructor" in message
    assert folders(home) == []  # not even the workspace was made
