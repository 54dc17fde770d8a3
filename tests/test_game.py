"""The guessing game's engine: scores in the training loss's unit, rounds from a text corpus
and from molecules, guesses as a person types them, reasons a guess breaks a molecule, and
rounds kept in (and read back from) a workspace."""

from __future__ import annotations

import json
import math
import random

import pytest
import torch
from torch import nn

from charrnn.chem.syntax import dead_end_reason
from charrnn.core.tokens import EOS, tokenize
from charrnn.runs.game import (
    GAME_FILE,
    SURE,
    GameError,
    Round,
    Step,
    guess,
    molecule_problem,
    new_round,
    person_step_loss,
    read_guess,
    read_round,
    save_round,
    score,
)
from charrnn.runs.game_round import (
    PRIOR_MOLECULES,
    current_round,
    pick_molecule,
    pick_text,
    play_guess,
    start_round,
    trained_loss,
)
from charrnn.runs.priors import load_prior


def hand_round(guesses: list[str | None]) -> Round:
    """Three steps over five possible characters; the model gives the truth 1/2, 1/4, 1."""
    steps = (
        Step("a", (("a", 0.5), ("b", 0.3)), math.log(2)),
        Step("b", (("a", 0.5), ("b", 0.25)), math.log(4)),
        Step("c", (("c", 1.0),), 0.0),
    )
    steps = tuple(
        Step(s.target, s.model_top, s.model_loss, guess=g)
        for s, g in zip(steps, guesses, strict=True)
    )
    return Round("r-000000000000", 7, "text", "builtin:x", "xyz", steps, choices=5)


def test_a_sure_guess_costs_a_finite_loss():
    assert person_step_loss(True, 5) == pytest.approx(-math.log(0.99))
    assert person_step_loss(False, 5) == pytest.approx(-math.log(0.01 / 4))  # 5.99 nats
    assert SURE == 0.99


def test_scores_of_a_hand_computed_round():
    game = hand_round(["a", "a", "c"])  # right, wrong, right
    result = score(game)
    right, wrong = -math.log(0.99), -math.log(0.0025)
    assert result.steps == 3 and game.finished
    assert result.person_loss == pytest.approx((right + wrong + right) / 3)
    assert result.model_loss == pytest.approx((math.log(2) + math.log(4) + 0) / 3)
    assert result.person_right == 2
    assert result.model_right == 2  # its first guess was "a", "a", "c"
    assert result.model_sure_loss == pytest.approx((right + wrong + right) / 3)
    assert game.text_so_far() == "xyzabc"
    halfway = hand_round(["b", None, None])
    assert score(halfway).steps == 1 and score(halfway).person_loss == pytest.approx(wrong)
    assert halfway.text_so_far() == "xyza" and not halfway.finished
    assert score(hand_round([None, None, None])) is None


def test_a_round_goes_through_json_unchanged(tmp_path):
    game = hand_round(["a", None, None])
    again = Round.from_json(json.loads(json.dumps(game.to_json())))
    assert again == game
    save_round(tmp_path, game)
    assert read_round(tmp_path) == game
    (tmp_path / GAME_FILE).write_text('{"format": "charrnn-game-1", "steps": 3}')
    assert read_round(tmp_path) is None  # damaged: no round, no crash


def test_guesses_as_a_person_types_them(trained_text_model, trained_line_model):
    text_vocabulary = trained_text_model[1].vocabulary
    assert read_guess("a", text_vocabulary) == "a"
    assert read_guess("a ", text_vocabulary) == "a"
    assert read_guess("\n", text_vocabulary) == "\n"
    assert read_guess("newline", text_vocabulary) == "\n"
    assert read_guess("Newline", text_vocabulary) == "\n"
    with pytest.raises(GameError, match="knows no character “Q”"):
        read_guess("Q", text_vocabulary)
    with pytest.raises(GameError, match="Type your guess"):
        read_guess("", text_vocabulary)
    with pytest.raises(GameError):
        read_guess("end", text_vocabulary)  # text never ends
    smiles_vocabulary = trained_line_model[1].vocabulary
    assert read_guess("Cl", smiles_vocabulary) == "Cl"
    assert read_guess("[nH]", smiles_vocabulary) == "[nH]"
    assert read_guess("end", smiles_vocabulary) == EOS
    assert read_guess("⏹ end", smiles_vocabulary) == EOS
    with pytest.raises(GameError, match="knows no symbol"):
        read_guess("Xe", smiles_vocabulary)


