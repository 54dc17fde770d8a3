"""Scaffold decoration: the shipped prior fills the attachment points of known scaffolds with
groups that make valid molecules containing the scaffold; invalid fills say why; bad
scaffolds are refused with a sentence; the spellings end where the group must go."""

from __future__ import annotations

import pytest
from rdkit import Chem

from charrnn.chem.decorate import (
    MAX_ATTACHMENT_POINTS,
    MAX_SCAFFOLD_LENGTH,
    Decorations,
    ScaffoldError,
    decorate,
    read_scaffold,
    scaffold_query,
    spellings,
)
from charrnn.core.sample import SampleConfig, sample, sample_each
from charrnn.runs.priors import load_prior


@pytest.fixture(scope="module")
def prior():
    model, vocabulary, _ = load_prior("prior:moses")
    return model, vocabulary


def settings(tries: int = 60, **overrides) -> SampleConfig:
    return SampleConfig(num_samples=tries, max_length=60, seed=3, precision="float32", **overrides)


def contains_scaffold(smiles: str, scaffold: str) -> bool:
    return Chem.MolFromSmiles(smiles).HasSubstructMatch(scaffold_query(read_scaffold(scaffold)))


@pytest.mark.parametrize(
    "scaffold, smallest_share",
    [("c1ccc(*)cc1", 0.8), ("O=C(*)N1CCCCC1", 0.8), ("*c1ccc(*)cc1", 0.6)],
)
def test_decorations_are_valid_molecules_that_contain_the_scaffold(prior, scaffold, smallest_share):
    result = decorate(*prior, scaffold, settings())
    assert result.tries == 60 and sum(item.count for item in result.found) == 60
    assert result.valid_tries >= smallest_share * 60
    valid = [item for item in result.found if item.valid]
    assert len({item.smiles for item in valid}) == len(valid)  # duplicates merged
    for item in valid:
        mol = Chem.MolFromSmiles(item.smiles)
        assert Chem.MolToSmiles(mol) == item.smiles  # canonical
        assert contains_scaffold(item.smiles, scaffold)
        assert len(item.fills) == result.points and all(item.fills)
        core = read_scaffold(scaffold).GetNumAtoms() - result.points
        assert len(item.scaffold_atoms) == core  # the atoms to highlight


@pytest.mark.parametrize("scaffold", ["*c1ccc(S(*)(=O)=O)cc1", "*C(=O)c1ccc(S(*)(=O)=O)cc1"])
def test_a_point_on_a_sulfonyl_is_decorated(prior, scaffold):
    # written without its other point, the sulfonyl was [SH](=O)=O: "this model never
    # saw [SH]", though the scaffold has none
    mol = read_scaffold(scaffold)
    for point in (atom.GetIdx() for atom in mol.GetAtoms() if atom.GetAtomicNum() == 0):
        assert all("[SH]" not in prompt for prompt, _ in spellings(mol, point))
    result = decorate(*prior, scaffold, settings(30))
    assert result.valid_tries >= 15
    for item in (item for item in result.found if item.valid):
        assert contains_scaffold(item.smiles, scaffold)


def test_the_highlighted_atoms_are_the_scaffold(prior):
    result = decorate(*prior, "O=C(*)N1CCCCC1", settings(20))
    for item in (item for item in result.found if item.valid):
        mol = Chem.MolFromSmiles(item.smiles)
        piperidine_amide = Chem.MolFromSmarts("O=C-N1CCCCC1")
        assert set(item.scaffold_atoms) in [
            set(match) for match in mol.GetSubstructMatches(piperidine_amide)
        ]


def test_two_points_are_filled_one_after_the_other(prior):
    result = decorate(*prior, "*c1ccc(*)cc1", settings(40))
    para = Chem.MolFromSmarts("[!#1]c1ccc([!#1])cc1")
    for item in (item for item in result.found if item.valid):
        assert Chem.MolFromSmiles(item.smiles).HasSubstructMatch(para)
        assert len(item.fills) == 2


def test_invalid_fills_say_why(prior):
    result = decorate(*prior, "*c1ccc2[nH]c(*)cc2c1", settings(60, temperature=1.3))
    invalid = [item for item in result.found if not item.valid]
    assert invalid, "a hot model on a hard scaffold makes some mistakes"
    for item in invalid:
        assert item.reason and item.scaffold_atoms == ()
        assert item.reason.startswith(("attachment point 1: ", "attachment point 2: "))
    reasons = " ".join(item.reason for item in invalid)
    assert "ring" in reasons  # RDKit's reasons, in plain words


def test_the_same_molecule_is_counted_once_with_its_tries(prior):
    result = decorate(*prior, "c1ccc(*)cc1", settings(12, temperature=0))
    (only,) = result.found
    assert only.valid and only.count == 12


