"""What the Train page says and decides about a run (charrnn.runs.train_view), no browser."""

from __future__ import annotations

from charrnn.core.checkpoint import CHECKPOINT_FILE
from charrnn.runs.plan import new_run_config
from charrnn.runs.report import Progress
from charrnn.runs.status import RunStatus
from charrnn.runs.train_view import (
    REFRESH_SECONDS,
    default_run_name,
    loss_text,
    progress_text,
    queue_text,
    resume_label,
    status_text,
    time_cap_text,
    trained_runs,
    unused_name,
)

TOY = {"reference": "builtin:toy-pattern", "name": "Toy", "kind": "text"}
TINY = {"cell": "gru", "layers": 1, "hidden_size": 16, "embedding_size": 8}


def test_only_runs_with_a_saved_model_can_be_fine_tuned_from(space):
    config = new_run_config(space, TOY, "tiny", TINY, {"steps": 10})
    space.create_run("untrained", config)  # no saved model: not listed
    trained = space.create_run("trained", config)
    (space.run_dir(trained) / CHECKPOINT_FILE).write_bytes(b"a model")
    assert [run.id for run in trained_runs(space)] == [trained]


def test_a_new_run_is_named_after_its_size_or_the_model_it_fine_tunes():
    assert default_run_name("tiny", "Shakespeare") == "Tiny model on Shakespeare"
    assert default_run_name("small", "Drugs", "My run") == "My run, fine-tuned on Drugs"


def test_a_default_name_already_in_use_gets_a_number():
    # Two runs both named "Tiny model on Toy" were told apart by the ends of their ids.
    assert unused_name("Tiny model on Toy", ["Small model on Toy"]) == "Tiny model on Toy"
    assert unused_name("Tiny model on Toy", ["Tiny model on Toy"]) == "Tiny model on Toy (2)"
    taken = ["Mine, steered", "Mine, steered (2)", "Mine, steered (4)"]
    assert unused_name("Mine, steered", taken) == "Mine, steered (3)"


def test_status_words_and_redraw_pace():
    assert status_text(RunStatus.PAUSED).startswith("Paused: the model is saved")
    assert status_text("something new") == "something new"
    assert REFRESH_SECONDS[RunStatus.RUNNING] < REFRESH_SECONDS[RunStatus.QUEUED]
    assert RunStatus.FINISHED not in REFRESH_SECONDS  # a finished run no longer changes
    assert resume_label(RunStatus.STOPPED) == "Continue training"
    assert resume_label(RunStatus.FAILED) == "Resume from last checkpoint"


def test_queue_and_time_cap_texts():
    assert queue_text(None, None) == "Starting..."
    assert queue_text(3, None) == "Waiting for a free worker: number 3 in the queue."
    assert "number 2 in the queue, about" in queue_text(2, 90)
    assert time_cap_text(0) == "" and time_cap_text(None) == ""
    assert "at most 20 minutes at a time" in time_cap_text(20)


def test_the_progress_line_names_step_time_left_and_speed():
    now = Progress(step=1200, total_steps=3000, eta=65, tokens_per_second=4321.0)
    running = progress_text(now, RunStatus.RUNNING, smiles=False)
    assert running.startswith("Step 1,200 of 3,000 · about ")
    assert running.endswith("· 4,321 characters per second")
    assert "left" not in progress_text(now, RunStatus.STOPPED, smiles=True)
    assert "SMILES tokens per second" in progress_text(now, RunStatus.STOPPED, smiles=True)
    assert progress_text(Progress(step=5), RunStatus.FINISHED, smiles=False) == "Step 5"


def test_the_loss_is_given_in_numbers_under_the_chart():
    assert loss_text(Progress(step=3), RunStatus.RUNNING, smiles=False) is None
    running = loss_text(Progress(step=40, train_loss=1.234), RunStatus.RUNNING, smiles=False)
    assert (
        running
        == "Loss at step 40: 1.23 on its training text (nats per character; lower is better)."
    )
    done = Progress(step=200, train_loss=0.91, validation_loss=0.876)
    line = loss_text(done, RunStatus.FINISHED, smiles=True)
    assert line.startswith("Loss at the end: 0.91 on its training text · 0.88 on held-out")
    assert "nats per symbol" in line
