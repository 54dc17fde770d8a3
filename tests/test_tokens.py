"""Tests for charrnn.core.tokens: tokenisers, vocabularies, encoding and the unknown-character
error.

Any text must come back exactly as it went in, whatever its script.
"""

from __future__ import annotations

import json

import pytest

from charrnn.core.tokens import (
    BOS,
    BOS_ID,
    EOS,
    EOS_ID,
    PAD,
    PAD_ID,
    UnknownCharacterError,
    Vocabulary,
    build_vocabulary,
    encode_lines,
    tokenize,
)

TEXTS = [
    "",
    "a",
    "Hello, world!\n",
    "naïve café — 東京 🚀🧪",
    "日本語のテキスト\nемодзи 😀 and ünïcödé",
    "tabs\tand\r\nwindows line ends",
    "family emoji 👨‍👩‍👧 and flags 🇫🇷",
    "<s> looks special but is plain text </s> <pad>",
    "CC(=O)Oc1ccccc1C(=O)O",
    "C[C@@H](N)C(=O)O.[Na+].[Cl-]",
    "C%10CCCC%10 c1cc[nH+]cc1 BrCCl",
    "[unclosed bracket and ]stray[ ones %1 %",
]

SMILES = [
    "CCO",
    "ClCCBr",
    "c1cc[nH+]cc1",
    "C[C@@H](O)C(=O)O",
    "C%10CCCC%10",
    "[2H]C([2H])([2H])Cl",
    "O=C([O-])C.[Na+]",
]


@pytest.mark.parametrize("tokenizer", ["char", "smiles", "selfies"])
@pytest.mark.parametrize("text", TEXTS + SMILES)
def test_tokenize_round_trips(text, tokenizer):
    assert "".join(tokenize(text, tokenizer)) == text


def test_char_tokens_are_code_points():
    assert tokenize("café 🚀", "char") == ["c", "a", "f", "é", " ", "🚀"]


def test_smiles_multi_character_tokens():
    tokens = tokenize("ClC(Br)c1cc[nH+]c[C@@H]1C%10CC%10", "smiles")
    for whole in ("Cl", "Br", "[nH+]", "[C@@H]", "%10"):
        assert whole in tokens
    assert tokens == [
        "Cl",
        "C",
        "(",
        "Br",
        ")",
        "c",
        "1",
        "c",
        "c",
        "[nH+]",
        "c",
        "[C@@H]",
        "1",
        "C",
        "%10",
        "C",
        "C",
        "%10",
    ]


def test_smiles_single_characters_stay_single():
    assert tokenize("Cc1", "smiles") == ["C", "c", "1"]
    assert tokenize("CCl", "smiles") == ["C", "Cl"]


def test_unknown_tokenizer_is_refused():
    with pytest.raises(ValueError, match="tokenizer"):
        tokenize("abc", "words")
    with pytest.raises(ValueError, match="tokenizer"):
        build_vocabulary(["abc"], "words")


def test_special_tokens_have_ids_0_1_2():
    vocabulary = build_vocabulary(["hello"])
    assert (PAD_ID, BOS_ID, EOS_ID) == (0, 1, 2)
    assert vocabulary.tokens[:3] == (PAD, BOS, EOS)
    assert [vocabulary.id_of(t) for t in (PAD, BOS, EOS)] == [0, 1, 2]
    assert vocabulary.size == len(vocabulary) == 3 + len(set("hello"))


def test_text_that_looks_like_a_special_token_is_plain_text():
    vocabulary = build_vocabulary(["<s>x</s>"])
    ids = vocabulary.encode("<s>x</s>")
    assert all(i > EOS_ID for i in ids)
    assert vocabulary.decode(ids) == "<s>x</s>"


@pytest.mark.parametrize("tokenizer", ["char", "smiles", "selfies"])
def test_encode_decode_round_trip(tokenizer):
    vocabulary = build_vocabulary(TEXTS + SMILES, tokenizer)
    for text in TEXTS + SMILES:
        ids = vocabulary.encode(text)
        assert len(ids) == len(tokenize(text, tokenizer))
        assert vocabulary.decode(ids) == text


def test_smiles_vocabulary_holds_whole_tokens():
    vocabulary = build_vocabulary(SMILES, "smiles", line_based=True)
    assert {"Cl", "Br", "[nH+]", "[C@@H]", "%10"} <= set(vocabulary.tokens)
    assert "l" not in vocabulary.tokens and "@" not in vocabulary.tokens
    assert len(vocabulary.encode("[C@@H]")) == 1


def test_line_encoding_adds_begin_and_end():
    vocabulary = build_vocabulary(SMILES, "smiles", line_based=True)
    encoded = encode_lines(vocabulary, ["CCO", "ClC"])
    assert encoded[0] == [BOS_ID] + vocabulary.encode("CCO") + [EOS_ID]
    assert encoded[1] == [BOS_ID, vocabulary.id_of("Cl"), vocabulary.id_of("C"), EOS_ID]
    assert vocabulary.decode(encoded[0]) == "CCO"  # special tokens never show


def test_unknown_prompt_character_is_named():
    vocabulary = build_vocabulary(["abc abc"])
    with pytest.raises(UnknownCharacterError) as caught:
        vocabulary.encode("abz🚀")
    message = str(caught.value)
    assert "'z'" in message and "'🚀'" in message
    assert "'a'" not in message
    assert vocabulary.unknown_characters("zaz🚀") == ["z", "🚀"]


def test_json_round_trip():
    for tokenizer, line_based in (("char", False), ("smiles", True)):
        vocabulary = build_vocabulary(TEXTS, tokenizer, line_based=line_based)
        again = Vocabulary.from_json(json.loads(vocabulary.dumps()))
        assert again == vocabulary
        assert again.encode("naïve café — 東京 🚀🧪") == vocabulary.encode("naïve café — 東京 🚀🧪")


def test_damaged_json_is_refused():
    with pytest.raises(ValueError):
        Vocabulary.from_json({"tokens": "abc"})
    with pytest.raises(ValueError):
        Vocabulary.from_json({"tokens": [PAD, BOS, EOS, "a"], "tokenizer": "words"})
    with pytest.raises(ValueError):
        Vocabulary.from_json({"tokens": ["a", "b"]})  # no special tokens
    with pytest.raises(ValueError):
        Vocabulary.from_json({"tokens": [PAD, BOS, EOS, "a", "a"]})


def test_extended_keeps_old_ids_and_adds_new_tokens():
    old = build_vocabulary(["abc"], "smiles", line_based=True)
    new = old.extended(["abcd", "Cl[nH]"])
    assert new.tokens[: old.size] == old.tokens
    assert set(new.tokens[old.size :]) == {"d", "Cl", "[nH]"}
    assert (new.tokenizer, new.line_based) == ("smiles", True)
    assert new.encode("cab") == old.encode("cab")
    assert old.extended(["cab"]) == old  # nothing new: nothing changes
