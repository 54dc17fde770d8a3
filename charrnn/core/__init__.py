"""The network and its training: tokens, model, batches, trainer, sampler, checkpoints,
the NumPy RNN, and what happens inside (per-step chances and states)."""
