"""The steering loop: a tiny prior learns to write more nitrogen within seconds, the diversity
filter counts scaffolds, replay keeps the best, runs are reproducible, saved and resumed."""

from __future__ import annotations

import json
import random

import pytest
from conftest import train_model
from rdkit import Chem

from charrnn.chem.diversity import DiversityFilter, ReplayMemory, batch_summary, scaffold_of
from charrnn.chem.scorer import ScoredMolecule
from charrnn.chem.scoring import Component, ScoreSpec
from charrnn.chem.smiles import parse_smiles
from charrnn.core.batches import prepare_data
from charrnn.core.checkpoint import load_checkpoint, save_checkpoint
from charrnn.core.sample import SampleConfig, sample
from charrnn.errors import SettingsError
from charrnn.runs.config import read_run_config
from charrnn.runs.folder import FileControl, read_metrics, send_control
from charrnn.runs.steer import Steerer
from charrnn.runs.steer_config import BATCHES_FILE, HITS_FILE, SteerConfig, SteerError
from charrnn.runs.steer_run import (
    plan_steering,
    read_batches,
    read_hits,
    run_steering,
    starting_point,
    steerer_of,
)

LINES = ["CCC", "CCCC", "CCO", "OCCO", "CC(C)C", "CCCCO", "CCN", "NCCN", "CCCN", "CNC"] * 6


@pytest.fixture(scope="module")
def prior():
    data = prepare_data(lines=LINES, tokenizer="smiles", validation_fraction=0.05)
    return train_model(data, steps=150), data.vocabulary


class AtomScore:
    """A score any model can learn in seconds: atoms of one element, 1/``most`` of a point
    each (1 at most); a molecule passes with ``passes`` of them. Remembers what it was asked."""

    def __init__(self, symbol: str, most: int, passes: int, name: str):
        self.symbol, self.most, self.passes = symbol, most, passes
        self.names = (name,)
        self.asked: list[str] = []

    def __call__(self, smiles):
        self.asked += smiles
        scored = []
        for text in smiles:
            mol = parse_smiles(text) if text else None
            if mol is None:
                scored.append(ScoredMolecule(text, None, 0.0, (float("nan"),), (0.0,), (False,)))
                continue
            count = sum(atom.GetSymbol() == self.symbol for atom in mol.GetAtoms())
            score = min(count, self.most) / self.most
            canonical = Chem.MolToSmiles(mol)
            passed = (count >= self.passes,)
            scored.append(ScoredMolecule(text, canonical, score, (count,), (score,), passed))
        return scored


def nitrogen_score() -> AtomScore:
    """Nitrogen atoms, a quarter point each; two make a pass."""
    return AtomScore("N", most=4, passes=2, name="nitrogen")


def mean_nitrogen(model, vocabulary, seed=99) -> float:
    config = SampleConfig(num_samples=200, max_length=30, seed=seed, precision="float32")
    return (
        sum(m.score for m in nitrogen_score()([s.text for s in sample(model, vocabulary, config)]))
        / 200
    )


QUICK = dict(steps=40, minutes=None, batch_size=32, learning_rate=5e-3, sigma=20.0, seed=1)


@pytest.mark.parametrize("method", ["reinvent", "hillclimb"])
def test_a_tiny_prior_learns_to_write_nitrogen_within_seconds(prior, method):
    model, vocabulary = prior
    events = []
    settings = SteerConfig(method=method, diversity_bucket=0, max_length=30, **QUICK)
    steerer = Steerer(model, vocabulary, nitrogen_score(), settings, on_event=events.append)
    final = steerer.run()
    assert final.kind == "done" and final.status == "finished" and steerer.step == 40
    before, after = mean_nitrogen(model, vocabulary), mean_nitrogen(steerer.agent, vocabulary)
    assert after > before + 0.2, (before, after)
    steps = [event for event in events if event.kind == "step"]
    first, last = steps[:5], steps[-5:]
    assert sum(e.mean_score for e in last) > sum(e.mean_score for e in first) + 0.5
    assert set(steps[-1].pass_rates) == {"nitrogen"} and steps[-1].best_so_far >= 0.5
    assert mean_nitrogen(model, vocabulary) == before  # the prior itself never changes


@pytest.mark.parametrize("method", ["reinvent", "hillclimb"])
def test_the_replay_memory_fills_as_it_steers(prior, method):
    model, vocabulary = prior
    settings = SteerConfig(**{**QUICK, "steps": 3}, method=method, replay_samples=4)
    steerer = Steerer(model, vocabulary, nitrogen_score(), settings)
    steerer.run()
    assert len(steerer.memory) > 0  # an empty memory once read as "no memory"


