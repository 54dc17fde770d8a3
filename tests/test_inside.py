"""The Inside page's engine: traces match the model, losses match cross-entropy, detectors
mark what they say, planted units are found, and a toy-pattern model settles into a cycle."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from conftest import SMILES_LINES, tiny_config

from charrnn.core.detectors import detectors
from charrnn.core.hidden_units import cycle_view, interpretable_units, unit_colours
from charrnn.core.inside import MAX_TRACE_TOKENS, InsideError, Trace, loss_curve, step_view, trace
from charrnn.core.model import CharRNN
from charrnn.core.representation import selfies_of
from charrnn.core.tokens import UnknownCharacterError, build_vocabulary

TEXT = 'She said "hello, world" twice.\nHello again, world!'


def fresh_model(vocab_size: int, seed: int = 0, **overrides) -> CharRNN:
    torch.manual_seed(seed)
    return CharRNN(tiny_config(vocab_size, hidden_size=12, embedding_size=8, **overrides))


@pytest.fixture(scope="module")
def text_vocabulary():
    return build_vocabulary([TEXT])


@pytest.fixture(scope="module")
def smiles_vocabulary():
    return build_vocabulary(SMILES_LINES, "smiles", line_based=True)


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
@pytest.mark.parametrize("layers", [1, 2])
def test_trace_matches_the_model_layer_by_layer(text_vocabulary, cell, layers):
    model = fresh_model(text_vocabulary.size, cell=cell, layers=layers, dropout=0.3)
    ids = torch.tensor([text_vocabulary.encode(TEXT)])
    with torch.no_grad():
        model.eval()
        logits, _ = model(ids[:, :-1])
        outputs, final = model.rnn(model.embedding(ids[:, :-1]))
        last_hidden = model.hidden_states(ids[:, :-1])[0]
    model.train()
    final_h, final_c = final if cell == "lstm" else (final, None)
    for layer in range(layers):
        result = trace(model, text_vocabulary, TEXT, layer=layer)
        positions = len(TEXT) - 1
        assert result.probabilities.shape == (positions, text_vocabulary.size)
        assert result.hidden.shape == (positions, 12)
        np.testing.assert_allclose(result.probabilities.sum(-1), 1.0, atol=1e-5)
        expected = logits[0].softmax(-1).numpy()
        np.testing.assert_allclose(result.probabilities, expected, atol=1e-5)
        np.testing.assert_allclose(result.hidden[-1], final_h[layer, 0].numpy(), atol=1e-5)
        if cell == "lstm":
            np.testing.assert_allclose(result.cells[-1], final_c[layer, 0].numpy(), atol=1e-5)
            assert result.cells.shape == result.hidden.shape
        else:
            assert result.cells is None
    np.testing.assert_allclose(result.hidden, last_hidden.numpy(), atol=1e-5)
    assert model.training, "the model's own mode is restored"
    assert trace(model, text_vocabulary, TEXT).layer == layers - 1


def test_trace_of_a_smiles_line_starts_and_ends_like_training(smiles_vocabulary):
    model = fresh_model(smiles_vocabulary.size, cell="lstm")
    smiles = "c1cc[nH+]cc1"
    result = trace(model, smiles_vocabulary, smiles)
    assert result.inputs[0] == "▶ start" and result.targets[-1] == "⏹ end"
    assert result.inputs[1:] == ["c", "1", "c", "c", "[nH+]", "c", "c", "1"]
    assert "".join(result.pieces) == smiles
    assert [smiles[end] for end in result.char_ends[1:]] == [p[-1] for p in result.pieces[1:]]
    ids = torch.tensor(smiles_vocabulary.encode(smiles, add_bos=True, add_eos=True))
    expected = torch.nn.functional.cross_entropy(
        torch.from_numpy(result.logits), ids[1:], reduction="none"
    )
    np.testing.assert_allclose(result.losses, expected.numpy(), rtol=1e-6)


def test_unknown_characters_and_bad_texts_get_clear_errors(text_vocabulary, smiles_vocabulary):
    model = fresh_model(text_vocabulary.size)
    with pytest.raises(UnknownCharacterError, match="never saw"):
        trace(model, text_vocabulary, "hello ~ world")
    with pytest.raises(InsideError, match="two characters"):
        trace(model, text_vocabulary, "h")
    with pytest.raises(InsideError, match="layer"):
        trace(model, text_vocabulary, TEXT, layer=1)
    line_model = fresh_model(smiles_vocabulary.size)
    with pytest.raises(InsideError, match="one line"):
        trace(line_model, smiles_vocabulary, "CCO\nCCN")


def test_long_texts_are_cut_and_flagged(text_vocabulary):
    model = fresh_model(text_vocabulary.size)
    long_text = (TEXT * 60)[: MAX_TRACE_TOKENS + 500]
    result = trace(model, text_vocabulary, long_text)
    assert result.truncated and len(result.losses) == MAX_TRACE_TOKENS
    assert not trace(model, text_vocabulary, TEXT).truncated


def test_step_view_and_its_worked_example_agree_with_cross_entropy(text_vocabulary):
    model = fresh_model(text_vocabulary.size, cell="lstm")
    result = trace(model, text_vocabulary, TEXT)
    position = 12
    step = step_view(result, position, top=5)
    target = int(result.target_ids[position])
    logits = torch.from_numpy(result.logits)
    targets = torch.from_numpy(result.target_ids)
    loss = torch.nn.functional.cross_entropy(logits[position], targets[position]).item()
    assert step.target == TEXT[position + 1] and step.input == TEXT[position]
    assert step.loss == pytest.approx(result.losses[position]) == pytest.approx(loss, rel=1e-5)
    assert step.loss == pytest.approx(-np.log(step.target_probability), rel=1e-5)
    assert len(step.top) == 5 and [p for _, p in step.top] == sorted(
        (p for _, p in step.top), reverse=True
    )
    above = result.probabilities[position] > result.probabilities[position, target]
    assert step.target_rank == 1 + above.sum()
    example = step.worked_example
    assert example["logit"] == pytest.approx(logits[position, target].item())
    assert example["probability"] == pytest.approx(step.target_probability, rel=1e-5)
    assert example["loss"] == pytest.approx(loss, rel=1e-5)
    mean = torch.nn.functional.cross_entropy(logits[: position + 1], targets[: position + 1])
    assert example["mean_loss_so_far"] == pytest.approx(mean.item(), rel=1e-5)
    assert f"{loss:.4f}" in example["text"]
    assert step_view(result, -1).position == len(result.losses) - 1
    with pytest.raises(InsideError):
        step_view(result, len(result.losses))


def test_loss_curve_ends_at_the_mean_loss(text_vocabulary):
    result = trace(fresh_model(text_vocabulary.size), text_vocabulary, TEXT)
    curve = loss_curve(result)
    mean = torch.nn.functional.cross_entropy(
        torch.from_numpy(result.logits), torch.from_numpy(result.target_ids)
    ).item()
    assert curve.mean == pytest.approx(mean, rel=1e-5) == pytest.approx(curve.running_mean[-1])
    assert curve.running_mean[0] == pytest.approx(curve.losses[0])


def values(found, name):
    return next(d for d in found if d.name == name).values.astype(int).tolist()


def test_text_detectors_mark_quotes_words_and_line_positions():
    text = "a \"bc\" don't 'x'\nAb 12"
    found = detectors(text, "text")
    assert all(d.description for d in found) and all(len(d.values) == len(text) for d in found)
    assert values(found, "inside_double_quotes") == [0, 0, 1, 1, 1, 1] + [0] * 16
    assert values(found, "inside_single_quotes") == [0] * 13 + [1, 1, 1] + [0] * 6
    assert values(found, "line_position")[15:] == [16, 0, 1, 2, 3, 4, 5]
    assert values(found, "word_start")[:12] == [1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1]
    assert values(found, "upper_case")[17] == 1 and values(found, "digit")[-2:] == [1, 1]
    assert values(found, "whitespace")[16] == 1
    with pytest.raises(ValueError):
        detectors(text, "poetry")


def test_smiles_detectors_follow_rings_branches_and_brackets():
    benzene = detectors("c1ccccc1", "smiles")
    assert values(benzene, "open_rings") == [0, 1, 1, 1, 1, 1, 1, 0]
    assert values(benzene, "in_ring_span") == [0, 1, 1, 1, 1, 1, 1, 1]
    assert values(benzene, "aromatic_atom") == [1, 0, 1, 1, 1, 1, 1, 0]
    two_digit = detectors("C%10CC%10", "smiles")
    assert values(two_digit, "open_rings") == [0, 0, 0, 1, 1, 1, 1, 1, 0]
    bracket = detectors("c[nH+]c", "smiles")
    assert values(bracket, "in_bracket_atom") == [0, 1, 1, 1, 1, 1, 0]
    assert values(bracket, "aromatic_atom") == [1] * 7
    isotope = detectors("[13CH4]C1CC1", "smiles")  # digits inside brackets are no rings
    assert values(isotope, "open_rings") == [0] * 7 + [0, 1, 1, 1, 0]
    assert values(isotope, "aromatic_atom") == [0] * 12
    branch = detectors("CC(=O)O", "smiles")
    assert values(branch, "branch_depth") == [0, 0, 1, 1, 1, 0, 0]


def by_symbol(found, name: str, text: str) -> list[int]:
    """A SELFIES detector's value at the last character of each symbol."""
    ends = [i for i, char in enumerate(text) if char == "]"]
    return [values(found, name)[i] for i in ends]


