"""Benchmark: MobileNetV2 against its peers on this machine, the comparison first, then the per-engine detail."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from mnv2_core.jobs.comparison import ComparisonRow, comparison_rows, pareto_front, time_missing_once, untimed
from mnv2_core.display.comparison import chart_points, lesson, table_records
from mnv2_core.models import MOBILENET_WIDTHS, REGISTRY
from mnv2_core.models.references import FLOWERS_TRANSFER
from mnv2_core.measure.machine import this_cpu
from mnv2_core.plot_labels import Canvas, place_labels
from mnv2_core.runtime.engines import ENGINE_TITLES, available_engines
from mnv2_core.runtime.int8_files import shipped_int8_commands
from mnv2_core.runtime.availability import BF16_REFUSAL, has_fast_bf16, precisions_here
from mnv2_core.runtime.timings import timings_path
from mnv2_core.display.benchmark import (bf16_commands, bf16_rows, frame_sources, measured_rows, precision_rows,
                                         results_frame, shipped_int8_rows, timings_table, unfaithful_note)
from pages.common import (CHART_HEIGHT, MARGIN, MODEL_CHOICES, PLOT_HEIGHT_PX, PLOT_WIDTH_PX, page_state,
                          run_through_app, show_user_error)

run_through_app()
st.title("MobileNetV2 against its peers")

def _comparison() -> list[ComparisonRow]:
    rows = comparison_rows()
    if untimed(rows):
        bar = st.progress(0.0, text=f"Timing the models on this CPU ({this_cpu().title}), first visit only...")
        time_missing_once(lambda i, n, what: bar.progress(i / max(n, 1), text=f"Timing {what} on this CPU "
                                                                            f"({min(i + 1, n)}/{n})"))
        bar.empty()
        rows = comparison_rows()
    return rows


def _log_ticks(log_range: tuple[float, float]) -> list[float]:
    """1-2-5 ticks inside a log10 range: readable from the back of a room, unlike every minor tick."""
    import math

    return [m * 10 ** e for e in range(math.floor(log_range[0]), math.ceil(log_range[1]) + 1) for m in (1, 2, 5)
            if log_range[0] <= math.log10(m * 10 ** e) <= log_range[1]]


def _tradeoff(rows: list[ComparisonRow], x: str, x_title: str, title: str) -> go.Figure | None:
    """Test top-1 against ``x`` (log axis), one point per model, the Pareto frontier, labels that never overprint;
    None when no model has both figures yet."""
    import math

    points = chart_points(rows, x)
    if not points:
        return None
    xs, ys = [p[1] for p in points], [p[2] for p in points]
    x_range = (math.log10(min(xs)) - 0.25, math.log10(max(xs)) + 0.25)
    y_range = (max(0.0, min(ys) - 10), 104.0)
    canvas = Canvas(PLOT_WIDTH_PX, PLOT_HEIGHT_PX, x_range, y_range, x_log=True)
    texts = [p[0].title for p in points]
    placements = place_labels(list(zip(xs, ys)), texts, canvas)
    fig = go.Figure()
    front = pareto_front(list(zip(xs, ys)))
    fig.add_trace(go.Scatter(x=[xs[i] for i in front], y=[ys[i] for i in front], mode="lines",
                             line=dict(color="#999999", dash="dash", width=2), name="Pareto frontier",
                             hoverinfo="skip"))
    for imagenet, name, colour, symbol in ((True, "started from ImageNet", "#1f77b4", "circle"),
                                           (False, "trained from scratch on the flowers", "#ff7f0e", "square")):
        idx = [i for i, p in enumerate(points) if bool(p[0].from_imagenet) == imagenet]
        fig.add_trace(go.Scatter(
            x=[xs[i] for i in idx], y=[ys[i] for i in idx], mode="markers", name=name,
            marker=dict(size=16, symbol=symbol, color=colour, line=dict(width=1, color="white")),
            text=[texts[i] for i in idx], hovertemplate="%{text}<br>%{x:.3g}<br>test top-1 %{y:.1f}%<extra></extra>"))
    for (x_value, y_value), text, place in zip(zip(xs, ys), texts, placements):
        fig.add_annotation(x=math.log10(x_value), y=y_value, text=text, ax=place.ax, ay=place.ay, showarrow=True,
                           arrowhead=0, arrowwidth=1, arrowcolor="#888888", font=dict(size=15))
    fig.update_layout(title=title, height=CHART_HEIGHT, margin=MARGIN, font=dict(size=15),
                      legend=dict(orientation="h", yanchor="top", y=-0.14, x=0),
                      xaxis=dict(type="log", range=list(x_range), title=x_title, tickvals=_log_ticks(x_range)),
                      yaxis=dict(range=list(y_range), title="Oxford-102 test top-1 (%)"))
    return fig


try:
    rows = _comparison()
except (ValueError, RuntimeError, OSError) as exc:  # a checkpoint or engine that fails here: one sentence
    show_user_error(exc)
    rows = comparison_rows()
for sentence in lesson(rows):
    st.markdown(f"##### {sentence}")
FORMATS = {"px": "{:.0f}", "Test %": "{:.1f}", "Phone %": "{:.1f}", "ImageNet %": "{:.1f}", "Params M": "{:.2f}",
           "MACs M": "{:.0f}", "MB": "{:.1f}", "FP32 ms": "{:.2f}", "INT8 ms": "{:.2f}", "% per M params": "{:.1f}",
           "% per GMAC": "{:.0f}"}
st.table(pd.DataFrame(table_records(rows)).style.format(FORMATS, na_rep="–").hide(axis="index"))
st.caption(
    f"Accuracy: Oxford-102 test split (819 photos), measured by this project from the checkpoint the app loads; "
    f"phone proxy: the same photos made phone-like. Params and MACs of the 102-class flower model at its input "
    f"size. Latency: batch 1, median ms on this CPU ({this_cpu().title}), the fastest engine timed here "
    f"(INT8 only where an INT8 model is shipped; the engines are in the detail below). Efficiency: test top-1 per million params and per GMAC. "
    f"ImageNet top-1: published, see the sources below the charts.")
for key, x, x_title, title in (("acc_latency", "fp32_ms", "FP32 latency on this CPU (ms, log scale)",
                                 "Accuracy against latency"),
                                ("acc_params", "params", "Params (millions, log scale)", "Accuracy against params")):
    figure = _tradeoff(rows, x, x_title, title)
    if figure is not None:
        st.plotly_chart(figure, key=key, width="stretch")
st.caption("One point per model at its fastest FP32 engine here; circles started from ImageNet weights (transfer-"
           "learned, or cut or widened from the transfer-learned 1.0), squares were trained from scratch on the flowers. The dashed line is the Pareto frontier: no model is both faster "
           "(or smaller) and more accurate than a model on it.")

st.subheader("Published Oxford-102 figures (ImageNet-pretrained, fine-tuned)")
st.dataframe(pd.DataFrame([{"Network": r.network, "Top-1 %": r.top1, "Params (M)": r.params_m, "Source": r.source}
                           for r in FLOWERS_TRANSFER]), hide_index=True, width="stretch")
st.caption("These use the official split (2,040 training photos, 6,149 test) and large inputs; this project uses the "
           "Udacity split (6,552 training, 819 test). They show what ImageNet pretraining reaches, not a like-for-like "
           "number; this project's MobileNetV2 1.0 above was transfer-learned too.")

st.header("Per engine, and a live run")
st.caption("Params and MACs are counted on the model (MACs with torch's FlopCounterMode / 2, 1000-class heads so they "
           "compare with published figures). Latency is measured here, batch 1, after warm-up: median and p90 over "
           "repeated runs. Weight values do not change a dense model's speed, so timing does not need trained weights. "
           "The same model runs on up to three engines, PyTorch eager, ONNX Runtime and OpenVINO: the runtime "
           "matters as much as the architecture, and which is fastest depends on the CPU.")
def _percent_columns(table: pd.DataFrame) -> dict:
    return {c: st.column_config.NumberColumn(c, format="percent") for c in table.columns
            if "top-1" in c or "agreement" in c} | {
        c: st.column_config.NumberColumn(c, format="%.2f") for c in ("drop (points)", "FP32 MB", "INT8 MB")}


def _precision_accuracy() -> None:
    st.subheader("BF16 and INT8 against FP32: how often the answer stays the same")
    rows = precision_rows()
    if not rows:
        st.info("No INT8 models are shipped and BF16 was not measured yet: `python -m mnv2_core quantize`, "
                "`python -m mnv2_core fidelity`.")
        return
    table = pd.DataFrame(rows)
    st.dataframe(table, hide_index=True, height="content", column_config=_percent_columns(table))
    st.caption("Oxford-102 test split; agreement: the share of photos whose top-1 is FP32's, the worse engine's "
               "(ONNX Runtime and OpenVINO for the shipped INT8 files; OpenVINO's bf16 precision and PyTorch "
               "autocast for BF16). INT8: static QDQ files, per-channel weights, activation ranges calibrated "
               "offline, method chosen on the valid split. Measured by "
               + "; ".join(f"`{c}`" for c in [*shipped_int8_commands(), *bf16_commands()]) + ".")
    if note := unfaithful_note(rows):
        st.info(note, icon=":material/info:")
    with st.expander("Each INT8 file: format, calibration, each engine's agreement, sizes"):
        detail = pd.DataFrame(shipped_int8_rows())
        st.dataframe(detail, hide_index=True, column_config=_percent_columns(detail))
    with st.expander("Each BF16 measurement: each engine's agreement, the CPU it ran on"):
        detail = pd.DataFrame(bf16_rows())
        st.dataframe(detail, hide_index=True, column_config=_percent_columns(detail))


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
        quick_sweep(MOBILENET_WIDTHS, precisions_here(),
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
    precisions = c[2].multiselect("Precisions", list(precisions_here()), default=["fp32"], format_func=str.upper,
                                  key="bench_precisions", help=None if has_fast_bf16() else BF16_REFUSAL)
    engines = c[3].multiselect("Engines", list(available_engines()), default=list(available_engines()),
                               format_func=ENGINE_TITLES.get, key="bench_engines",
                               help="ONNX Runtime FP32 is always timed too, as the reference for the ratio column")
    c2 = st.columns(3)
    runs = c2[0].slider("Timed runs", 5, 100, 20, key="bench_runs")
    warmup = c2[1].slider("Warm-up runs", 1, 20, 3, key="bench_warmup")
    threads = c2[2].number_input("Threads", 1, 64, value=None, placeholder="torch default", key="bench_threads")
    run_clicked = st.form_submit_button("Run benchmark", type="primary")

if run_clicked:
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
            from mnv2_core.jobs.benchmark import save_bench_rows

            save_bench_rows(rows, "the Benchmark page")
            page_state().bench_rows = results_frame(rows)

frame: pd.DataFrame | None = page_state().bench_rows
if frame is None:
    _precision_accuracy()
    _saved_timings()
    st.stop()

st.dataframe(frame, hide_index=True, column_config={
    "p90_above_ms": None,  # the bar chart's error bar; the table shows p90 itself
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

bars = px.bar(frame, x="title", y="median_ms", color="model", pattern_shape="engine", error_y="p90_above_ms",
              error_y_minus=[0] * len(frame),
              labels={"median_ms": "median latency (ms), bar to p90", "title": ""}, title="Latency, batch 1")
st.plotly_chart(bars, key="latency_bars")
scored = measured_rows(frame, "imagenet_top1")
if not scored.empty:
    scatter = px.scatter(scored, x="median_ms", y="imagenet_top1", size="params_m", color="model", text="title",
                         hover_data=["macs_m", "source"], log_x=True,
                         labels={"median_ms": "median latency here (ms, log)", "imagenet_top1": "ImageNet top-1 (%)"},
                         title="Accuracy (published, see source) vs latency (measured here); size = params")
    scatter.update_traces(textposition="top center")
    st.plotly_chart(scatter, key="acc_scatter")
flowers = measured_rows(frame, "flowers_top1")
if not flowers.empty:
    scatter = px.scatter(flowers, x="median_ms", y="flowers_top1", size="params_m", color="model", text="title",
                         symbol="flowers_training", hover_data=["flowers_run"], log_x=True,
                         labels={"median_ms": "median latency here (ms, log)", "flowers_training": "training",
                                 "flowers_top1": "Oxford-102 test top-1 (%), measured by this project"},
                         title="Flower accuracy (this project's best run per model; marker = transfer-learned, "
                               "from scratch or distilled) vs latency")
    scatter.update_traces(textposition="top center")
    st.plotly_chart(scatter, key="flowers_scatter")
st.caption("Sources: " + "; ".join(frame_sources(frame))
           + ". Flower accuracy: this project's own runs (Training page).")
_precision_accuracy()
_saved_timings()
