"""Molecules as SVG: one drawing, a grid of samples with legends, and a card of properties.

Invalid SMILES get a placeholder that shows the string and why RDKit cannot read it.
"""

from __future__ import annotations

import math
import textwrap
import unicodedata
from collections.abc import Sequence
from html import escape

from rdkit import Chem
from rdkit.Chem import Crippen, Descriptors, Lipinski, rdMolDescriptors
from rdkit.Chem.Draw import rdMolDraw2D

from charrnn.chem.smiles import parse_smiles, smiles_problem

FONT = "font-family='DejaVu Sans, Helvetica, Arial, sans-serif'"
MONOSPACE = "font-family='DejaVu Sans Mono, Menlo, Consolas, monospace'"
LEGEND_HEIGHT = 20  # pixels under a drawing for its legend
INVALID_FILL, INVALID_STROKE, INVALID_INK = "#fbf1f0", "#c98b86", "#9b4640"
HIGHLIGHT = (0.55, 0.8, 1.0)  # light blue behind highlighted atoms and bonds (RDKit's RGB)


# ---------------------------------------------------------------- safe text


def _xml_text(text: str) -> str:
    """Untrusted text ready to sit inside an XML element or attribute.

    Markup characters are escaped; control characters (which XML cannot hold even
    escaped) and lone surrogates are shown as escapes such as \\x00.
    """
    shown = "".join(
        repr(c)[1:-1] if unicodedata.category(c) in ("Cc", "Cs") or c in "\ufffe\uffff" else c
        for c in text
    )
    return escape(shown, quote=True)


def _lines(text: str, width: int, most: int) -> list[str]:
    """Text wrapped to ``width`` characters, at most ``most`` lines (the last cut with …)."""
    lines = textwrap.wrap(text, max(width, 4), break_on_hyphens=False) or [""]
    if len(lines) > most:
        lines = lines[:most]
        lines[-1] = lines[-1][: max(width - 1, 1)] + "…"
    return lines


def _text_block(lines: list[str], x: float, y: float, size: int, style: str) -> str:
    """Lines of text, the first baseline at y, centred on x."""
    spans = "".join(
        f"<tspan x='{x:.1f}' y='{y + index * size * 1.25:.1f}'>{_xml_text(line)}</tspan>"
        for index, line in enumerate(lines)
    )
    return f"<text text-anchor='middle' font-size='{size}' {style}>{spans}</text>"


def _legend(legend: str, width: int, height: int) -> str:
    if not legend:
        return ""
    (line,) = _lines(legend, int(width / 6.5), 1)
    return _text_block([line], width / 2, height - 6, 11, f"{FONT} fill='#444444'")


def _document(width: int, height: int, body: str, title: str = "") -> str:
    heading = f"<title>{_xml_text(title)}</title>" if title else ""
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' version='1.1' width='{width}' "
        f"height='{height}' viewBox='0 0 {width} {height}'>{heading}{body}</svg>"
    )


# ---------------------------------------------------------------- one molecule


def _rdkit_drawing(mol: Chem.Mol, width: int, height: int, highlight: Sequence[int] = ()) -> str:
    """RDKit's SVG of the molecule, without its XML declaration (so it can nest); the
    ``highlight`` atoms (indices that exist) and the bonds between them are shaded."""
    drawer = rdMolDraw2D.MolDraw2DSVG(width, height)
    drawer.drawOptions().padding = 0.08
    atoms = sorted({int(i) for i in highlight if 0 <= int(i) < mol.GetNumAtoms()})
    if not atoms:
        rdMolDraw2D.PrepareAndDrawMolecule(drawer, mol)
    else:
        chosen = set(atoms)
        bonds = [
            bond.GetIdx()
            for bond in mol.GetBonds()
            if bond.GetBeginAtomIdx() in chosen and bond.GetEndAtomIdx() in chosen
        ]
        colour = {index: HIGHLIGHT for index in atoms}
        rdMolDraw2D.PrepareAndDrawMolecule(
            drawer,
            mol,
            highlightAtoms=atoms,
            highlightBonds=bonds,
            highlightAtomColors=colour,
            highlightBondColors={index: HIGHLIGHT for index in bonds},
        )
    drawer.FinishDrawing()
    svg = drawer.GetDrawingText()
    return svg[svg.index("<svg") :].strip()


def _valid_cell(
    mol: Chem.Mol, width: int, height: int, legend: str, highlight: Sequence[int] = ()
) -> str:
    drawing_height = height - (LEGEND_HEIGHT if legend else 0)
    drawing = _rdkit_drawing(mol, width, max(drawing_height, 20), highlight)
    return _document(
        width,
        height,
        drawing + _legend(legend, width, height),
        title=f"{Chem.MolToSmiles(mol)} {legend}".strip(),
    )


def _shortened(text: str, most: int) -> str:
    """The text, cut to `most` characters with "…" when longer (a title is not a dump)."""
    return text if len(text) <= most else text[: most - 1] + "…"


