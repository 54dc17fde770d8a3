"""Tests for the chemistry metrics: molecule properties, MOSES's filters and similarity
metrics checked against their plain definitions, the training-stats cache, and the flags."""

from __future__ import annotations

import importlib.util
import json
import os
import zipfile

import numpy as np
import pytest
from rdkit import Chem, RDConfig, rdBase
from rdkit.Chem import QED, AllChem
from rdkit.Chem.FilterCatalog import FilterCatalog, FilterCatalogParams

from charrnn.chem import chemnet, describing, metrics
from charrnn.chem.metrics import (
    MetricResult,
    cosine_similarity,
    evaluate_molecules,
    internal_diversity,
    metrics_table,
    nearest_neighbour_similarity,
    to_json,
    training_stats,
    wasserstein_distance,
)
from charrnn.chem.properties import (
    PROPERTY_INFO,
    describe,
    fingerprint_bits,
    is_degenerate,
    molecule_properties,
    passes_filters,
)

ASPIRIN = "CC(=O)Oc1ccccc1C(=O)O"
CAFFEINE = "CN1C=NC2=C1C(=O)N(C(=O)N2C)C"
BENZENE = "c1ccccc1"
RHODANINE = "O=C1NC(=S)SC1=Cc1ccccc1"  # 5-benzylidene rhodanine: PAINS ene_rhod_A
# Drug-like molecules of the MOSES kind, plus a few with QED alerts (nitro, Michael acceptor).
DRUGS = [
    ASPIRIN,
    CAFFEINE,
    "CC(C)Cc1ccc(C(C)C(=O)O)cc1",
    "CC(=O)Nc1ccc(O)cc1",
    "CN1CCC[C@H]1c1cccnc1",
    "O=C(O)c1ccccc1O",
    "CCOC(=O)c1ccc(N)cc1",
    "Cc1ccc(S(=O)(=O)N)cc1",
    "O=[N+]([O-])c1ccc(Cl)cc1",
    "C=CC(=O)Nc1ccccc1",
    "COc1ccc2[nH]cc(CCN)c2c1",
    "O=C1CCCN1Cc1ccc(F)cc1",
    "Clc1ccc2c(c1)C(c1ccccc1)=NCC(=O)N2",
    "CC1(C)SC2C(NC(=O)Cc3ccccc3)C(=O)N2C1C(=O)O",
]


def mol(smiles: str) -> Chem.Mol:
    return Chem.MolFromSmiles(smiles)


def packed(smiles: list[str]) -> np.ndarray:
    return np.stack([np.packbits(fingerprint_bits(mol(text))) for text in smiles])


def tanimoto_matrix(one: list[str], other: list[str]) -> np.ndarray:
    """The textbook definition, pair by pair, for checking the fast kernels."""
    a = np.stack([fingerprint_bits(mol(text)) for text in one]).astype(float)
    b = np.stack([fingerprint_bits(mol(text)) for text in other]).astype(float)
    shared = a @ b.T
    return shared / (a.sum(1)[:, None] + b.sum(1)[None, :] - shared)


# ---------------------------------------------------------------- one molecule


def test_known_molecules_have_their_textbook_properties() -> None:
    aspirin, caffeine, benzene = (molecule_properties(mol(s)) for s in [ASPIRIN, CAFFEINE, BENZENE])
    assert aspirin["weight"] == pytest.approx(180.16, abs=0.01)
    assert caffeine["weight"] == pytest.approx(194.19, abs=0.01)
    assert benzene["rings"] == 1 and aspirin["rings"] == 1 and caffeine["rings"] == 2
    assert (aspirin["hbd"], caffeine["hbd"]) == (1, 0)
    assert 1 <= aspirin["sa"] <= 3  # aspirin is easy to make
    assert set(aspirin) == set(PROPERTY_INFO)


@pytest.mark.parametrize("smiles", DRUGS)
def test_qed_and_sa_are_rdkits_own_values(smiles: str) -> None:
    path = os.path.join(RDConfig.RDContribDir, "SA_Score", "sascorer.py")
    spec = importlib.util.spec_from_file_location("reference_sascorer", path)
    sascorer = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sascorer)
    values = molecule_properties(mol(smiles))
    assert values["qed"] == QED.qed(mol(smiles))
    assert values["sa"] == sascorer.calculateScore(mol(smiles))


def test_fingerprints_are_the_ones_moses_computes() -> None:
    with rdBase.BlockLogs():  # the old call MOSES uses is deprecated
        for smiles in DRUGS:
            expected = np.asarray(AllChem.GetMorganFingerprintAsBitVect(mol(smiles), 2, nBits=1024))
            assert np.array_equal(fingerprint_bits(mol(smiles)), expected)