def test_decorations_round_trip_through_json(prior):
    result = decorate(*prior, "c1ccc(*)cc1", settings(8))
    assert Decorations.from_json(result.to_json()) == result


@pytest.mark.parametrize(
    "scaffold, words",
    [
        ("", "Type a scaffold"),
        ("   ", "Type a scaffold"),
        ("c1ccccc1", "no attachment point"),
        ("c1ccc(*)cc", "cannot read the scaffold"),
        ("C" * (MAX_SCAFFOLD_LENGTH + 1) + "*", "characters long"),
        ("*" + "C(*)" * MAX_ATTACHMENT_POINTS, "at most"),
        ("*.C*", "pieces"),
        ("**", "no atoms besides"),
        ("C(*)*C", "exactly one atom"),
    ],
)
def test_bad_scaffolds_are_refused_with_a_sentence(scaffold, words):
    with pytest.raises(ScaffoldError, match=words):
        read_scaffold(scaffold)


def test_a_scaffold_the_model_cannot_write_is_refused(prior):
    with pytest.raises(ScaffoldError, match=r"never saw \[Si\]"):
        decorate(*prior, "C[Si](C)(C)c1ccc(*)cc1", settings(4))


def test_a_point_on_a_metal_names_what_the_model_never_saw(prior):
    """Next to a metal RDKit writes the point as [*]: the scaffold is still spelled to end
    there, and a model that never saw the metal says so (it was a vague 'cannot be written')."""
    with pytest.raises(ScaffoldError, match=r"never saw .*\[Cu\]"):
        decorate(*prior, "*[Cu]C", settings(4))


def test_a_text_model_cannot_decorate(trained_text_model):
    model, data = trained_text_model
    with pytest.raises(ScaffoldError, match="molecules"):
        decorate(model, data.vocabulary, "c1ccc(*)cc1", settings(4))


@pytest.mark.parametrize(
    "scaffold",
    [
        "CC(=O)N1CCC(*)CC1",
        "*c1ccc(*)cc1",
        "O=C(*)N1CCCCC1",
        "*n1ccc(*)c1",
        "C=C(*)C",
        "CC=*",
        "*[Cu]C",  # on a metal RDKit writes [CH3][Cu][*]
        "c1ccccc1[Sn](*)(C)C",
    ],
)
def test_each_spelling_ends_where_the_group_goes(scaffold):
    mol = read_scaffold(scaffold)
    point = next(atom.GetIdx() for atom in mol.GetAtoms() if atom.GetAtomicNum() == 0)
    others = [a.GetIdx() for a in mol.GetAtoms() if a.GetAtomicNum() == 0 and a.GetIdx() != point]
    expected = Chem.RWMol(mol)
    expected.GetAtomWithIdx(point).SetAtomicNum(16 if scaffold.endswith("=*") else 9)
    for index in sorted(others, reverse=True):
        expected.RemoveAtom(index)
    found = spellings(mol, point)
    assert found
    group = "S" if scaffold.endswith("=*") else "F"
    for prompt, attached in found:
        written = Chem.MolFromSmiles(prompt + group)
        assert Chem.MolToSmiles(written) == Chem.MolToSmiles(expected.GetMol()), prompt
        last = written.GetAtomWithIdx(written.GetNumAtoms() - 1)
        assert [n.GetIdx() for n in last.GetNeighbors()] == [attached]


def test_sample_each_writes_one_sample_after_each_prompt(prior):
    model, vocabulary = prior
    prompts = ["c1ccccc1", "CC(=O)N", "c1ccccc1", "O=C"]
    config = SampleConfig(max_length=40, seed=5, precision="float32")
    written = sample_each(model, vocabulary, prompts, config)
    assert [w.text[: len(p)] for w, p in zip(written, prompts, strict=True)] == prompts
    one = sample(
        model,
        vocabulary,
        SampleConfig(prompt="CC(=O)N", num_samples=1, max_length=40, seed=5, precision="float32"),
    )
    alone = sample_each(model, vocabulary, ["CC(=O)N"], config)
    assert alone[0].text == one[0].text
    assert sample_each(model, vocabulary, [], config) == []


def test_a_group_is_written_before_the_end_may_come(trained_line_model):
    model, data = trained_line_model  # it learned that CCO is a whole molecule
    config = SampleConfig(prompt="CCO", num_samples=50, max_length=30, seed=2)
    assert any(item.text == "CCO" for item in sample(model, data.vocabulary, config))
    config = SampleConfig(prompt="CCO", num_samples=50, max_length=30, seed=2, min_length=1)
    assert all(len(item.text) > 3 for item in sample(model, data.vocabulary, config))
    with pytest.raises(ValueError):
        SampleConfig(min_length=-1)
