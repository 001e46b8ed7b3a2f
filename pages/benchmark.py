"""Benchmark: MobileNetV2 against its peers, measured live on this machine."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

from mnv2_core.models import MOBILENET_WIDTHS, REGISTRY
from mnv2_core.measure.machine import this_cpu
from mnv2_core.runtime.engines import ENGINE_TITLES, available_engines, shipped_int8_records, shipped_int8_rows
from mnv2_core.runtime.model_config import PRECISIONS
from mnv2_core.runtime.timings import timings_path, timings_table
from pages.common import MODEL_CHOICES, run_through_app, show_user_error

run_through_app()
st.title("Benchmark on this machine")
st.caption("Params and MACs are counted on the model (MACs with torch's FlopCounterMode / 2, 1000-class heads so they "
           "compare with published figures). Latency is measured here, batch 1, after warm-up: median and p90 over "
           "repeated runs. Weight values do not change a dense model's speed, so timing does not need trained weights. "
           "Accuracy is the published ImageNet top-1, with its source, and, where this project has trained the model, its "
           "Oxford-102 test top-1 measured by its recorded run. The same model runs on up to three engines, PyTorch eager, ONNX Runtime and "
           "OpenVINO: the runtime matters as much as the architecture, and which is fastest depends on the CPU.")


def _int8_accuracy() -> None:
    records = shipped_int8_records()
    st.subheader("INT8 accuracy: shipped models against FP32")
    if not records:
        st.info("No INT8 models are shipped yet: make them with `python -m mnv2_core quantize`.")
        return
    table = pd.DataFrame(shipped_int8_rows())
    st.dataframe(table, hide_index=True, column_config={
        c: st.column_config.NumberColumn(c, format="percent") for c in table.columns
        if c in ("FP32 top-1", "INT8 top-1") or "agreement" in c} | {
        c: st.column_config.NumberColumn(c, format="%.2f") for c in ("drop (points)", "FP32 MB", "INT8 MB")})
    st.caption("Oxford-102 test split, ONNX Runtime FP32 vs the shipped static QDQ INT8 model (per-channel weights, "
               "activation ranges calibrated offline; method chosen on the valid split), run by ONNX Runtime and "
               "OpenVINO; the INT8 top-1 and agreement shown are the worse engine's. Measured by "
               + "; ".join(f"`{c}`" for c in dict.fromkeys(r["provenance"]["command"] for r in records)) + ".")


def _saved_timings() -> None:
    cpu = this_cpu()
    st.subheader("Engines measured on this machine")
    rows = timings_table()
    if not rows:
        st.info(f"No engine timings exist yet for this CPU, {cpu.title}: the app picks engines only from "
                "measurements made on the CPU it runs on. The quick sweep times every engine for each MobileNetV2 "
                "width at each precision, as Classify runs them (about a second per engine).")
    if st.button("Quick sweep: MobileNetV2, every width and precision", key="quick_sweep"):
        from mnv2_core.jobs.benchmark import quick_sweep

        bar = st.progress(0.0, text="Starting...")
        quick_sweep(MOBILENET_WIDTHS, PRECISIONS,
                    progress=lambda i, n, title: bar.progress(i / n, text=f"Timing {title} ({i + 1}/{n})"))
        bar.empty()
        rows = timings_table()
    if not rows:
        return
    chart = px.bar(pd.DataFrame(rows), x="median_ms", y="title", color="engine", barmode="group", orientation="h",
                   labels={"median_ms": "median ms, batch 1", "title": ""}, title=f"Measured on {cpu.title}")
    st.plotly_chart(chart, key="saved_engines")
    st.caption(f"Recorded in `{timings_path()}` by the benchmark above, `python -m mnv2_core bench --save` or a "
               "configuration's first use; Classify's automatic engine is the fastest of these for its configuration.")


with st.form("bench"):
    c = st.columns([3, 3, 2, 3])
    models = c[0].multiselect("Models", MODEL_CHOICES, default=["mobilenet_v2", "resnet18", "lenet5"],
                              format_func=lambda n: REGISTRY[n].title, key="bench_models")
    widths = c[1].multiselect("MobileNetV2 widths", list(MOBILENET_WIDTHS), default=[0.5, 1.0], key="bench_widths")
    precisions = c[2].multiselect("Precisions", list(PRECISIONS), default=["fp32"], format_func=str.upper,
                                  key="bench_precisions")
    engines = c[3].multiselect("Engines", list(available_engines()), default=list(available_engines()),
                               format_func=ENGINE_TITLES.get, key="bench_engines",
                               help="ONNX Runtime FP32 is always timed too, as the reference for the ratio column")
    c2 = st.columns(3)
    runs = c2[0].slider("Timed runs", 5, 100, 20, key="bench_runs")
    warmup = c2[1].slider("Warm-up runs", 1, 20, 3, key="bench_warmup")
    threads = c2[2].number_input("Threads", 1, 64, value=None, placeholder="torch default", key="bench_threads")
    go = st.form_submit_button("Run benchmark", type="primary")

if go:
    from mnv2_core.jobs.benchmark import expand_configs, run_benchmark

    configs = expand_configs(models, widths, precisions, engines)
    if not configs:
        st.info("Choose at least one model, width and precision.")
    else:
        bar = st.progress(0.0, text="Starting...")

        def progress(i: int, n: int, config) -> None:
            bar.progress(i / n, text=f"Measuring {config.title} ({i + 1}/{n})" if config else "Done")

        try:
            rows = run_benchmark(configs, runs=runs, warmup=warmup, threads=threads, progress=progress)
        except (ValueError, RuntimeError) as exc:
            show_user_error(exc)
        else:
            from mnv2_core.jobs.benchmark import results_frame, save_bench_rows

            save_bench_rows(rows, "the Benchmark page")
            st.session_state.bench_rows = results_frame(rows)

frame: pd.DataFrame | None = st.session_state.get("bench_rows")
if frame is None:
    _int8_accuracy()
    _saved_timings()
    st.stop()

st.dataframe(frame, hide_index=True, column_config={
    "params_m": st.column_config.NumberColumn("Params (M)", format="%.2f"),
    "macs_m": st.column_config.NumberColumn("MACs (M)", format="%.1f"),
    "median_ms": st.column_config.NumberColumn("Median ms", format="%.2f"),
    "p90_ms": st.column_config.NumberColumn("p90 ms", format="%.2f"),
    "cv": st.column_config.NumberColumn("CV", format="percent"),
    "x_ort_fp32": st.column_config.NumberColumn("x ORT FP32", format="%.2f",
                                                help="median / ONNX Runtime FP32 median, same model, same run"),
    "imagenet_top1": st.column_config.NumberColumn("ImageNet top-1 (published)", format="%.1f"),
    "flowers_top1": st.column_config.NumberColumn("Flowers top-1 (this project's run)", format="%.1f"),
    "flowers_training": st.column_config.TextColumn("Flowers: how trained"),
})
st.download_button("Download CSV", frame.to_csv(index=False).encode(), "benchmark.csv", "text/csv", key="bench_csv")

bars = px.bar(frame, x="title", y="median_ms", color="model", pattern_shape="engine", error_y=frame["p90_ms"] - frame["median_ms"],
              error_y_minus=[0] * len(frame),
              labels={"median_ms": "median latency (ms), bar to p90", "title": ""}, title="Latency, batch 1")
st.plotly_chart(bars, key="latency_bars")
scored = frame.dropna(subset=["imagenet_top1"])
if not scored.empty:
    scatter = px.scatter(scored, x="median_ms", y="imagenet_top1", size="params_m", color="model", text="title",
                         hover_data=["macs_m", "source"], log_x=True,
                         labels={"median_ms": "median latency here (ms, log)", "imagenet_top1": "ImageNet top-1 (%)"},
                         title="Accuracy (published, see source) vs latency (measured here); size = params")
    scatter.update_traces(textposition="top center")
    st.plotly_chart(scatter, key="acc_scatter")
flowers = frame.dropna(subset=["flowers_top1"])
if not flowers.empty:
    scatter = px.scatter(flowers, x="median_ms", y="flowers_top1", size="params_m", color="model", text="title",
                         symbol="flowers_training", hover_data=["flowers_run"], log_x=True,
                         labels={"median_ms": "median latency here (ms, log)", "flowers_training": "training",
                                 "flowers_top1": "Oxford-102 test top-1 (%), measured by this project"},
                         title="Flower accuracy (this project's best run per model; marker = transfer-learned, "
                               "from scratch or distilled) vs latency")
    scatter.update_traces(textposition="top center")
    st.plotly_chart(scatter, key="flowers_scatter")
st.caption("Sources: " + "; ".join(sorted(set(frame["source"].dropna())))
           + ". Flower accuracy: this project's own runs (Training page).")
_int8_accuracy()
_saved_timings()
