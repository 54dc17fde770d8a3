"""Why RDKit cannot read a SMILES, in plain English: syntax first (brackets, rings,
atom symbols), then chemistry (too many bonds, aromatic rings that cannot be drawn)."""

import re

from rdkit import Chem, rdBase

from charrnn.core.tokens import tokenize
from charrnn.limits import MAX_SMILES_LENGTH

_PERIODIC_TABLE = Chem.GetPeriodicTable()
_ELEMENTS = frozenset(_PERIODIC_TABLE.GetElementSymbol(z) for z in range(1, 119))
# Atoms written without brackets (the "organic subset"; Cl and Br are handled apart).
_ORGANIC = frozenset("BCNOPSFIbcnops*")
_BONDS = frozenset("-=#$:/\\")
_WHITESPACE = re.compile(r"\s")
# What may follow the element inside brackets: chirality, hydrogens, charge, atom map.
_BRACKET_TAIL = re.compile(r"(@[@A-Z0-9]*)?(H\d*)?([+-]+\d*)?(:\d+)?")


def invalid_smiles_reason(smiles: str) -> str:
    """Why RDKit cannot read this SMILES; call it only for one that does not parse.

    A string RDKit reads after all gets the vague "RDKit rejected it". The cost is linear in
    the string's length: one longer than limits.MAX_SMILES_LENGTH is never parsed, and
    RDKit's error text (which grows with the square of the length) is asked for only when
    our own scan names nothing.
    """
    text = smiles.strip()
    if not text:
        return "empty line"
    if len(text) > MAX_SMILES_LENGTH:
        return (
            f"too long: {len(text):,} characters (this app reads molecules of at most "
            f"{MAX_SMILES_LENGTH:,})"
        )
    space = _WHITESPACE.search(text)
    if space is not None:
        return (
            f"contains a space or tab (position {space.start() + 1}); "
            "a SMILES is written without spaces"
        )
    with rdBase.BlockLogs():
        mol = Chem.MolFromSmiles(text, sanitize=False)
        problems = Chem.DetectChemistryProblems(mol) if mol is not None else ()
    if mol is None:
        syntax = _syntax_problem(text)
        if syntax:
            return syntax
        with rdBase.BlockLogs(), rdBase.CaptureErrorLog() as capture:
            Chem.MolFromSmiles(text, sanitize=False)
        return _parse_error_reason(capture.messages)
    if problems:
        return _chemistry_reason(mol, problems[0])
    return _sanitize_reason(mol)


def dead_end_reason(start: str) -> str | None:
    """Why no ending can turn ``start`` (the beginning of a SMILES) into one RDKit reads, as
    far as its writing shows (brackets, branches, atom symbols); None when some ending might.

    Branches and rings still open, and a bond or '(' at the very end, are fine in a start:
    what follows may close or finish them. An atom that already has more bonds than it can
    make is a dead end too (counting the bonds an open ring, branch or bond will add); atoms
    of aromatic rings are not judged before their ring is written.
    """
    text = start.strip()
    if not text or len(text) > MAX_SMILES_LENGTH:
        return None
    space = _WHITESPACE.search(text)
    if space is not None:
        return f"a space or tab (position {space.start() + 1}): a SMILES has none"
    return _syntax_problem(text, finished=False) or _too_many_bonds(text)


_PLACEHOLDER = "[99*]"  # an atom standing for what an open ring, branch or bond will join


def _too_many_bonds(start: str) -> str | None:
    """The first non-aromatic atom of a well-written start with more bonds than it can make.

    The start is finished with placeholder atoms that have no bond limit: an open ring label
    becomes a branch to one (with the ring's bond), a last bond or '(' gets one, and open
    branches are closed; RDKit then counts each atom's bonds.
    """
    if re.search(r"%\d?$", start):
        return None  # a two-digit ring label still being written
    pieces, branches, opened = [], 0, {}  # opened: ring label -> (its piece, its bond)
    for token in tokenize(start, "smiles"):
        if token[0].isdigit() or token[0] == "%":  # a ring label, maybe after its bond
            bond = pieces[-1] if pieces and pieces[-1] in _BONDS else ""
            if token in opened:
                del opened[token]
            else:
                opened[token] = (len(pieces), bond)
        branches += (token == "(") - (token == ")")
        pieces.append(token)
    for at, bond in opened.values():  # an open ring: a bond to a placeholder, for now
        if bond:
            pieces[at - 1] = ""  # the ring's bond goes with it into the branch
        pieces[at] = f"({bond}{_PLACEHOLDER})"
    if pieces and (pieces[-1] == "(" or pieces[-1] in _BONDS):
        pieces.append(_PLACEHOLDER)
    finished = "".join(pieces).removesuffix(".") + ")" * max(branches, 0)
    with rdBase.BlockLogs():
        mol = Chem.MolFromSmiles(finished, sanitize=False)
        problems = Chem.DetectChemistryProblems(mol) if mol is not None else ()
    for problem in problems:
        if problem.GetType() != "AtomValenceException":
            continue
        atom = mol.GetAtomWithIdx(problem.GetAtomIdx())
        if atom.GetIsAromatic() or any(b.GetIsAromatic() for b in atom.GetBonds()):
            continue  # its ring is not written yet: its bonds are not known
        placeholders = sum(
            other.GetIsotope() == 99 and other.GetAtomicNum() == 0
            for other in mol.GetAtoms()
            if other.GetIdx() < atom.GetIdx()
        )
        reason = _valence_reason(mol, atom.GetIdx(), problem.Message())
        number = atom.GetIdx() - placeholders + 1  # the atom's place in the start itself
        return re.sub(r"^atom \d+", f"atom {number}", reason)
    return None