def test_a_round_from_a_text_corpus_scores_the_model_as_training_does(trained_text_model, toy_text):
    model, data = trained_text_model
    vocabulary = data.vocabulary
    pieces, start = pick_text(toy_text, vocabulary, 10, random.Random(3))
    assert len(pieces) - start == 10 and "".join(pieces) in toy_text
    game = new_round(model, vocabulary, "r-000000000000", 80, "builtin:toy-pattern", pieces, start)
    assert game.kind == "text" and game.shown == "".join(pieces[:start])
    assert [step.target for step in game.steps] == pieces[start:]
    assert game.choices == vocabulary.size - 3  # padding, begin and end never come next
    # The model's loss of each step is the training loss (cross-entropy in nats) there.
    ids = torch.tensor([vocabulary.encode("".join(pieces))])
    model.eval()
    with torch.no_grad():
        logits, _ = model(ids)
    losses = nn.functional.cross_entropy(logits[0, :-1], ids[0, 1:], reduction="none")
    expected = losses[start - 1 :].tolist()
    assert [step.model_loss for step in game.steps] == pytest.approx(expected, abs=1e-4)
    for step in game.steps:
        chances = [p for _, p in step.model_top]
        assert len(chances) == 5 and chances == sorted(chances, reverse=True)
        assert EOS not in [token for token, _ in step.model_top]
        true_chance = dict(step.model_top).get(step.target)
        if true_chance is not None:
            assert step.model_probability == pytest.approx(true_chance, rel=1e-3)
    # Played to the end, one guess after another
    for number, step in enumerate(game.steps):
        game = guess(game, step.model_top[0][0] if number % 2 else step.target, vocabulary, number)
    assert game.finished and score(game).person_right >= 5
    with pytest.raises(GameError, match="over"):
        guess(game, "a", vocabulary)


def test_a_round_from_molecules(trained_line_model, smiles_lines):
    model, data = trained_line_model
    vocabulary = data.vocabulary
    pieces, start = pick_molecule(smiles_lines, vocabulary, 10, random.Random(1))
    written = "".join(piece for piece in pieces if piece != EOS)
    assert start >= 1 and any(line.startswith(written) for line in smiles_lines)
    game = new_round(model, vocabulary, "r-000000000000", 150, "test", pieces, start)
    assert game.kind == "smiles" and game.choices == vocabulary.size - 2  # the end may come
    assert len(game.steps) == 10 and game.shown == "".join(pieces[:start])
    # The model's loss of each step is its training loss there: the line read from <s>
    ids = torch.tensor([vocabulary.encode(written, add_bos=True)])
    model.eval()
    with torch.no_grad():
        logits, _ = model(ids)
    losses = nn.functional.cross_entropy(logits[0, :-1], ids[0, 1:], reduction="none")
    expected = losses[start:].tolist()
    assert [step.model_loss for step in game.steps][: len(expected)] == pytest.approx(
        expected, abs=1e-4
    )
    for step in game.steps:  # a reason is given only for guesses that break the molecule
        assert step.target not in step.problems
    # A short corpus: the round is as long as the molecule allows
    pieces, start = pick_molecule(["CCO"], vocabulary, 10, random.Random(0))
    assert pieces == ["C", "C", "O", EOS] and start == 1
    game = new_round(model, vocabulary, "r-000000000000", 150, "test", pieces, start)
    assert [step.target for step in game.steps] == ["C", "O", EOS]  # it ends in the round
    with pytest.raises(GameError, match="does not know the symbols"):
        pick_molecule(["[Xe]"], vocabulary, 10, random.Random(0))


