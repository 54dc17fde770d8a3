"""What the sampler is about to do: the likeliest next tokens with their raw and shaped
chances, and a sentence on what the settings do (the app's "why these characters?" panel).
"""

from __future__ import annotations

import unicodedata

import torch

from charrnn.core.model import CharRNN, use_bfloat16
from charrnn.core.sample import (
    SampleConfig,
    banned_tokens,
    lean,
    prompt_ids,
    shaped_probabilities,
)
from charrnn.core.tokens import EOS, PAD, Vocabulary

# The padding token fills short lines of a batch; a model learns it never comes next.
READABLE_TOKENS = {"\n": "⏎ newline", " ": "␣ space", "\t": "⇥ tab", EOS: "⏹ end", PAD: "∅ padding"}


def readable_token(token: str) -> str:
    """A token as a person can read it on screen: "⏎ newline", "␣ space", "⏹ end", ..."""
    if token in READABLE_TOKENS:
        return READABLE_TOKENS[token]
    if len(token) == 1 and unicodedata.category(token) in ("Cc", "Cf", "Cs", "Zl", "Zp", "Zs"):
        return repr(token)[1:-1] if token.isascii() else f"U+{ord(token):04X}"
    return token


@lean
@torch.inference_mode()
def next_token_probabilities(
    model: CharRNN,
    vocabulary: Vocabulary,
    prompt: str,
    temperature: float,
    top_k: int,
    top_p: float,
    limit: int = 15,
    precision: str = "auto",
) -> list[tuple[str, float, float]]:
    """The likeliest next tokens after ``prompt``: (readable token, raw, shaped) probability.

    Raw is what the model learned (temperature 1, nothing cut off); shaped is what `sample`
    draws from with these settings. Tokens a sample may never contain are left out; the
    list is sorted by shaped, then raw probability, and holds at most ``limit`` tokens.
    UnknownCharacterError when the prompt has characters the model never saw.
    """
    SampleConfig(temperature=temperature, top_k=top_k, top_p=top_p)  # the same checks
    model.eval()
    device = next(model.parameters()).device
    autocast = torch.autocast(
        device.type, dtype=torch.bfloat16, enabled=use_bfloat16(precision, device)
    )
    with autocast:
        logits, _ = model(torch.tensor([prompt_ids(vocabulary, prompt)], device=device))
    logits = logits[0, -1].float().cpu()
    banned = banned_tokens(vocabulary)
    logits[banned] = float("-inf")
    raw = logits.softmax(-1).tolist()
    shaped = shaped_probabilities(logits, temperature, top_k, top_p).tolist()
    allowed = [i for i in range(vocabulary.size) if i not in banned]
    allowed.sort(key=lambda i: (shaped[i], raw[i]), reverse=True)
    return [
        (readable_token(vocabulary.tokens[i]), raw[i], shaped[i]) for i in allowed[: max(limit, 0)]
    ]


def shaping_sentence(temperature: float, top_k: int, top_p: float, unit: str = "character") -> str:
    """One or two sentences for people: what these settings do to the next-token chances."""
    if temperature == 0:
        return (
            f"At temperature 0 the likeliest {unit} always wins (all the chance goes to it), "
            "so the same prompt always gives the same text."
        )
    if temperature < 1:
        sentence = (
            f"At temperature {temperature:g} the likeliest {unit}s get even likelier and the "
            "rare ones fade: safer text, but more repetitive."
        )
    elif temperature == 1:
        sentence = f"At temperature 1 each {unit} is drawn just as often as the model expects it."
    else:
        sentence = (
            f"At temperature {temperature:g} the other {unit}s catch up with the likeliest: "
            "more surprising text, and messier."
        )
    cuts = [f"top-k keeps only the {top_k} likeliest"] if top_k else []
    if top_p < 1:
        cuts.append(f"top-p keeps only the likeliest that together reach {top_p:.0%}")
    if cuts:
        sentence += f" Then {' and '.join(cuts)}; the others get no chance at all."
    return sentence
