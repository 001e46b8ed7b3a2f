"""Training: this project's own transfer-learning, from-scratch and distillation runs on Oxford-102."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

from mnv2_core.measure.records import (FAMILY_STEPS, comparison_rows, family_rows, family_steps, load_runs, runs_dir,
                                       with_values)
from mnv2_core.measure.open_set import open_set_rows
from mnv2_core.measure.run_report import learning_curves, phase_summaries, run_summary, worst_classes_first
from mnv2_core.models import MOBILENET_WIDTHS

st.title("Training on Oxford-102")
st.caption("Two-phase transfer learning (phase 1 trains a new head on the frozen ImageNet backbone, phase 2 "
           "fine-tunes everything), one recipe from scratch for every architecture, and distillation of narrow "
           "MobileNetV2s from the transfer-learned 1.0. Every figure is measured on the held-out test split by "
           "`python -m mnv2_core train`; each run records the command that reproduces it.")

runs = load_runs()
if not runs:
    st.info(f"No training runs are recorded yet (looked in `{runs_dir()}`). Produce one with "
            "`python -m mnv2_core train --recipe transfer --model mobilenet_v2 --width 1.0 --out assets`.")
    st.stop()

st.subheader("The MobileNetV2 family, made from one ImageNet network")
st.markdown(
    "Only MobileNetV2 **1.0** has ImageNet weights here (the official TFLite file). It learns the flowers by "
    "transfer learning, then a phone-photo fine-tune, and becomes every other width's *teacher*:\n"
    "- **Pruning** (0.75, 0.5, 0.35): keep the 1.0's most important channels, measured on training photos (a "
    "hidden channel by how much it adds to its block's output; a stage's residual channels as one set, because "
    "its blocks add into one stream). Then refit every layer by least squares so that, given the pruned "
    "network's own inputs, it reproduces the 1.0's activations on the kept channels.\n"
    "- **Distillation**: the pruned network trains on the teacher's softened outputs (temperature 4) plus the "
    "labels, on phone-like photos (tilted, off-centre, blurred, colour cast, JPEG).\n"
    "- **Widening** (1.4): Net2WiderNet copies channels and splits the weights that read them, so the 1.4 starts "
    "as exactly the 1.0's function, then fine-tunes with distillation.\n\n"
    "*Phone proxy*: the test split with one fixed phone-like distortion per photo, a stand-in for real photos "
    "from outside the dataset. Valid top-1 is shown after each step.")
COLUMNS = {
    "width": st.column_config.NumberColumn("width", format="%.2f"),
    "title": st.column_config.TextColumn("model"),
    "how": st.column_config.TextColumn("how it was made"),
    "test_top1": st.column_config.NumberColumn("test top-1", format="percent"),
    "test_top5": st.column_config.NumberColumn("test top-5", format="percent"),
    "phone_top1": st.column_config.NumberColumn("phone proxy top-1", format="percent"),
    "phone_top5": st.column_config.NumberColumn("phone proxy top-5", format="percent"),
    "valid_top1": st.column_config.NumberColumn("valid top-1", format="percent"),
    "params": st.column_config.NumberColumn("params", format="compact"),
    "macs": st.column_config.NumberColumn("MACs", format="compact"),
    "minutes": st.column_config.NumberColumn("minutes", format="%.1f"),
    "train_resolution": st.column_config.NumberColumn("train px"), "resolution": st.column_config.NumberColumn("test px"),
    "shipped": st.column_config.CheckboxColumn("shipped in assets/"),
}
st.dataframe(pd.DataFrame(family_rows(MOBILENET_WIDTHS, runs)), hide_index=True, column_config=COLUMNS, key="family")
steps = family_steps(MOBILENET_WIDTHS, runs)
if steps:
    chart = px.line(pd.DataFrame(steps), x="step", y="valid_top1", color="width", markers=True,
                    category_orders={"step": list(FAMILY_STEPS)},
                    title="Each step's effect (valid top-1, measured by the run that made the model)",
                    labels={"valid_top1": "valid top-1", "step": ""})
    chart.update_yaxes(tickformat=".0%")
    st.plotly_chart(chart, key="family_steps")

table = comparison_rows(runs)
st.subheader("Comparison")
st.dataframe(pd.DataFrame(table), hide_index=True, column_config=COLUMNS)
scored = with_values(table, "test_top1", "macs")
if scored:
    chart = px.scatter(pd.DataFrame(scored), x="macs", y="test_top1", color="training", symbol="training", text="title",
                       hover_data=["run", "epochs", "device"], log_x=True,
                       labels={"macs": "MACs at the test resolution (log)", "test_top1": "Oxford-102 test top-1"},
                       title="Accuracy vs compute, by how the model was trained")
    chart.update_traces(textposition="top center")
    chart.update_yaxes(tickformat=".0%")
    st.plotly_chart(chart, key="comparison")

not_sure = open_set_rows()
if not_sure:
    st.subheader('"Not sure": answers that may not be one of the 102 flowers')
    st.dataframe(pd.DataFrame(not_sure), hide_index=True, column_config={
        "title": st.column_config.TextColumn("model"),
        "threshold": st.column_config.NumberColumn("not sure below", format="percent"),
        "test_correct_flagged": st.column_config.NumberColumn("correct test answers flagged", format="percent"),
        "test_wrong_flagged": st.column_config.NumberColumn("wrong test answers flagged", format="percent"),
        "non_flowers_flagged": st.column_config.NumberColumn("non-flower photos flagged", format="percent"),
        "non_flower_photos": st.column_config.NumberColumn("non-flower photos")})
    st.caption("A 102-way model always names a flower. Classify warns when its confidence (the top softmax "
               "probability) is below a threshold chosen on the valid split to flag 5% of its correct answers. "
               "The non-flower photos are scikit-image's sample photos (an astronaut, a cat, coffee, coins, a rocket, "
               "text...). Measured by `python -m mnv2_core evaluate --open-set`.")

chosen = st.selectbox("Run", [r["id"] for r in runs], key="train_run")
run = next(r for r in runs if r["id"] == chosen)
st.caption(run_summary(run))
for sentence in phase_summaries(run):
    st.caption(sentence)
curves = learning_curves(run)
if curves.rows:
    chart = px.line(pd.DataFrame(curves.rows), x="epoch", y=curves.metrics, markers=True,
                    title="Learning curves (phase boundary dashed)")
    for x, phase in curves.phase_starts:
        chart.add_vline(x=x, line_dash="dash", annotation_text=f"phase {phase}")
    st.plotly_chart(chart, key="curves")
per_class = worst_classes_first(run)
if per_class:
    st.plotly_chart(px.bar(pd.DataFrame(per_class), x="name", y="accuracy", hover_data=["class_id", "n"],
                           title="Per-class test accuracy (worst first)"), key="per_class")
confused = pd.DataFrame(run.get("confused", []))
if not confused.empty:
    st.subheader("Most-confused pairs")
    st.dataframe(confused, hide_index=True)
