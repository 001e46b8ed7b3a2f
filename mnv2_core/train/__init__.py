"""Training on Oxford-102: one loop for every recipe (loop) and the runs that use it, with the CLI (run)."""
