"""Training: this project's own transfer-learning, from-scratch and distillation runs on Oxford-102."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

from mnv2_core.measure.records import load_runs, runs_dir
from mnv2_core.display.training import (family_rows, family_steps, routes_lesson, routes_rows, runs_table, shipped_points,
                                      step_order, widest_note)
from mnv2_core.measure.open_set import open_set_rows
from mnv2_core.display.comparison import from_scratch_curves, from_scratch_table
from mnv2_core.measure.run_report import learning_curves, phase_summaries, run_summary, worst_classes_first
from mnv2_core.jobs.training import DEFAULT_HEAD_EPOCHS, job_status, missing_data, start_transfer
from mnv2_core.models import MOBILENET_WIDTHS
from mnv2_core.models.weights import MAX_INT8_SHIPPED_BYTES, MAX_SHIPPED_BYTES
from mnv2_core.progress import DONE
from pages.common import MODEL_CHOICES, labelled_log_scatter, page_state, run_through_app, show_user_error

run_through_app()
st.title("Training on Oxford-102")
st.caption("Two-phase transfer learning (phase 1 trains a new head on the frozen ImageNet backbone, phase 2 "
           "fine-tunes everything), one recipe from scratch for every architecture, and distillation of narrow "
           "MobileNetV2s from the transfer-learned 1.0. Every figure is measured on the held-out test split by "
           "`python -m mnv2_core train`; each run records the command that reproduces it.")


@st.cache_data(show_spinner=False, ttl=30)
def _transfer_choices():
    from mnv2_core.runtime.availability import transfer_choices

    return transfer_choices(MODEL_CHOICES)


def _job_panel() -> None:
    """The background run's progress while it goes (refreshed every 2 s), then its outcome."""
    job = job_status()
    if job is None:
        return

    @st.fragment(run_every=2.0 if job.running else None)  # 30 students watching: 15 small reruns a second
    def panel() -> None:
        now = job_status()
        if now is None:
            return
        state = page_state()
        if not now.running and state.transfer_was_running:
            state.transfer_was_running = False
            st.rerun()  # the whole page: the new run's row appears in the tables below
        state.transfer_was_running = now.running
        st.caption(f"`{now.command}`")
        if now.running:
            st.progress(now.step_fraction, text=f"{now.describe()} · {now.elapsed / 60:.1f} min so far")
        elif now.state == DONE:
            st.success(now.outcome(), icon=":material/check_circle:")
        else:
            st.error(now.outcome(), icon=":material/error:")
        with st.expander("Log"):
            st.code(now.log_tail() or "(nothing yet)", language=None)

    panel()


def _train_here() -> None:
    st.subheader("Make a flower model here: transfer phase 1")
    ready, missing = _transfer_choices()
    st.caption("Any backbone with ImageNet weights here learns the 102 flowers in minutes on a laptop CPU: the frozen "
               "network turns every training photo into features once (cached), a new linear head learns from them, "
               "and the result is measured on the test split and recorded below. It becomes that model's flower "
               "checkpoint if it beats the one there on the valid split (in assets/ up to "
               f"{MAX_SHIPPED_BYTES / 1e6:.0f} MB in fp16 or {MAX_INT8_SHIPPED_BYTES / 1e6:.0f} MB as per-channel int8 "
               "weights, else in this machine's checkpoint folder). It runs as its own "
               "process, the same command as the CLI, so it goes on if this tab closes.")
    if missing:
        with st.expander(f"No ImageNet weights here for {len(missing)} model(s)"):
            st.markdown("\n".join(f"- {reason}" for reason in missing))
    if not ready:
        st.info("No model has ImageNet weights on this machine, so there is nothing to transfer from.")
        return
    job = job_status()
    c = st.columns([3, 2, 1])
    choice = c[0].selectbox("Backbone", ready, format_func=lambda r: f"{r.title} ({r.weights})", key="transfer_model")
    epochs = c[1].slider("Head epochs", 5, 100, DEFAULT_HEAD_EPOCHS, key="transfer_epochs")
    busy = job is not None and job.running
    no_data = missing_data()
    if no_data:
        st.info(no_data)
    if c[2].button("Start", type="primary", disabled=busy or bool(no_data), key="transfer_start",
                   help="One training run at a time on this machine" if busy else None):
        try:
            start_transfer(choice.model, choice.width, head_epochs=epochs)
        except (ValueError, OSError) as exc:  # a run already going, a folder that cannot be written
            show_user_error(exc)
        else:
            page_state().transfer_was_running = True
            st.rerun()  # the Start button greys out and the progress shows
    _job_panel()


_train_here()
runs = load_runs()
if not runs:
    st.info(f"No training runs are recorded yet (looked in `{runs_dir()}`). Produce one with "
            "`python -m mnv2_core train --recipe transfer --model mobilenet_v2 --width 1.0 --out assets`.")
    st.stop()

