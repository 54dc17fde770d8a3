"""Training data: token ids split into train/validation, and the batches the trainer eats.

Text is cut into parallel streams whose hidden state carries from one window to the next;
line corpora (SMILES) become padded, length-bucketed batches with a begin and end token.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch

from charrnn.core.tokens import PAD_ID, Tokenizer, Vocabulary, build_vocabulary, encode_lines
from charrnn.errors import SettingsError, UserError


class CorpusTooShortError(UserError, ValueError):
    """The corpus holds too little to train on (after the held-out part): give it more."""


@dataclass
class TrainingData:
    """Token ids ready for training. Text: 1-D tensors. Lines: one list of ids per line."""

    vocabulary: Vocabulary
    train: torch.Tensor | list[list[int]]
    validation: torch.Tensor | list[list[int]]
    train_lines: list[str] | None = None  # the raw training lines, for SMILES augmentation

    @property
    def line_based(self) -> bool:
        return self.vocabulary.line_based

    @property
    def train_tokens(self) -> int:
        if self.line_based:
            return sum(len(ids) - 1 for ids in self.train)
        return len(self.train)


def prepare_data(
    text: str | None = None,
    lines: Sequence[str] | None = None,
    *,
    tokenizer: Tokenizer = "char",
    validation_fraction: float = 0.1,
    seed: int = 0,
    vocabulary: Vocabulary | None = None,
    extra_texts: Sequence[str] = (),
) -> TrainingData:
    """Tokenise a corpus and hold out a validation part.

    Text keeps its order and holds out its last ``validation_fraction`` (the usual split);
    lines are shuffled with ``seed`` first. A given ``vocabulary`` (fine-tuning) is extended
    with any new tokens. ``extra_texts`` also enter the vocabulary (augmented spellings).
    """
    if (text is None) == (lines is None):
        raise ValueError("give either text or lines")
    if not 0.0 <= validation_fraction < 0.5:
        raise SettingsError("validation_fraction must be in [0, 0.5)")
    texts = [text] if text is not None else list(lines) + list(extra_texts)
    if vocabulary is None:
        vocabulary = build_vocabulary(texts, tokenizer, line_based=lines is not None)
    else:
        vocabulary = vocabulary.extended(texts)
    if text is not None:
        ids = torch.tensor(vocabulary.encode(text), dtype=torch.long)
        cut = len(ids) - int(len(ids) * validation_fraction)
        if cut < 2:
            raise CorpusTooShortError("the corpus is too short to train on")
        return TrainingData(vocabulary, ids[:cut], ids[cut:])
    order = list(range(len(lines)))
    random.Random(seed).shuffle(order)
    held_out = int(len(order) * validation_fraction)
    if validation_fraction > 0 and len(order) >= 10:
        held_out = max(held_out, 1)
    train_lines = [lines[i] for i in order[held_out:]]
    validation_lines = [lines[i] for i in order[:held_out]]
    if not train_lines:
        raise CorpusTooShortError("the corpus has too few lines to train on")
    return TrainingData(
        vocabulary,
        encode_lines(vocabulary, train_lines),
        encode_lines(vocabulary, validation_lines),
        train_lines=train_lines,
    )


class TextStreams:
    """Cuts a token stream into ``batch_size`` parallel streams read window by window.

    Each epoch starts at a random offset, so windows differ between epochs; the trainer
    carries the hidden state from one window to the next and resets it when
    ``window_index`` returns to 0.
    """

    def __init__(self, ids: torch.Tensor, batch_size: int, sequence_length: int):
        if len(ids) < 2:
            raise CorpusTooShortError("the training text is too short")
        # Short corpora get fewer or shorter streams rather than failing.
        self.sequence_length = max(1, min(sequence_length, (len(ids) - 1) // 2 or 1))
        self.batch_size = max(1, min(batch_size, (len(ids) - 1) // (self.sequence_length + 1)))
        self.ids = ids
        self.stream_length = (len(ids) - self.sequence_length) // self.batch_size
        self.windows_per_epoch = max(1, (self.stream_length - 1) // self.sequence_length)

    def window(
        self, step: int, generator: torch.Generator, offsets: dict
    ) -> tuple[torch.Tensor, torch.Tensor, bool]:
        """(inputs, targets, starts_epoch) for training step ``step`` (0-based)."""
        epoch, index = divmod(step, self.windows_per_epoch)
        if epoch not in offsets:
            offsets.clear()
            spare = len(self.ids) - 1 - self.batch_size * self.stream_length
            offsets[epoch] = int(torch.randint(0, max(spare, 0) + 1, (1,), generator=generator))
        start = offsets[epoch]
        streams = self.ids[start : start + self.batch_size * self.stream_length + 1]
        begin = index * self.sequence_length
        columns = torch.arange(begin, begin + self.sequence_length + 1)
        rows = torch.arange(self.batch_size).unsqueeze(1) * self.stream_length
        chunk = streams[(rows + columns).clamp(max=len(streams) - 1)]
        return chunk[:, :-1], chunk[:, 1:], index == 0


def text_validation_windows(
    ids: torch.Tensor, batch_size: int, sequence_length: int, max_tokens: int | None = None
) -> Iterator[tuple[torch.Tensor, torch.Tensor, bool]]:
    """The validation text as parallel streams, in order: every token is scored once."""
    if max_tokens is not None:
        ids = ids[: max_tokens + 1]
    streams = max(1, min(batch_size, (len(ids) - 1) // max(sequence_length, 1)))
    length = (len(ids) - 1) // streams
    if length < 1:
        return
    inputs = ids[: streams * length].view(streams, length)
    targets = ids[1 : streams * length + 1].view(streams, length)
    for begin in range(0, length, sequence_length):
        end = begin + sequence_length
        yield inputs[:, begin:end], targets[:, begin:end], begin == 0


def pad_batch(sequences: Sequence[Sequence[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs and targets of ``[BOS] + tokens + [EOS]`` sequences, padded with PAD_ID."""
    width = max(len(s) for s in sequences) - 1
    batch = torch.full((len(sequences), width + 1), PAD_ID, dtype=torch.long)
    for row, sequence in enumerate(sequences):
        batch[row, : len(sequence)] = torch.tensor(sequence, dtype=torch.long)
    return batch[:, :-1], batch[:, 1:]


def bucketed_batches(
    lengths: Sequence[int], batch_size: int, generator: torch.Generator, pool_batches: int = 32
) -> list[list[int]]:
    """One epoch of batches of line indices with similar lengths, in random order.

    Lines are shuffled, sorted by length inside pools of ``pool_batches`` batches (so
    padding is small but batches stay varied), then the batches are shuffled.
    """
    order = torch.randperm(len(lengths), generator=generator).tolist()
    pool = batch_size * pool_batches
    batches: list[list[int]] = []
    for begin in range(0, len(order), pool):
        chunk = sorted(order[begin : begin + pool], key=lambda i: lengths[i])
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    shuffle = torch.randperm(len(batches), generator=generator).tolist()
    return [batches[i] for i in shuffle]


def line_validation_batches(
    sequences: Sequence[Sequence[int]], batch_size: int, max_lines: int | None = None
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Validation lines sorted by length, padded into batches: every line scored once."""
    chosen = list(sequences[:max_lines] if max_lines else sequences)
    chosen.sort(key=len)
    for begin in range(0, len(chosen), batch_size):
        yield pad_batch(chosen[begin : begin + batch_size])