def test_selfies_detectors_read_branches_rings_and_numbers():
    # CC(C(C)O)N: a branch of five symbols holding a branch of one, then N outside both.
    text = "[C][C][Branch1][=Branch1][C][Branch1][C][C][O][N]"
    assert selfies_of("CC(C(C)O)N") == text
    found = detectors(text, "selfies")
    assert by_symbol(found, "branch_depth", text) == [0, 0, 0, 0, 1, 1, 1, 2, 1, 0]
    assert by_symbol(found, "branch_symbol", text) == [0, 0, 1, 0, 0, 1, 0, 0, 0, 0]
    assert by_symbol(found, "number_symbol", text) == [0, 0, 0, 1, 0, 0, 1, 0, 0, 0]
    assert by_symbol(found, "atom_symbol", text) == [1, 1, 0, 0, 1, 0, 0, 1, 1, 1]
    assert values(found, "branch_symbol")[6:15] == [1] * 9  # every character of [Branch1]
    # Cyclopropanone: [=O] is a double bond; [Ring1] reads [Ring1] as its number.
    ring = selfies_of("C1CC1=O")
    found = detectors(ring, "selfies")
    assert by_symbol(found, "ring_symbol", ring) == [0, 0, 0, 1, 0, 0]
    assert by_symbol(found, "number_symbol", ring) == [0, 0, 0, 0, 1, 0]
    assert by_symbol(found, "double_bond", ring) == [0, 0, 0, 0, 0, 1]
    # Each line is a molecule of its own; a cut-off symbol and a lone number count as nothing.
    two = "[C][Branch2]\n[C][=C][Bra"
    found = detectors(two, "selfies")
    assert len(values(found, "atom_symbol")) == len(two)
    assert values(found, "branch_depth") == [0] * len(two)
    assert values(found, "atom_symbol")[13:20] == [1] * 7
    assert values(found, "atom_symbol")[20:] == [0] * 4


