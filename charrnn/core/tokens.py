"""Vocabularies: turn a corpus into token ids and back.

Three tokenisers: plain characters, SMILES-aware (Cl, Br, [nH+], %10 are one token each),
and SELFIES symbols ([C], [=O], [Branch1] are one token each).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, get_args

from charrnn.errors import UserError

PAD, BOS, EOS = "<pad>", "<s>", "</s>"
SPECIALS = (PAD, BOS, EOS)
PAD_ID, BOS_ID, EOS_ID = 0, 1, 2
# a character each, SMILES atoms and bonds, or SELFIES symbols (charrnn.core.representation)
Tokenizer = Literal["char", "smiles", "selfies"]
TOKENIZERS: tuple[Tokenizer, ...] = get_args(Tokenizer)

# Bracket atoms, two-letter organic-subset atoms and two-digit ring closures are single
# tokens; anything else is one character, so every string round-trips exactly.
_SMILES_TOKEN = re.compile(r"\[[^\[\]]{1,16}\]|Br|Cl|%\d\d|.", re.DOTALL)
# A SELFIES symbol is one bracketed word ([C], [=Branch1], [C@@H1], [NH3+1]); the dot
# between fragments, or anything else, is one character.
_SELFIES_TOKEN = re.compile(r"\[[^\[\]]{1,30}\]|.", re.DOTALL)
_PATTERNS = {"smiles": _SMILES_TOKEN, "selfies": _SELFIES_TOKEN}


class UnknownCharacterError(UserError, ValueError):
    """Text contains characters the model never saw during training."""


def tokenize(text: str, tokenizer: Tokenizer = "char") -> list[str]:
    """Split text into tokens; ``"".join(tokenize(t))`` is always ``t``."""
    if tokenizer == "char":
        return list(text)
    if tokenizer in _PATTERNS:
        return _PATTERNS[tokenizer].findall(text)
    raise ValueError(f"unknown tokenizer {tokenizer!r}; choose one of {TOKENIZERS}")


@dataclass(frozen=True)
class Vocabulary:
    """Token <-> id mapping. Ids 0, 1, 2 are padding, begin and end of a line."""

    tokens: tuple[str, ...]
    tokenizer: Tokenizer = "char"
    line_based: bool = False

    def __post_init__(self) -> None:
        if self.tokens[: len(SPECIALS)] != SPECIALS:
            raise ValueError("a vocabulary starts with the special tokens")
        if len(set(self.tokens)) != len(self.tokens):
            raise ValueError("a vocabulary has no repeated tokens")
        object.__setattr__(self, "_ids", {t: i for i, t in enumerate(self.tokens)})

    def __len__(self) -> int:
        return len(self.tokens)

    @property
    def size(self) -> int:
        return len(self.tokens)

    def id_of(self, token: str) -> int:
        return self._ids[token]  # type: ignore[attr-defined]

    def unknown_characters(self, text: str) -> list[str]:
        """The distinct tokens of ``text`` this vocabulary lacks, in order of appearance."""
        ids = self._ids  # type: ignore[attr-defined]
        seen: dict[str, None] = {}
        for token in tokenize(text, self.tokenizer):
            if token not in ids:
                seen.setdefault(token, None)
        return list(seen)

    def encode(self, text: str, *, add_bos: bool = False, add_eos: bool = False) -> list[int]:
        """Token ids of ``text``; raises UnknownCharacterError naming what the model never saw."""
        ids = self._ids  # type: ignore[attr-defined]
        try:
            body = [ids[t] for t in tokenize(text, self.tokenizer)]
        except KeyError:
            unknown = ", ".join(repr(c) for c in self.unknown_characters(text))
            raise UnknownCharacterError(
                f"The model never saw these characters during training: {unknown}. "
                "Remove them from the prompt, or train on a corpus that contains them."
            ) from None
        return ([BOS_ID] if add_bos else []) + body + ([EOS_ID] if add_eos else [])

    def decode(self, ids: Iterable[int]) -> str:
        """Text of ``ids``; special tokens are left out."""
        tokens = self.tokens
        return "".join(tokens[i] for i in ids if i >= len(SPECIALS))

    def extended(self, texts: Iterable[str]) -> Vocabulary:
        """This vocabulary plus the new tokens of ``texts``; existing ids keep their meaning."""
        new = _distinct_tokens(texts, self.tokenizer) - set(self.tokens)
        return Vocabulary(self.tokens + tuple(sorted(new)), self.tokenizer, self.line_based)

    def to_json(self) -> dict:
        return {
            "tokens": list(self.tokens),
            "tokenizer": self.tokenizer,
            "line_based": self.line_based,
        }

    @classmethod
    def from_json(cls, data: dict) -> Vocabulary:
        tokens = data["tokens"]
        if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens):
            raise ValueError("vocabulary tokens must be a list of strings")
        tokenizer = data.get("tokenizer", "char")
        if tokenizer not in TOKENIZERS:
            raise ValueError(f"unknown tokenizer {tokenizer!r}")
        return cls(tuple(tokens), tokenizer, bool(data.get("line_based", False)))

    def dumps(self) -> str:
        return json.dumps(self.to_json(), ensure_ascii=False)


def _distinct_tokens(texts: Iterable[str], tokenizer: Tokenizer) -> set[str]:
    found: set[str] = set()
    for text in texts:
        found.update(tokenize(text, tokenizer))
    return found


def build_vocabulary(
    texts: Iterable[str], tokenizer: Tokenizer = "char", *, line_based: bool = False
) -> Vocabulary:
    """A vocabulary with every token of ``texts`` (sorted, after the special tokens)."""
    if tokenizer not in TOKENIZERS:
        raise ValueError(f"unknown tokenizer {tokenizer!r}; choose one of {TOKENIZERS}")
    found = _distinct_tokens(texts, tokenizer) - set(SPECIALS)
    return Vocabulary(SPECIALS + tuple(sorted(found)), tokenizer, line_based)


def encode_lines(vocabulary: Vocabulary, lines: Sequence[str]) -> list[list[int]]:
    """Each line as ``[BOS] + tokens + [EOS]``, for line-based corpora such as SMILES."""
    return [vocabulary.encode(line, add_bos=True, add_eos=True) for line in lines]
