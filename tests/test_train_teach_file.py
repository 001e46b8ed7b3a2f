"""A taught head's file: it loads back answering the same, and a file that is not one, or was edited, is one
sentence."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from mnv2_core.train import teach, teach_file

CLASSES = {54: "sunflower", 73: "water lily"}


def test_a_downloaded_head_loads_back_and_answers_the_same(mnv2_backbone, class_photos, flowers_dir: Path) -> None:
    classes = [(name, class_photos(flowers_dir, c, "train", 5)) for c, name in CLASSES.items()]
    ident = teach.backbone_id(mnv2_backbone)
    taught = teach.teach(mnv2_backbone.model, mnv2_backbone.info.preprocess, classes, backbone=ident)
    data = teach_file.head_bytes(taught)
    assert len(data) < 100_000
    again = teach_file.load_head(data, ident)
    x = torch.randn(3, 1280)
    torch.testing.assert_close(again.head(x), taught.head(x))
    assert again.names == taught.names and again.held_out_correct == taught.held_out_correct
    with pytest.raises(teach.TeachError, match="other features"):
        teach_file.load_head(data, "MobileNetV2 0.5 backbone 000000000000")
    with pytest.raises(teach.TeachError, match="not a head"):
        teach_file.load_head(b"not a torch file", ident)


def test_a_head_file_edited_by_hand_is_one_sentence() -> None:
    import io

    head = torch.nn.Sequential(teach.UnitLength(), torch.nn.Linear(1280, 3))

    def blob(**changes) -> bytes:
        saved = {"format": teach_file.FORMAT, "names": ["a", "b", "c"], "backbone": "B", "state_dict": head.state_dict(),
                 "held_out": 3, "held_out_correct": 3, **changes}
        buffer = io.BytesIO()
        torch.save(saved, buffer)
        return buffer.getvalue()

    assert teach_file.load_head(blob(), "B").names == ["a", "b", "c"]
    for bad in (dict(state_dict={}), dict(names=["a", "b"]), dict(held_out="x"),
                dict(state_dict={"1.weight": torch.zeros(3, 7), "1.bias": torch.zeros(2)})):
        with pytest.raises(teach.TeachError, match="damaged"):
            teach_file.load_head(blob(**bad), "B")
