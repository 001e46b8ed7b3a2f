"""Teach: a class makes 2-10 classes of its own and MobileNetV2 learns them in seconds (a new linear head)."""

from __future__ import annotations

from pathlib import Path

import plotly.graph_objects as go
import streamlit as st

from mnv2_core import config
from mnv2_core.images.decode import SUPPORTED_FORMATS
from mnv2_core.images.flowers import photos_of_class
from mnv2_core.models.labels import flower_names
from mnv2_core.models.model_config import ModelConfig
from mnv2_core.train import teach, teach_file
from pages.common import BY_KEY, get_predictor, page_state, run_through_app, show_user_error

run_through_app()
st.title("Teach it your own classes")
@st.cache_data(show_spinner=False, max_entries=4, hash_funcs=BY_KEY)
def _backbone_id(config: ModelConfig) -> str:
    """Hashes the backbone's weights once per model, not on every rerun."""
    return teach.backbone_id(get_predictor(config).loaded)


# ImageNet features, as Teachable Machine uses: general enough for pencils and faces, and never trained on the
# Oxford-102 photos below (the flower checkpoint was, which would make the held-out check too easy).
BACKBONE = ModelConfig(classes="imagenet")
try:
    with st.spinner(f"Loading {BACKBONE.title} (first time only)..."):
        loaded = get_predictor(BACKBONE).loaded
except (ValueError, RuntimeError, OSError) as exc:
    show_user_error(exc)
    st.stop()
if not loaded.info.trained:
    st.warning(f"{loaded.info.description} Untrained features cannot be taught anything; see the Training page.",
               icon=":material/block:")
    st.stop()
backbone = _backbone_id(BACKBONE)
preprocess = loaded.info.preprocess
st.caption(f"Make {teach.MIN_CLASSES}-{teach.MAX_CLASSES} classes of your own (your flowers, pencils, faces...), "
           f"at least {teach.MIN_PHOTOS} photos each. {loaded.title} turns every photo into "
           f"{teach.feature_size(loaded.model)} features; a new linear layer learns your classes from them in "
           f"seconds: phase 1 of transfer learning. One photo in {teach.HOLD_OUT_EVERY} is held out to check it. "
           "Nothing is saved on the server: download the taught head to keep it.")


def teach_curve(history: list[teach.TeachEpoch]) -> go.Figure:
    """Training loss and held-out accuracy per epoch."""
    epochs = [r.epoch for r in history]
    fig = go.Figure()
    fig.add_scatter(x=epochs, y=[r.loss for r in history], name="training loss", yaxis="y")
    fig.add_scatter(x=epochs, y=[r.held_out_accuracy for r in history], name="held-out accuracy", yaxis="y2")
    fig.update_layout(title="Learning", xaxis_title="epoch", height=320, margin=dict(l=10, r=10, t=40, b=10),
                      legend=dict(orientation="h", y=-0.3), yaxis=dict(title="loss", rangemode="tozero"),
                      yaxis2=dict(title="held-out accuracy", overlaying="y", side="right", range=[0, 1.05],
                                  tickvals=[0, 0.25, 0.5, 0.75, 1], tickformat=".0%", showgrid=False))
    return fig


mode = st.segmented_control("Photos", ["Your photos", "Oxford-102 classes"], default="Your photos",
                            key="teach_mode") or "Your photos"
classes: list[tuple[str, list[tuple[str, bytes | Path]]]] = []  # (name, [(file name, bytes or path)])
if mode == "Your photos":
    count = int(st.number_input("Classes", teach.MIN_CLASSES, teach.MAX_CLASSES, 3, key="teach_count"))
    columns = st.columns(min(count, 5))
    for i in range(count):
        with columns[i % len(columns)]:
            name = st.text_input(f"Name of class {i + 1}", value=f"Class {i + 1}", key=f"teach_name_{i}")
            files = st.file_uploader(f"Photos of class {i + 1}", type=list(SUPPORTED_FORMATS),
                                     accept_multiple_files=True, key=f"teach_photos_{i}")
            shots = st.session_state.setdefault(f"teach_shots_{i}", {})
            if st.toggle("Camera", key=f"teach_camera_on_{i}"):
                shot = st.camera_input(f"Photo for class {i + 1}", key=f"teach_camera_{i}")
                if shot is not None:
                    shots.setdefault(shot.file_id, shot.getvalue())
            photos = [(f.name, f.getvalue()) for f in files or []] + \
                     [(f"camera photo {j + 1}", data) for j, data in enumerate(shots.values())]
            st.caption(f"{len(photos)} photo{'s' * (len(photos) != 1)}")
            classes.append((name, photos))
