"""A server whose CHARRNN_RAY_ADDRESS names no cluster: it starts within seconds, the pages
that start jobs say the course's cluster cannot be reached (never a traceback), a job that
could not start is left resumable, and generating with a trained model still works.

No cluster is started here (tests/test_ray_jobs.py has the real one)."""

from __future__ import annotations

import importlib.util
import socket
import time
from collections.abc import Iterator

import pytest
from app_support import no_exceptions, open_page
from test_app_train_models import TOY, finished_run
from test_runs import make_run

ray = pytest.importorskip("ray", reason="Ray is a test dependency (requirements-dev.txt)")

from app import ui  # noqa: E402
from charrnn.runs.backends import job_backend  # noqa: E402
from charrnn.runs.ray_runner import ClusterError, LinkSettings, RayJobRunner  # noqa: E402
from charrnn.runs.settings import load_settings  # noqa: E402
from charrnn.runs.status import read_status  # noqa: E402
from charrnn.runs.workspace import Workspace, new_workspace  # noqa: E402

UNREACHABLE = "cannot be reached: ask your instructor"


def closed_port() -> int:
    """A port nobody listens on (it was free a moment ago)."""
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        return free.getsockname()[1]


@pytest.fixture
def listening_port() -> Iterator[int]:
    """A port that takes connections but is no Ray cluster (e.g. a mistyped port)."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield server.getsockname()[1]


def backend(monkeypatch, address: str, home):
    monkeypatch.setenv("CHARRNN_RAY_ADDRESS", address)
    monkeypatch.setenv("CHARRNN_HOME", str(home))
    started = time.monotonic()
    runner = job_backend(load_settings())
    return runner, time.monotonic() - started


@pytest.mark.parametrize("scheme", ["", "ray://"])
def test_a_server_with_no_cluster_at_its_address_starts_and_says_so(
    monkeypatch, root, space, scheme
):
    address = f"{scheme}127.0.0.1:{closed_port()}"
    runner, seconds = backend(monkeypatch, address, root)
    assert seconds < 30  # not Ray's own retries, which go on for minutes
    assert not ray.is_initialized()
    assert UNREACHABLE in runner.problem() and address in runner.problem()
    run_id = make_run(space, steps=10)
    with pytest.raises(ClusterError, match=UNREACHABLE):
        runner.submit(space.run_dir(run_id))
    status = read_status(space.run_dir(run_id))
    assert status["status"] == "interrupted"  # not queued in a queue that does not exist
    assert "Resume it when the cluster is back" in status["note"]


@pytest.mark.skipif(importlib.util.find_spec("grpc") is not None, reason="Ray Client installed")
def test_a_ray_client_address_without_ray_client_says_the_cluster_cannot_be_reached(
    monkeypatch, root, listening_port
):
    runner, _ = backend(monkeypatch, f"ray://127.0.0.1:{listening_port}", root)
    assert UNREACHABLE in runner.problem()  # Ray's ValueError (no ray[client]) in the log


@pytest.fixture
def app_without_cluster(monkeypatch, root):
    """The app's server with CHARRNN_RAY_ADDRESS naming no cluster (its own job runner)."""
    monkeypatch.setenv("CHARRNN_RAY_ADDRESS", f"127.0.0.1:{closed_port()}")
    monkeypatch.setenv("CHARRNN_HOME", str(root))
    ui.job_runner.clear()
    yield Workspace(new_workspace(root), root)
    ui.job_runner.clear()  # the next test's server makes its own


def test_pages_that_start_jobs_say_the_cluster_cannot_be_reached(app_without_cluster):
    space = app_without_cluster
    space.update_choices(corpus=TOY, preset="tiny")
    at = open_page(space.token, "train")
    no_exceptions(at)
    assert any(UNREACHABLE in warning.value for warning in at.warning)
    assert at.button(key="train_start").disabled  # no run made that could not start
    for page in ("steer", "chemistry"):
        at = open_page(space.token, page)
        no_exceptions(at)
        assert any(UNREACHABLE in warning.value for warning in at.warning), page


def test_a_queued_run_shows_the_message_and_generating_still_works(app_without_cluster):
    space = app_without_cluster
    queued = make_run(space, "waiting", steps=10)  # e.g. queued before the cluster went
    space.update_choices(run=queued)
    at = open_page(space.token, "train")
    no_exceptions(at)
    assert sum(UNREACHABLE in warning.value for warning in at.warning) == 2  # top and run
    space.update_choices(run=finished_run(space, "trained"))
    at = open_page(space.token, "generate")
    at.button(key="generate_button").click().run()
    no_exceptions(at)
    assert not at.error and at.code  # samples


def test_an_address_of_another_service_is_given_up_on_in_seconds(listening_port):
    """A port that takes connections but is no Ray cluster (a mistyped port of another
    service) keeps ray.init retrying for minutes: a page waits the link's start and
    init_seconds (3 here), then says the cluster cannot be reached, and the next page at
    once; the link process that tried has ended."""
    runner = RayJobRunner(LinkSettings(f"127.0.0.1:{listening_port}", init_seconds=3))
    seconds = []
    for _ in range(2):
        started = time.monotonic()
        assert UNREACHABLE in runner.problem()
        seconds.append(time.monotonic() - started)
    assert 2.5 < seconds[0] < 60 and seconds[1] < 1
    assert runner._process is None  # the link that tried has gone
