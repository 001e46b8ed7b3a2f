"""Training on Oxford-102, in the order a run goes: what to train (spec, cli), where it starts (derive: ImageNet
backbone, a checkpoint, pruned or widened, or random), the cached features and phase-1 head (features), the one loop
for every full-network phase (loop) and what it shares with the head's (epochs), shipping the checkpoint (ship),
and the run end to end (run, provenance)."""
