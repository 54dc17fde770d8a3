"""A cleaned corpus in a workspace: kept as a new corpus beside its original, with the report
of its cleaning kept in the workspace's choices, so a refresh loses neither."""

from __future__ import annotations

import os

from charrnn.chem.cleaning import CleaningReport
from charrnn.corpora.reading import stored_filename
from charrnn.runs.workspace import Workspace


def keep_cleaned(
    space: Workspace,
    smiles: str,
    report: CleaningReport,
    original: dict,
    *,
    numbered_by: str = "line",
    max_bytes: int | None = None,
) -> dict:
    """Keep the cleaned molecules (one SMILES a line) as a new corpus of the workspace and
    make it the current one; returns its corpus record.

    ``original`` is the corpus record it was cleaned from (reference, name, kind, ...): it
    stays as it was, and is remembered with the report (cleaning_of) to go back to.
    ``numbered_by`` says what the report's numbers count: "line", or "record" for an SDF.
    """
    stem = os.path.splitext(str(original.get("name") or "corpus").removesuffix(".gz"))[0]
    filename = stored_filename(f"{stem}-cleaned.smi", "smiles")
    reference = space.save_corpus(smiles.encode("utf-8"), filename, max_bytes)
    corpus = {
        "reference": reference,
        "name": f"{original.get('name') or 'corpus'} (cleaned)",
        "kind": "smiles",
        "smiles_column": None,
        "drop_invalid": False,
    }
    cleaning = {
        "reference": reference,
        "report": report.to_json(),
        "original": original,
        "numbered_by": numbered_by,
    }
    space.update_choices(corpus=corpus, cleaning=cleaning)
    return corpus


def cleaning_of(space: Workspace, reference: str) -> tuple[CleaningReport, dict, str] | None:
    """How the corpus at reference was cleaned, if it is the workspace's last cleaned one:
    its report, the original's corpus record and what the report's numbers count."""
    cleaning = space.choices.get("cleaning")
    if not isinstance(cleaning, dict) or cleaning.get("reference") != reference:
        return None
    try:
        report = CleaningReport.from_json(cleaning["report"])
        original = dict(cleaning["original"])
    except (KeyError, TypeError, ValueError):  # a workspace.json edited by hand
        return None
    return report, original, str(cleaning.get("numbered_by", "line"))
