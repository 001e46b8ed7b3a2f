"""A taught head as a small file the user downloads and loads back: its tensors, class names and the backbone
whose features it fits, read with ``weights_only`` so that a file from anywhere runs no code."""

from __future__ import annotations

import io
from dataclasses import dataclass, fields

import torch
from torch import nn

from mnv2_core.train.teach import TaughtModel, TeachError, UnitLength
from mnv2_core.typed_json import known

FORMAT = "mnv2-lab-taught-head/1"


@dataclass(frozen=True)
class HeadFile:
    """What a taught head's file holds (torch.save of tensors and plain values, read with weights_only)."""

    format: str
    names: list[str]
    backbone: str
    state_dict: dict[str, torch.Tensor]
    held_out: int = 0
    held_out_correct: int = 0


def head_bytes(taught: TaughtModel) -> bytes:
    """The taught head as a small file (:class:`HeadFile`) that :func:`load_head` reads back."""
    buffer = io.BytesIO()
    saved = HeadFile(FORMAT, taught.names, taught.backbone, taught.head.state_dict(), taught.held_out,
                     taught.held_out_correct)
    torch.save({f.name: getattr(saved, f.name) for f in fields(saved)}, buffer)
    return buffer.getvalue()


def load_head(data: bytes, backbone: str) -> TaughtModel:
    """A taught head from :func:`head_bytes`'s file; TeachError (one sentence) if it is not one, or was taught on
    other features than ``backbone``'s."""
    try:
        saved = HeadFile(**known(HeadFile, torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)))
        if saved.format != FORMAT:
            raise ValueError("format")
    except Exception:  # noqa: BLE001 (any unreadable upload gets the same sentence)
        raise TeachError("This file is not a head taught on this page (download one after teaching).") from None
    if saved.backbone != backbone:
        raise TeachError(f"This head was taught on other features ({saved.backbone}); teach it again here.")
    try:  # a file edited by hand: right format and backbone, wrong insides
        names = list(saved.names)
        weight = saved.state_dict["1.weight"]
        head = nn.Sequential(UnitLength(), nn.Linear(weight.shape[1], weight.shape[0]))
        head.load_state_dict(saved.state_dict)
        if len(names) != weight.shape[0] or not all(isinstance(n, str) for n in names):
            raise ValueError("names")
        held_out, correct = int(saved.held_out), int(saved.held_out_correct)
    except Exception:  # noqa: BLE001
        raise TeachError("This taught head is damaged (its layer or its class names do not fit); download it "
                         "again after teaching.") from None
    return TaughtModel(names, head.eval(), backbone, [], held_out, correct)
