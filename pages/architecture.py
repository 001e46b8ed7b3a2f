"""Architecture: MobileNetV2 taken apart, from the model's own data."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

from mnv2_core.display import roofline as shown
from mnv2_core.measure.stages import anatomy, stage_table
from mnv2_core.models import MOBILENET_WIDTHS, REGISTRY, model_title
from mnv2_core.models.references import PAPER_TABLE_3_PEAK_MEMORY_K
from mnv2_core.runtime.roofline import measure_roofline
from pages.common import run_through_app, show_user_error

run_through_app()
st.title("Inside MobileNetV2")
st.caption("Sandler, Howard, Zhu, Zhmoginov, Chen. *MobileNetV2: Inverted Residuals and Linear Bottlenecks*, "
           "CVPR 2018 (arXiv:1801.04381). Every table below is computed from this project's model code.")

st.subheader("The inverted residual block with a linear bottleneck")
left, right = st.columns([2, 3])
with left:
    st.graphviz_chart("""
digraph { rankdir=TB; node [shape=box, style="rounded,filled", fillcolor="#e8f5e9", fontname="sans-serif"];
  x [label="input: h x w x k (thin bottleneck)", fillcolor="#fff3e0"];
  e [label="1x1 conv, expand to t·k, BN, ReLU6"];
  d [label="3x3 depthwise conv, stride s, BN, ReLU6"];
  p [label="1x1 conv, project to k', BN, no activation (linear)", fillcolor="#e3f2fd"];
  y [label="output: h/s x w/s x k'", fillcolor="#fff3e0"];
  x -> e -> d -> p -> y; x -> y [label=" + shortcut if s=1 and k=k' ", style=dashed]; }