def test_the_same_seed_steers_the_same_way(prior):
    model, vocabulary = prior
    runs = []
    for _ in range(2):
        events = []
        settings = SteerConfig(**{**QUICK, "steps": 6}, replay_samples=4, diversity_bucket=3)
        Steerer(model, vocabulary, nitrogen_score(), settings, on_event=events.append).run()
        runs.append([event.to_json() | {"elapsed": 0, "eta": 0} for event in events])
    assert runs[0] == runs[1]


def molecule(smiles: str, score: float) -> ScoredMolecule:
    canonical = Chem.MolToSmiles(Chem.MolFromSmiles(smiles))
    return ScoredMolecule(smiles, canonical, score, (score,), (score,), (True,))


def test_the_diversity_filter_counts_molecules_per_scaffold():
    assert scaffold_of("Cc1ccccc1O") == scaffold_of("CCc1ccccc1") == "c1ccccc1"
    assert scaffold_of("CCCO") == ""
    found = DiversityFilter(bucket_size=2, threshold=0.5)
    benzenes = [molecule(s, 0.9) for s in ("Cc1ccccc1", "CCc1ccccc1", "CCCc1ccccc1")]
    assert found.rewards(benzenes) == [0.9, 0.9, 0.0]  # the third of a full bucket earns 0
    assert found.rewards([molecule("Oc1ccccc1", 0.8)]) == [0.0]  # still full
    assert found.rewards([molecule("C1CCCCC1C", 0.8)]) == [0.8]  # another scaffold
    assert found.rewards([molecule("Cc1ccccc1", 0.9)]) == [0.0]  # met before: nothing
    assert found.rewards([molecule("c1ccncc1C", 0.3), molecule("c1ccncc1CC", 0.3)]) == [0.3, 0.3]
    assert found.buckets == {"c1ccccc1": 4, "C1CCCCC1": 1} and found.full_scaffolds() == 1
    invalid = ScoredMolecule("C1C", None, 0.0, (0.0,), (0.0,), (False,))
    assert found.rewards([invalid]) == [0.0]
    again = DiversityFilter(2, 0.5)
    again.restore(json.loads(json.dumps(found.to_json())))
    assert again.buckets == found.buckets and again.seen == found.seen


def test_a_filter_by_molecule_rewards_close_relatives_but_never_a_repeat():
    found = DiversityFilter(bucket_size=2, threshold=0.5, by="molecule")
    benzenes = [molecule(s, 0.9) for s in ("Cc1ccccc1", "CCc1ccccc1", "CCCc1ccccc1")]
    assert found.rewards(benzenes) == [0.9, 0.9, 0.9]  # one scaffold, all rewarded
    assert found.rewards([molecule("c1ccccc1C", 0.9), molecule("CCO", 0.1)]) == [0.0, 0.1]
    assert found.rewards([molecule("OCC", 0.1)]) == [0.0]  # low scorers are counted too
    assert found.buckets == {} and found.full_scaffolds() == 0
    with pytest.raises(ValueError, match="scaffold or molecule"):
        DiversityFilter(by="atom")
    with pytest.raises(SettingsError, match="diversity filter"):
        SteerConfig(diversity_by="atom")


def test_replay_keeps_the_best_distinct_molecules():
    memory = ReplayMemory(size=3)
    batch = [molecule(s, v) for s, v in [("CCO", 0.2), ("OCC", 0.5), ("CCN", 0.9), ("CCC", 0.1)]]
    memory.add(batch, [m.score for m in batch])
    assert [e.canonical for e in memory.best(3)] == ["CCN", "CCO", "CCC"]  # OCC is CCO: 0.5
    assert memory.best(1)[0].score == 0.9 and len(memory) == 3
    memory.add([molecule("NCCN", 0.95), molecule("CCCC", 0.0)], [0.95, 0.0])
    assert [e.canonical for e in memory.best(3)] == ["NCCN", "CCN", "CCO"]
    assert len(memory.sample(10, random.Random(0))) == 3
    restored = ReplayMemory(3)
    restored.restore(json.loads(json.dumps(memory.to_json())))
    assert restored.best(3) == memory.best(3)


@pytest.fixture
def start_run(tmp_path, prior):
    model, vocabulary = prior
    folder = tmp_path / "start"
    save_checkpoint(folder, model, vocabulary, {"step": 150})
    return folder


