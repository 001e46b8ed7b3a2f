"""MobileNetV2 taken apart at any width and resolution: the paper's Table 2 from the model's own stage data, and
the built model's per-layer and per-block costs."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from mnv2_core.models.mobilenetv2 import FIRST_CHANNELS, LAST_CHANNELS, PAPER_TABLE_2, make_divisible


@dataclass(frozen=True)
class StageRow:
    input: str  # e.g. "112² x 32"
    operator: str
    t: int | None
    c: int
    n: int
    s: int | None


def stage_table(width: float = 1.0, resolution: int = 224, num_classes: int = 1000) -> list[StageRow]:
    """Rows of Table 2 (Sandler et al. 2018) with channels scaled by the width multiplier as the model builds them."""
    size = resolution
    rows = [StageRow(f"{size}² x 3", "conv2d 3x3", None, make_divisible(FIRST_CHANNELS * width), 1, 2)]
    size = (size + 1) // 2
    channels = rows[0].c
    for spec in PAPER_TABLE_2:
        out = make_divisible(spec.c * width)
        rows.append(StageRow(f"{size}² x {channels}", "bottleneck", spec.t, out, spec.n, spec.s))
        size = (size + 1) // 2 if spec.s == 2 else size
        channels = out
    last = make_divisible(LAST_CHANNELS * max(1.0, width))
    rows.append(StageRow(f"{size}² x {channels}", "conv2d 1x1", None, last, 1, 1))
    rows.append(StageRow(f"{size}² x {last}", f"avgpool {size}x{size}", None, last, 1, None))
    rows.append(StageRow(f"1 x 1 x {last}", "conv2d 1x1 (classifier)", None, num_classes, 1, None))
    return rows


@dataclass(frozen=True)
class Anatomy:
    """What one MobileNetV2 costs, layer by layer and block by block (shapes as "c x h x w" text)."""

    layers: list[dict[str, Any]]
    blocks: list[dict[str, Any]]
    params: int
    macs: int
    peak_activation_bytes: int  # 16-bit, blocks run one after another


def _readable(row: Any) -> dict[str, Any]:
    out = asdict(row)
    for key in ("in_shape", "out_shape"):
        out[key] = " x ".join(map(str, out[key]))
    out["activation_kb"] = out.pop("activation_bytes") / 1000
    return out


def anatomy(width: float = 1.0, resolution: int = 224) -> Anatomy:
    """Build MobileNetV2 at ``width`` (ImageNet classifier) and trace it at ``resolution``."""
    from mnv2_core.measure.counts import block_table, count_macs, count_params, layer_table
    from mnv2_core.measure.memory import peak_activation_memory
    from mnv2_core.models.mobilenetv2 import mobilenet_v2

    model = mobilenet_v2(width=width).eval()
    return Anatomy([_readable(r) for r in layer_table(model, resolution)],
                   [_readable(r) for r in block_table(model, resolution)], count_params(model),
                   count_macs(model, resolution), peak_activation_memory(model, resolution, bytes_per_value=2))
