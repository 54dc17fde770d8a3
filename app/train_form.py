"""The Train page's size settings: the cell type and the numbers of the model and training,
and how molecules are written (SMILES or SELFIES).

Kept apart from pages/train.py so that page stays short; what they become is charrnn.runs.plan's.
"""

from __future__ import annotations

from dataclasses import astuple

import streamlit as st

from charrnn.core.model import CELLS, PRESETS
from charrnn.core.numpy_train import ADAGRAD_LEARNING_RATE
from charrnn.core.representation import NAMES, REPRESENTATIONS, Representation
from charrnn.core.train_config import TrainConfig
from charrnn.runs.plan import FINETUNE_LEARNING_RATE
from charrnn.runs.train_ranges import MODEL_NUMBERS, TRAIN_NUMBERS

NUMBERS = (  # (settings, field, help); labels and ranges: charrnn.runs.train_ranges
    ("model", "layers", "Layers of memory cells stacked up."),
    ("model", "hidden_size", "How many numbers it remembers."),
    ("model", "embedding_size", "Numbers per character."),
    ("model", "dropout", "Ignores some numbers: less memorising."),
    ("train", "sequence_length", "Characters read per lesson."),
    ("train", "batch_size", "Lessons learned from at once."),
    ("train", "learning_rate", "Size of each correction."),
    (
        "train",
        "weight_decay",
        "Shrinks the numbers a little at each step: less memorising (AdamW). Helps long runs "
        "on small corpora.",
    ),
)


def size_numbers(
    preset: str, engine: str, three_columns, finetune: bool = False, fixed: dict | None = None
) -> tuple[dict, dict]:
    """The cell type and NUMBERS: (the model's settings, the training settings' fields);
    ``finetune``: a shipped prior's learning rate (FINETUNE_LEARNING_RATE) by default;
    ``fixed``: the shape of a model started from, shown but not changeable."""
    base, defaults = fixed or PRESETS[preset], TrainConfig()
    shaped = "fixed" if fixed else preset
    given = "Set by the model you start from. "
    left, middle, right = three_columns
    model: dict = {}
    numbers: dict = {}  # the training settings' fields, read into a TrainConfig later
    model["cell"] = left.selectbox(
        "Cell type",
        CELLS,
        index=CELLS.index(base["cell"]),
        format_func=str.upper,
        help=(given if fixed else "") + "LSTM and GRU remember longer than the plain RNN.",
        key=f"train_cell_{shaped}",
        disabled=bool(fixed),
    )
    columns = [middle, right, left, middle, right, left, middle, right]
    for column, (group, field, help) in zip(columns, NUMBERS, strict=True):
        ranges = MODEL_NUMBERS if group == "model" else TRAIN_NUMBERS
        label, low, high, step = astuple(ranges[field])
        value = type(low)(base[field] if group == "model" else getattr(defaults, field))
        key = f"train_{field}_{shaped}" if group == "model" else f"train_{field}"
        if field == "learning_rate" and engine == "numpy":
            value, key = ADAGRAD_LEARNING_RATE, "train_learning_rate_numpy"
        elif field == "learning_rate" and finetune:
            value, key = FINETUNE_LEARNING_RATE, "train_learning_rate_finetune"
        number_format = "%.4f" if field == "learning_rate" else None
        settings = model if group == "model" else numbers
        locked = bool(fixed) and group == "model"
        settings[field] = column.number_input(
            label,
            low,
            high,
            value,
            step,
            number_format,
            key=key,
            help=(given if locked else "") + help,
            disabled=locked,
        )
    return model, numbers


def representation_choice() -> Representation:
    """How molecules are written for the model: SMILES (the default) or SELFIES."""
    return st.radio(
        "Write molecules as",
        REPRESENTATIONS,
        format_func=NAMES.get,
        horizontal=True,
        key="train_representation",
        help="SMILES is the usual way to write a molecule: letters for atoms, brackets for "
        "branches, digits for rings. A model learning it may write a string that is no "
        "molecule (an unclosed ring). SELFIES writes the same molecules as symbols like "
        "[C][=O][Branch1], and every string of them decodes to a valid molecule. Yet SMILES "
        "models learn the molecules' distribution better (a 2024 study found them closer to "
        "the training set). The shipped priors write SMILES: a SELFIES model starts new.",
    )


def representation_lesson(space, runner, choice, name: str, disabled: bool) -> None:
    """ "SMILES against SELFIES": the same model trained twice on the same molecules with the
    same settings, once for each way of writing them (the second waits for the first)."""
    from dataclasses import replace

    from charrnn.core.representation import tokenizer_of
    from charrnn.errors import UserError
    from charrnn.runs.plan import plan_run

    with st.expander("Lesson: SMILES against SELFIES"):
        st.markdown(
            "Train this model twice on these molecules, with these settings: once writing "
            "them as SMILES, once as SELFIES. When both have finished, check each on the "
            "**Chemistry** page. SELFIES models write only valid molecules; SMILES models "
            "usually come closer to the training molecules (a lower FCD), because a SMILES "
            "string shows the molecule's shape more directly. Which matters more depends on "
            "what you want the molecules for."
        )
        if st.button("Train both", key="train_both_representations", disabled=disabled):
            try:
                configs = [
                    (kind, plan_run(replace(choice, tokenizer=tokenizer_of(kind)), space))
                    for kind in REPRESENTATIONS
                ]
                made = [space.create_run(f"{name} ({NAMES[kind]})", c) for kind, c in configs]
                for run_id in made:
                    runner.submit(space.run_dir(run_id))
                space.update_choices(run=made[0], model=None)
            except UserError as error:
                st.error(str(error))
            else:
                st.rerun()