""")
with right:
    st.markdown(
        "- **Inverted**: a classic residual block is wide-narrow-wide; this one is narrow-wide-narrow. The shortcut "
        "joins the thin bottlenecks, so the tensors kept in memory between blocks are small (Section 3.3).\n"
        "- **Expansion** t = 6 lets the cheap depthwise conv work in a high-dimensional space.\n"
        "- **Linear bottleneck**: the last 1x1 conv has no ReLU. ReLU on a low-dimensional manifold destroys "
        "information; keeping it linear helped accuracy in the paper's ablation (Section 3.2, Figure 6a).\n"
        "- **Depthwise separable** convs replace a k x k conv by a per-channel k x k conv and a 1x1 conv, cutting cost by "
        "almost k² (Section 3.1; calculator below).")

st.subheader("Stage table (paper Table 2)")
c = st.columns(2)
width = c[0].select_slider("Width multiplier", list(MOBILENET_WIDTHS), value=1.0, key="arch_width")
resolution = c[1].select_slider("Input resolution", [96, 128, 160, 192, 224], value=224, key="arch_res")
st.dataframe(pd.DataFrame([r.__dict__ for r in stage_table(width, resolution)]), hide_index=True)
st.caption("t: expansion factor, c: output channels (width-scaled, rounded to a multiple of 8), n: repeats, "
           "s: stride of the first repeat. The last conv keeps 1280 channels below width 1.0.")


@st.cache_data(show_spinner="Tracing the model...")
def _anatomy(width: float, resolution: int):
    return anatomy(width, resolution)


parts = _anatomy(width, resolution)
layers, blocks = pd.DataFrame(parts.layers), pd.DataFrame(parts.blocks)
m = st.columns(3)
m[0].metric("Parameters", f"{parts.params / 1e6:.2f} M")
m[1].metric("MACs", f"{parts.macs / 1e6:.1f} M")
m[2].metric("Peak activation memory (16-bit)", f"{parts.peak_activation_bytes / 1000:.0f} KB")

st.subheader("Per block")
st.plotly_chart(px.bar(blocks, x="name", y="macs", hover_data=["kind", "params", "out_shape"],
                       title="MACs per block: the early high-resolution blocks cost most compute",
                       labels={"macs": "MACs", "name": ""}), key="block_macs")
st.plotly_chart(px.bar(blocks, x="name", y="activation_kb", hover_data=["kind", "out_shape"],
                       title="Output activation memory per block (fp32)", labels={"activation_kb": "KB", "name": ""}),
                key="block_mem")
st.dataframe(blocks, hide_index=True)
st.caption("Peak activation memory here is the largest input + output of any block when blocks run one after another "
           "(Section 5.1; the expanded tensor inside a bottleneck is computed in chunks and not counted). The paper's "
           "Table 3 counts a single bottleneck tensor and removes the stem with its first-layer trick: "
           + ", ".join(f"{n} {k}K" for n, k in PAPER_TABLE_3_PEAK_MEMORY_K)
           + " (16-bit; MobileNetV2's 400K is the 16 x 112 x 112 bottleneck).")

with st.expander(f"Every conv and linear layer ({len(layers)})"):
    st.dataframe(layers, hide_index=True)

with st.expander("Where the ImageNet weights come from (width 1.0)"):
    from mnv2_core.models.tflite import TFLITE_FILE, TFLiteImportError, default_path, layer_origins

    try:
        st.caption(f"Each layer of our MobileNetV2 1.0 gets its ImageNet weights from one op of Google's official "
                   f"`{TFLITE_FILE}` (uint8, dequantized). A flower model fine-tuned here keeps these in its backbone "
                   "and trains its own 102-class head.")
        st.dataframe(pd.DataFrame(layer_origins(default_path())), hide_index=True)
    except TFLiteImportError as exc:
        st.info(str(exc) + " Set MNV2_WEIGHTS to the folder that holds it.")

st.subheader("Depthwise separable cost")
c = st.columns(5)
k = c[0].number_input("Kernel k", 1, 11, 3, key="dw_k")
cin = c[1].number_input("Input channels", 1, 4096, 64, key="dw_in")
cout = c[2].number_input("Output channels", 1, 4096, 128, key="dw_out")
h = c[3].number_input("Height", 1, 1024, 56, key="dw_h")
w = c[4].number_input("Width", 1, 1024, 56, key="dw_w")
from mnv2_core.measure.counts import depthwise_separable_cost  # noqa: E402

cost = depthwise_separable_cost(int(k), int(cin), int(cout), int(h), int(w))
st.dataframe(pd.DataFrame([cost]), hide_index=True)

st.subheader("The roofline of this CPU: why fewer bits help some layers more")
c = st.columns([2, 3])
rl_model = c[0].selectbox("Model", list(REGISTRY),
                          format_func=lambda n: REGISTRY[n].title, key="roofline_model")
rl_width = c[1].select_slider("Width multiplier", list(MOBILENET_WIDTHS), value=1.0, key="roofline_width") \
    if REGISTRY[rl_model].has_widths else None
try:
    with st.spinner(f"Measuring this CPU's peaks and {model_title(rl_model, rl_width)}'s layers (first time only, "
                    "about 10 s)..."):
        roof = measure_roofline(rl_model, rl_width)
except (ValueError, RuntimeError, OSError) as exc:
    show_user_error(exc)
else:
    st.dataframe(pd.DataFrame(shown.peak_rows(roof.peaks)), hide_index=True)
    colours = dict(zip(shown.PRECISION_ORDER, px.colors.qualitative.D3))
    chart = px.scatter(pd.DataFrame(shown.layer_points(roof)), x="MACs per byte", y="GMAC/s", color="precision",
                       symbol="kind", log_x=True, log_y=True, hover_data=["layer", "ms", "kernel"],
                       color_discrete_map=colours,
                       title=f"{model_title(rl_model, rl_width)}: each layer's speed against its MACs per byte")
    for p, line in pd.DataFrame(shown.roof_lines(roof.peaks)).groupby("precision", sort=False):
        chart.add_scatter(x=line["MACs per byte"], y=line["GMAC/s"], mode="lines", name=f"roofline {p}",
                          line={"dash": "dash", "width": 3, "color": colours[p]})
    chart.update_traces(marker={"size": 10}, selector={"mode": "markers"})
    chart.update_layout(font={"size": 16}, legend={"font": {"size": 14}}, height=600)
    chart.update_xaxes(dtick=1)  # decades only: minor labels overprint on a projector
    chart.update_yaxes(dtick=1)
    st.plotly_chart(chart, key="roofline_chart")
    st.markdown("\n".join(f"- {s}" for s in shown.lesson(roof)))
    if verdict := shown.int8_verdict(roof):
        st.warning(verdict, icon=":material/speed:")
    st.dataframe(pd.DataFrame(shown.kind_rows(roof)), hide_index=True, height="content")
    split = px.bar(pd.DataFrame(shown.time_split_rows(roof)), x="ms", y="configuration", color="part",
                   orientation="h", title="Where the time goes: the layers by kernel precision, and the ops between "
                                          "them", labels={"configuration": ""})
    split.update_layout(font={"size": 16}, legend={"orientation": "h", "y": -0.3})
    st.plotly_chart(split, key="roofline_split")
    st.dataframe(pd.DataFrame(shown.whole_model_rows(roof)), hide_index=True)
    st.caption("Peaks: the largest matrix products oneDNN runs here, on every thread (FP32 and BF16: a 1x1 "
               "convolution of 1024 channels over 64 x 64 pixels; INT8: a 2048 x 2048 int8 product with int32 sums) "
               "and a 256 MB copy, best runs. Layers: MACs and the bytes of input, weights and output at the "
               "precision's size, from the shapes; times from OpenVINO's per-layer counters (median of 20 runs), "
               "on the FP32 file, on it with BF16 inference precision, and on the shipped INT8 file. A layer whose "
               "data stays in the caches can beat the memory roof, which counts every byte from memory. Also "
               "`python -m mnv2_core roofline --model M`.")
