"""Shared pieces of the Streamlit pages: cached models, the sidebar, and user-facing error handling.

Pages stay thin: every number comes from mnv2_core; this module only caches and renders.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import streamlit as st

from mnv2_core import config
from mnv2_core.models import MOBILENET_WIDTHS, REGISTRY
from mnv2_core.models.labels import CLASSES_TITLES
from mnv2_core.models.model_config import MODELS, ModelConfig

APP_RAN = "mnv2_app_ran"  # set by app.py on every run of a session
CLASSES = "classes"  # the class-set control's key, read before the control is drawn


@dataclass
class PageState:
    """What one browser session keeps between reruns besides its controls' values, declared once (a typo in a
    loose session key would silently read nothing)."""

    reran_for_app: bool = False  # run_through_app reran a page opened by its own link
    example: str | None = None  # Classify: the example photo picked
    sample: str | None = None  # Classify: the random test photo shown
    bench_rows: Any = None  # Benchmark: the last live run's table (a DataFrame)
    transfer_was_running: bool = False  # Training: the background run was going at the last rerun
    taught: Any = None  # Teach: the taught model (teach.TaughtModel)
    teach_loaded: str | None = None  # Teach: the id of the head file loaded last
    teach_file: bytes | None = None  # Teach: the taught head as a file, made once per taught model
    teach_file_of: Any = None
    teach_answer: tuple | None = None  # Teach: (photo id, taught model, image, answer), answered once


def page_state() -> PageState:
    """This browser session's :class:`PageState`."""
    state = st.session_state.get(PageState.__name__)
    if not isinstance(state, PageState):
        state = st.session_state[PageState.__name__] = PageState()
    return state


# The plot area point labels are laid out for: the smallest the app expects (1280x720 with the sidebar open), where
# Chromium measured a plot area of about 725 x 360 px (the legend below takes its share).
CHART_HEIGHT, PLOT_WIDTH_PX, PLOT_HEIGHT_PX, MARGIN = 500, 700, 350, dict(l=70, r=20, t=50, b=60)


def labelled_log_scatter(xs: list[float], ys: list[float], texts: list[str], groups: list[str], *, x_title: str,
                         y_title: str, title: str, y_range: tuple[float, float]):
    """One marker per point, coloured by group, on a log x axis; each point's label placed where it overprints no
    other label, point or edge (mnv2_core.plot_labels)."""
    import math

    import plotly.graph_objects as go

    from mnv2_core.plot_labels import Canvas, place_labels

    x_range = (math.log10(min(xs)) - 0.25, math.log10(max(xs)) + 0.25)
    placements = place_labels(list(zip(xs, ys)), texts, Canvas(PLOT_WIDTH_PX, PLOT_HEIGHT_PX, x_range, y_range,
                                                               x_log=True))
    fig = go.Figure()
    for group in dict.fromkeys(groups):
        idx = [i for i, g in enumerate(groups) if g == group]
        fig.add_trace(go.Scatter(x=[xs[i] for i in idx], y=[ys[i] for i in idx], mode="markers", name=group,
                                 marker=dict(size=14, line=dict(width=1, color="white")), text=[texts[i] for i in idx],
                                 hovertemplate="%{text}<br>%{x:.3g}<br>%{y:.1f}<extra></extra>"))
    for x, y, text, place in zip(xs, ys, texts, placements):
        fig.add_annotation(x=math.log10(x), y=y, text=text, ax=place.ax, ay=place.ay, showarrow=True, arrowhead=0,
                           arrowwidth=1, arrowcolor="#888888", font=dict(size=15))
    fig.update_layout(title=title, height=CHART_HEIGHT, margin=MARGIN, font=dict(size=15),
                      legend=dict(orientation="h", yanchor="top", y=-0.14, x=0),
                      xaxis=dict(type="log", range=list(x_range), title=x_title),
                      yaxis=dict(range=list(y_range), title=y_title))
    return fig


def run_through_app() -> None:
    """Each page starts with this. A link straight to a page (say /training), opened as a fresh server's first
    visit, makes Streamlit run that page file alone: it keeps its old pages/-folder mode until app.py's first
    st.navigation call, which a page run alone never reaches. Leave that mode as st.navigation would, and rerun
    once: app.py then lays out the app (wide layout, sidebar, the app's own page list) around the page."""
    if st.session_state.get(APP_RAN) or page_state().reran_for_app:
        return
    try:
        from streamlit.runtime.pages_manager import PagesManager

        PagesManager.uses_pages_directory = False  # the switch st.navigation itself makes, once per process
    except ImportError:  # another Streamlit: at worst the page shows without the app around it
        return
    page_state().reran_for_app = True
    st.rerun()


MODEL_CHOICES = list(MODELS)


BY_KEY = {ModelConfig: lambda config: config.cache_key}  # one cache entry per configuration


@st.cache_resource(show_spinner=False, max_entries=12, hash_funcs=BY_KEY)
def get_predictor(config: ModelConfig):
    """One cached model per configuration (model, width, precision, classes, engine): loading happens once."""
    from mnv2_core.runtime.predictor import Predictor

    return Predictor(config)


