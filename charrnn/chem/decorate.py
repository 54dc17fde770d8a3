"""Scaffold decoration: a model fills each attachment point (*) of a scaffold, one after
another, by carrying on from a spelling of the molecule that ends at that point.

A SMILES whose last atom is a dummy bonded to the attachment atom, with the dummy cut off,
is a prompt after which whatever the model writes hangs on that atom. Of a few such
spellings, the one the model finds likeliest is used (a model trained on canonical SMILES
reads some spellings badly; one trained on randomised SMILES reads them all). The groups
written replace the dummies in the molecule graph, so the scaffold's atoms keep their
places, and each result is checked: readable, one molecule, scaffold still there.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace

import torch
from rdkit import Chem, rdBase

from charrnn.chem.syntax import invalid_smiles_reason
from charrnn.core.model import CharRNN
from charrnn.core.reinforce import sequence_log_likelihoods
from charrnn.core.sample import SampleConfig, sample_each
from charrnn.core.tokens import BOS_ID, UnknownCharacterError, Vocabulary
from charrnn.errors import UserError

MAX_SCAFFOLD_LENGTH = 200  # characters, checked before RDKit reads the scaffold
MAX_ATTACHMENT_POINTS = 4
MAX_TRIES = 5000  # decorations in one request (the web page may allow fewer)
SPELLINGS = 6  # spellings ending at the first point that the model is asked to compare
LATER_SPELLINGS = 1  # at the next points, for each partly decorated molecule: comparing
# three instead changed the valid share by under 3 points and took twice as long
RANDOM_SPELLINGS, RANDOM_ROUNDS = 20, 5  # random spellings written to find them
SCORING_BATCH = 512  # spellings scored in one pass
EXAMPLE = "c1ccc(*)cc1"


class ScaffoldError(UserError, ValueError):
    """A scaffold that cannot be decorated; the message says why and what to do."""


@dataclass(frozen=True)
class Decoration:
    """One decorated molecule (tries that gave the same molecule are merged)."""

    smiles: str  # canonical SMILES when valid; what was written when not
    valid: bool
    reason: str  # why it is not a decoration of the scaffold ("" when valid)
    fills: tuple[str, ...]  # what the model wrote at each attachment point, in order
    scaffold_atoms: tuple[int, ...]  # atoms of ``smiles`` (RDKit's order) from the scaffold
    count: int  # tries that gave it
    log_likelihood: float  # of what the model wrote (the first such try)


@dataclass(frozen=True)
class Decorations:
    """What decorating a scaffold came to: every try, duplicates merged, valid ones first."""

    scaffold: str  # the scaffold, canonical
    points: int  # attachment points
    tries: int
    prompt: str  # the spelling the model carried on from at the first point
    found: tuple[Decoration, ...]

    @property
    def valid_tries(self) -> int:
        return sum(item.count for item in self.found if item.valid)

    @property
    def unique_valid(self) -> int:
        return sum(item.valid for item in self.found)

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> Decorations:
        found = tuple(
            Decoration(
                **{
                    **item,
                    "fills": tuple(item["fills"]),
                    "scaffold_atoms": tuple(item["scaffold_atoms"]),
                }
            )
            for item in data["found"]
        )
        return cls(**{**data, "found": found})


# ---------------------------------------------------------------- the scaffold


def read_scaffold(text: str) -> Chem.Mol:
    """The scaffold as an RDKit molecule whose dummy atoms (*) are the attachment points;
    ScaffoldError when it is empty, too long, unreadable, or has no usable point."""
    scaffold = text.strip()
    if not scaffold:
        raise ScaffoldError(f"Type a scaffold: a SMILES with * where groups go, like {EXAMPLE}.")
    if len(scaffold) > MAX_SCAFFOLD_LENGTH:
        raise ScaffoldError(
            f"The scaffold is {len(scaffold):,} characters long; this app decorates scaffolds "
            f"of at most {MAX_SCAFFOLD_LENGTH} characters."
        )
    with rdBase.BlockLogs():
        mol = Chem.MolFromSmiles(scaffold)
    if mol is None:
        reason = invalid_smiles_reason(scaffold)
        raise ScaffoldError(f"RDKit cannot read the scaffold: {reason}.")
    points = attachment_points(mol)
    if not points:
        raise ScaffoldError(
            f"The scaffold has no attachment point: put * where the model should add a group, "
            f"like {EXAMPLE}."
        )
    if len(points) > MAX_ATTACHMENT_POINTS:
        raise ScaffoldError(
            f"The scaffold has {len(points)} attachment points; this app fills at most "
            f"{MAX_ATTACHMENT_POINTS}."
        )
    if len(Chem.GetMolFrags(mol)) > 1:
        raise ScaffoldError("The scaffold is in pieces ('.'): give one connected molecule.")
    if mol.GetNumAtoms() == len(points):
        raise ScaffoldError(f"The scaffold has no atoms besides its * marks, like {EXAMPLE}.")
    for index in points:
        neighbours = mol.GetAtomWithIdx(index).GetNeighbors()
        if len(neighbours) != 1 or neighbours[0].GetAtomicNum() == 0:
            raise ScaffoldError(
                "Each * must hang on exactly one atom of the scaffold, as in " + EXAMPLE + "."
            )
    for index in points:  # [1*], [*:1] and the like are plain attachment points here
        atom = mol.GetAtomWithIdx(index)
        atom.SetIsotope(0)
        atom.SetAtomMapNum(0)
        atom.SetFormalCharge(0)
        atom.SetNumExplicitHs(0)
        atom.SetNoImplicit(True)
    return mol


def attachment_points(mol: Chem.Mol) -> list[int]:
    """Indices of the dummy atoms (*) of ``mol``."""
    return [atom.GetIdx() for atom in mol.GetAtoms() if atom.GetAtomicNum() == 0]


def scaffold_query(scaffold: Chem.Mol) -> Chem.Mol:
    """A substructure query: the scaffold, each * any atom (so each point is filled)."""
    parameters = Chem.AdjustQueryParameters.NoAdjustments()
    parameters.makeDummiesQueries = True
    return Chem.AdjustQueryProperties(scaffold, parameters)


# ---------------------------------------------------------------- spellings ending at a point


def spellings(mol: Chem.Mol, point: int, count: int = SPELLINGS) -> list[tuple[str, int]]:
    """Up to ``count`` prompts that end where the dummy ``point`` was, each with the position
    (in the prompt's atom order) of the atom the next group hangs on: spellings of ``mol``
    without its other dummies whose last atom is ``point``, that dummy cut off. Spellings
    rooted at each atom in RDKit's canonical way come first, then random ones (seeded), and
    awkward ones (see _reads_awkwardly) last.

    The atoms the other dummies hang on get no hydrogen in their place, so that they are
    written as in the scaffold (S(=O)(=O), [N+]), not as [SH](=O)(=O) or [NH+]."""
    others = [index for index in attachment_points(mol) if index != point]
    written = Chem.RWMol(mol)
    for index in others:
        for anchor in written.GetAtomWithIdx(index).GetNeighbors():
            anchor.SetNoImplicit(True)
    for index in sorted(others, reverse=True):
        written.RemoveAtom(index)
    written.UpdatePropertyCache(strict=False)
    found: dict[str, int] = {}
    awkward: dict[str, int] = {}  # kept in case there is nothing else
    for text in _spelled(written):
        # next to a metal RDKit brackets the dummy (and the metal's neighbours): [CH3][Cu][*]
        prompt = text.removesuffix("[*]") if text.endswith("[*]") else text.removesuffix("*")
        if prompt == text or prompt in found or prompt in awkward:
            continue
        with rdBase.BlockLogs():
            parsed = Chem.MolFromSmiles(text, sanitize=False)
        if parsed is None:
            continue
        dummy = parsed.GetAtomWithIdx(parsed.GetNumAtoms() - 1)
        (awkward if _reads_awkwardly(prompt) else found)[prompt] = dummy.GetNeighbors()[0].GetIdx()
        if len(found) == count:
            break
    return (list(found.items()) + list(awkward.items()))[:count]


def _spelled(mol: Chem.Mol) -> Iterator[str]:
    with rdBase.BlockLogs():
        for root in range(mol.GetNumAtoms()):
            yield Chem.MolToSmiles(mol, rootedAtAtom=root)
        for seed in range(RANDOM_ROUNDS):
            yield from Chem.MolToRandomSmilesVect(mol, RANDOM_SPELLINGS, randomSeed=seed)


def _reads_awkwardly(prompt: str) -> bool:
    """A prompt ending in a branch that closes a ring, like c1ccc(cc1): models trained on
    canonical SMILES rarely saw one and often close that ring again (a decoration of an
    indole so spelled was valid 1 time in 3)."""
    return len(prompt) > 1 and prompt[-1] == ")" and prompt[-2].isdigit()


@torch.inference_mode()
def _log_likelihoods(model: CharRNN, sequences: list[list[int]]) -> list[float]:
    scores: list[float] = []
    for start in range(0, len(sequences), SCORING_BATCH):
        batch = sequences[start : start + SCORING_BATCH]
        scores += sequence_log_likelihoods(model, batch).tolist()
    return scores


def _likeliest(
    model: CharRNN, vocabulary: Vocabulary, options: list[list[tuple[str, int]]]
) -> list[tuple[str, int] | None]:
    """For each list of spellings, the one ``model`` finds likeliest (None: it can write none)."""
    readable: list[tuple[int, int, list[int]]] = []  # (list, spelling, token ids)
    for number, spelled in enumerate(options):
        for choice, (prompt, _) in enumerate(spelled):
            try:
                readable.append((number, choice, [BOS_ID, *vocabulary.encode(prompt)]))
            except UnknownCharacterError:
                continue
    if all(len(spelled) <= 1 for spelled in options):
        scores = [0.0] * len(readable)  # nothing to compare
    else:
        scores = _log_likelihoods(model, [ids for _, _, ids in readable])
    best: dict[int, tuple[bool, float, int]] = {}
    for (number, choice, _), score in zip(readable, scores, strict=True):
        rank = (not _reads_awkwardly(options[number][choice][0]), score, choice)
        if number not in best or rank[:2] > best[number][:2]:
            best[number] = rank
    return [options[n][best[n][2]] if n in best else None for n in range(len(options))]


# ---------------------------------------------------------------- putting a group in


def _copy_atom(target: Chem.Atom, source: Chem.Atom) -> None:
    target.SetAtomicNum(source.GetAtomicNum())
    target.SetFormalCharge(source.GetFormalCharge())
    target.SetIsAromatic(source.GetIsAromatic())
    target.SetNumExplicitHs(source.GetNumExplicitHs())
    target.SetNoImplicit(source.GetNoImplicit())
    target.SetChiralTag(source.GetChiralTag())
    target.SetIsotope(source.GetIsotope())


def _attach(mol: Chem.Mol, point: int, written: Chem.Mol, prompt_atoms: int, attached: int):
    """``mol`` with the dummy ``point`` replaced by the group that ``written`` (the prompt and
    what the model wrote, read without sanitising) has after the prompt's ``prompt_atoms``
    atoms, or None when the group bonds to the prompt anywhere but at ``attached``. The
    group's first atom takes the dummy's place, so every other atom keeps its index."""
    result = Chem.RWMol(mol)
    anchor = mol.GetAtomWithIdx(point).GetNeighbors()[0].GetIdx()
    where = {attached: anchor, prompt_atoms: point}
    _copy_atom(result.GetAtomWithIdx(point), written.GetAtomWithIdx(prompt_atoms))
    for position in range(prompt_atoms + 1, written.GetNumAtoms()):
        atom = Chem.Atom(0)
        _copy_atom(atom, written.GetAtomWithIdx(position))
        where[position] = result.AddAtom(atom)
    for bond in written.GetBonds():
        begin, end = bond.GetBeginAtomIdx(), bond.GetEndAtomIdx()
        if begin < prompt_atoms and end < prompt_atoms:
            continue  # the scaffold's own bonds are already there
        if begin not in where or end not in where:
            return None
        start, stop = where[begin], where[end]
        existing = result.GetBondBetweenAtoms(start, stop)
        if existing is None:
            result.AddBond(start, stop, bond.GetBondType())
            existing = result.GetBondBetweenAtoms(start, stop)
        existing.SetBondType(bond.GetBondType())
        existing.SetIsAromatic(bond.GetIsAromatic())
        existing.SetBondDir(bond.GetBondDir())
    return result.GetMol()


def _sanitized(mol: Chem.Mol) -> Chem.Mol | None:
    copy = Chem.Mol(mol)
    try:
        with rdBase.BlockLogs():
            Chem.SanitizeMol(copy)
    except (ValueError, RuntimeError):  # RDKit's sanitisation errors
        return None
    return copy


def _fill(mol: Chem.Mol, point: int, prompt: str, attached: int, text: str, finished: bool):
    """The molecule with the group written after ``prompt`` at ``point``, or why not."""
    group = text[len(prompt) :]
    if not finished:
        return None, "the model had not finished its group when the length ran out"
    if not group:
        return None, "the model added nothing here (it ended the molecule)"
    with rdBase.BlockLogs():
        written = Chem.MolFromSmiles(text, sanitize=False)
    if written is None:
        return None, invalid_smiles_reason(text)
    prompt_atoms = mol.GetNumAtoms() - len(attachment_points(mol))
    if written.GetNumAtoms() <= prompt_atoms:
        return None, "the model added no atom here"
    filled = _attach(mol, point, written, prompt_atoms, attached)
    if filled is None:
        return None, "the group is bonded to the scaffold away from its attachment point"
    if len(Chem.GetMolFrags(filled, sanitizeFrags=False)) > 1:
        return None, "the model wrote a separate molecule ('.') instead of a group"
    if _sanitized(filled) is None:
        with rdBase.BlockLogs():
            readable = Chem.MolFromSmiles(text) is not None
        if readable:
            return None, "the group leaves too few bonds for the other attachment points"
        return None, invalid_smiles_reason(text)
    return filled, ""


# ---------------------------------------------------------------- decorating


@dataclass
class _Try:
    mol: Chem.Mol
    fills: list[str]
    log_likelihood: float = 0.0
    text: str = ""
    reason: str = ""


def decorate(
    model: CharRNN, vocabulary: Vocabulary, scaffold: str, config: SampleConfig
) -> Decorations:
    """``config.num_samples`` tries at decorating ``scaffold``: each attachment point in turn
    gets a group written by ``model`` (sampled with ``config``'s temperature, top-k and
    top-p, at most ``config.max_length`` symbols a group)."""
    if not vocabulary.line_based:
        raise ScaffoldError("Decorating needs a model trained on molecules (a SMILES corpus).")
    if config.num_samples > MAX_TRIES:
        raise ScaffoldError(f"Ask for at most {MAX_TRIES:,} tries at a time.")
    start = read_scaffold(scaffold)
    points = attachment_points(start)
    query = scaffold_query(start)
    tries = [_Try(start, []) for _ in range(config.num_samples)]
    first_prompt = ""
    for step, point in enumerate(points):
        alive = [one for one in tries if not one.reason]
        groups = list(dict.fromkeys(tuple(one.fills) for one in alive))  # same fills: same graph
        molecules = {tuple(one.fills): one.mol for one in alive}
        count = SPELLINGS if step == 0 else LATER_SPELLINGS
        options = [spellings(molecules[fills], point, count) for fills in groups]
        chosen = dict(zip(groups, _likeliest(model, vocabulary, options), strict=True))
        if step == 0:
            if chosen[()] is None:
                raise ScaffoldError(_unwritable(vocabulary, options[0]))
            first_prompt = chosen[()][0]
        where = f"attachment point {step + 1}: " if len(points) > 1 else ""
        writing = [one for one in alive if chosen[tuple(one.fills)] is not None]
        for one in alive:
            if chosen[tuple(one.fills)] is None:
                one.reason = where + "this model cannot write the molecule so far"
        seed = None if config.seed is None else config.seed + step
        prompts = [chosen[tuple(one.fills)][0] for one in writing]
        group = replace(config, seed=seed, min_length=1)  # a group, not the end at once
        samples = sample_each(model, vocabulary, prompts, group)
        for one, prompt, written in zip(writing, prompts, samples, strict=True):
            attached = chosen[tuple(one.fills)][1]
            one.text = written.text
            one.fills.append(written.text[len(prompt) :])
            one.log_likelihood += written.log_likelihood
            filled, reason = _fill(one.mol, point, prompt, attached, written.text, written.finished)
            if filled is None:
                one.reason = where + reason
            else:
                one.mol = filled
    return Decorations(
        scaffold=Chem.MolToSmiles(start),
        points=len(points),
        tries=len(tries),
        prompt=first_prompt,
        found=_merged([_result(one, query, start.GetNumAtoms(), points) for one in tries]),
    )


def _unwritable(vocabulary: Vocabulary, options: list[tuple[str, int]]) -> str:
    if not options:
        return (
            "The scaffold cannot be written as SMILES that ends at its attachment point: "
            "put the * on another atom."
        )
    unknown = vocabulary.unknown_characters(options[0][0])
    symbols = ", ".join(unknown[:5]) or "some of its symbols"
    return (
        f"This model never saw {symbols}, so it cannot read the scaffold. Choose a model "
        "trained on molecules like it, or change the scaffold."
    )


def _result(one: _Try, query: Chem.Mol, scaffold_size: int, points: list[int]) -> Decoration:
    fills = tuple(one.fills)
    if one.reason:
        return Decoration(one.text, False, one.reason, fills, (), 1, one.log_likelihood)
    mol = _sanitized(one.mol)
    if mol is None or not mol.HasSubstructMatch(query):
        reason = "the scaffold is no longer there as drawn (the groups changed its rings or bonds)"
        return Decoration(one.text, False, reason, fills, (), 1, one.log_likelihood)
    smiles = Chem.MolToSmiles(mol)
    output = mol.GetProp("_smilesAtomOutputOrder")
    order = [int(i) for i in output.strip("[]").split(",") if i.strip()]
    scaffold_atoms = set(range(scaffold_size)) - set(points)
    highlight = tuple(position for position, index in enumerate(order) if index in scaffold_atoms)
    return Decoration(smiles, True, "", fills, highlight, 1, one.log_likelihood)


def _merged(decorations: list[Decoration]) -> tuple[Decoration, ...]:
    """Each molecule once (valid ones by canonical SMILES, invalid ones by what was written),
    with how many tries gave it; valid ones first, the commonest first."""
    merged: dict[tuple[bool, str], Decoration] = {}
    for item in decorations:
        key = (item.valid, item.smiles)
        if key in merged:
            merged[key] = replace(merged[key], count=merged[key].count + 1)
        else:
            merged[key] = item
    return tuple(sorted(merged.values(), key=lambda item: (not item.valid, -item.count)))