def _syntax_problem(text: str, finished: bool = True) -> str | None:
    """Scan the string left to right for the first mistake we can name, else None.

    ``finished=False``: the string is only the start of a SMILES (see dead_end_reason)."""
    branches: list[int] = []  # positions of '(' not yet closed
    rings: dict[str, int] = {}  # ring label -> position where it was opened
    i = 0
    while i < len(text):
        char, position, following = text[i], i + 1, text[i + 1 : i + 2]
        if i == 0 and (char in "()%." or char.isdigit() or char in _BONDS):
            return f"starts with '{char}', but a SMILES must start with an atom"
        if char == "[":
            end = text.find("]", i + 1)
            if end < 0 or "[" in text[i + 1 : end]:
                return f"a '[' has no matching ']' (position {position})"
            problem = _bracket_problem(text[i + 1 : end], position)
            if problem:
                return problem
            i = end + 1
            continue
        if char == "]":
            return f"a ']' has no matching '[' (position {position})"
        if char == "(":
            if following == ")":
                return f"an empty branch '()' (position {position})"
            if following and not _starts_atom_or_bond(following):
                return (
                    f"a '(' is followed by '{following}' where an atom or bond "
                    f"should be (position {position})"
                )
            branches.append(position)
        elif char == ")":
            if not branches:
                return f"a ')' has no matching '(' (position {position})"
            branches.pop()
        elif char.isdigit() or char == "%":
            label = text[i : i + 3] if char == "%" else char
            if char == "%" and following == "(":
                return None  # the rare %(123) form: let RDKit explain
            if not finished and i + 3 > len(text) and re.fullmatch(r"%\d?", label):
                break  # a two-digit ring label still being written
            if char == "%" and not re.fullmatch(r"%\d\d", label):
                return f"a '%' must be followed by two digits (position {position})"
            if label in rings:
                del rings[label]
            else:
                rings[label] = position
            i += len(label)
            continue
        elif char in _BONDS or char == ".":
            if (following or finished) and (
                following in ("", "(", ")", ".") or following in _BONDS
            ):
                what = "the '.'" if char == "." else f"the bond '{char}'"
                return f"{what} is not followed by an atom (position {position})"
        elif char.isalpha() or char == "*":
            if text[i : i + 2] in ("Cl", "Br"):
                i += 2
                continue
            if char not in _ORGANIC:
                return _atom_symbol_problem(text, i)
        else:
            hint = " (charges go inside square brackets, like [N+])" if char == "+" else ""
            return f"unexpected character '{char}' (position {position}){hint}"
        i += 1
    if not finished:
        return None
    unclosed = [(p, f"a '(' has no matching ')' (position {p})") for p in branches]
    unclosed += [
        (
            p,
            f"a ring is opened with {_ring_name(label)} but never closed (position {p})",
        )
        for label, p in rings.items()
    ]
    return min(unclosed)[1] if unclosed else None


def _starts_atom_or_bond(char: str) -> bool:
    return char.isalpha() or char in "[*" or char in _BONDS


def _ring_name(label: str) -> str:
    return f"digit {label}" if len(label) == 1 else f"'{label}'"


def _atom_symbol_problem(text: str, i: int) -> str:
    """Reason for a letter outside brackets that is not an organic-subset atom."""
    char, pair = text[i], text[i : i + 2]
    previous = text[i - 1 : i + 1] if i > 0 else ""
    for symbol, start in ((previous, i - 1), (pair, i), (char, i)):
        if symbol[:1].isupper() and symbol in _ELEMENTS:
            return (
                f"the element '{symbol}' must be written in square brackets, "
                f"like [{symbol}] (position {start + 1})"
            )
    symbol = pair if char.isupper() and pair[1:].islower() else char
    return f"unknown atom symbol '{symbol}' (position {i + 1})"