def test_filters_pass_clean_drugs_and_reject_what_moses_rejects() -> None:
    assert passes_filters(mol(ASPIRIN)) and passes_filters(mol(CAFFEINE))
    params = FilterCatalogParams()
    params.AddCatalog(FilterCatalogParams.FilterCatalogs.PAINS)
    assert FilterCatalog(params).HasMatch(mol(RHODANINE))  # a PAINS example
    assert not passes_filters(mol(RHODANINE))
    assert not passes_filters(mol("C[N+](C)(C)Cc1ccccc1"))  # charged
    assert not passes_filters(mol("CC(=O)[O-]"))  # charged
    assert not passes_filters(mol("C1CCCCCCC1"))  # ring of 8 atoms
    assert not passes_filters(mol("CCCCP(=O)(O)O"))  # phosphorus is not allowed
    assert not passes_filters(mol("O=Cc1ccccc1"))  # MCF: aldehyde
    assert not passes_filters(mol("[2H]C([2H])([2H])c1ccccc1C=O"))  # explicit-H path


def test_degenerate_shapes_are_recognised() -> None:
    assert is_degenerate(mol("CCCCCCCCCCCC"))
    assert is_degenerate(mol("CC(=O)NCCCCCCCCCC"))  # drug head, long bare tail
    assert is_degenerate(mol("NNNN")) and is_degenerate(mol("C"))
    assert is_degenerate(mol("CCCCCCC"))  # only carbon, no ring
    assert not is_degenerate(mol("CCCCCCCO"))  # 7 in a row
    assert not is_degenerate(mol("CC(C)CC(C)CC(C)CCO"))  # branched
    assert not any(is_degenerate(mol(smiles)) for smiles in DRUGS)


def test_describe_reads_invalid_smiles_as_none() -> None:
    assert describe("C1CC") is None and describe("") is None
    record = describe("OCC")
    assert record.canonical == "CCO" and record.passes_filters and not record.degenerate


# ---------------------------------------------------------------- set metrics


def test_internal_diversity_is_zero_for_copies_and_positive_for_different_molecules() -> None:
    assert internal_diversity(packed([ASPIRIN] * 5)) == pytest.approx(0.0, abs=1e-7)
    assert internal_diversity(packed(DRUGS)) > 0.5
    assert internal_diversity(np.zeros((0, 128), np.uint8)) is None


@pytest.mark.parametrize("p", [1, 2])
def test_internal_diversity_follows_mooses_definition_with_duplicates(p: int) -> None:
    smiles = DRUGS[:6]
    counts = np.array([1, 3, 1, 2, 1, 1])
    expanded = [text for text, count in zip(smiles, counts, strict=True) for _ in range(count)]
    similarity = tanimoto_matrix(expanded, expanded)
    expected = 1 - np.mean(np.mean(similarity**p, axis=1) ** (1 / p))
    assert internal_diversity(packed(smiles), counts, p=p) == pytest.approx(expected, abs=1e-6)
    assert internal_diversity(packed(expanded), p=p) == pytest.approx(expected, abs=1e-6)


def test_nearest_neighbour_similarity_follows_moses_definition() -> None:
    generated, reference = DRUGS[:5] + ["CCCCO"], DRUGS[5:] + ["CCCO", "CCCCCO"]
    counts = np.array([1, 2, 1, 1, 4, 1])
    expected = np.average(tanimoto_matrix(generated, reference).max(1), weights=counts)
    found = nearest_neighbour_similarity(packed(generated), packed(reference), counts)
    assert found == pytest.approx(expected, abs=1e-9)
    assert nearest_neighbour_similarity(packed(DRUGS), packed(DRUGS)) == pytest.approx(1.0)


def test_nearest_neighbour_similarity_over_many_bit_count_groups() -> None:
    rng = np.random.default_rng(0)
    generated = (rng.random((40, 1024)) < rng.uniform(0.0, 0.1, (40, 1))).astype(np.uint8)
    reference = (rng.random((300, 1024)) < rng.uniform(0.0, 0.1, (300, 1))).astype(np.uint8)
    generated[0] = 0  # an empty fingerprint: MOSES counts 0/0 as similarity 1 ...
    reference[0] = 0  # ... when the reference has an empty one too
    a, b = generated.astype(float), reference.astype(float)
    shared = a @ b.T
    union = a.sum(1)[:, None] + b.sum(1)[None, :] - shared
    similarity = np.where(union > 0, shared / np.maximum(union, 1), 1.0)
    found = nearest_neighbour_similarity(
        np.packbits(generated, axis=1), np.packbits(reference, axis=1), block=16, chunk=7
    )
    assert found == pytest.approx(similarity.max(1).mean(), abs=1e-9)