@st.cache_resource(show_spinner=False)
def warm_default_model():
    """Load, time and warm the default model in the background, once per server, when the first visitor opens
    any page: by the time a photo is uploaded, the model is ready."""
    import gc
    import threading

    def warm() -> None:
        from PIL import Image

        from mnv2_core.runtime.workers import model_slot

        config = ModelConfig()
        with model_slot():  # its engine timing must not share the cores with another's (the Benchmark sweep)
            get_footprint(config)  # loads the model (and times its engines) first, then counts its MACs
        get_predictor(config).predict(Image.new("RGB", (256, 256), "green"))  # the first heat map's kernels
        # Everything loaded so far lives as long as the server: out of the garbage collector's sight, its full
        # collections (which the server's own thread runs as it allocates) stop walking torch's object graph.
        gc.collect()
        gc.freeze()

    thread = threading.Thread(target=warm, name="warm-default-model", daemon=True)
    thread.start()
    return thread


@st.cache_data(show_spinner=False, max_entries=12, hash_funcs=BY_KEY)
def get_footprint(config: ModelConfig):
    """Params, MACs and size on disk of the cached model (counted once per configuration)."""
    from mnv2_core.runtime.predictor import footprint

    return footprint(get_predictor(config))


@st.cache_data(show_spinner=False, max_entries=64, ttl=10)  # a checkpoint trained meanwhile shows within seconds
def weights_overview(classes: str) -> list[tuple[str, list[str]]]:
    from mnv2_core.runtime.availability import weights_overview

    return weights_overview(MODEL_CHOICES, classes)


def get_availability(name: str, width: float | None, classes: str):
    """Whether this model answers with trained weights. Not cached: it only looks at files, and a checkpoint
    trained while the app runs must count at once."""
    from mnv2_core.runtime.availability import availability

    return availability(name, width, classes)


def sidebar_status() -> None:
    """Which weights each model gets, where the data is, and how many threads torch uses."""
    with st.sidebar:
        classes = st.session_state.get(CLASSES) or "flowers"
        st.caption(f"**Weights for the {CLASSES_TITLES[classes]} classes**")
        for words, titles in weights_overview(classes):
            st.caption(f"{', '.join(titles)}: **{words}**")
        data = config.data_dir()
        st.caption(f"Data: `{data}`" + ("" if data.exists() else " (not found; set MNV2_DATA)"))


def model_controls(*, allow_precision: bool = True) -> ModelConfig:
    """Model, width, precision, head and engine pickers; choices live in session_state so pages share them."""
    # Two rows: at 1280 px a segmented control of three precisions or two class sets needs a third of the width
    cols, below = st.columns([2, 3, 3]), st.columns([2, 3, 3])
    classes_now = st.session_state.get(CLASSES) or "flowers"

    def model_label(n: str) -> str:
        trained = any(get_availability(n, w, classes_now).trained for w in REGISTRY[n].widths)
        return REGISTRY[n].title + ("" if trained else " (not trained)")

    def width_title(w: float) -> str:
        return f"{w:g}" if get_availability("mobilenet_v2", w, classes_now).trained else f"{w:g} (not trained)"

    name = cols[0].selectbox("Model", MODEL_CHOICES, format_func=model_label, key="model")
    width = None
    if REGISTRY[name].has_widths:
        width = cols[1].select_slider("Width multiplier", options=list(MOBILENET_WIDTHS), value=1.0, key="width",
                                      format_func=width_title)
    else:
        cols[1].caption("Width multiplier: MobileNetV2 only")
    precision = "fp32"
    if allow_precision:
        from mnv2_core.runtime.availability import BF16_REFUSAL, has_fast_bf16, precisions_here

        precision = cols[2].segmented_control("Precision", list(precisions_here()), default="fp32", key="precision",
                                              format_func=str.upper) or "fp32"
    classes = below[1].segmented_control("Classes", ["flowers", "imagenet"], default="flowers", key=CLASSES,
                                     format_func=lambda h: CLASSES_TITLES[h]) or "flowers"
    from mnv2_core.runtime.engines import ENGINE_TITLES, available_engines

    titles = {"auto": "Auto (fastest here)", **ENGINE_TITLES}
    engine = below[0].selectbox("Engine", ["auto", *available_engines()], format_func=titles.get, key="engine",
                               help="Auto runs the engine measured fastest on this CPU for this model, width and "
                                    "precision; the first time, it measures them (a few seconds; Benchmark page)")
    if allow_precision and not has_fast_bf16():
        st.caption(BF16_REFUSAL)
    return ModelConfig(name, width, precision, classes, engine)


def top5_markdown(title: str, subtitle: str, top) -> str:
    """The top-k as one markdown table: rank, class [id], a text bar and the confidence."""
    rows = [f"| {rank} | {p.label} [{p.class_id}] | `{'█' * round(20 * p.prob)}{'░' * (20 - round(20 * p.prob))}` "
            f"{p.prob:.1%} |" for rank, p in enumerate(top, 1)]
    title = "".join("\\" + c if c in "\\`*_[]<>|#" else c for c in title)  # a file name is not markdown
    return "\n".join([f"**{title}** · {subtitle}", "", "| | class | confidence |", "|---:|---|---|", *rows])


def show_user_error(exc: BaseException) -> None:
    """One sentence for errors a user can cause (bad file, missing data or checkpoint); never a traceback."""
    from mnv2_core.files import os_error_sentence

    text = os_error_sentence(exc) if isinstance(exc, OSError) else str(exc.args[0]) if exc.args else str(exc)
    st.error(text, icon=":material/error:")
