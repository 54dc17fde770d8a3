"""Tests for charrnn.chem.smiles: SMILES parsing, reasons for invalid strings, canonical and
randomized spellings, and the MOSES validity/uniqueness/novelty numbers."""

import random

import pytest

from charrnn.chem.smiles import (
    BasicMetrics,
    basic_metrics,
    canonical_set,
    canonical_smiles,
    parse_smiles,
    randomized_smiles,
    smiles_problem,
)

ASPIRIN = "CC(=O)Oc1ccccc1C(=O)O"
CAFFEINE = "CN1C=NC2=C1C(=O)N(C(=O)N2C)C"
BENZENE = "c1ccccc1"


@pytest.mark.parametrize("smiles", [ASPIRIN, CAFFEINE, BENZENE, "CCO", "[NH4+]"])
def test_known_molecules_are_valid_and_canonical_form_is_stable(smiles: str) -> None:
    assert parse_smiles(smiles) is not None
    assert smiles_problem(smiles) is None
    canonical = canonical_smiles(smiles)
    assert canonical is not None
    assert canonical_smiles(canonical) == canonical


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("OCC", "CCO"),
        (BENZENE, "C1=CC=CC=C1"),
        (ASPIRIN, "OC(=O)c1ccccc1OC(C)=O"),
        ("C[C@@H](C(=O)O)N", "N[C@@H](C)C(=O)O"),
    ],
)
def test_two_spellings_of_one_molecule_share_the_canonical_smiles(one: str, other: str) -> None:
    assert canonical_smiles(one) == canonical_smiles(other)


def test_canonical_keeps_stereo_and_tells_enantiomers_apart() -> None:
    assert canonical_smiles("C[C@@H](O)F") != canonical_smiles("C[C@H](O)F")
    assert "@" in canonical_smiles("C[C@@H](O)F")


@pytest.mark.parametrize("smiles", ["", "   ", "C C", "C1CC", "xyz"])
def test_invalid_or_empty_strings_do_not_parse(smiles: str) -> None:
    assert parse_smiles(smiles) is None
    assert canonical_smiles(smiles) is None
    assert smiles_problem(smiles) is not None


@pytest.mark.parametrize(
    ("smiles", "expected"),
    [
        ("C1CC", "a ring is opened with digit 1 but never closed"),
        ("CC(C", "a '(' has no matching ')'"),
        ("CC)C", "a ')' has no matching '('"),
        ("C[C", "a '[' has no matching ']'"),
        ("C[Zz]", "unknown atom symbol 'Zz'"),
        ("CXC", "unknown atom symbol 'X'"),
        ("CNa", "'Na' must be written in square brackets"),
        ("C(C)(C)(C)(C)C", "atom 1 (C) has too many bonds: valence 5, at most 4"),
        ("[N+](C)(C)(C)(C)C", "atom 1 (N+) has too many bonds: valence 5, at most 4"),
        ("c1cccc1", "aromatic ring that cannot be drawn with alternating double bonds"),
        ("n1cccc1", "[nH]"),
        ("c", "lowercase (aromatic) but is not in a ring"),
        ("CC=", "the bond '=' is not followed by an atom"),
        ("C11", "opened and closed on the same atom"),
        ("", "empty line"),
        ("CC O", "space"),
    ],
)
def test_each_invalid_smiles_gets_its_plain_english_reason(smiles: str, expected: str) -> None:
    assert expected in smiles_problem(smiles)


def test_unrecognised_syntax_falls_back_to_rdkits_message() -> None:
    reason = smiles_problem("[cs]")  # 'cs' looks like caesium, but is not aromatic
    assert reason.startswith("RDKit could not read it")
    assert "position 3" in reason


def test_checking_smiles_writes_nothing_to_stderr(capfd: pytest.CaptureFixture) -> None:
    for smiles in ["C1CC", "CC(C", "C[Zz]", "C(C)(C)(C)(C)C", "c1cccc1", "[H]"]:
        smiles_problem(smiles)
        parse_smiles(smiles)
    captured = capfd.readouterr()
    assert captured.err == ""


def test_metrics_of_nothing_are_zero() -> None:
    assert basic_metrics([], frozenset()) == BasicMetrics(0, 0, 0.0, 0, 0.0, 0, 0.0)


def test_metrics_of_all_invalid_samples() -> None:
    metrics = basic_metrics(["C1CC", "CC(C", ""], {"CCO"})
    assert metrics == BasicMetrics(3, 0, 0.0, 0, 0.0, 0, 0.0)


def test_spellings_of_one_molecule_count_once_for_uniqueness() -> None:
    training = canonical_set(["c1ccccc1"])
    metrics = basic_metrics(["CCO", "OCC", "C(O)C", "C1CC", BENZENE], training)
    assert (metrics.samples, metrics.valid, metrics.unique) == (5, 4, 2)
    assert metrics.validity == pytest.approx(4 / 5)
    assert metrics.uniqueness == pytest.approx(2 / 4)
    # ethanol is new, benzene was in training: novelty is over the unique ones
    assert (metrics.novel, metrics.novelty) == (1, pytest.approx(1 / 2))


def test_generating_the_training_set_has_no_novelty() -> None:
    training = [ASPIRIN, CAFFEINE, BENZENE]
    metrics = basic_metrics(training, canonical_set(training))
    assert (metrics.validity, metrics.uniqueness) == (1.0, 1.0)
    assert (metrics.novel, metrics.novelty) == (0, 0.0)


def test_canonical_set_skips_invalid_and_merges_spellings() -> None:
    assert canonical_set(["CCO", "OCC", "C1CC", ""]) == frozenset({"CCO"})


@pytest.mark.parametrize("smiles", [ASPIRIN, CAFFEINE, "C[C@@H](C(=O)O)N", "C/C=C/Cl"])
def test_randomized_smiles_is_another_spelling_of_the_same_molecule(
    smiles: str,
) -> None:
    spellings = {randomized_smiles(smiles, random.Random(seed)) for seed in range(5)}
    assert smiles not in spellings
    assert len(spellings) > 1
    for spelling in spellings:
        assert canonical_smiles(spelling) == canonical_smiles(smiles)


def test_randomized_smiles_is_reproducible_with_a_seed() -> None:
    first = [randomized_smiles(ASPIRIN, random.Random(7)) for _ in range(3)]
    assert len(set(first)) == 1
    rng_a, rng_b = random.Random(11), random.Random(11)
    assert [randomized_smiles(CAFFEINE, rng_a) for _ in range(5)] == [
        randomized_smiles(CAFFEINE, rng_b) for _ in range(5)
    ]


def test_randomized_smiles_returns_invalid_input_unchanged() -> None:
    assert randomized_smiles("C1CC", random.Random(0)) == "C1CC"
    assert randomized_smiles("C", random.Random(0)) == "C"
