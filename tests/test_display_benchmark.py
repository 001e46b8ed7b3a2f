"""The Benchmark page's tables: the shipped INT8 models' accuracy beside FP32."""

from __future__ import annotations

from mnv2_core.display.benchmark import shipped_int8_rows


def test_shipped_int8_rows_give_each_shipped_model_its_accuracy_beside_fp32() -> None:
    (row,) = [r for r in shipped_int8_rows() if r["model"] == "MobileNetV2 1.0"]
    assert 0.9 < row["INT8 top-1"] <= 1 and 0.9 < row["top-1 agreement"] <= 1 and row["INT8 MB"] < row["FP32 MB"]
