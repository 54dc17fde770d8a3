"""Steering scores: each component on known drugs, the weighted geometric mean, hard
constraints, invalid molecules and patterns explained, and score.json round trips."""

from __future__ import annotations

import math

import pytest

from charrnn.chem.hits_export import hits_csv, hits_sdf
from charrnn.chem.scorer import PatternError, Scorer, column_titles, score_table
from charrnn.chem.scoring import (
    SOFT_FLOOR,
    Component,
    ScoreError,
    ScoreSpec,
    combine,
    desirability,
)
from charrnn.errors import UserError

ASPIRIN = "CC(=O)Oc1ccccc1C(=O)O"
CAFFEINE = "Cn1cnc2c1c(=O)n(C)c(=O)n2C"
CELECOXIB = "Cc1ccc(-c2cc(C(F)(F)F)nn2-c2ccc(S(N)(=O)=O)cc2)cc1"
SULFONAMIDE = "S(=O)(=O)N"
# RDKit 2026.09: QED, Crippen logP, MolWt, TPSA, donors, acceptors, rings, SA score.
KNOWN = {
    ASPIRIN: (0.5501, 1.3101, 180.159, 63.60, 1, 3, 1, 1.580),
    CAFFEINE: (0.5385, -1.0293, 194.194, 61.82, 0, 3, 2, 2.298),
    CELECOXIB: (0.7541, 3.5139, 381.379, 77.98, 1, 3, 3, 2.144),
}
KINDS = ("qed", "logp", "weight", "tpsa", "hbd", "hba", "rings", "sa")


def spec(*components: Component) -> ScoreSpec:
    return ScoreSpec(tuple(components))


@pytest.mark.parametrize("smiles", list(KNOWN))
def test_each_property_component_measures_what_rdkit_says(smiles):
    scorer = Scorer(spec(*(Component(kind) for kind in KINDS)))
    scored = scorer.score_one(smiles)
    assert scored.valid
    for kind, value, known in zip(KINDS, scored.values, KNOWN[smiles], strict=True):
        assert value == pytest.approx(known, abs=2e-3), kind


def test_similarity_is_tanimoto_on_morgan_fingerprints():
    scorer = Scorer(spec(Component("similarity", target=CELECOXIB)))
    itself, other = scorer.score([CELECOXIB, ASPIRIN])
    assert itself.values == (1.0,) and itself.score == 1.0
    assert 0.0 < other.values[0] < 0.2 and other.score == pytest.approx(other.values[0])


def test_substructures_are_hard_constraints():
    scorer = Scorer(
        spec(Component("qed"), Component("contains", target=SULFONAMIDE), Component("rings"))
    )
    celecoxib, aspirin = scorer.score([CELECOXIB, ASPIRIN])
    assert celecoxib.passes == (True, True, True) and celecoxib.score > 0.5
    assert aspirin.values[1] == 0.0 and aspirin.passes[1] is False and aspirin.score == 0.0
    avoid = Scorer(spec(Component("excludes", target="[#9]")))  # SMARTS: no fluorine
    assert [m.score for m in avoid.score([CELECOXIB, CAFFEINE])] == [0.0, 1.0]
    for pattern in ("c1ccccc1*", "*S(=O)(=O)N", "[*]S(N)(=O)=O"):  # * : any atom, as SMARTS
        assert Scorer(spec(Component("contains", target=pattern))).score_one(CELECOXIB).score == 1


# Carbons on a 6 x 6 square grid: a molecule a model can be taught to write, in which a
# search for a ring of 15 atoms (there is none: the grid has only even rings) walks
# through millions of paths; RDKit gives no time limit of its own.
GRID = (
    "C1C2C3C4C5CC6C7C8C9CC%10C%11C%12C%13CC%14C%15C%16C1C21C32C43C56C74C85C9%10C%116C%127C%14"
    "%13C%158C%161C21C34C56C871"
)
ODD_RING = "[#6]1" + "~[#6]" * 13 + "~[#6]~1"  # SMARTS: a ring of 15 carbons, any bonds