def test_cosine_similarity_of_counts() -> None:
    assert cosine_similarity({"a": 2, "b": 1}, {"a": 4, "b": 2}) == pytest.approx(1.0)
    assert cosine_similarity({"a": 1}, {"b": 1}) == 0.0
    assert cosine_similarity({"a": 1, "b": 1}, {"a": 1}) == pytest.approx(1 / np.sqrt(2))
    assert cosine_similarity({}, {"a": 1}) is None


def test_wasserstein_distance_of_identical_and_shifted_distributions() -> None:
    values = np.random.default_rng(1).normal(300, 25, size=500)
    assert wasserstein_distance(values, values) == pytest.approx(0.0, abs=1e-12)
    assert wasserstein_distance(values, values + 7.5) == pytest.approx(7.5)
    assert wasserstein_distance([0.0, 1.0], [0.0, 1.0, 1.0, 1.0]) == pytest.approx(0.25)
    # weights are repetitions
    assert wasserstein_distance([0.0, 1.0], [0.0, 1.0], [1, 3]) == pytest.approx(0.25)
    assert wasserstein_distance([], [1.0]) is None


# ---------------------------------------------------------------- evaluation


@pytest.fixture
def cache(tmp_path):
    return tmp_path / "stats"


def by_key(results: list[MetricResult]) -> dict[str, float | None]:
    return {result.key: result.value for result in results}


def test_metrics_follow_moses_counting(cache) -> None:
    stats = training_stats([BENZENE, ASPIRIN, "C1CC"], cache, fcd=False)
    assert (stats.molecules, stats.valid) == (3, 2)
    results = evaluate_molecules(["CCO", "OCC", "xyz", BENZENE], stats, fcd=False, workers=1)
    values = by_key(results)
    assert values["valid"] == pytest.approx(3 / 4)
    assert values["unique@1000"] == pytest.approx(2 / 3)  # CCO and OCC are one molecule
    assert values["novelty"] == pytest.approx(1 / 2)  # benzene is in the training set
    assert "Only 3 valid samples" in next(r for r in results if r.key == "unique@1000").explanation


def test_a_set_measured_against_itself(cache) -> None:
    smiles = DRUGS * 2
    stats = training_stats(smiles, cache, fcd=False)
    results = evaluate_molecules(smiles, stats, fcd=False, workers=1)
    values = by_key(results)
    for key in ["snn", "frag", "scaf", "valid"]:
        assert values[key] == pytest.approx(1.0), key
    assert values["novelty"] == 0.0
    assert values["unique@1000"] == pytest.approx(0.5)
    for key in [k for k in values if k.startswith("wasserstein_")]:
        assert values[key] == pytest.approx(0.0, abs=1e-9), key
    flags = {result.key: result.flag for result in results}
    assert "Memorised" in flags["novelty"]


@pytest.mark.parametrize("generated", [[], ["C1CC", "xyz", ""]])
def test_nothing_valid_gives_empty_values_without_errors(cache, generated) -> None:
    stats = training_stats(DRUGS, cache, workers=1)  # with FCD when fcd_torch is there
    values = by_key(evaluate_molecules(generated, stats, workers=1))
    assert "fcd" in values
    assert values["valid"] == (0.0 if generated else None)
    assert all(value is None for key, value in values.items() if key != "valid")


def test_an_empty_training_set_gives_empty_comparisons(cache) -> None:
    stats = training_stats([], cache, fcd=False)
    values = by_key(evaluate_molecules(DRUGS, stats, fcd=False, workers=1))
    assert values["valid"] == 1.0 and values["novelty"] == 1.0
    assert values["snn"] is None and values["frag"] is None and values["wasserstein_qed"] is None


def test_repeated_chains_are_flagged(cache) -> None:
    stats = training_stats(DRUGS, cache, fcd=False)
    results = evaluate_molecules(["CCCCCCCCCCCC"] * 50, stats, fcd=False, workers=1)
    flags = {result.key: result.flag for result in results}
    assert by_key(results)["degenerate"] == 1.0
    assert "bare chains" in flags["degenerate"]
    assert "repeats itself" in flags["unique@1000"]
    assert flags["valid"] is None
    table = metrics_table(results)
    assert "Degenerate samples" in table and "! Uniqueness@1k" in table
    assert json.loads(to_json(results))[0]["key"] == "valid"


