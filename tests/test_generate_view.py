"""What the Generate page decides about samples (charrnn.runs.generate_view), no browser."""

from __future__ import annotations

from charrnn.runs import gallery
from charrnn.runs.generate_view import (
    distinct_valid,
    made_text,
    molecule_table,
    sample_config,
    samples_text,
    share_text,
    shared_items,
)

SETTINGS = dict(temperature=0.8, top_k=0, top_p=1.0, prompt="ab", max_length=50, num_samples=3)


def test_seed_zero_gives_a_new_seed_and_a_chosen_seed_is_kept():
    config = sample_config(**SETTINGS, seed=7)
    assert (config.seed, config.prompt, config.max_length, config.num_samples) == (7, "ab", 50, 3)
    fresh = {sample_config(**SETTINGS, seed=0).seed for _ in range(5)}
    assert all(1 <= seed < 2**31 for seed in fresh) and len(fresh) > 1


def test_the_download_and_the_caption_say_how_to_get_the_samples_again():
    text = samples_text([("abc", -1.234), ("de", -2.0)])
    first = "--- sample 1 (log-likelihood -1.23) ---\nabc"
    assert text == first + "\n\n--- sample 2 (log-likelihood -2.00) ---\nde"
    assert made_text({"seed": 9, "step": 1500}).startswith(
        "Made with seed 9 by the model of step 1,500:"
    )
    assert made_text({"seed": 9}).startswith("Made with seed 9: enter the seed")


def test_the_molecule_table_says_which_are_valid_and_why_not():
    table = molecule_table([("CCO", -1.0), ("OCC", -1.5), ("C(C", -3.0)])
    assert list(table["valid"]) == [True, True, False]
    assert table["reason if invalid"][2] and not table["reason if invalid"][0]
    assert distinct_valid(table) == 1  # CCO and OCC are one molecule


def test_sharing_publishes_the_first_samples_within_the_gallerys_caps():
    long = "x" * (gallery.MAX_TEXT_CHARACTERS + 10)
    texts = {"seed": 1, "samples": [(long, -1.0)] * (gallery.MAX_TEXTS + 2)}
    items = shared_items(texts, smiles=False)
    assert len(items) == gallery.MAX_TEXTS and all(
        len(i) == gallery.MAX_TEXT_CHARACTERS for i in items
    )
    assert share_text(texts, smiles=False).startswith(
        f"Publish the first {gallery.MAX_TEXTS} samples (at most"
    )
    molecules = {"seed": 1, "samples": [("CCO", -1.0)] * 2}
    assert shared_items(molecules, smiles=True) == ["CCO", "CCO"]
    assert share_text(molecules, smiles=True).startswith("Publish these 2 molecules with your name")
