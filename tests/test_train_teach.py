"""Teach: a linear head on MobileNetV2 features for classes a user brings, its held-out check and its file."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PIL import Image

from mnv2_core.train import teach

CLASSES = {54: "sunflower", 73: "water lily", 74: "rose"}


@pytest.fixture(scope="module")
def backbone(flowers_dir: Path):
    from mnv2_core.models.weights import load_model

    return load_model("mobilenet_v2", 1.0, "flowers")


def _photos(flowers_dir: Path, class_id: int, split: str, count: int) -> list[Image.Image]:
    from mnv2_core.images.flowers import photos_of_class

    return [Image.open(p).convert("RGB") for p in photos_of_class(class_id, count, split, flowers_dir)]


def test_three_classes_taught_from_six_photos_each_answer_new_photos(backbone, flowers_dir: Path) -> None:
    classes = [(name, _photos(flowers_dir, c, "train", 6)) for c, name in CLASSES.items()]
    rows = []
    taught = teach.teach(backbone.model, backbone.info.preprocess, classes, backbone=teach.backbone_id(backbone),
                         on_epoch=lambda row, epochs: rows.append(row))
    assert taught.names == list(CLASSES.values()) and len(rows) == teach.TeachConfig().epochs
    assert taught.held_out == 3 and taught.held_out_accuracy == 1.0  # one of six held out per class
    assert rows[-1].loss < rows[0].loss
    for class_id, name in CLASSES.items():
        for photo in _photos(flowers_dir, class_id, "test", 2):
            assert teach.classify(taught, backbone.model, backbone.info.preprocess, photo)[0][0] == name


@pytest.mark.parametrize("classes, sentence", [
    ([("a", [0] * 5)], "between 2 and 10 classes"),
    ([("a", [0] * 5), ("", [0] * 5)], "needs a name"),
    ([("Rose", [0] * 5), ("rose", [0] * 5)], "same name"),
    ([("a", [0] * 5), ("b", [0] * 4)], "'b' has 4 photos"),
])
def test_classes_that_cannot_be_taught_get_one_sentence(classes, sentence: str) -> None:
    with pytest.raises(teach.TeachError, match=sentence):
        teach.check_classes(classes)


def test_a_file_that_is_not_a_photo_is_named() -> None:
    with pytest.raises(teach.TeachError, match="notes.jpg"):
        teach.decode_photos([("notes.jpg", b"%PDF-1.7 not a photo")])


def test_a_downloaded_head_loads_back_and_answers_the_same(backbone, flowers_dir: Path) -> None:
    classes = [(name, _photos(flowers_dir, c, "train", 5)) for c, name in list(CLASSES.items())[:2]]
    ident = teach.backbone_id(backbone)
    taught = teach.teach(backbone.model, backbone.info.preprocess, classes, backbone=ident)
    data = teach.head_bytes(taught)
    assert len(data) < 100_000
    again = teach.load_head(data, ident)
    x = torch.randn(3, 1280)
    torch.testing.assert_close(again.head(x), taught.head(x))
    assert again.names == taught.names and again.held_out_correct == taught.held_out_correct
    with pytest.raises(teach.TeachError, match="other features"):
        teach.load_head(data, "MobileNetV2 0.5 backbone 000000000000")
    with pytest.raises(teach.TeachError, match="not a head"):
        teach.load_head(b"not a torch file", ident)


def test_a_head_file_edited_by_hand_is_one_sentence() -> None:
    import io

    head = torch.nn.Sequential(teach._UnitLength(), torch.nn.Linear(1280, 3))

    def blob(**changes) -> bytes:
        saved = {"format": teach.FORMAT, "names": ["a", "b", "c"], "backbone": "B", "state_dict": head.state_dict(),
                 "held_out": 3, "held_out_correct": 3, **changes}
        buffer = io.BytesIO()
        torch.save(saved, buffer)
        return buffer.getvalue()

    assert teach.load_head(blob(), "B").names == ["a", "b", "c"]
    for bad in (dict(state_dict={}), dict(names=["a", "b"]), dict(held_out="x"),
                dict(state_dict={"1.weight": torch.zeros(3, 7), "1.bias": torch.zeros(2)})):
        with pytest.raises(teach.TeachError, match="damaged"):
            teach.load_head(blob(**bad), "B")
