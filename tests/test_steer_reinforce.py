"""REINVENT's loss on a hand-computed case, sequence log-likelihoods equal to the sampler's,
and updates that move the agent toward high-scoring molecules while the prior stays."""

from __future__ import annotations

import copy

import pytest
import torch

from charrnn.core.reinforce import (
    likelihood_update,
    reinvent_loss,
    reinvent_update,
    sequence_log_likelihoods,
)
from charrnn.core.sample import SampleConfig, sample


def test_the_loss_on_a_hand_computed_case():
    agent = torch.tensor([-10.0, -20.0])
    prior = torch.tensor([-12.0, -18.0])
    scores = torch.tensor([0.5, 0.0])
    # augmented = prior + 10 * score = [-7, -18]; gaps [3, 2]; squares [9, 4]; mean 6.5
    assert float(reinvent_loss(agent, prior, scores, sigma=10.0)) == pytest.approx(6.5)
    assert float(reinvent_loss(prior, prior, torch.zeros(2), sigma=60.0)) == 0.0


def encoded(vocabulary, samples):
    return [vocabulary.encode(s.text, add_bos=True, add_eos=s.finished) for s in samples if s.text]


def test_log_likelihoods_are_the_samplers(trained_line_model):
    model, data = trained_line_model
    samples = sample(
        model,
        data.vocabulary,
        SampleConfig(num_samples=12, seed=3, max_length=40, precision="float32"),
    )
    samples = [s for s in samples if s.text]
    sequences = encoded(data.vocabulary, samples)
    with torch.no_grad():
        found = sequence_log_likelihoods(model, sequences)
    expected = torch.tensor([s.log_likelihood for s in samples])
    assert torch.allclose(found, expected, atol=1e-4)


def test_reinvent_raises_what_scores_well_and_leaves_the_prior(trained_line_model):
    prior, data = trained_line_model
    agent = copy.deepcopy(prior)
    before = {name: value.clone() for name, value in prior.state_dict().items()}
    sequences = [data.vocabulary.encode(s, add_bos=True, add_eos=True) for s in ["CCO", "C#N"]]
    with torch.no_grad():
        start = sequence_log_likelihoods(agent, sequences)
    optimizer = torch.optim.Adam(agent.parameters(), lr=1e-2)
    losses = [
        reinvent_update(agent, prior, optimizer, sequences, [1.0, 0.0], sigma=5.0)
        for _ in range(30)
    ]
    with torch.no_grad():
        end = sequence_log_likelihoods(agent, sequences)
    assert losses[-1] < losses[0] / 5
    assert end[0] > start[0] + 3  # rewarded: toward the prior's log-likelihood + 5
    assert abs(float(end[1] - start[1])) < 1.5  # not rewarded: stays near the prior's
    assert all(torch.equal(before[name], value) for name, value in prior.state_dict().items())


def test_hill_climbing_makes_the_chosen_molecules_likelier(trained_line_model):
    model, data = trained_line_model
    model = copy.deepcopy(model)
    sequences = [data.vocabulary.encode("c1ccncc1", add_bos=True, add_eos=True)]
    with torch.no_grad():
        start = float(sequence_log_likelihoods(model, sequences)[0])
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(10):
        likelihood_update(model, optimizer, sequences)
    with torch.no_grad():
        assert float(sequence_log_likelihoods(model, sequences)[0]) > start + 1