def test_a_substructure_search_that_would_run_long_is_cut_short():
    for kind in ("contains", "excludes"):
        scorer = Scorer(spec(Component(kind, target=ODD_RING), Component("rings")))
        grid = scorer.score_one(GRID)
        assert grid.valid and math.isnan(grid.values[0])  # not known: the search was cut
        assert grid.passes[0] is False and grid.score == 0.0
        assert score_table(scorer.spec, [GRID])[0][kind] is None
    inside = Scorer(spec(Component("contains", target="[$(" + ODD_RING + ")]")))
    assert math.isnan(inside.score_one(GRID).values[0])  # the same inside a recursive SMARTS
    four_ring = "[#6]1~[#6]~[#6]~[#6]~1"
    whole = Scorer(
        spec(Component("contains", target=CELECOXIB), Component("excludes", target=four_ring))
    )
    assert whole.score_one(CELECOXIB).values == (1.0, 1.0)  # real patterns are unaffected
    assert Scorer(spec(Component("contains", target=four_ring))).score_one(GRID).score == 1.0


def test_windows_have_soft_edges_and_directions_are_lines():
    assert desirability(4.0, "window", 3.0, 5.0, 1.0) == 1.0
    assert desirability(6.0, "window", 3.0, 5.0, 1.0) == pytest.approx(0.5)
    assert desirability(1.0, "window", 3.0, 5.0, 1.0) == pytest.approx(0.0625)
    assert desirability(0.9, "window", 0.7, None, 0.1) == 1.0
    assert desirability(0.6, "window", 0.7, None, 0.1) == pytest.approx(0.5)
    assert desirability(0.25, "higher", 0.0, 1.0, 0.1) == 0.25
    assert desirability(4.0, "lower", 2.0, 6.0, 1.0) == 0.5
    assert desirability(1.0, "lower", 2.0, 6.0, 1.0) == 1.0
    assert desirability(float("nan"), "window", 1.0, 2.0, 1.0) == 0.0
    logp = Component("logp", low=3, high=5)
    assert logp.shape == "window" and logp.passes(4.2) and not logp.passes(5.5)
    sa = Component("sa")  # easier to make = higher desirability
    assert sa.desirability(1.6) > sa.desirability(4.0) > sa.desirability(7.0) == 0.0


def test_the_score_is_a_weighted_geometric_mean():
    parts = (Component("qed", weight=1.0), Component("logp", weight=3.0))
    assert combine(parts, (0.25, 1.0)) == pytest.approx(0.25 ** (1 / 4))
    assert combine(parts, (0.5, 0.5)) == pytest.approx(0.5)
    assert combine(parts, (0.0, 1.0)) == pytest.approx(SOFT_FLOOR ** (1 / 4))  # not erased
    hard = (Component("qed", hard=True), Component("logp"))
    assert combine(hard, (0.0, 1.0)) == 0.0
    scorer = Scorer(spec(*parts))
    aspirin = scorer.score_one(ASPIRIN)
    qed, logp = aspirin.desirabilities
    assert aspirin.score == pytest.approx(math.exp((math.log(qed) + 3 * math.log(logp)) / 4))


def test_invalid_molecules_score_zero_and_pass_nothing():
    scorer = Scorer(spec(Component("qed"), Component("weight")))
    for smiles in ["C1CC", "", "not a molecule", "C" * 2000]:
        scored = scorer.score_one(smiles)
        assert not scored.valid and scored.score == 0.0 and scored.passes == (False, False)


def test_invalid_patterns_are_explained():
    with pytest.raises(PatternError, match="neither a SMILES.*nor a SMARTS") as caught:
        Scorer(spec(Component("contains", target="C(=O")))
    assert isinstance(caught.value, UserError) and "bracket" in str(caught.value).lower()
    with pytest.raises(PatternError, match="not a SMILES RDKit can read"):
        Scorer(spec(Component("similarity", target="c1cccc1X")))
    with pytest.raises(ScoreError, match="longer than 200"):
        Component("contains", target="C" * 201)
    with pytest.raises(ScoreError, match="give the substructure"):
        Component("excludes")


