"""Teach: a linear head on MobileNetV2 features for classes a user brings, its held-out check and its file."""

from __future__ import annotations

from pathlib import Path

import pytest

from mnv2_core.train import teach

CLASSES = {54: "sunflower", 73: "water lily", 74: "rose"}



def test_three_classes_taught_from_six_photos_each_answer_new_photos(mnv2_backbone, class_photos, flowers_dir: Path) -> None:
    classes = [(name, class_photos(flowers_dir, c, "train", 6)) for c, name in CLASSES.items()]
    rows = []
    taught = teach.teach(mnv2_backbone.model, mnv2_backbone.info.preprocess, classes, backbone=teach.backbone_id(mnv2_backbone),
                         on_epoch=lambda row, epochs: rows.append(row))
    assert taught.names == list(CLASSES.values()) and len(rows) == teach.TeachConfig().epochs
    assert taught.held_out == 3 and taught.held_out_accuracy == 1.0  # one of six held out per class
    assert rows[-1].loss < rows[0].loss
    for class_id, name in CLASSES.items():
        for photo in class_photos(flowers_dir, class_id, "test", 2):
            assert teach.classify(taught, mnv2_backbone.model, mnv2_backbone.info.preprocess, photo)[0][0] == name


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