def _placeholder(smiles: str, reason: str, width: int, height: int, legend: str) -> str:
    """A muted red frame saying "not a molecule", the string, and why not."""
    shown = _shortened(smiles.strip(), 1000) or "(empty)"
    string_lines = _lines(shown, int((width - 16) / 6.6), 3)
    reason_top = 44 + len(string_lines) * 14 + 8
    bottom = height - (LEGEND_HEIGHT if legend else 0) - 8
    reason_lines = _lines(reason, int((width - 16) / 5.9), 1 + int((bottom - reason_top) / 12.5))
    frame = (
        f"<rect x='1' y='1' width='{width - 2}' height='{height - 2}' rx='6' "
        f"fill='{INVALID_FILL}' stroke='{INVALID_STROKE}' stroke-width='1.5'/>"
    )
    heading = _text_block(
        ["Not a molecule"], width / 2, 22, 13, f"{FONT} font-weight='bold' fill='{INVALID_INK}'"
    )
    string = _text_block(string_lines, width / 2, 44, 11, f"{MONOSPACE} fill='#333333'")
    why = _text_block(reason_lines, width / 2, reason_top, 10, f"{FONT} fill='{INVALID_INK}'")
    return _document(
        width,
        height,
        frame + heading + string + why + _legend(legend, width, height),
        title=f"Invalid SMILES {_shortened(smiles.strip(), 200)}: {reason}",
    )


def _cell(smiles: str, width: int, height: int, legend: str, highlight: Sequence[int] = ()) -> str:
    mol = parse_smiles(smiles)
    if mol is not None:
        return _valid_cell(mol, width, height, legend, highlight)
    reason = smiles_problem(smiles) or "RDKit cannot read it"
    return _placeholder(smiles, reason, width, height, legend)


def molecule_svg(smiles: str, size: tuple[int, int] = (250, 200), legend: str = "") -> str:
    """An SVG drawing of the molecule, or for an invalid SMILES a placeholder saying why.

    The legend is written under the drawing. Every string is escaped, so untrusted
    samples are safe to embed in a page.
    """
    width, height = size
    return _cell(smiles, width, height, legend)


# ---------------------------------------------------------------- a grid


def grid_svg(
    smiles_list: Sequence[str],
    legends: Sequence[str] | None = None,
    columns: int = 4,
    cell: tuple[int, int] = (220, 180),
    max_molecules: int = 48,
    highlights: Sequence[Sequence[int]] | None = None,
) -> str:
    """One SVG with a cell per SMILES (the first ``max_molecules``), row by row.

    Invalid ones are shown as placeholders with their reason; ``legends`` (e.g. each
    sample's log-likelihood) go under the cells, and ``highlights`` (atom indices in RDKit's
    reading of each SMILES, e.g. a scaffold) are shaded. No SMILES gives "no molecules".
    """
    if legends is not None and len(legends) != len(smiles_list):
        raise ValueError("give one legend per SMILES")
    if highlights is not None and len(highlights) != len(smiles_list):
        raise ValueError("give one list of atoms to highlight per SMILES")
    if columns < 1 or max_molecules < 1:
        raise ValueError("columns and max_molecules must be at least 1")
    width, height = cell
    shown = list(smiles_list[:max_molecules])
    if not shown:
        message = _text_block(["no molecules"], width / 2, 34, 13, f"{FONT} fill='#777777'")
        return _document(width, 56, message)
    columns = min(columns, len(shown))
    rows = math.ceil(len(shown) / columns)
    more = len(smiles_list) - len(shown)
    footer = 24 if more else 0
    total_width, total_height = columns * width, rows * height + footer
    cells = []
    for index, smiles in enumerate(shown):
        row, column = divmod(index, columns)
        legend = str(legends[index]) if legends else ""
        svg = _cell(smiles, width, height, legend, highlights[index] if highlights else ())
        position = f"<svg x='{column * width}' y='{row * height}' "
        cells.append(svg.replace("<svg ", position, 1))
    if more:
        note = f"showing {len(shown)} of {len(smiles_list)} molecules"
        cells.append(
            _text_block([note], total_width / 2, total_height - 8, 11, f"{FONT} fill='#777777'")
        )
    background = f"<rect width='{total_width}' height='{total_height}' fill='#ffffff'/>"
    return _document(total_width, total_height, background + "".join(cells))


# ---------------------------------------------------------------- a card


def _properties(mol: Chem.Mol) -> dict[str, float | int]:
    return {
        "molecular_weight": round(Descriptors.MolWt(mol), 2),
        "logp": round(Crippen.MolLogP(mol), 2) + 0.0,  # + 0.0: no "-0.0"
        "tpsa": round(rdMolDescriptors.CalcTPSA(mol), 2),
        "hbond_donors": Lipinski.NumHDonors(mol),
        "hbond_acceptors": Lipinski.NumHAcceptors(mol),
        "rings": rdMolDescriptors.CalcNumRings(mol),
        "heavy_atoms": mol.GetNumHeavyAtoms(),
    }


def molecule_card(smiles: str, size: tuple[int, int] = (250, 200)) -> dict:
    """What a page shows about one SMILES: its drawing, canonical form, formula, properties.

    Keys: smiles, valid, problem (None when valid), canonical, formula, svg and
    properties (molecular_weight, logp, tpsa, hbond_donors, hbond_acceptors, rings,
    heavy_atoms); canonical and formula are None and properties empty when invalid.
    """
    mol = parse_smiles(smiles)
    if mol is None:
        return {
            "smiles": smiles,
            "valid": False,
            "problem": smiles_problem(smiles) or "RDKit cannot read it",
            "canonical": None,
            "formula": None,
            "svg": molecule_svg(smiles, size),
            "properties": {},
        }
    return {
        "smiles": smiles,
        "valid": True,
        "problem": None,
        "canonical": Chem.MolToSmiles(mol),
        "formula": rdMolDescriptors.CalcMolFormula(mol),
        "svg": _valid_cell(mol, *size, ""),
        "properties": _properties(mol),
    }