else:
    names = flower_names()
    picked = st.multiselect(f"Oxford-102 classes ({teach.OXFORD_PHOTOS} training photos each)", list(range(1, len(names) + 1)),
                            default=[54, 73, 74], format_func=lambda c: names[c - 1], key="teach_flowers",
                            max_selections=teach.MAX_CLASSES)
    if not config.data_dir().exists():
        st.info(f"No Oxford-102 photos found under {config.data_dir()}; set MNV2_DATA to an Oxford-102 folder.")
    for class_id in picked:
        classes.append((names[class_id - 1], [(p.name, p) for p in photos_of_class(class_id, teach.OXFORD_PHOTOS)]))

if st.button("Train", type="primary", key="teach_train"):
    progress, curve = st.progress(0.0, text="Features..."), st.empty()
    rows: list[dict] = []

    def on_features(done: int, total: int) -> None:
        progress.progress(done / total * 0.5, text=f"Features of {done}/{total} photos")

    def on_epoch(row: teach.TeachEpoch, epochs: int) -> None:
        rows.append(row)
        progress.progress(0.5 + 0.5 * row.epoch / epochs, text=f"Epoch {row.epoch}/{epochs}")
        if row.epoch % 10 == 0 or row.epoch == epochs:
            curve.plotly_chart(teach_curve(rows), key=f"teach_curve_{row.epoch}")

    try:
        teach.check_classes(classes)
        images = [(name, teach.decode_photos(photos)) for name, photos in classes]
        page_state().taught = teach.teach(loaded.model, preprocess, images, backbone=backbone,
                                              on_epoch=on_epoch, on_features=on_features)
        progress.empty()
        curve.empty()  # drawn again below, from the taught model's history
    except teach.TeachError as exc:
        progress.empty()
        show_user_error(exc)

loaded_head = st.file_uploader("Load a taught head (.pt)", type=["pt"], key="teach_load")
state = page_state()
if loaded_head is not None and state.teach_loaded != loaded_head.file_id:
    try:
        state.taught = teach_file.load_head(loaded_head.getvalue(), backbone)
        state.teach_loaded = loaded_head.file_id
    except teach.TeachError as exc:
        show_user_error(exc)

taught: teach.TaughtModel | None = state.taught
if taught is None:
    st.stop()

st.subheader(f"Your model: {', '.join(taught.names)}")
if taught.held_out:
    st.success(f"Held-out check: {taught.held_out_correct} of {taught.held_out} photos it never trained on "
               f"answered right ({taught.held_out_accuracy:.0%})" +
               (f"; taught in {taught.seconds:.1f} s." if taught.seconds else "."), icon=":material/school:")
if taught.history:
    st.plotly_chart(teach_curve(taught.history), key="teach_history")
if state.teach_file_of is not taught:  # torch.save once per taught model, not per rerun
    state.teach_file, state.teach_file_of = teach_file.head_bytes(taught), taught
st.download_button("Download the taught head", state.teach_file, file_name="taught_head.pt",
                   key="teach_download")
photo = st.file_uploader("A new photo to classify", type=list(SUPPORTED_FORMATS), key="teach_try")
if photo is not None:
    # Decoded and answered once per (photo, taught model): other widgets rerun the page too.
    seen = state.teach_answer
    if seen is None or seen[0] != photo.file_id or seen[1] is not taught:
        try:
            (image,) = teach.decode_photos([(photo.name, photo.getvalue())])
        except teach.TeachError as exc:
            show_user_error(exc)
            st.stop()
        seen = (photo.file_id, taught, image, teach.classify(taught, loaded.model, preprocess, image))
        state.teach_answer = seen
    image, answer = seen[2], seen[3]
    left, right = st.columns([1, 2])
    left.image(image, caption=photo.name, width="stretch")
    with right:
        st.markdown(f"### {answer[0][0]}")
        for name, prob in answer:
            st.progress(prob, text=f"{name}: {prob:.0%}")
