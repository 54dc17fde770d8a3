"""The shipped molecule prior, scored like MOSES's CharRNN against molecules it never saw.

Loads assets/priors/ID (through the app's own loader, checksum included), samples --samples
SMILES at temperature 1 and prints the MOSES table beside the published CharRNN row. The
reference is the prior's held-out set: the molecules of ../shared/data/moses_train.csv.gz
that scripts/train_prior.py drew at random and never trained on (the same seed and count,
read from the prior's manifest); novelty is against the molecules it trained on, in
canonical form, as MOSES computes it against its training set.
Usage: python benchmarks/bench_prior.py [--prior moses] [--samples 30000] [--reference N]
       [--record]: also write the figures into the prior's prior.json and MODEL_CARD.md
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import time

from common import RESULTS, machine, save
from moses_data import heldout_split, load_smiles

from charrnn.chem.metrics import evaluate_molecules, metrics_table, training_stats
from charrnn.chem.smiles import canonical_set
from charrnn.core.model import parameter_count
from charrnn.core.sample import SampleConfig, sample
from charrnn.runs.priors import find_prior, load_prior

# MOSES README, row "CharRNN" (1.6M training molecules; scored against MOSES's test set).
CHARRNN_ROW = {
    "valid": 0.975,
    "unique@1000": 1.0,
    "unique@10000": 0.999,
    "novelty": 0.842,
    "intdiv1": 0.856,
    "intdiv2": 0.850,
    "snn": 0.601,
    "frag": 0.9998,
    "scaf": 0.924,
    "filters": 0.994,
    "fcd": 0.073,
}


def training_forms(training: list[str]) -> frozenset[str]:
    """The canonical SMILES of the prior's training molecules (cached: minutes of RDKit)."""
    cache = RESULTS / f"prior-training-canonical-{len(training)}.txt.gz"
    if cache.is_file():
        with gzip.open(cache, "rt") as handle:
            return frozenset(handle.read().split("\n"))
    forms = canonical_set(training)
    RESULTS.mkdir(parents=True, exist_ok=True)
    with gzip.open(cache, "wt") as handle:
        handle.write("\n".join(sorted(forms)))
    return forms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--prior", default="moses")
    parser.add_argument("--samples", type=int, default=30_000)
    parser.add_argument("--reference", type=int, default=None, help="default: all held out")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--record", action="store_true", help="write prior.json's figures")
    args = parser.parse_args()
    before = machine()
    print(f"machine: {before}")
    prior = find_prior(args.prior)
    model, vocabulary, _ = load_prior(prior.reference)
    record = prior.training
    training, heldout = heldout_split(load_smiles(), record["heldout"], record["seed"])
    reference = heldout
    if args.reference and args.reference < len(heldout):
        reference = random.Random(0).sample(heldout, args.reference)
    start = time.perf_counter()
    options = SampleConfig(
        temperature=1.0, max_length=150, num_samples=args.samples, seed=args.seed
    )
    generated = [item.text for item in sample(model, vocabulary, options)]
    sampling = time.perf_counter() - start
    start = time.perf_counter()
    stats = training_stats(reference)
    results = evaluate_molecules(generated, stats)
    forms = canonical_set(generated)
    novelty = len(forms - training_forms(training)) / len(forms) if forms else None
    scoring = time.perf_counter() - start
    print(
        f"\nprior {prior.reference}: {parameter_count(model):,} parameters, step "
        f"{record.get('steps')}, {record.get('training_seconds', 0) / 60:.0f} min of training on "
        f"{record.get('threads')} thread(s), {record.get('molecules', 0):,} molecules\n"
        f"{len(generated):,} samples in {sampling:.1f} s; scored in {scoring:.0f} s against "
        f"{len(reference):,} held-out molecules (novelty: against its {len(training):,} "
        "training molecules)\n"
    )
    print(f"{'metric':<26} {'ours':>8} {'CharRNN':>8}")
    rows = []
    for result in results:
        value = novelty if result.key == "novelty" else result.value
        published = CHARRNN_ROW.get(result.key)
        if published is None and not result.key.startswith("wasserstein"):
            continue
        shown = "n/a" if value is None else f"{value:.4f}"
        other = "" if published is None else f"{published:.4f}"
        print(f"{result.name:<26} {shown:>8} {other:>8}")
        rows.append({"key": result.key, "ours": value, "charrnn": published})
    print("\n" + metrics_table(results))
    path = save(
        "prior",
        {
            "machine_before": before,
            "machine_after": machine(),
            "args": vars(args),
            "prior": prior.reference,
            "sha256": prior.sha256,
            "training": record,
            "sampling_seconds": sampling,
            "rows": rows,
        },
    )
    print(f"\nsaved {path}")
    if args.record:
        figures = {
            "date": time.strftime("%Y-%m-%d"),
            "command": "python benchmarks/bench_prior.py --record "
            + " ".join(f"--{k} {v}" for k, v in (("samples", args.samples), ("seed", args.seed))),
            "samples": len(generated),
            "reference": len(reference),
            "load_average": before["load_average"],
            "metrics": {row["key"]: row["ours"] for row in rows},
        }
        manifest_path = prior.weights.parent / "prior.json"
        manifest = json.loads(manifest_path.read_text())
        manifest["figures"] = figures
        manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
        card = prior.weights.parent / "MODEL_CARD.md"
        card.write_text(model_card(manifest, parameter_count(model)))
        print(f"wrote {manifest_path} and {card}")


