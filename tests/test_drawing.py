"""Tests for molecule drawings: valid SMILES drawn by RDKit, invalid ones as placeholders
that say why, grids with legends, and untrusted strings that never become markup."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from charrnn.chem.drawing import grid_svg, molecule_card, molecule_svg

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = "<script>alert('x')</script>C1CC"


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return root


def texts(root: ET.Element) -> str:
    """All the words a person sees, wrapped lines joined with spaces."""
    return " ".join(" ".join(element.itertext()) for element in root.iter(f"{SVG}text"))


def no_scripts(root: ET.Element) -> None:
    assert not [e for e in root.iter() if e.tag.rpartition("}")[2].lower() == "script"]


def test_a_valid_smiles_is_drawn():
    svg = molecule_svg("CC(=O)Oc1ccccc1C(=O)O", size=(300, 240), legend="aspirin")
    root = parse(svg)
    assert "<svg" in svg and root.get("width") == "300" and root.get("height") == "240"
    assert len(list(root.iter(f"{SVG}path"))) > 10  # bonds and atom labels
    assert "aspirin" in texts(root)
    assert "Not a molecule" not in svg


def test_an_invalid_smiles_shows_the_string_and_why():
    root = parse(molecule_svg("CC(C"))
    words = texts(root)
    assert "Not a molecule" in words and "CC(C" in words
    assert "a '(' has no matching ')'" in words


def test_markup_in_an_untrusted_string_stays_text():
    svg = molecule_svg(HOSTILE, legend="<script>evil()</script>")
    root = parse(svg)
    no_scripts(root)
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert "unexpected character '<'" in texts(root)


def test_control_characters_do_not_break_the_document():
    root = parse(molecule_svg("C\x00C\x1b[31m", legend="bell\x07"))
    assert "\\x00" in texts(root)


def test_a_long_invalid_string_is_cut_to_fit():
    root = parse(molecule_svg("X" * 500, size=(200, 160)))
    assert "…" in texts(root)
    assert max(len(t.text or "") for t in root.iter(f"{SVG}tspan")) < 40


def test_a_grid_mixes_drawings_and_placeholders():
    smiles = ["CCO", "C1CC", "c1ccccc1", HOSTILE, "CC(=O)N"]
    legends = ["-3.1", "-7.9", "a < b & c", "<script>x</script>", "-4.0"]
    svg = grid_svg(smiles, legends, columns=2, cell=(200, 150))
    root = parse(svg)
    no_scripts(root)
    assert (root.get("width"), root.get("height")) == ("400", "450")  # 2 columns, 3 rows
    cells = root.findall(f"{SVG}svg")
    assert len(cells) == 5
    assert [(c.get("x"), c.get("y")) for c in cells[:3]] == [("0", "0"), ("200", "0"), ("0", "150")]
    words = texts(root)
    assert words.count("Not a molecule") == 2
    assert "ring is opened with digit 1 but never closed" in words
    assert "a < b & c" in words and "-3.1" in words
    assert "<script>" not in svg


def test_a_grid_shows_at_most_max_molecules():
    root = parse(grid_svg(["C"] * 10, columns=4, cell=(100, 100), max_molecules=6))
    assert len(root.findall(f"{SVG}svg")) == 6
    assert "showing 6 of 10 molecules" in texts(root)


def test_an_empty_grid_says_so():
    svg = grid_svg([])
    root = parse(svg)
    assert "no molecules" in texts(root)
    assert int(root.get("height")) < 100


def test_legends_must_match_the_molecules():
    with pytest.raises(ValueError):
        grid_svg(["C", "CC"], legends=["one"])


def test_molecule_card_of_a_valid_molecule():
    card = molecule_card("OC(=O)c1ccccc1")
    assert card["valid"] and card["problem"] is None
    assert card["canonical"] == "O=C(O)c1ccccc1" and card["formula"] == "C7H6O2"
    properties = card["properties"]
    assert properties["molecular_weight"] == pytest.approx(122.12, abs=0.01)
    assert properties["hbond_donors"] == 1 and properties["hbond_acceptors"] == 1
    assert properties["rings"] == 1 and properties["tpsa"] == pytest.approx(37.3, abs=0.1)
    assert 1.0 < properties["logp"] < 2.0
    parse(card["svg"])


def test_molecule_card_of_an_invalid_string():
    card = molecule_card("c1cccc1")
    assert not card["valid"] and card["canonical"] is None and card["properties"] == {}
    assert "aromatic ring" in card["problem"]
    assert "Not a molecule" in texts(parse(card["svg"]))


def test_a_very_long_invalid_string_is_drawn_as_too_long_and_kept_short():
    card = molecule_card("C(" * 100_000)
    assert not card["valid"]
    assert card["problem"].startswith("too long: 200,000 characters")
    assert len(card["svg"]) < 10_000
