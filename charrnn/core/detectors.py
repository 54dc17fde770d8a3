"""Detectors: simple facts about each character of a text, SMILES or SELFIES (inside quotes,
line position, open brackets and rings, branch symbols ...), to compare the network's hidden
units with.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from selfies.grammar_rules import get_index_from_selfies

from charrnn.core.tokens import tokenize


@dataclass(frozen=True, eq=False)
class Detector:
    name: str
    description: str  # in plain language, for the page
    values: np.ndarray  # one value per character of the text, true after reading it


TEXT_DETECTORS = {
    "inside_double_quotes": 'Inside "double quotes", the quote marks included.',
    "inside_single_quotes": "Inside 'single quotes' (an apostrophe as in don't does not count).",
    "line_position": "Characters since the last line break (1 for a line's first character).",
    "word_start": "The first letter or digit of a word.",
    "inside_word": "Any letter or digit of a word.",
    "whitespace": "A space, tab or line break.",
    "digit": "A digit, 0 to 9.",
    "upper_case": "An upper-case letter.",
}
SMILES_DETECTORS = {
    "in_bracket_atom": "Inside a bracket atom such as [nH+] or [C@@H], brackets included.",
    "branch_depth": "How many branches are open: one more after '(', one fewer after ')'.",
    "open_rings": "How many rings are open: a ring digit (1, 2 ... or %10) opens a ring and "
    "the same digit again closes it.",
    "in_ring_span": "Between a ring digit and its partner, both included (a ring being written).",
    "aromatic_atom": "An aromatic atom, written in lower case: c, n, o, s, or [nH] in brackets.",
}

SELFIES_DETECTORS = {
    "atom_symbol": "A symbol that writes an atom, such as [C], [=O] or [NH1].",
    "branch_symbol": "A branch symbol such as [Branch1]: a side chain starts, and the next "
    "symbol (or two, or three) says how long it is.",
    "ring_symbol": "A ring symbol such as [Ring1]: a bond back to an earlier atom, and the next "
    "symbol (or two, or three) says how far back.",
    "number_symbol": "A symbol read as a number (a branch's length or a ring's distance) "
    "right after a branch or ring symbol, not as an atom.",
    "branch_depth": "How many side chains are open: a branch symbol opens one for as many "
    "symbols as its number says.",
    "double_bond": "A symbol that starts with '=': a double bond to what it writes.",
}


def detectors(text: str, kind: str) -> list[Detector]:
    """Per-character signals of ``text``; kind "text" (prose), "smiles" or "selfies"
    (molecules)."""
    if kind == "text":
        rows, descriptions = [_text_facts(text, i) for i in range(len(text))], TEXT_DETECTORS
    elif kind == "smiles":
        rows, descriptions = _smiles_facts(text), SMILES_DETECTORS
    elif kind == "selfies":
        rows, descriptions = _selfies_facts(text), SELFIES_DETECTORS
    else:
        raise ValueError(f"kind must be 'text', 'smiles' or 'selfies', not {kind!r}")
    table = np.array(rows, dtype=np.float64).reshape(len(text), len(descriptions))
    if kind == "text":
        _quote_spans(text, table)
    return [
        Detector(name, description, table[:, column])
        for column, (name, description) in enumerate(descriptions.items())
    ]


def _text_facts(text: str, i: int) -> tuple:
    """The simple detectors of character ``i`` (quotes are filled in by `_quote_spans`)."""
    char, before = text[i], text[i - 1] if i else " "
    line_start = text.rfind("\n", 0, i + 1)
    return (
        0,
        0,
        i - line_start if char != "\n" else 0,
        char.isalnum() and not before.isalnum(),
        char.isalnum(),
        char.isspace(),
        char.isdigit(),
        char.isupper(),
    )


def _quote_spans(text: str, table: np.ndarray) -> None:
    """Mark quotations in the first two columns; a single quote between letters is an
    apostrophe, and a single-quoted span ends with its line."""
    inside = {'"': False, "'": False}
    for i, char in enumerate(text):
        before, after = text[i - 1 : i] or " ", text[i + 1 : i + 2] or " "
        if char == "\n":
            inside["'"] = False
        is_mark = char == '"' or (
            char == "'" and not (before.isalnum() if not inside["'"] else after.isalnum())
        )
        if is_mark:
            inside[char] = not inside[char]
        table[i, 0] = inside['"'] or (is_mark and char == '"')
        table[i, 1] = inside["'"] or (is_mark and char == "'")


def _smiles_facts(text: str) -> list[tuple]:
    """Per character: in bracket atom, branch depth, open rings, in ring span, aromatic."""
    rows, depth, rings, bracket_end, bracket_aromatic = [], 0, set(), -1, False
    for i, char in enumerate(text):
        if i > bracket_end and char == "[":
            end = text.find("]", i)
            bracket_end = end if end >= 0 else len(text) - 1
            bracket_aromatic = text[i + 1 : bracket_end + 1].lstrip("0123456789")[:1].islower()
        if i <= bracket_end:
            rows.append((1, depth, len(rings), bool(rings), bracket_aromatic))
            continue
        label = _ring_label(text, i)
        closing = label in rings
        if label is not None:
            rings.symmetric_difference_update({label})
        depth = max(depth + (char == "(") - (char == ")"), 0)
        rows.append((0, depth, len(rings), bool(rings) or closing, char in "bcnops"))
    return rows


def _ring_label(text: str, i: int) -> str | None:
    """The ring-closure label that ends at character ``i`` ("1" or "%12"), else None."""
    if not text[i].isdigit() or text[i - 1 : i] == "%":
        return None
    if i >= 2 and text[i - 2] == "%" and text[i - 1].isdigit():
        return text[i - 2 : i + 1]
    return text[i]


def _selfies_facts(text: str) -> list[tuple]:
    """Per character, the facts of the SELFIES symbol it belongs to: atom, branch, ring,
    number, open branches, double bond (characters outside a symbol: zeros).

    The symbols are read by SELFIES's grammar without its bond counting: a branch or ring
    symbol [XBranchN] / [XRingN] is followed by N symbols read as a number, and a branch
    spans that number plus one symbols (those of a branch inside it included). Every string
    the SELFIES encoder writes is read exactly so; where a model writes a branch the bonds
    leave no room for (SELFIES skips it), the depth shown is what the symbols say.
    """
    rows = [(0, 0, 0, 0, 0, 0)] * len(text)
    for symbols in _selfies_lines(text):
        open_branches: list[int] = []  # symbols left in each open branch, outermost first
        at = 0
        while at < len(symbols):
            name = symbols[at][1]
            kind = "ring" if "Ring" in name else "branch" if "Branch" in name else "atom"
            numbers = symbols[at + 1 : at + 1 + _digits(name)] if kind != "atom" else []
            depth = len(open_branches)
            facts = (kind == "atom", kind == "branch", kind == "ring", 0, depth, "[=" in name)
            _mark(rows, symbols[at], facts)
            for number in numbers:
                _mark(rows, number, (0, 0, 0, 1, depth, 0))
            read = 1 + len(numbers)
            open_branches = [left - read for left in open_branches if left - read > 0]
            if kind == "branch" and numbers:
                open_branches.append(get_index_from_selfies(*(n for _, n in numbers)) + 1)
            at += read
    return rows


def _selfies_lines(text: str) -> list[list[tuple[int, str]]]:
    """Each line's SELFIES symbols (a line is a molecule of its own), as (offset in
    ``text``, symbol), cut by the tokenizer a SELFIES model reads with."""
    lines: list[list[tuple[int, str]]] = [[]]
    offset = 0
    for token in tokenize(text, "selfies"):
        if "\n" in token:
            lines.append([])
        elif token.startswith("[") and token.endswith("]"):
            lines[-1].append((offset, token))
        offset += len(token)
    return lines


def _digits(name: str) -> int:
    """How many symbols a [..Branch2] or [..Ring3] symbol reads as its number (1 to 3)."""
    last = name[-2:-1]
    return int(last) if last in ("1", "2", "3") else 1


def _mark(rows: list[tuple], symbol: tuple[int, str], facts: tuple) -> None:
    start, name = symbol
    for i in range(start, start + len(name)):
        rows[i] = tuple(int(value) for value in facts)
