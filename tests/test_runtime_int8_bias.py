"""Bias correction of a QDQ INT8 model: every Conv/Gemm bias absorbs the mean shift of its rounded weights."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from mnv2_core.runtime import engines
from mnv2_core.runtime.int8_bias import bias_correct, input_means
from mnv2_core.runtime.int8_onnx import quantize_qdq


class _Tiny(nn.Module):
    """A conv, a depthwise conv and a linear layer: the three kinds bias correction handles."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.dw = nn.Conv2d(8, 8, 3, padding=1, groups=8)
        self.fc = nn.Linear(8, 5)
        with torch.no_grad():  # a few coarse weights, so that rounding shifts the means visibly
            self.dw.weight.mul_(torch.linspace(0.05, 3.0, 8).view(8, 1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.dw(torch.relu(self.conv(x))))
        return self.fc(x.mean(dim=(2, 3)))


def test_bias_correction_removes_the_mean_shift_of_rounded_weights(tmp_path: Path) -> None:
    fp32 = engines.export_onnx(_Tiny(), 16, tmp_path / "tiny.onnx")
    rng = np.random.default_rng(0)
    arrays = [rng.normal(0.5, 1.0, (1, 3, 16, 16)).astype(np.float32) for _ in range(64)]
    means = input_means(fp32, arrays)
    assert len(means) == 3 and means[next(k for k in means if "dw" in k)].shape == (8,)
    int8 = quantize_qdq(fp32, tmp_path / "int8.onnx", arrays, "minmax", "u8s8-rr")
    assert bias_correct(int8, fp32, means, tmp_path / "int8_bc.onnx") == 3

    def mean_error(path: Path, precision: str) -> float:
        run, ref = engines.ort_runner(path, precision, 1), engines.ort_runner(fp32, "fp32", 1)
        diffs = [(run(torch.from_numpy(a)) - ref(torch.from_numpy(a))).numpy()[0] for a in arrays]
        return float(np.abs(np.mean(diffs, axis=0)).mean())  # the systematic part of the error, per logit

    corrected, plain = mean_error(tmp_path / "int8_bc.onnx", "int8"), mean_error(int8, "int8")
    print(f"systematic logit error: {plain:.4f} -> {corrected:.4f}")
    assert corrected < 0.7 * plain
