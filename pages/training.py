"""Training: this project's own transfer-learning and from-scratch runs on Oxford-102."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from mnv2_core.results import load_runs, runs_dir

st.title("Training on Oxford-102")
st.caption("Two-phase transfer learning (train the head on a frozen ImageNet backbone, then fine-tune everything) "
           "and one-recipe training from scratch, measured on the held-out test split.")

runs = load_runs()
if not runs:
    st.info(f"No training runs are recorded yet (looked in `{runs_dir()}`). Until the project's training pipeline has "
            "produced and committed its runs, the flower head of every model is untrained and the Classify page says "
            "so; the ImageNet head uses real ImageNet weights where they are available.")
    st.stop()

table = pd.DataFrame([{
    "run": r["id"], "model": r.get("model"), "width": r.get("width"), "init": r.get("init"),
    "recipe": r.get("recipe"), "epochs": r.get("epochs"),
    "test top-1": r.get("metrics", {}).get("test_top1"), "test top-5": r.get("metrics", {}).get("test_top5"),
    "device": r.get("provenance", {}).get("device"), "commit": r.get("provenance", {}).get("git_commit"),
} for r in runs])
st.dataframe(table, hide_index=True)
