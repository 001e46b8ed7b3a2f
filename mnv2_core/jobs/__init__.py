"""Jobs that combine the rest: the side-by-side benchmark on this machine (benchmark)."""
