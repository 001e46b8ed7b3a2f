"""Classify: a flower photo in, the top-5 classes, the latency and where the model looked out."""

from __future__ import annotations

import random
from pathlib import Path

import streamlit as st

from mnv2_core import config
from mnv2_core.images.decode import SUPPORTED_FORMATS, DecodedImage, ImageDecodeError, decode_image
from mnv2_core.images.flowers import example_photos, test_photos
from mnv2_core.images.views import center_crop_view, preview
from mnv2_core.models.labels import flower_names
from mnv2_core.measure.serving import AnswerClock
from mnv2_core.runtime import describe
from mnv2_core.runtime.engines import ENGINE_TITLES
from pages.common import (get_availability, get_footprint, get_predictor, model_controls, page_state,
                          run_through_app, show_user_error, top5_markdown)

run_through_app()
clock = AnswerClock()  # the server's own time to this run's answer (measure/serving)
st.title("Classify a flower")
st.caption("Upload a photo (JPEG, PNG, WebP, HEIC from an iPhone...), take one with the camera, or try a test image. "
           "Change the width and precision and watch the prediction, size and speed change.")

choice = model_controls()
available = get_availability(choice.model, choice.width, choice.classes)
if not available.trained:
    # An untrained model would still name a flower with confidence: say why it is off, and how to train it.
    st.warning(f"{available.reason} It is listed so you can see the whole family, but it does not answer until it "
               f"is trained.", icon=":material/block:")
    if available.command:
        st.caption("Train it with (see the Training page for how the shipped models were made):")
        st.code(available.command, language="bash")


@st.cache_data(show_spinner=False, max_entries=16)
def _decode(data: bytes) -> DecodedImage:
    return decode_image(data)


@st.cache_data(show_spinner=False, max_entries=16)
def _preview(data: bytes):
    return preview(_decode(data).image)  # what the page shows of the photo: encoded and sent at display size


@st.cache_data(show_spinner=False, max_entries=16)
def _thumbnail(path: str):
    return center_crop_view(_decode(Path(path).read_bytes()).image, 160)


source = st.segmented_control("Image", ["Upload", "Camera", "Examples", "Test-set sample"], default="Upload",
                              key="source") or "Upload"
data: bytes | None = None
name = ""  # what the answer is about, in its title: the file's name, the example's class or "camera photo"
if source == "Upload":
    upload = st.file_uploader("Flower photo", type=list(SUPPORTED_FORMATS), key="upload")
    data, name = (upload.getvalue(), upload.name) if upload is not None else (None, "")
elif source == "Camera":
    shot = st.camera_input("Take a photo", key="camera")
    data, name = (shot.getvalue(), "camera photo") if shot is not None else (None, "")
elif source == "Examples":
    examples = example_photos()
    if not examples:
        st.info(f"No example photos found under {config.data_dir()}; set MNV2_DATA to an Oxford-102 folder.")
    strip = st.columns(max(1, len(examples)))
    for column, (class_id, path) in zip(strip, examples):
        column.image(_thumbnail(str(path)), width="stretch")
        if column.button(flower_names()[class_id - 1], key=f"example_{class_id}", width="stretch"):
            page_state().example = str(path)
    if page_state().example:
        data, name = Path(page_state().example).read_bytes(), Path(page_state().example).name
else:
    samples = [str(p) for p in test_photos()]
    if not samples:
        st.info(f"No test images found under {config.data_dir()}; set MNV2_DATA to an Oxford-102 folder.")
    else:
        state = page_state()
        if st.button("Another sample", key="resample") or state.sample is None:
            state.sample = random.choice(samples)
        data, name = Path(state.sample).read_bytes(), Path(state.sample).name
        st.caption(f"`{state.sample}`")

if data is None:
    st.stop()

try:
    decoded = _decode(data)
except ImageDecodeError as exc:
    show_user_error(exc)
    st.stop()

if not available.trained:
    st.stop()  # the photo stays uploaded: pick a trained model or width and it is classified

try:
    from mnv2_core.runtime.timings import is_measured

    timing = choice.engine == "auto" and not is_measured(choice.model, choice.width, choice.precision)
    with st.spinner(f"Loading {choice.title} and timing its engines on this CPU (first time only, a few seconds)..."
                    if timing else f"Loading {choice.title} (first time only)..."):
        predictor = get_predictor(choice)
