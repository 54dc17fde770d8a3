"""The largest model and the longest SMILES this server accepts, checked before any work.

Plain arithmetic, no torch: a model description from a user (an uploaded zip, the Train
page) is checked here before a network is built, and a SMILES before RDKit parses it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

MAX_VOCABULARY = 10_000  # tokens (characters of a text, SMILES symbols)
MAX_EMBEDDING = 1024
MAX_HIDDEN = 2048
MAX_LAYERS = 6
MAX_PARAMETERS = 12_000_000  # 48 MB of float32 weights: a download or a sample of the largest
# model adds under 200 MB to the web server (benchmarks/room_attacks.py)
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
        ("vocab_size", "vocabulary size", MAX_VOCABULARY),
        ("embedding_size", "embedding size", MAX_EMBEDDING),
        ("hidden_size", "hidden size", MAX_HIDDEN),
        ("layers", "number of layers", MAX_LAYERS),
    )
    for field, what, most in limits:
        value = description.get(field)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            return f"its {what} is not a positive whole number"
        if value > most:
            return f"its {what} is {value:,}; this server accepts at most {most:,}"
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


# ----- a run's budget: what training one model needs, checked before the run starts -------
WORKER_BASE_MB = 1024  # a worker's address space after importing torch, RDKit and fcd_torch
FLOAT_BYTES = 4
# Numbers kept for the backward pass per token, layer and hidden unit (PyTorch's CPU
# cells: gate inputs and outputs, cell and hidden states); measured by
# benchmarks/run_memory.py, rounded up.
ACTIVATION_NUMBERS = {"rnn": 4, "gru": 10, "lstm": 20}
STEP_OVERHEAD_MB = 128  # what the first steps load and keep, whatever the size
CORPUS_BYTES = 24  # per character (token) of the corpus while it is tokenised (8 kept)


def training_memory(
    cell: str,
    vocab_size: int,
    embedding_size: int,
    hidden_size: int,
    layers: int,
    batch_size: int,
    sequence_length: int,
    corpus_characters: int = 0,
) -> int:
    """Bytes a training step needs beyond the worker itself, worked out without torch.

    The weights with their gradients, Adam's two moments and a weight average (5 copies),
    then what one step keeps for backpropagation: the embeddings, every layer's cells, the
    output layer's input and the logits with their softmax and gradient. In float32; the
    address space it adds, which the worker's memory limit counts (bfloat16 needs less).
    The corpus, while it is turned into tokens, comes on top.
    """
    weights = 5 * parameter_count(cell, vocab_size, embedding_size, hidden_size, layers)
    per_token = (
        2 * embedding_size
        + layers * hidden_size * ACTIVATION_NUMBERS[cell]
        + 3 * hidden_size
        + 4 * vocab_size
    )
    steps = FLOAT_BYTES * (weights + batch_size * sequence_length * per_token)
    return steps + STEP_OVERHEAD_MB * 1024 * 1024 + CORPUS_BYTES * corpus_characters


def memory_budget(worker_memory_mb: float) -> int | None:
    """Bytes one run may use for training in a worker limited to ``worker_memory_mb`` (0:
    no limit, None)."""
    if not worker_memory_mb:
        return None
    return max(0, int((worker_memory_mb - WORKER_BASE_MB) * 1024 * 1024))


def size_text(count: float) -> str:
    """Bytes in words: "350 MB", "2.5 GB"."""
    if count >= 1024**3:
        return f"{count / 1024**3:.1f} GB"
    return f"{max(1, round(count / 1024**2)):,} MB"


@dataclass(frozen=True)
class RunBudget:
    """What a run would take (numbers in the model, bytes while training), what this server
    allows each run (bytes, None: no memory limit) and, when it does not fit, why."""

    parameters: int | None  # None when the model's description itself is refused
    memory: int | None
    allowed: int | None
    problem: str | None = None


def run_budget(
    model: Mapping,
    batch_size: int,
    sequence_length: int,
    allowed: int | None,
    corpus_characters: int = 0,
) -> RunBudget:
    """Whether this server trains this model with this batch; when not, what would fit.

    ``model`` holds ModelConfig's fields (vocab_size included); ``allowed`` is
    memory_budget()'s bytes (None: only the model's own limits apply).
    """
    problem = model_problem(model)
    if problem:
        advice = "Lower the hidden size, the embedding size or the number of layers."
        return RunBudget(None, None, allowed, f"This model is too large: {problem}. {advice}")
    sizes = [model[name] for name in ("cell", "vocab_size", "embedding_size", "hidden_size")]

    def needs(batch: int) -> int:
        return training_memory(*sizes, model["layers"], batch, sequence_length, corpus_characters)

    parameters, needed = parameter_count(*sizes, model["layers"]), needs(batch_size)
    if allowed is None or needed <= allowed:
        return RunBudget(parameters, needed, allowed)
    fixed = needs(0)  # the weights, the corpus
    batch = (allowed - fixed) // (needs(1) - fixed) if allowed > fixed else 0
    advice = (
        f"With this model and sequence length, a batch size of at most {batch:,} fits: lower "
        "the batch size, the sequence length or the hidden size."
        if batch >= 1
        else "Even a batch of 1 does not fit: lower the hidden size or the number of layers."
    )
    problem = (
        f"Training this would need about {size_text(needed)} of memory; this server allows "
        f"each run {size_text(allowed)}. {advice}"
    )
    return RunBudget(parameters, needed, allowed, problem)


def budget_text(budget: RunBudget) -> str:
    """One line for the Train page: the model's size and its memory against the allowance."""
    if budget.parameters is None or budget.memory is None:
        return "This model is larger than this server accepts."
    count = budget.parameters
    size = f"{count / 1e6:.1f} million" if count >= 1e6 else f"{round(count, -3):,}"
    text = (
        f"This model has about {size} numbers (parameters) and needs about "
        f"{size_text(budget.memory)} of memory while training"
    )
    if budget.allowed is None:
        return text + "."
    return text + f", of the {size_text(budget.allowed)} this server allows each run."