@pytest.mark.parametrize(
    "values, message",
    [
        (dict(kind="mass"), "Unknown score component"),
        (dict(kind="qed", weight=0), "weight must be above 0"),
        (dict(kind="logp", low=5, high=3), "must be below high"),
        (dict(kind="logp", shape="higher", low=1), "needs both low and high"),
        (dict(kind="tpsa", soft=0, low=1), "soft edge"),
        (dict(kind="rings", low="two"), "must be a number"),
        (dict(kind="weight", low=float("inf")), "must be a number"),
        (dict(kind="qed", hard="yes"), "hard is true or false"),
        (dict(kind="contains", target=5), "as text"),
        (dict(kind="similarity", target=["CCO"]), "as text"),
    ],
)
def test_bad_components_say_what_to_change(values, message):
    with pytest.raises(ScoreError, match=message):
        Component(**values)


def test_score_json_round_trips_and_bad_files_are_refused():
    score = spec(
        Component("similarity", target=CELECOXIB, weight=2.0),
        Component("logp", low=3, high=5),
        Component("weight", low=300, high=450, soft=25),
        Component("qed", low=0.7),
        Component("contains", target=SULFONAMIDE),
        Component("sa"),
    )
    assert ScoreSpec.loads(score.dumps()) == score
    assert ScoreSpec.from_json(score.to_json()) == score
    assert score.names == ("similarity", "logp", "weight", "qed", "contains", "sa")
    assert "Must contain S(=O)(=O)N" in score.sentence()
    minimal = ScoreSpec.loads('{"components": [{"kind": "qed"}, {"kind": "qed", "low": 0.5}]}')
    assert minimal.names == ("qed", "qed_2") and minimal.components[1].shape == "window"
    for text, message in [
        ("{", "not valid JSON"),
        ('{"components": []}', "at least one"),
        ('{"components": [{"kind": "qed", "colour": 1}]}', "Unknown field"),
        ('{"components": [1]}', "an object with a 'kind'"),
        ('{"format": "other", "components": [{"kind": "qed"}]}', "format"),
        ('{"components": [' + ",".join(['{"kind": "qed"}'] * 13) + "]}", "at most 12"),
        ("[" * 30_000, "nested too deeply"),
        ('{"components": [{"kind": "qed", "weight": ' + "[" * 20_000 + "]}]}", "nested"),
    ]:
        with pytest.raises(ScoreError, match=message):
            ScoreSpec.loads(text)


def test_a_table_gives_every_component_value_and_pass_flag():
    score = spec(Component("logp", low=3, high=5), Component("contains", target=SULFONAMIDE))
    rows = score_table(score, [CELECOXIB, "C1CC"])
    assert rows[0]["smiles"] == CELECOXIB and rows[0]["valid"] is True
    assert rows[0]["logp"] == pytest.approx(3.5139, abs=1e-3) and rows[0]["logp_pass"] is True
    assert rows[0]["contains"] == 1.0 and rows[0]["contains_pass"] is True
    assert rows[1] == {
        "smiles": "C1CC",
        "valid": False,
        "score": 0.0,
        "logp": None,
        "logp_pass": False,
        "contains": None,
        "contains_pass": False,
    }
    assert set(column_titles(score)) == set(rows[0])


def test_hits_export_as_csv_and_sdf_with_every_component():
    score = spec(Component("logp", low=3, high=5), Component("contains", target=SULFONAMIDE))
    rows = score_table(score, [CELECOXIB, ASPIRIN, "C1CC"])
    text = hits_csv(rows)
    lines = text.splitlines()
    assert lines[0] == "smiles,valid,score,logp,logp_pass,contains,contains_pass"
    assert lines[1].startswith(CELECOXIB + ",True,") and len(lines) == 4
    sdf = hits_sdf(rows)
    assert sdf.count("$$$$") == 2  # the invalid one is left out
    assert "<contains_pass>" in sdf and "<logp>" in sdf and CELECOXIB in sdf