except (ValueError, RuntimeError, OSError) as exc:
    show_user_error(exc)
    st.stop()

queue = st.empty()


def _waiting(ahead: int) -> None:
    queue.info(f"Waiting for a free core: the model is busy with other students' photos ({ahead} waiting).",
               icon=":material/hourglass_top:")


result = predictor.predict(decoded.image, top_k=5, on_wait=_waiting)
queue.empty()
if result.not_sure:
    st.warning(f"This may not be one of the 102 flowers: the model is only {result.top[0].prob:.0%} sure of its "
               f"answer, below the {result.not_sure_below:.0%} it reaches on 95% of the flowers it gets right. "
               "The top-5 is still shown.", icon=":material/help:")
if not predictor.info.trained:
    st.warning(predictor.info.description, icon=":material/casino:")
elif warning := describe.accuracy_warning(predictor.info):
    st.info(warning, icon=":material/science:")

left, right = st.columns([2, 3])
with right:
    # One markdown element (a table with text bars), not a chart: it is replaced whole on a rerun, and a browser
    # draws it without loading plotly.js, which cost each classroom session seconds of CPU.
    st.markdown(top5_markdown(f"Top-5: {name}", choice.title, result.top))
    clock.top5_sent()

    fp = get_footprint(choice)
    m = st.columns(2)
    m[0].metric("Latency (this prediction)", f"{result.latency_ms:.1f} ms",
                help=f"Model forward pass only, batch 1, {choice.precision.upper()} on {ENGINE_TITLES[predictor.engine]}; "
                     f"resize and normalise took {result.preprocess_ms:.1f} ms. One call is noisy: measure the "
                     f"warm median below.")
    m[1].metric("Parameters", f"{fp.params / 1e6:.2f} M")
    m = st.columns(2)
    m[0].metric("MACs", f"{fp.macs / 1e6:.0f} M")
    m[1].metric("Size on disk", f"{fp.size_bytes / 1e6:.1f} MB",
                help="The model file that runs: torch state_dict, or the ONNX file (the Benchmark page compares "
                     "the shipped FP32 and INT8 files)")
    st.caption(f"Weights: {predictor.info.description} Engine: {ENGINE_TITLES[predictor.engine]}, "
               f"{predictor.runner.detail}. {describe.fidelity(predictor.plan, predictor.engine) or ''} "
               f"{describe.slower_than_fp32(predictor.plan) or ''}")

    @st.fragment
    def warm_latency() -> None:
        if st.button("Measure warm latency (20 runs)", key="warm"):
            stats = predictor.warm_latency(runs=20, warmup=5)
            st.write(f"median **{stats.median_ms:.1f} ms**, p90 {stats.p90_ms:.1f} ms, "
                     f"{stats.threads} threads, {stats.runs} runs after {stats.warmup} warm-up")

    warm_latency()

with left:
    w, h = decoded.original_size
    st.image(_preview(data), caption=f"{decoded.format}, {w}x{h}" + (", EXIF rotation applied" if decoded.exif_rotated
                                                                      else ""), width="stretch")
    view = predictor.model_view(decoded.image)
    show_cam = st.toggle("Where the model looked", value=True, key="cam",
                         help="CAM: the last feature map of the pass that answered, weighted by the classifier's "
                              "row for the answer (exactly Grad-CAM for a global-average-pool + linear head; "
                              "LeNet-5's map takes Grad-CAM's gradients through its head). An INT8 model shows "
                              "its own map.")
    if show_cam and result.heat is not None:
        from mnv2_core.runtime.explain import hottest, overlay

        x, y = hottest(result.heat)
        st.image(overlay(view, result.heat), caption=f"What the model sees in {name} ({predictor.resolution}x"
                 f"{predictor.resolution}), red where evidence for '{result.top[0].label}' is strongest (hottest "
                 f"at x={x}, y={y})", width="stretch")
        clock.heat_sent()
    else:
        st.image(view, caption=f"What the model sees ({predictor.resolution}x{predictor.resolution} centre crop)",
                 width="stretch")
clock.record(name, choice.title)
