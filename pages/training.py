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
    st.info(f"No training runs are recorded yet (looked in `{runs_dir()}`). Produce one with `python -m mnv2_core "
            "train --recipe transfer --phases 1 --model mobilenet_v2 --width 1.0 --init imagenet --out assets`.")
    st.stop()

table = pd.DataFrame([{
    "run": r["id"], "model": r.get("model"), "width": r.get("width"), "init": r.get("init"),
    "recipe": r.get("recipe"), "epochs": r.get("epochs"),
    "test top-1": r.get("metrics", {}).get("test_top1"), "test top-5": r.get("metrics", {}).get("test_top5"),
    "device": r.get("provenance", {}).get("device"), "commit": r.get("provenance", {}).get("git_commit"),
} for r in runs])
st.dataframe(table, hide_index=True)

import plotly.express as px  # noqa: E402

chosen = st.selectbox("Run", [r["id"] for r in runs], key="train_run")
run = next(r for r in runs if r["id"] == chosen)
prov = run.get("provenance", {})
st.caption(f"{run.get('recipe')}; init {run.get('init')}; {prov.get('device')}; {prov.get('seconds')} s; "
           f"data {prov.get('data_source')}; commit {str(prov.get('git_commit'))[:8]}. Reproduce: "
           f"`{prov.get('command')}`")
history = pd.DataFrame(run.get("history", []))
if not history.empty:
    curves = px.line(history, x="epoch", y=[c for c in ("train_loss", "valid_top1") if c in history], markers=True,
                     title="Learning curves (phase boundaries marked)")
    for boundary in history.loc[history["phase"].diff().fillna(0) != 0, "epoch"] if "phase" in history else []:
        curves.add_vline(x=boundary - 0.5, line_dash="dash", annotation_text="phase 2")
    st.plotly_chart(curves, key="curves")
per_class = pd.DataFrame(run.get("per_class", []))
if not per_class.empty:
    per_class = per_class.sort_values("accuracy")
    st.plotly_chart(px.bar(per_class, x="name", y="accuracy", hover_data=["class_id", "n"],
                           title="Per-class test accuracy (worst first)"), key="per_class")
confused = pd.DataFrame(run.get("confused", []))
if not confused.empty:
    st.subheader("Most-confused pairs")
    st.dataframe(confused, hide_index=True)