def test_a_guess_that_breaks_a_molecule_says_why(trained_line_model):
    model, data = trained_line_model
    vocabulary = data.vocabulary
    pieces = [*tokenize("CC(=O)O", "smiles"), EOS]
    game = new_round(model, vocabulary, "r-000000000000", 150, "test", pieces, 2)
    game = guess(game, ")", vocabulary, 0)  # the truth is "("
    assert game.steps[0].problems[")"] == "a ')' has no matching '(' (position 3)"
    assert not game.steps[0].right
    game = guess(game, "end", vocabulary, 1)  # after "CC(": the molecule cannot end there
    assert "would end here, but a '(' has no matching ')'" in game.steps[1].problems[EOS]
    with pytest.raises(GameError, match="moved on"):
        guess(game, "O", vocabulary, 1)


@pytest.mark.parametrize(
    "start, reason",
    [
        ("CC(", None),
        ("CC(=", None),
        ("C1CC", None),
        ("c1cc[nH]", None),
        ("C)", "a ')' has no matching '(' (position 2)"),
        ("(", "starts with '(', but a SMILES must start with an atom"),
        ("C()", "an empty branch '()' (position 2)"),
        ("CC=)", "the bond '=' is not followed by an atom (position 3)"),
        ("CCq", "unknown atom symbol 'q' (position 3)"),
        # Too many bonds, counting those an open ring, branch or bond will add:
        ("CC(C)(C)(C)C", "atom 2 (C) has too many bonds: valence 5, at most 4"),
        ("C=1(C)(C)C", "atom 1 (C) has too many bonds: valence 5, at most 4"),
        ("N(C)(C)(C)C", "atom 1 (N) has too many bonds: valence 4, at most 3"),
        ("C#C=", "atom 2 (C) has too many bonds: valence 5, at most 4"),
        ("C1CC1(C)(C)C", "atom 3 (C) has too many bonds: valence 5, at most 4"),
        ("C1CC(C)(C)(C)C", "atom 3 (C) has too many bonds: valence 5, at most 4"),
        ("C(C)(C)(C)(C", None),  # four bonds: still fine
        ("C1CCCCC1(C)(C)", None),
        ("[N+](C)(C)(C)C", None),  # a charged N makes four
        ("c1ccc(=O)", None),  # an aromatic atom waits for its ring
    ],
)
def test_a_start_that_no_ending_can_save(start, reason):
    assert dead_end_reason(start) == reason


def test_molecule_problems_name_an_ending_too_early():
    assert molecule_problem("CC", EOS) is None
    assert molecule_problem("", EOS) == "the molecule would end here, but there is no atom yet"
    assert molecule_problem("C1CC", EOS).startswith("the molecule would end here, but a ring")
    assert molecule_problem("CC", "(") is None
    assert molecule_problem("CC(C)(C)(C)", "C") == (
        "atom 2 (C) has too many bonds: valence 5, at most 4"
    )


def test_a_round_with_the_shipped_prior_is_kept_in_the_workspace(space):
    model, vocabulary, info = load_prior("prior:moses")
    assert current_round(space, "prior:moses") is None
    game = start_round(space, "prior:moses", model, vocabulary, info["step"], length=6, seed=4)
    assert game.source == PRIOR_MOLECULES and len(game.steps) == 6 and game.kind == "smiles"
    assert current_round(space, "prior:moses") == game  # a refresh finds it
    game = play_guess(space, "prior:moses", vocabulary, "C", 0)
    assert current_round(space, "prior:moses").guessed == 1
    # The prior is a good model of drug-like molecules: it scores far better than chance
    assert sum(step.model_loss for step in game.steps) / 6 < math.log(game.choices)
    loss, curve = trained_loss(space, "prior:moses")
    assert curve == "validation" and 0.3 < loss < 1.0
    with pytest.raises(GameError, match="1 to 40"):
        start_round(space, "prior:moses", model, vocabulary, 0, length=0)
