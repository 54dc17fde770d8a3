"""The baseline every benchmark compares against: a plain, idiomatic PyTorch char-RNN.

Embedding -> 2x256 LSTM -> linear, Adam, random 100-character windows in batches of 64
(text) or one padded molecule per row in batches of 128 (SMILES), fresh state per batch,
float32, and a batched sampling loop. Its parameter names match charrnn's CharRNN so the
same weights can be sampled by both.
"""

from __future__ import annotations

import time

import torch
from torch import nn

PAD, BOS, EOS = 0, 1, 2


class PlainLSTM(nn.Module):
    def __init__(self, vocab_size: int, embedding_size: int = 64, hidden_size: int = 256):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_size)
        self.rnn = nn.LSTM(embedding_size, hidden_size, num_layers=2, batch_first=True)
        self.head = nn.Linear(hidden_size, vocab_size)

    def forward(self, x, state=None):
        out, state = self.rnn(self.embedding(x), state)
        return self.head(out), state


def train_text(model, train_ids, seconds, on_checkpoint, every, batch=64, window=100, lr=2e-3):
    """Random windows, Adam, for ``seconds`` of training; calls on_checkpoint(seconds)."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    elapsed, next_checkpoint, chars = 0.0, every, 0
    while elapsed < seconds:
        start = time.perf_counter()
        offsets = torch.randint(0, len(train_ids) - window - 1, (batch,))
        rows = offsets[:, None] + torch.arange(window + 1)
        chunk = train_ids[rows]
        model.train()
        logits, _ = model(chunk[:, :-1])
        loss = nn.functional.cross_entropy(
            logits.reshape(-1, logits.shape[-1]), chunk[:, 1:].reshape(-1)
        )
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()
        elapsed += time.perf_counter() - start
        chars += batch * window
        if elapsed >= next_checkpoint or elapsed >= seconds:
            on_checkpoint(elapsed, float(loss), chars)
            next_checkpoint += every
    return chars, elapsed


def train_lines(model, sequences, seconds, on_checkpoint, every, batch=128, lr=2e-3):
    """Random batches of molecules (BOS + ids + EOS), padded per batch, masked loss."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    elapsed, next_checkpoint, molecules = 0.0, every, 0
    while elapsed < seconds:
        start = time.perf_counter()
        picks = torch.randint(0, len(sequences), (batch,)).tolist()
        chosen = [torch.tensor(sequences[i]) for i in picks]
        padded = nn.utils.rnn.pad_sequence(chosen, batch_first=True, padding_value=PAD)
        model.train()
        logits, _ = model(padded[:, :-1])
        loss = nn.functional.cross_entropy(
            logits.reshape(-1, logits.shape[-1]), padded[:, 1:].reshape(-1), ignore_index=PAD
        )
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()
        elapsed += time.perf_counter() - start
        molecules += batch
        if elapsed >= next_checkpoint or elapsed >= seconds:
            on_checkpoint(elapsed, float(loss), molecules)
            next_checkpoint += every
    return molecules, elapsed


@torch.no_grad()
def sample_lines(model, count, max_length=100, temperature=1.0, generator=None):
    """Batched sampling: all rows step together until every row has written EOS."""
    model.eval()
    tokens = torch.full((count, 1), BOS, dtype=torch.long)
    state, outputs = None, []
    done = torch.zeros(count, dtype=torch.bool)
    for _ in range(max_length):
        logits, state = model(tokens, state)
        probabilities = torch.softmax(logits[:, -1] / temperature, dim=-1)
        tokens = torch.multinomial(probabilities, 1, generator=generator)
        outputs.append(tokens)
        done |= tokens[:, 0] == EOS
        if done.all():
            break
    rows = torch.cat(outputs, dim=1).tolist()
    return [row[: row.index(EOS)] if EOS in row else row for row in rows]