def test_training_stats_are_cached_without_pickle(cache) -> None:
    first = training_stats(DRUGS, cache, fcd=False)
    (path,) = cache.glob("*.npz")
    modified = path.stat().st_mtime_ns
    second = training_stats(DRUGS, cache, fcd=False)
    assert not first.from_cache and second.from_cache
    assert path.stat().st_mtime_ns == modified  # read, not written again
    assert second.canonical == first.canonical
    assert np.array_equal(second.fingerprints, first.fingerprints)
    assert second.fragment_counts == first.fragment_counts
    with zipfile.ZipFile(path) as archive:
        assert all(name.endswith(".npy") for name in archive.namelist())
    with np.load(path, allow_pickle=False) as arrays:  # would raise on pickled objects
        assert set(arrays.files) >= {"document", "fingerprints", "properties"}
    assert training_stats(DRUGS[:-1], cache, fcd=False).from_cache is False  # other data


def test_cache_folder_comes_from_the_environment(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("CHARRNN_CACHE", str(tmp_path))
    training_stats([ASPIRIN], fcd=False)
    assert len(list((tmp_path / "stats").glob("*.npz"))) == 1


def test_worker_processes_give_the_same_results(cache, monkeypatch) -> None:
    monkeypatch.setattr(describing, "POOL_MINIMUM", 4)
    fcd = importlib.util.find_spec("fcd_torch") is not None
    stats = training_stats(DRUGS, cache, fcd=fcd, workers=1)
    generated = DRUGS[::-1] + ["xyz", "CCO", "OCC"]
    alone = evaluate_molecules(generated, stats, fcd=fcd, workers=1)
    together = evaluate_molecules(generated, stats, fcd=fcd, workers=2)
    if fcd:  # two torch threads add up ChemNet's sums in another order
        assert by_key(together)["fcd"] == pytest.approx(by_key(alone)["fcd"], rel=1e-5)
        alone, together = ([r for r in results if r.key != "fcd"] for results in (alone, together))
    assert together == alone


# ---------------------------------------------------------------- FCD


def test_chemnet_statistics_weights_equal_repetition() -> None:
    pytest.importorskip("fcd_torch")
    weighted = metrics.chemnet_statistics(["CCO", BENZENE, "CCN"], np.array([2, 1, 1]))
    repeated = metrics.chemnet_statistics(["CCO", "CCO", BENZENE, "CCN"])
    assert np.allclose(weighted[0], repeated[0], atol=1e-6)
    assert np.allclose(weighted[1], repeated[1], atol=1e-6)
    assert metrics.chemnet_statistics(["CCO"]) is None


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # fcd_torch's np.row_stack
def test_chemnet_activations_are_the_ones_fcd_torch_computes() -> None:
    fcd_torch = pytest.importorskip("fcd_torch")
    smiles = [Chem.MolToSmiles(mol(text)) for text in DRUGS] + ["C", "CC.[Na+].[Cl-]"]
    smiles += ["ClC(Br)[Si](C)(C)C", "C" * 400]  # two-letter symbols; cut at 350 rows
    expected = fcd_torch.FCD(canonize=False, batch_size=3).get_predictions(smiles)
    assert np.allclose(chemnet.chemnet_activations(smiles, batch=5), expected, atol=1e-6)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # fcd_torch's scipy call
def test_frechet_distance_is_the_one_fcd_torch_computes() -> None:
    fcd_torch = pytest.importorskip("fcd_torch")
    rng = np.random.default_rng(2)
    one = rng.normal(size=(300, 40)) @ rng.normal(size=(40, 40))
    other = rng.normal(0.3, 1.2, size=(500, 40)) @ rng.normal(size=(40, 40))
    gaussians = [(x.mean(0), np.cov(x.T)) for x in (one, other)]
    expected = fcd_torch.calculate_frechet_distance(*gaussians[0], *gaussians[1])
    assert metrics.frechet_distance(*gaussians) == pytest.approx(expected, rel=1e-9)
    assert metrics.frechet_distance(gaussians[0], gaussians[0]) == pytest.approx(0.0, abs=1e-8)


def test_fcd_is_small_for_the_same_set_and_larger_for_another(cache) -> None:
    pytest.importorskip("fcd_torch")
    stats = training_stats(DRUGS, cache, fcd=True, workers=1)
    same = by_key(evaluate_molecules(DRUGS, stats, workers=1))["fcd"]
    other = by_key(evaluate_molecules(["CCCCCCCCCCCC", "CCCCCCCCO", "CCCCN"], stats, workers=1))
    assert abs(same) < 0.1 < other["fcd"]
    # stats first made without FCD gain it later
    plain = training_stats(DRUGS[:-1], cache, fcd=False)
    assert plain.fcd_mean is None and training_stats(DRUGS[:-1], cache).fcd_mean is not None
