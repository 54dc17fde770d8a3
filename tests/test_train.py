"""Tests for charrnn.core.batches and charrnn.core.train: the data a model sees and the
training loop.

The loss falls, padding never counts, a seed gives the same run, and a stopped run resumed
from its checkpoint ends exactly where an uninterrupted one does.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import replace

import pytest
import torch
from conftest import quick_config, tiny_config
from torch import nn

from charrnn.core.batches import (
    TextStreams,
    bucketed_batches,
    pad_batch,
    prepare_data,
    text_validation_windows,
)
from charrnn.core.checkpoint import load_checkpoint
from charrnn.core.model import CharRNN
from charrnn.core.sample import SampleConfig, sample
from charrnn.core.tokens import BOS_ID, EOS_ID, PAD_ID
from charrnn.core.train import Trainer
from charrnn.core.train_config import TrainConfig

# ---------------------------------------------------------------- batches


def test_text_split_holds_out_the_last_tenth_in_order():
    text = "".join(chr(ord("a") + i % 26) for i in range(1000))
    data = prepare_data(text)
    ids = data.vocabulary.encode(text)
    assert len(data.validation) == 100
    assert data.train.tolist() == ids[:900]
    assert data.validation.tolist() == ids[900:]
    assert not data.line_based and data.train_tokens == 900


def test_text_too_short_is_refused():
    with pytest.raises(ValueError, match="too short"):
        prepare_data("a")
    with pytest.raises(ValueError):
        prepare_data()
    with pytest.raises(ValueError):
        prepare_data("abc", lines=["abc"])


def test_lines_split_is_shuffled_by_seed():
    lines = ["C" * (i + 1) + "O" for i in range(100)]
    data = prepare_data(lines=lines, tokenizer="smiles", seed=0)
    decode = data.vocabulary.decode
    validation = [decode(ids) for ids in data.validation]
    train = [decode(ids) for ids in data.train]
    assert len(validation) == 10 and len(train) == 90
    assert sorted(validation + train) == sorted(lines)
    assert validation != lines[-10:] and train != lines[:90]
    assert train == data.train_lines
    assert all(ids[0] == BOS_ID and ids[-1] == EOS_ID for ids in data.train)
    again = prepare_data(lines=lines, tokenizer="smiles", seed=0)
    assert again.validation == data.validation and again.train == data.train
    other = prepare_data(lines=lines, tokenizer="smiles", seed=1)
    assert sorted(map(decode, other.validation)) != sorted(validation)


def test_text_streams_continue_from_window_to_window():
    ids = torch.arange(1000)
    streams = TextStreams(ids, batch_size=4, sequence_length=10)
    generator, offsets = torch.Generator().manual_seed(0), {}
    per_epoch = streams.windows_per_epoch
    assert per_epoch > 3
    previous = None
    for step in range(2 * per_epoch + 2):
        inputs, targets, starts_epoch = streams.window(step, generator, offsets)
        assert inputs.shape == targets.shape == (4, 10)
        assert starts_epoch == (step % per_epoch == 0)
        # The target of each position is the next token of the corpus.
        assert torch.equal(targets, inputs + 1)
        if previous is not None and not starts_epoch:
            assert torch.equal(inputs[:, 0], previous[:, -1])
        previous = targets
    # The streams of an epoch are disjoint parts of the corpus.
    inputs, _, _ = streams.window(0, generator, offsets)
    starts = inputs[:, 0]
    assert (starts.diff() >= per_epoch * 10).all()


def test_text_streams_start_each_epoch_afresh():
    ids = torch.arange(500)
    streams = TextStreams(ids, batch_size=3, sequence_length=8)
    generator, offsets = torch.Generator().manual_seed(0), {}
    firsts = []
    for epoch in range(6):
        step = epoch * streams.windows_per_epoch
        inputs, _, starts_epoch = streams.window(step, generator, offsets)
        assert starts_epoch
        firsts.append(int(inputs[0, 0]))
    assert len(set(firsts)) > 1  # random offsets: epochs see different windows


def test_short_text_still_gives_windows():
    streams = TextStreams(torch.arange(7), batch_size=64, sequence_length=128)
    inputs, targets, _ = streams.window(0, torch.Generator().manual_seed(0), {})
    assert inputs.numel() > 0 and torch.equal(targets, inputs + 1)


def test_validation_windows_score_every_token_once():
    ids = torch.arange(101)
    targets = [t for _, t, _ in text_validation_windows(ids, batch_size=4, sequence_length=7)]
    scored = torch.cat([t.flatten() for t in targets]).sort().values
    assert torch.equal(scored, torch.arange(1, 101))


def test_pad_batch_pads_with_pad_id():
    sequences = [[BOS_ID, 5, 6, EOS_ID], [BOS_ID, 7, EOS_ID], [BOS_ID, 5, 6, 7, 8, EOS_ID]]
    inputs, targets = pad_batch(sequences)
    assert inputs.shape == targets.shape == (3, 5)
    for row, sequence in enumerate(sequences):
        n = len(sequence) - 1
        assert inputs[row, :n].tolist() == sequence[:-1]
        assert targets[row, :n].tolist() == sequence[1:]
        assert (targets[row, n:] == PAD_ID).all() and (inputs[row, n + 1 :] == PAD_ID).all()


def test_bucketed_batches_cover_every_line_with_little_padding():
    rng = torch.Generator().manual_seed(0)
    lengths = torch.randint(5, 80, (2000,), generator=rng).tolist()
    batch_size = 32

    def spread(batches):
        ranges = [[lengths[i] for i in batch] for batch in batches]
        return statistics.mean(max(r) - min(r) for r in ranges)

    epochs = [bucketed_batches(lengths, batch_size, rng) for _ in range(2)]
    for batches in epochs:
        assert sorted(i for batch in batches for i in batch) == list(range(2000))
        assert all(len(batch) <= batch_size for batch in batches)
    assert epochs[0] != epochs[1]  # each epoch is a new order
    order = torch.randperm(2000, generator=rng).tolist()
    random_batches = [order[i : i + batch_size] for i in range(0, 2000, batch_size)]
    assert spread(epochs[0]) < spread(random_batches) / 10


# ---------------------------------------------------------------- training


def step_losses(events):
    return [e.train_loss for e in events if e.kind == "step"]


def test_loss_falls_on_the_toy_pattern(text_data):
    config = quick_config(steps=100, batch_size=16, sequence_length=32, eval_every=50)
    events = []
    trainer = Trainer(text_data, tiny_config(), config, on_event=events.append, device="cpu")
    first = trainer.validation_loss()
    final = trainer.run()
    losses = [e.validation_loss for e in events if e.kind == "eval"]
    assert final.kind == "done" and final.status == "finished" and final.step == 100
    assert len(losses) == 2  # at step 50 and at the end
    assert losses[-1] < 0.5 * first
    assert step_losses(events)[-1] < 0.5 * step_losses(events)[0]


def test_loss_falls_on_smiles_lines(line_data):
    events = []
    trainer = Trainer(line_data, tiny_config(), quick_config(steps=60), on_event=events.append)
    first = trainer.validation_loss()
    trainer.run()
    assert events[-2].kind == "eval" and events[-2].validation_loss < 0.7 * first


def test_padding_does_not_change_the_loss(line_data):
    torch.manual_seed(0)
    model = CharRNN(tiny_config(line_data.vocabulary.size, cell="lstm"))
    inputs, targets = pad_batch(line_data.train[:8])
    extra = torch.full((8, 5), PAD_ID)
    wider_inputs, wider_targets = torch.cat([inputs, extra], 1), torch.cat([targets, extra], 1)

    def loss(x, y):
        logits, _ = model(x)
        return nn.functional.cross_entropy(logits.flatten(0, 1), y.flatten(), ignore_index=PAD_ID)

    torch.testing.assert_close(loss(wider_inputs, wider_targets), loss(inputs, targets))


def test_trainer_step_ignores_padding(line_data):
    inputs, targets = pad_batch(line_data.train[:8])
    extra = torch.full((8, 7), PAD_ID)
    batches = [(inputs, targets), (torch.cat([inputs, extra], 1), torch.cat([targets, extra], 1))]
    results, weights = [], []
    for batch in batches:
        trainer = Trainer(line_data, tiny_config(), quick_config(), device="cpu")
        trainer.next_batch = lambda batch=batch: batch
        results.append(trainer.train_step())
        weights.append(trainer.model.head.weight.detach().clone())
    (loss, tokens), (padded_loss, padded_tokens) = results
    assert tokens == padded_tokens == sum(len(ids) - 1 for ids in line_data.train[:8])
    assert padded_loss == pytest.approx(loss, rel=1e-6)
    torch.testing.assert_close(weights[1], weights[0])


@pytest.mark.parametrize(
    "corpus, precision",
    [("text", "float32"), ("text", "auto"), ("lines", "float32"), ("lines", "auto")],
)
def test_seeded_runs_are_reproducible(corpus, precision, text_data, line_data):
    data = text_data if corpus == "text" else line_data
    runs = []
    for seed in (3, 3, 4):
        events = []
        config = quick_config(steps=15, seed=seed, precision=precision)
        Trainer(data, tiny_config(), config, on_event=events.append, device="cpu").run()
        runs.append(step_losses(events))
    assert len(runs[0]) == 15
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]  # another seed is another run


def run_with_stop(data, config, run_dir, stop_at):
    """Train with a control that asks to stop after ``stop_at`` steps; returns the events."""
    events, holder = [], {}

    def control():
        return {"command": "stop"} if holder["trainer"].step == stop_at else None

    holder["trainer"] = Trainer(
        data, tiny_config(cell="lstm"), config, run_dir=run_dir, control=control,
        on_event=events.append, device="cpu",
    )  # fmt: skip
    final = holder["trainer"].run()
    assert final.status == "stopped" and final.step == stop_at
    return events


@pytest.mark.parametrize(
    "corpus, decay, average",
    [("text", 0.0, 0.0), ("lines", 0.0, 0.0), ("text", 0.1, 0.0), ("lines", 0.0, 0.9)],
)
def test_stop_and_resume_equals_an_uninterrupted_run(
    corpus, decay, average, text_data, line_data, tmp_path
):
    data = text_data if corpus == "text" else line_data
    # Small batches so that the line corpus crosses an epoch boundary on each side.
    config = quick_config(steps=40, batch_size=8, seed=7, weight_decay=decay, average=average)
    straight_events = []
    straight = Trainer(
        data, tiny_config(cell="lstm"), config, run_dir=tmp_path / "a",
        on_event=straight_events.append, device="cpu",
    )  # fmt: skip
    straight.run()

    first_half = run_with_stop(data, config, tmp_path / "b", stop_at=20)
    second_half = []
    resumed = Trainer.resume(tmp_path / "b", data, on_event=second_half.append, device="cpu")
    assert resumed.step == 20
    final = resumed.run()
    assert final.status == "finished" and final.step == 40

    losses = step_losses(straight_events)
    assert len(losses) == 40
    assert step_losses(first_half) + step_losses(second_half) == losses
    for name, weight in straight.model.state_dict().items():
        assert torch.equal(resumed.model.state_dict()[name], weight), name


def test_pause_then_resume(text_data):
    messages = iter([None, None, {"command": "pause"}, None, {"command": "resume"}])
    events = []
    trainer = Trainer(
        text_data, tiny_config(), quick_config(steps=6),
        on_event=events.append, control=lambda: next(messages, None), device="cpu",
    )  # fmt: skip
    final = trainer.run()
    kinds = [e.kind for e in events]
    assert final.status == "finished" and final.step == 6
    assert kinds.count("paused") == 1 and kinds.count("resumed") == 1
    paused, resumed = events[kinds.index("paused")], events[kinds.index("resumed")]
    assert paused.step == resumed.step == 2
    assert paused.elapsed == resumed.elapsed  # paused time is not training time
    assert kinds.index("resumed") == kinds.index("paused") + 1


def test_stop_while_paused(text_data, tmp_path):
    messages = iter([None, {"command": "pause"}, {"command": "stop"}])
    events = []
    trainer = Trainer(
        text_data, tiny_config(), quick_config(steps=6), run_dir=tmp_path,
        on_event=events.append, control=lambda: next(messages, None), device="cpu",
    )  # fmt: skip
    final = trainer.run()
    assert final.status == "stopped" and final.step == 1
    assert "resumed" not in [e.kind for e in events]
    assert load_checkpoint(tmp_path).step == 1  # the work so far is kept


def test_a_new_learning_rate_takes_effect(text_data):
    events, holder = [], {}

    def control():
        return {"learning_rate": 1e-4} if holder["trainer"].step == 5 else None

    config = quick_config(steps=10, learning_rate=1e-2, warmup_steps=0, schedule="constant")
    trainer = Trainer(
        text_data, tiny_config(), config, on_event=events.append, control=control, device="cpu"
    )
    holder["trainer"] = trainer
    trainer.run()
    rates = [e.learning_rate for e in events if e.kind == "step"]
    assert rates == [1e-2] * 5 + [1e-4] * 5


def test_time_limit_stops_training(text_data):
    config = quick_config(steps=None, minutes=0.01, log_every=10)
    events = []
    final = Trainer(text_data, tiny_config(), config, on_event=events.append, device="cpu").run()
    assert final.status == "finished" and final.step > 0
    assert final.elapsed >= 0.6 and final.progress == 1.0
    assert final.total_steps is None


def test_events_and_metrics_file(text_data, tmp_path):
    config = quick_config(steps=20, log_every=5, eval_every=10, checkpoint_every=10)
    events = []
    trainer = Trainer(
        text_data, tiny_config(), config, run_dir=tmp_path, on_event=events.append,
        run_info={"corpus": "toy"}, device="cpu",
    )  # fmt: skip
    trainer.run()
    steps = [e for e in events if e.kind == "step"]
    assert [e.step for e in steps] == [5, 10, 15, 20]
    for event in steps:
        assert event.train_loss > 0 and event.tokens_per_second > 0
        assert event.eta >= 0 and event.learning_rate > 0 and event.total_steps == 20
    assert steps[-1].eta == 0 and steps[-1].progress == 1.0
    evals = [e for e in events if e.kind == "eval"]
    assert [e.step for e in evals] == [10, 20] and all(e.validation_loss > 0 for e in evals)
    assert events[-1].kind == "done" and events[-1].status == "finished"

    lines = (tmp_path / "metrics.jsonl").read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    assert records == [e.to_json() for e in events]
    assert {"step", "train_loss", "tokens_per_second", "eta"} <= set(records[0])
    assert load_checkpoint(tmp_path).info["run"] == {"corpus": "toy"}


def test_preview_samples_come_with_evaluations(text_data):
    events = []
    config = quick_config(steps=4, eval_every=2, preview_samples=2)
    Trainer(text_data, tiny_config(), config, on_event=events.append, device="cpu").run()
    evals = [e for e in events if e.kind == "eval"]
    assert len(evals) == 2 and all(len(e.samples) == 2 for e in evals)


def test_fine_tuning_on_new_characters(toy_text, tmp_path):
    data_a = prepare_data(toy_text)
    Trainer(data_a, tiny_config(), quick_config(steps=30), run_dir=tmp_path, device="cpu").run()
    model = load_checkpoint(tmp_path).model

    text_b = "xyz abc éé! " * 300
    data_b = prepare_data(text_b, vocabulary=data_a.vocabulary)
    old = data_a.vocabulary
    assert data_b.vocabulary.tokens[: old.size] == old.tokens
    assert {"x", "y", "z", "é", "!"} <= set(data_b.vocabulary.tokens[old.size :])

    events = []
    trainer = Trainer(
        data_b, model.config, quick_config(steps=40), model=model,
        on_event=events.append, device="cpu",
    )  # fmt: skip
    assert trainer.model.config.vocab_size == data_b.vocabulary.size
    first = trainer.validation_loss()
    trainer.run()
    assert events[-1].status == "finished"
    assert events[-2].validation_loss < 0.5 * first
    (result,) = sample(trainer.model, data_b.vocabulary, SampleConfig(prompt="xyz é", seed=0))
    assert result.text.startswith("xyz é")


def test_train_config_round_trip_and_validation():
    config = TrainConfig(steps=None, minutes=2.5, precision="bfloat16", augment=True)
    assert TrainConfig.from_json(json.loads(json.dumps(config.to_json()))) == config
    for bad in (
        dict(steps=None, minutes=None),
        dict(precision="float16"),
        dict(schedule="linear"),
        dict(batch_size=0),
        dict(learning_rate=0),
        dict(weight_decay=-0.1),
        dict(average=1.0),
        dict(average=-0.5),
    ):
        with pytest.raises(ValueError):
            TrainConfig(**bad)


def test_weight_averaging_shows_the_average_and_trains_the_raw_weights(text_data, tmp_path):
    config = quick_config(steps=30, average=0.9, eval_every=10)
    events = []
    trainer = Trainer(
        text_data, tiny_config(cell="lstm"), config, run_dir=tmp_path, on_event=events.append,
        device="cpu",
    )  # fmt: skip
    trainer.run()
    average = trainer.average
    assert average.updates == 30 and average.raw is not None  # shown after the run
    shown = [p.detach().clone() for p in trainer.model.parameters()]
    assert all(torch.equal(a, b) for a, b in zip(shown, average.average, strict=True))
    assert not all(torch.equal(a, b) for a, b in zip(shown, average.raw, strict=True))
    # The checkpoint's model is the average; the training weights are kept beside it.
    checkpoint = load_checkpoint(tmp_path)
    saved = list(checkpoint.model.parameters())
    assert all(torch.equal(a, b) for a, b in zip(saved, shown, strict=True))
    raw = [checkpoint.tensors[f"raw.{i}"] for i in range(len(saved))]
    assert all(torch.equal(a, b) for a, b in zip(raw, average.raw, strict=True))
    # Evaluations score the average: the last one equals the average's validation loss.
    last = [e for e in events if e.kind == "eval"][-1]
    assert last.validation_loss == pytest.approx(trainer.validation_loss(), abs=1e-5)
    # Running on trains the training weights again, not the average.
    trainer.config = replace(config, steps=31)
    trainer.run()
    assert average.updates == 31


def test_the_average_follows_the_weights_by_its_decay():
    from charrnn.core.averaging import WeightAverage

    model = nn.Linear(2, 1, bias=False)
    with torch.no_grad():
        model.weight.fill_(0.0)
    average = WeightAverage(model, decay=0.5, updates=100)  # past the early cap
    with torch.no_grad():
        model.weight.fill_(1.0)
    average.update()
    assert torch.allclose(average.average[0], torch.full((1, 2), 0.5))
    with average.shown() as raw:
        assert torch.allclose(model.weight, torch.full((1, 2), 0.5))
        assert torch.equal(raw[0], torch.ones(1, 2))
        with pytest.raises(RuntimeError):
            average.update()  # never folds the average into itself
    assert torch.equal(model.weight, torch.ones(1, 2))
    with pytest.raises(ValueError):
        WeightAverage(model, decay=1.0)


def test_resuming_an_averaged_run_without_its_training_weights_is_refused(text_data, tmp_path):
    from charrnn.core.checkpoint import CheckpointError, save_checkpoint

    config = quick_config(steps=10, average=0.9)
    trainer = Trainer(text_data, tiny_config(), config, run_dir=tmp_path, device="cpu")
    trainer.run()
    checkpoint = load_checkpoint(tmp_path)
    rest = {k: v for k, v in checkpoint.tensors.items() if not k.startswith("raw.")}
    save_checkpoint(tmp_path, checkpoint.model, checkpoint.vocabulary, checkpoint.info, rest)
    with pytest.raises(CheckpointError, match="training weights"):
        Trainer.resume(tmp_path, text_data, replace(config, steps=20), device="cpu")
