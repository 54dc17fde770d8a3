"""The largest model and the longest SMILES this server accepts, checked before any work.

Plain arithmetic, no torch: a model description from a user (an uploaded zip, the Train
page) is checked here before a network is built, and a SMILES before RDKit parses it.
"""

from __future__ import annotations

from collections.abc import Mapping

MAX_VOCABULARY = 10_000  # tokens (characters of a text, SMILES symbols)
MAX_EMBEDDING = 1024
MAX_HIDDEN = 2048
MAX_LAYERS = 6
MAX_PARAMETERS = 20_000_000  # about 80 MB of float32 weights, 320 MB with Adam's state
MAX_SMILES_LENGTH = 1000  # characters; longer lines are reported as too long, never parsed
GATES = {"rnn": 1, "gru": 3, "lstm": 4}  # weight blocks per layer of each cell type


def parameter_count(
    cell: str, vocab_size: int, embedding_size: int, hidden_size: int, layers: int
) -> int:
    """How many numbers a CharRNN of this description holds, worked out without building it.

    Embedding, then per layer ``gates x hidden x (input + hidden)`` weights and two bias
    vectors per gate (PyTorch's layout), then the output layer.
    """
    gates = GATES[cell]
    count = vocab_size * embedding_size
    for layer in range(layers):
        inputs = embedding_size if layer == 0 else hidden_size
        count += gates * hidden_size * (inputs + hidden_size) + 2 * gates * hidden_size
    return count + hidden_size * vocab_size + vocab_size


def model_problem(description: Mapping) -> str | None:
    """Why this server will not build a model of this description, in plain words, or None.

    ``description`` holds ModelConfig's fields (as in a checkpoint's JSON header); anything
    missing, of the wrong type or past a limit is named.
    """
    limits = (
        ("vocab_size", "characters in the vocabulary", MAX_VOCABULARY),
        ("embedding_size", "embedding size", MAX_EMBEDDING),
        ("hidden_size", "hidden size", MAX_HIDDEN),
        ("layers", "layers", MAX_LAYERS),
    )
    for field, what, most in limits:
        value = description.get(field)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            return f"its {what} is not a positive whole number"
        if value > most:
            return f"it has {value:,} {what}; this server accepts at most {most:,}"
    cell = description.get("cell")
    if cell not in GATES:
        return f"its cell type {cell!r} is not one of {', '.join(GATES)}"
    count = parameter_count(
        cell,
        description["vocab_size"],
        description["embedding_size"],
        description["hidden_size"],
        description["layers"],
    )
    if count > MAX_PARAMETERS:
        return (
            f"it would have {count:,} numbers (parameters); this server accepts at most "
            f"{MAX_PARAMETERS:,}"
        )
    return None