def _bracket_problem(inside: str, position: int) -> str | None:
    """Reason for a badly written atom inside '[...]' at `position`, else None."""
    isotope = re.match(r"\d*", inside).group()
    rest = inside[len(isotope) :]
    if not rest[:1].isalpha() and rest[:1] != "*":
        return f"the square brackets '[{inside}]' hold no atom symbol (position {position})"
    pair = rest[:2] if rest[1:2].islower() else ""
    if pair.capitalize() in _ELEMENTS:
        symbol = pair
    elif rest[0].upper() in _ELEMENTS or rest[0] == "*":
        symbol = rest[0]
    else:
        where = position + 1 + len(isotope)
        return f"unknown atom symbol '{pair or rest[0]}' (position {where})"
    if not _BRACKET_TAIL.fullmatch(rest[len(symbol) :]):
        return (
            f"'[{inside}]' is not one atom written as [symbol, H count, charge], "
            f"like [NH4+] (position {position})"
        )
    return None


def _parse_error_reason(log: str) -> str:
    """Plain words for RDKit's parse error when our own scan found nothing."""
    lines = [re.sub(r"^\[[\d:]+\]\s*", "", line) for line in log.splitlines()]
    lines = [line.removeprefix("SMILES Parse Error: ") for line in lines]
    message = next((line for line in lines if line), "unknown error")
    if match := re.search(r"duplicated ring closure (\S+) bonds atom", message):
        return f"ring {_ring_name(match[1])} is opened and closed on the same atom"
    if match := re.search(r"ring closure (\S+) duplicates bond", message):
        return f"ring {_ring_name(match[1])} joins two atoms that are already bonded"
    if "unclosed ring" in message:
        return "a ring is opened but never closed"
    message = re.split(r" (?:while parsing|for input):", message)[0]
    if where := re.search(r"around position (\d+)", log):
        message += f" around position {where[1]}"
    return f"RDKit could not read it: {message}"


def _chemistry_reason(mol: Chem.Mol, problem: Chem.MolSanitizeException) -> str:
    """Plain words for a sanitisation problem found by DetectChemistryProblems."""
    kind, message = problem.GetType(), problem.Message()
    if kind == "AtomValenceException":
        return _valence_reason(mol, problem.GetAtomIdx(), message)
    if kind == "KekulizeException":
        indices = list(problem.GetAtomIndices())
        atoms = ", ".join(str(index + 1) for index in indices)
        reason = (
            f"atoms {atoms} form an aromatic ring that cannot be drawn "
            "with alternating double bonds"
        )
        atoms_in_ring = [mol.GetAtomWithIdx(index) for index in indices]
        if any(a.GetSymbol() == "N" and not a.GetNumExplicitHs() for a in atoms_in_ring):
            reason += " (an aromatic 'n' may need a hydrogen: [nH])"
        return reason
    if kind == "AtomKekulizeException" and "non-ring atom" in message:
        atom = mol.GetAtomWithIdx(problem.GetAtomIdx())
        return (
            f"atom {atom.GetIdx() + 1} ({atom.GetSymbol().lower()}) is written "
            "lowercase (aromatic) but is not in a ring"
        )
    return f"RDKit rejected it: {message}"


def _sanitize_reason(mol: Chem.Mol) -> str:
    """Fallback when parsing works but sanitising fails for a reason not detected above."""
    try:
        with rdBase.BlockLogs():
            Chem.SanitizeMol(Chem.Mol(mol))
    except (RuntimeError, ValueError) as error:  # sanitize errors are ValueErrors
        if atom := re.search(r"valence for atom # (\d+)", str(error)):
            return _valence_reason(mol, int(atom[1]), str(error))
        return f"RDKit rejected it: {error}"
    return "RDKit rejected it"


def _valence_reason(mol: Chem.Mol, index: int, message: str) -> str:
    atom = mol.GetAtomWithIdx(index)
    name = f"atom {index + 1} ({_atom_label(atom)})"
    valence = re.search(r", (\d+), is greater", message)
    if valence is None:
        return f"{name} has too many bonds ({message})"
    reason = f"{name} has too many bonds: valence {valence[1]}"
    most = _max_valence(atom)
    return reason if most is None else f"{reason}, at most {most}"


def _atom_label(atom: Chem.Atom) -> str:
    charge = atom.GetFormalCharge()
    if charge == 0:
        return atom.GetSymbol()
    sign = "+" if charge > 0 else "-"
    return f"{atom.GetSymbol()}{sign}{abs(charge) if abs(charge) > 1 else ''}"


def _max_valence(atom: Chem.Atom) -> int | None:
    """Largest valence RDKit allows: that of the element with the same electron count."""
    effective = atom.GetAtomicNum() - atom.GetFormalCharge()
    if not 1 <= effective <= 118:
        return None
    allowed = [v for v in _PERIODIC_TABLE.GetValenceList(effective) if v >= 0]
    return max(allowed) if allowed else None
