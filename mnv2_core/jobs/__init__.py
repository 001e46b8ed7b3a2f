"""Jobs that combine the rest: the side-by-side benchmark on this machine (benchmark), the re-measured accuracy of
the flower checkpoints, clean and on the phone proxy (evaluate), and transfer phase 1 started from the app (training)."""