st.subheader("From scratch: one recipe for every architecture")
scratch = from_scratch_table(runs)
if scratch:
    st.markdown(
        "No ImageNet weights exist on this machine for ResNet18, ResNet50 or EfficientNet-B0, so the fair comparison "
        "trains every architecture, MobileNetV2 1.0 included, from random weights by one recipe on the flower photos "
        "alone, helped by the transfer-learned MobileNetV2 1.0 as a *teacher* (its softened answers are part of each "
        "student's target). Compare these with the ImageNet-started MobileNetV2s below: on 6,552 photos, "
        "starting from ImageNet is worth far more than the architecture.")
    st.table(pd.DataFrame(scratch).style.format({"Test %": "{:.1f}", "Best valid %": "{:.1f}", "s per epoch": "{:.0f}",
                                                 "Minutes": "{:.0f}"}, na_rep="–").hide(axis="index"))
    curves = px.line(pd.DataFrame(from_scratch_curves(runs)), x="epoch", y="valid top-1 %", color="Model",
                     markers=True, log_x=True, title="Valid top-1 per epoch, from scratch (epochs on a log scale: "
                                                     "LeNet-5's recipe runs 100)")
    curves.update_layout(height=460, font=dict(size=15), yaxis=dict(range=[0, 100]),
                         legend=dict(orientation="h", yanchor="top", y=-0.18, x=0))
    st.plotly_chart(curves, key="scratch_curves")
    st.caption("Wall time is the run's own on the CPU named (the 2-core machines here); each run records the command "
               "that reproduces it (choose it under *Run* below). `scripts/train_peers.sh` runs them all, and resumes.")

st.subheader("The MobileNetV2 family, from two ImageNet networks")
st.markdown(
    "Two MobileNetV2s that learned ImageNet themselves are on this machine: the **1.0** (the official TFLite file, "
    "TF-Slim) and the **0.35** (Keras applications). Each learns the flowers by transfer learning (phase 1: a new "
    "head on the frozen backbone; phase 2: every layer fine-tuned on phone-like photos). The 1.0 becomes the "
    "*teacher* of every other width:\n"
    "- **Distillation**: a student trains on the teacher's softened outputs (temperature 4) plus the labels, on "
    "phone-like photos (tilted, off-centre, blurred, colour cast, JPEG).\n"
    "- **Widening** (Net2WiderNet) copies channels and splits the weights that read them, so the wider network "
    "starts as exactly the narrower one's function, then learns more from the teacher.\n"
    "- **Pruning** keeps the 1.0's most important channels (measured on training photos) and refits every layer "
    "by least squares to reproduce the 1.0's activations: the route the narrow widths took before the 0.35 "
    "ImageNet network was here.\n\n"
    "*Phone proxy*: the test split with one fixed phone-like distortion per photo. *Real photos*: 188 flower photos "
    "taken outside Oxford-102 (the dev set; never trained on), measured by `python -m mnv2_core evaluate`.")
COLUMNS = {
    "width": st.column_config.NumberColumn("width", format="%.2f"),
    "title": st.column_config.TextColumn("model"),
    "how": st.column_config.TextColumn("how it was made"),
    "test_top1": st.column_config.NumberColumn("test top-1", format="percent"),
    "test_top5": st.column_config.NumberColumn("test top-5", format="percent"),
    "phone_top1": st.column_config.NumberColumn("phone proxy top-1", format="percent"),
    "phone_top5": st.column_config.NumberColumn("phone proxy top-5", format="percent"),
    "real_top1": st.column_config.NumberColumn("real photos top-1", format="percent"),
    "real_top5": st.column_config.NumberColumn("real photos top-5", format="percent"),
    "valid_top1": st.column_config.NumberColumn("valid top-1", format="percent"),
    "params": st.column_config.NumberColumn("params", format="compact"),
    "macs": st.column_config.NumberColumn("MACs", format="compact"),
    "minutes": st.column_config.NumberColumn("minutes", format="%.1f"),
    "train_resolution": st.column_config.NumberColumn("train px"), "resolution": st.column_config.NumberColumn("test px"),
    "shipped": st.column_config.CheckboxColumn("shipped in assets/"),
}
family = family_rows(MOBILENET_WIDTHS, runs)
st.dataframe(pd.DataFrame(family), hide_index=True, column_config=COLUMNS, key="family")
for note in (routes_lesson(routes := routes_rows(MOBILENET_WIDTHS, runs)), widest_note(family)):
    if note:
        st.markdown(note)
st.dataframe(pd.DataFrame(routes), hide_index=True, key="routes", column_config=COLUMNS | {
    "route": st.column_config.TextColumn("route"), "shipped": st.column_config.CheckboxColumn("shipped")})
steps = family_steps(MOBILENET_WIDTHS, runs)
if steps:
    chart = px.line(pd.DataFrame(steps), x="step", y="valid_top1", color="width", markers=True,
                    category_orders={"step": step_order(steps)},
                    title="Each step's effect (valid top-1, measured by the run that made the model)",
                    labels={"valid_top1": "valid top-1", "step": ""})
    chart.update_yaxes(tickformat=".1%")
    st.plotly_chart(chart, key="family_steps")

table = runs_table(runs)
st.subheader("Comparison")
st.dataframe(pd.DataFrame(table), hide_index=True, column_config=COLUMNS)
macs, top1, titles, trained = shipped_points(table)
if macs:
    st.plotly_chart(labelled_log_scatter(
        macs, top1, titles, trained, x_title="MACs at the test resolution (log)", y_title="Oxford-102 test top-1 (%)",
        title="Accuracy vs compute of the shipped checkpoints, by how each was trained",
        y_range=(max(0.0, min(top1) - 10), 104.0)), key="comparison")

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

chosen = st.selectbox("Run", [r.id for r in runs], key="train_run")
run = next(r for r in runs if r.id == chosen)
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
confused = pd.DataFrame(list(run.confused))
if not confused.empty:
    st.subheader("Most-confused pairs")
    st.dataframe(confused, hide_index=True)
