"""Jobs that combine the rest: the side-by-side benchmark on this machine (benchmark) and the re-measured accuracy of
the flower checkpoints, clean and on the phone proxy (evaluate)."""