def test_a_steering_run_folder_saves_a_usable_model_and_resumes(tmp_path, start_run):
    score = ScoreSpec((Component("contains", target="N"), Component("weight", low=40, high=90)))
    run_dir = tmp_path / "steered"
    settings = SteerConfig(**{**QUICK, "steps": 4}, checkpoint_every=2, max_length=30)
    config = plan_steering(run_dir, str(start_run), score, settings)
    assert read_run_config(run_dir) == config and config.init_from == str(start_run.resolve())
    final = run_steering(run_dir)
    assert final.status == "finished"
    steps = [e for e in read_metrics(run_dir) if e["kind"] == "step"]
    assert [e["step"] for e in steps] == [1, 2, 3, 4]
    keys = {"mean_score", "best_score", "validity", "uniqueness", "scaffolds", "pass_rates"}
    assert keys <= set(steps[0]) and set(steps[0]["pass_rates"]) == {"contains", "weight"}
    checkpoint = load_checkpoint(run_dir)
    assert checkpoint.step == 4 and checkpoint.info["run"]["steered_from"] == str(
        start_run.resolve()
    )
    hits = read_hits(run_dir)
    assert hits["names"] == ["contains", "weight"] and hits["rows"]
    scores = [row["score"] for row in hits["rows"]]
    assert scores == sorted(scores, reverse=True) and {"smiles", "contains_pass"} <= set(
        hits["rows"][0]
    )
    batches = read_batches(run_dir)  # before / after histograms: the first and last batch
    assert batches["names"] == ["contains", "weight"]
    assert batches["first"]["step"] == 1 and batches["last"]["step"] == 4
    assert len(batches["first"]["score"]) == QUICK["batch_size"]
    assert 0 < len(batches["last"]["weight"]) <= QUICK["batch_size"]  # the valid ones
    assert set(batches["last"]["contains"]) <= {0.0, 1.0}
    longer = SteerConfig(**{**QUICK, "steps": 6}, checkpoint_every=2, max_length=30)
    resumed = steerer_of(run_dir, settings=longer)
    assert resumed.step == 4 and resumed.hits and resumed.batches["first"]["step"] == 1
    resumed.run()
    assert read_batches(run_dir)["last"]["step"] == 6
    (run_dir / BATCHES_FILE).write_text("{broken", encoding="utf-8")
    assert read_batches(run_dir) is None
    assert [e["step"] for e in read_metrics(run_dir) if e["kind"] == "step"] == list(range(1, 7))
    again = plan_steering(tmp_path / "second", str(run_dir), score, settings)  # steer the steered
    assert (
        again.init_from == str(run_dir.resolve()) and (tmp_path / "second" / "steer.json").is_file()
    )
    assert not (tmp_path / "second" / HITS_FILE).exists()


def test_stop_pause_and_a_new_learning_rate_are_obeyed_between_steps(tmp_path, start_run):
    run_dir = tmp_path / "steered"
    score = ScoreSpec((Component("contains", target="N"),))
    plan_steering(run_dir, str(start_run), score, SteerConfig(**{**QUICK, "steps": 1000}))
    seen = []

    def on_event(event):
        seen.append(event.kind)
        if event.kind == "step" and event.step == 1:
            send_control(run_dir, learning_rate=1e-3)
        if event.kind == "step" and event.step == 2:
            send_control(run_dir, "pause")
        if event.kind == "paused":
            send_control(run_dir, "stop")

    steerer = steerer_of(run_dir, on_event=on_event, control=FileControl(run_dir))
    final = steerer.run()
    assert final.status == "stopped" and load_checkpoint(run_dir).step == 2
    assert seen[-4:] == ["checkpoint", "paused", "checkpoint", "done"]
    assert steerer.optimizer.param_groups[0]["lr"] == 1e-3


def test_text_models_cannot_be_steered(tmp_path, trained_text_model):
    model, data = trained_text_model
    save_checkpoint(tmp_path / "text", model, data.vocabulary, {})
    score = ScoreSpec((Component("qed"),))
    with pytest.raises(SteerError, match="this one learned text"):
        plan_steering(tmp_path / "steered", str(tmp_path / "text"), score, SteerConfig())


def test_a_batch_summary_counts_validity_uniqueness_scaffolds_and_passes():
    batch = [molecule("Cc1ccccc1", 0.8), molecule("c1ccccc1C", 0.8), molecule("CCO", 0.2)]
    batch.append(ScoredMolecule("C1C", None, 0.0, (float("nan"),), (0.0,), (False,)))
    batch[2] = ScoredMolecule("CCO", "CCO", 0.2, (0.2,), (0.2,), (False,))
    summary = batch_summary(batch, ("part",))
    assert summary == {
        "mean_score": 0.45,
        "best_score": 0.8,
        "validity": 0.75,
        "uniqueness": round(2 / 3, 4),  # toluene written twice
        "scaffolds": 2,  # benzene and none
        "pass_rates": {"part": 0.5},
        "all_pass": 0.5,
    }


def test_the_starting_point_shows_how_the_model_scores_before_steering(start_run):
    score = ScoreSpec((Component("contains", target="N"),))
    found = starting_point(str(start_run), score, count=40, seed=2)
    assert found["names"] == ["contains"] and len(found["rows"]) == 40
    assert 0 < found["summary"]["pass_rates"]["contains"] < 1
    assert found == starting_point(str(start_run), score, count=40, seed=2)