def planted_trace(text: str, hidden: np.ndarray) -> Trace:
    """A trace of a text whose inputs are its characters, with the given hidden states."""
    positions = len(text)
    zeros = np.zeros((positions, 3), dtype=np.float32)
    return Trace(
        text=text,
        pieces=list(text),
        inputs=list(text),
        targets=list(text[1:] + "."),
        input_ids=np.zeros(positions, dtype=int),
        target_ids=np.zeros(positions, dtype=int),
        char_ends=np.arange(positions),
        logits=zeros,
        probabilities=zeros + 1 / 3,
        losses=np.zeros(positions, dtype=np.float32),
        hidden=hidden,
        cells=None,
        layer=0,
        labels=("a", "b", "c"),
        truncated=False,
    )


def test_a_unit_planted_to_follow_quotes_is_found():
    text = 'he said "stop" and "go" then left\nshe said "wait"'
    found = detectors(text, "text")
    hidden = np.random.default_rng(0).normal(size=(len(text), 8))
    hidden[:, 0] = 0.5  # a unit that never changes
    hidden[:, 5] = 0.9 * next(d for d in found if d.name == "inside_double_quotes").values - 0.2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = interpretable_units(planted_trace(text, hidden), found, top=5)
    assert result.ranked[0].unit == 5 and result.ranked[0].detector == "inside_double_quotes"
    assert result.ranked[0].correlation == pytest.approx(1.0)
    assert len(result.ranked) == 5
    best = {match.detector: match for match in result.best}
    assert best["inside_double_quotes"].unit == 5
    assert {"digit", "upper_case", "inside_single_quotes"} <= set(result.skipped)
    assert not np.any(result.correlations[0]) and np.all(np.abs(result.correlations) <= 1)
    with pytest.raises(InsideError, match="different text"):
        interpretable_units(planted_trace(text, hidden), detectors(text + "!", "text"))


def test_units_of_a_smiles_trace_line_up_with_token_ends(smiles_vocabulary):
    smiles = "CC(=O)Nc1ccc(O)cc1"
    result = trace(fresh_model(smiles_vocabulary.size), smiles_vocabulary, smiles)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        units = interpretable_units(result, detectors(smiles, "smiles"))
    assert units.correlations.shape == (12, len(units.detectors))
    assert "in_bracket_atom" in units.skipped
    assert len(units.best) == len(units.detectors)


def test_a_toy_pattern_model_predicts_and_settles_into_a_cycle(trained_text_model):
    model, data = trained_text_model
    result = trace(model, data.vocabulary, "abc " * 30)
    view = cycle_view(result)
    assert view.period == 4 and view.period_agreement == 1.0
    assert view.accuracy > 0.9
    assert len(view.distances) == len(result.losses) - 4 == len(view.distance_positions)
    assert view.distances[-8:].mean() < 0.2 * view.distances[:4].mean()


def test_unit_colours_are_scaled_activations(text_vocabulary):
    result = trace(fresh_model(text_vocabulary.size, cell="lstm"), text_vocabulary, TEXT)
    colours = unit_colours(result, 3)
    assert colours.shape == (len(result.pieces),)
    assert np.abs(colours).max() == pytest.approx(1.0)
    np.testing.assert_allclose(colours * np.abs(result.hidden[:, 3]).max(), result.hidden[:, 3])
    assert np.abs(unit_colours(result, 3, state="cell")).max() == pytest.approx(1.0)
    gru_trace = trace(fresh_model(text_vocabulary.size), text_vocabulary, TEXT)
    with pytest.raises(InsideError, match="LSTM"):
        unit_colours(gru_trace, 0, state="cell")
    with pytest.raises(InsideError, match="unit"):
        unit_colours(result, 12)
