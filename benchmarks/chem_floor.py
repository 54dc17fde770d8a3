"""How fast could the chemistry check of 10,000 molecules be on this machine, at best?

The check's two big parts are ChemNet (for FCD) and RDKit's description of each molecule
(canonical form, filters, fragments, scaffold, properties). This script measures:
  1. the machine's best float32 matrix-multiply speed with the given threads, on the shape
     ChemNet's big LSTM multiplies at each step (512 molecules x 512 -> 2048), and on a
     large square product;
  2. ChemNet's arithmetic per molecule (counted from its layers' shapes) and how fast our
     implementation runs it, as a share of that best speed;
  3. RDKit's time per molecule for each part of the description (1 process);
then prints the floor for N molecules: ChemNet at the best matrix speed plus the RDKit part
spread perfectly over the cores (nothing else counted), next to the 20 s target.
Usage: python benchmarks/chem_floor.py [--molecules 2000] [--threads 2] [--target 10000]
"""

from __future__ import annotations

import argparse
import os
import random
import time

from moses_data import load_smiles


def gemm_gflops(torch, rows: int, inner: int, columns: int, seconds: float = 2.0) -> float:
    a, b = torch.randn(rows, inner), torch.randn(inner, columns)
    for _ in range(3):
        a @ b
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        a @ b
        count += 1
    return 2 * rows * inner * columns * count / (time.perf_counter() - start) / 1e9


def chemnet_flops(network, steps: int = 88) -> float:
    """Multiply-adds x 2 per molecule: both LSTMs over all steps, the two convolutions."""
    flops = 0.0
    for layer in network:
        name = type(layer).__name__
        if name == "LSTM":
            gates = 4 * layer.hidden_size
            flops += 2 * steps * gates * (layer.input_size + layer.hidden_size)
        elif name == "Conv1d":
            outputs = 350 // (2 if layer is network[1] else 4)
            flops += 2 * outputs * layer.out_channels * layer.in_channels * layer.kernel_size[0]
    return flops


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--molecules", type=int, default=2000, help="measured on this many")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--target", type=int, default=10_000, help="the floor is for this many")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    import torch
    from common import machine
    from rdkit import Chem, rdBase

    from charrnn.chem import properties
    from charrnn.chem.chemnet import _chemnet, chemnet_activations
    from charrnn.chem.filters import screened_passes_filters
    from charrnn.chem.smiles import parse_smiles

    torch.set_num_threads(args.threads)
    print(f"machine: {machine()}")
    step_speed = gemm_gflops(torch, 512, 512, 2048)
    square_speed = gemm_gflops(torch, 2048, 2048, 2048)
    best = max(step_speed, square_speed)
    print(f"float32 matrix multiply, {args.threads} threads: {step_speed:.0f} GFLOP/s on")
    print(f"  ChemNet's step shape (512x512 @ 512x2048), {square_speed:.0f} GFLOP/s on 2048^3")

    smiles = random.Random(args.seed).sample(load_smiles(), args.molecules)
    with rdBase.BlockLogs():
        canonical = [Chem.MolToSmiles(parse_smiles(text)) for text in smiles]
    network = _chemnet()
    per_molecule = chemnet_flops(network)
    chemnet_activations(canonical[:512])  # warm up
    start = time.perf_counter()
    chemnet_activations(canonical)
    ours = (time.perf_counter() - start) / len(canonical)
    achieved = per_molecule / ours / 1e9
    print(
        f"ChemNet: {per_molecule / 1e6:.0f} MFLOP per molecule; ours {ours * 1e3:.2f} ms per "
        f"molecule with {args.threads} threads = {achieved:.0f} GFLOP/s "
        f"({achieved / best:.0%} of the best multiply speed)"
    )

    queries = properties.queries()
    parts = {
        "read the SMILES": lambda text, mol: parse_smiles(text),
        "canonical form": lambda text, mol: Chem.MolToSmiles(mol),
        "substructure screen": lambda text, mol: queries.candidates(properties.pattern_bits(mol)),
        "whole description": lambda text, mol: properties._describe(mol, "", filters=True),
    }
    mols = [parse_smiles(text) for text in smiles]
    seconds = {}
    with rdBase.BlockLogs():
        for name, part in parts.items():
            start = time.perf_counter()
            for text, mol in zip(smiles, mols, strict=True):
                part(text, mol)
            seconds[name] = (time.perf_counter() - start) / len(smiles)
            print(f"RDKit, 1 process: {name:<22} {seconds[name] * 1e3:.3f} ms per molecule")
    screening = seconds["substructure screen"]
    filters = 0.0
    with rdBase.BlockLogs():
        start = time.perf_counter()
        for mol in mols:
            screened_passes_filters(mol, queries.candidates(properties.pattern_bits(mol)))
        filters = (time.perf_counter() - start) / len(mols) - screening
    print(f"  of which MOSES filters after the screen: {filters * 1e3:.3f} ms")
    rdkit = seconds["read the SMILES"] + seconds["canonical form"] + seconds["whole description"]

    cores = os.cpu_count() or 1
    # ChemNet: ours, or the multiply speed measured above if that were faster.
    chemnet_floor = args.target * min(ours, per_molecule / (best * 1e9))
    rdkit_floor = args.target * rdkit / min(cores, args.threads)
    budget = 20.0 - chemnet_floor
    print(
        f"\nfloor for {args.target:,} molecules on {args.threads} threads, nothing else "
        f"counted: ChemNet {chemnet_floor:.1f} s + RDKit {rdkit_floor:.1f} s spread "
        f"perfectly = {chemnet_floor + rdkit_floor:.1f} s (target 20 s: RDKit would have "
        f"{budget:.1f} s, {max(budget, 0) * min(cores, args.threads) / args.target * 1e3:.2f} "
        f"ms of CPU per molecule); load average {os.getloadavg()[0]:.2f}"
    )


if __name__ == "__main__":
    main()
