"""The character-level recurrent network: embedding -> RNN / GRU / LSTM -> linear.

`ModelConfig` describes it (and round-trips through JSON); `PRESETS` are the app's sizes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace

import torch
from torch import nn

from charrnn.errors import SettingsError

CELLS = ("rnn", "gru", "lstm")
NEW_TOKEN_BIAS_GAP = 8.0  # how far below the lowest output bias a symbol new to a model starts

State = torch.Tensor | tuple[torch.Tensor, torch.Tensor]


@dataclass(frozen=True)
class ModelConfig:
    vocab_size: int
    cell: str = "lstm"
    embedding_size: int = 64
    hidden_size: int = 256
    layers: int = 2
    dropout: float = 0.0

    def __post_init__(self) -> None:
        if self.cell not in CELLS:
            raise SettingsError(f"cell must be one of {CELLS}, not {self.cell!r}")
        for name in ("vocab_size", "embedding_size", "hidden_size", "layers"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise SettingsError(f"{name} must be a positive whole number, not {value!r}")
        if not 0.0 <= self.dropout < 1.0:
            raise SettingsError(f"dropout must be in [0, 1), not {self.dropout!r}")

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> ModelConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


# Sizes the app offers. "tiny" learns visibly within seconds on a laptop CPU; "small" is
# the default and the size the benchmarks use; "medium" wants a GPU or patience.
PRESETS: dict[str, dict] = {
    "tiny": dict(cell="lstm", embedding_size=32, hidden_size=128, layers=1, dropout=0.0),
    "small": dict(cell="lstm", embedding_size=64, hidden_size=256, layers=2, dropout=0.1),
    "medium": dict(cell="lstm", embedding_size=128, hidden_size=512, layers=3, dropout=0.1),
}
DEFAULT_PRESET = "small"


def preset_config(preset: str, vocab_size: int, **overrides) -> ModelConfig:
    """The ModelConfig of a named preset, with any field overridden."""
    if preset not in PRESETS:
        raise SettingsError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    return ModelConfig(vocab_size=vocab_size, **{**PRESETS[preset], **overrides})


class CharRNN(nn.Module):
    """Predicts the next token at every position of a batch of token sequences."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        self.embedding = nn.Embedding(config.vocab_size, config.embedding_size)
        rnn_class = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}[config.cell]
        self.rnn = rnn_class(
            config.embedding_size,
            config.hidden_size,
            num_layers=config.layers,
            dropout=config.dropout if config.layers > 1 else 0.0,
            batch_first=True,
        )
        self.dropout = nn.Dropout(config.dropout)
        self.head = nn.Linear(config.hidden_size, config.vocab_size)

    def forward(
        self, tokens: torch.Tensor, state: State | None = None
    ) -> tuple[torch.Tensor, State]:
        """tokens: (batch, time) ids -> logits (batch, time, vocab), the final state."""
        outputs, state = self.rnn(self.embedding(tokens), state)
        return self.head(self.dropout(outputs)), state

    def hidden_states(self, tokens: torch.Tensor, state: State | None = None) -> torch.Tensor:
        """The last layer's hidden state at every position: (batch, time, hidden)."""
        outputs, _ = self.rnn(self.embedding(tokens), state)
        return outputs

    def freeze_lower_layers(self, count: int) -> None:
        """Keep the lowest ``count`` recurrent layers as they are (fine-tuning): their
        weights get no gradients. The embedding and the output layer stay trainable, so
        symbols new to the model are still learned."""
        for name, weight in self.rnn.named_parameters():
            layer = int(name.split("_l")[-1].split("_")[0])  # weight_ih_l0, bias_hh_l1, ...
            weight.requires_grad_(layer >= count)

    def resize_vocabulary(self, vocab_size: int) -> None:
        """Grow the embedding and output layer for new tokens, keeping what was learned."""
        old = self.config.vocab_size
        if vocab_size < old:
            raise ValueError("a vocabulary can only grow")
        if vocab_size == old:
            return
        embedding = nn.Embedding(vocab_size, self.config.embedding_size)
        head = nn.Linear(self.config.hidden_size, vocab_size)
        with torch.no_grad():
            embedding.weight[:old] = self.embedding.weight
            head.weight[:old] = self.head.weight
            head.bias[:old] = self.head.bias
            # New tokens start unlikely and the same in every context (no random weights):
            # with 65 new symbols at a bias 2 below the lowest, one sample in four of the
            # untouched MOSES prior held one, and validity fell from 0.97 to 0.87.
            head.weight[old:] = 0.0
            head.bias[old:] = self.head.bias.min() - NEW_TOKEN_BIAS_GAP
        device = self.head.weight.device
        self.embedding, self.head = embedding.to(device), head.to(device)
        self.config = replace(self.config, vocab_size=vocab_size)


def detach_state(state: State | None) -> State | None:
    """Cut the gradient history of a carried state (truncated backpropagation through time)."""
    if state is None:
        return None
    if isinstance(state, tuple):
        return tuple(s.detach() for s in state)  # type: ignore[return-value]
    return state.detach()


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def use_bfloat16(precision: str, device: torch.device) -> bool:
    """Whether to autocast to bfloat16. "auto" does it only where it is faster: Ampere and
    later GPUs, and CPUs with native bfloat16 (AVX512-BF16/AMX) while oneDNN is switched on,
    as in training. Without oneDNN (sampling, core.sample.lean) bfloat16 ran 1.3-5x slower
    than float32 on such a CPU (benchmarks/bench_sampling_precision.py)."""
    if precision != "auto":
        return precision == "bfloat16"
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    mkldnn = torch.backends.mkldnn
    return bool(
        mkldnn.is_available() and mkldnn.enabled and torch.ops.mkldnn._is_mkldnn_bf16_supported()
    )


def default_device() -> torch.device:
    """CUDA when a GPU is present, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