NAMES = {
    "valid": "Valid",
    "unique@1000": "Unique@1k",
    "unique@10000": "Unique@10k",
    "novelty": "Novelty",
    "intdiv1": "IntDiv1",
    "intdiv2": "IntDiv2",
    "filters": "Filters",
    "snn": "SNN",
    "frag": "Frag",
    "scaf": "Scaf",
    "fcd": "FCD",
}


def model_card(manifest: dict, parameters: int) -> str:
    """MODEL_CARD.md of a prior, from its manifest (training record and measured figures)."""
    record, figures = manifest["training"], manifest["figures"]
    ours = figures["metrics"]
    keys = [key for key in NAMES if key in ours]
    header = "| | " + " | ".join(NAMES[key] for key in keys) + " |"
    rule = "| --- " * (len(keys) + 1) + "|"
    row = "| this prior | " + " | ".join(_shown(ours[key]) for key in keys) + " |"
    published = "| MOSES CharRNN | " + " | ".join(_shown(CHARRNN_ROW[key]) for key in keys) + " |"
    return f"""# Model card: {manifest["title"]} (`prior:{manifest["id"]}`)

{manifest["description"]}

- **Model**: a character-level LSTM (2 layers of 256 units, embedding 64, dropout 0.1),
  {parameters:,} parameters, with the SMILES tokenizer (bracket atoms, Cl, Br and two-digit
  ring closures are one symbol each). Stored as float16 in `{manifest["weights"]}`
  (read back as float32); the app checks its sha256 (`{manifest["sha256"][:16]}...`, in
  `prior.json`) every time it loads it.
- **Data**: {manifest["data"]}. The MOSES training file (`moses_train.csv.gz`, 1,584,663
  molecules) is not in this repository, only these weights. {record["heldout"]:,} molecules
  drawn at random (seed {record["seed"]}) were held out and never trained on; of the rest,
  1% checked its validation loss and {record["molecules"]:,} trained it.
- **Training**: `{record["command"]}`, {record["steps"]:,} steps of {record["batch_size"]}
  molecules ({record["training_seconds"] / 60:.0f} minutes of training,
  {record["wall_seconds"] / 60:.0f} minutes in all) on {_threads(record["threads"])} of a
  2-core machine (load average {record["load_average_before"][0]} before,
  {record["load_average_after"][0]} after), torch {record["torch"]}, Adam with learning rate
  {record["learning_rate"]} on a cosine schedule, the weights' moving average (decay 0.999)
  shipped; finished {record["finished"]}. Final validation loss
  {record["validation_loss"]:.4f} nats per symbol.
- **How good** (`{figures["command"]}`, {figures["date"]}, load average
  {figures["load_average"][0]}): {figures["samples"]:,} samples at temperature 1 scored with
  MOSES's metrics against {figures["reference"]:,} of the held-out molecules (novelty:
  against its training molecules). MOSES's published CharRNN row is scored against MOSES's
  own test set after training on 1.6M molecules on a GPU, so it is a guide, not the same test.

{header}
{rule}
{row}
{published}

- **Use**: generating drug-like molecules at once, and as the start for fine-tuning on a
  small set of your own (the Train page's default for molecule corpora). It knows the
  elements and symbols of MOSES only (C, N, O, S, F, Cl, Br, H and aromatic forms, no
  charges or metals); fine-tuning adds new symbols and learns them from your corpus.
- **Limits**: a teaching model. Its molecules are plausible strings, not vetted
  compounds: nothing here says they are safe, stable or makeable.
"""


def _threads(count: int) -> str:
    return "1 CPU thread" if count == 1 else f"{count} CPU threads"


def _shown(value) -> str:
    return "n/a" if value is None else f"{value:.3f}"


if __name__ == "__main__":
    main()
