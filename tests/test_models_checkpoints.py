"""Every shipped flower checkpoint loads strictly at its own width and exports to ONNX with torch's answers."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from mnv2_core import config
from mnv2_core.models.checkpoints import checkpoint_meta, load_checkpoint_file

SHIPPED = sorted(config.CHECKPOINT_DIR.glob("*.pt"))


def test_every_model_and_width_of_the_app_ships_a_checkpoint() -> None:
    names = {p.name for p in SHIPPED}
    assert {f"mobilenet_v2_{w}_flowers102.pt" for w in ("0.35", "0.5", "0.75", "1.0", "1.4")} <= names
    assert {"resnet18_flowers102.pt", "resnet50_flowers102.pt", "efficientnet_b0_flowers102.pt",
            "lenet5_flowers102.pt", "mobilenet_v2_1.0_flowers102_scratch.pt"} <= names


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_a_shipped_checkpoint_loads_strictly_and_exports_to_onnx(path: Path, tmp_path: Path) -> None:
    from mnv2_core.runtime import engines

    loaded = load_checkpoint_file(path)  # strict: every tensor of the architecture at this width, no other
    meta = checkpoint_meta(path)
    assert (loaded.name, loaded.width) == (meta.model, meta.width) and meta.run_id
    assert loaded.resolution == meta.resolution and loaded.info.accuracy["test_top1"] == meta.test_top1
    x = torch.randn(1, 3, loaded.resolution, loaded.resolution, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        expected = loaded.model(x)
    onnx_file = engines.export_onnx(loaded.model, loaded.resolution, tmp_path / f"{path.stem}.onnx")
    got = engines.make_runner("onnxruntime", onnx_file, "fp32", 1)(x)
    torch.testing.assert_close(got.float(), expected, rtol=1e-3, atol=1e-3)
    assert got.argmax(1).item() == expected.argmax(1).item()
