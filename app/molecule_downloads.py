"""The Generate page's downloads: molecules as CSV and SDF with their properties (made only
when a button is pressed), and lines of text as a plain file.
"""

from __future__ import annotations

import streamlit as st

from charrnn.chem.export import export_csv, export_sdf


def csv_bytes(samples: list[tuple[str, float]]) -> bytes:
    """The molecules as a CSV table: validity, log-likelihood, properties."""
    return export_csv(samples).encode("utf-8")


def sdf_bytes(samples: list[tuple[str, float]]) -> bytes:
    """The valid molecules as an SD file, properties as SD fields."""
    return export_sdf(samples).text.encode("utf-8")


def lines_bytes(samples: list[tuple[str, float]]) -> bytes:
    """One line a sample, as a plain text file."""
    return "".join(text + "\n" for text, _ in samples).encode("utf-8")


def molecules(samples: list[tuple[str, float]]) -> None:
    """Two buttons: the molecules as a CSV table and as an SD file (invalid ones left out)."""
    samples = list(samples)
    first, second = st.columns(2)
    first.download_button(
        "Download with properties (.csv)",
        lambda: csv_bytes(samples),  # worked out when pressed: RDKit on every molecule
        file_name="molecules.csv",
        mime="text/csv",
        key="generate_download_csv",
        on_click="ignore",
        help="Each SMILES, valid or not and why, its log-likelihood, and for molecules "
        "weight, logP, QED, SA score, TPSA, H-bond donors and acceptors, and rings.",
    )
    second.download_button(
        "Download the molecules (.sdf)",
        lambda: sdf_bytes(samples),
        file_name="molecules.sdf",
        mime="chemical/x-mdl-sdfile",
        key="generate_download_sdf",
        on_click="ignore",
        help="An SD file for chemistry software: the valid molecules with 2D coordinates, "
        "their log-likelihoods and properties as fields.",
    )


def lines(samples: list[tuple[str, float]]) -> None:
    """A button: the lines, one a line, as a plain text file."""
    st.download_button(
        "Download the lines (.txt)",
        lines_bytes(samples),
        file_name="lines.txt",
        mime="text/plain",
        key="generate_download_lines",
        on_click="ignore",
    )
