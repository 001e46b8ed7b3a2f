"""The Benchmark page's tables: the shipped INT8 models' accuracy beside FP32."""

from __future__ import annotations

from mnv2_core.display.benchmark import shipped_int8_rows


def test_shipped_int8_rows_give_each_shipped_model_its_accuracy_beside_fp32() -> None:
    (row,) = [r for r in shipped_int8_rows() if r["model"] == "MobileNetV2 1.0"]  # not its from-scratch twin
    assert 0.9 < row["INT8 top-1"] <= 1 and 0.9 < row["top-1 agreement"] <= 1 and row["INT8 MB"] < row["FP32 MB"]


def test_precision_rows_put_bf16_and_int8_of_every_trained_model_beside_fp32_in_the_comparisons_order() -> None:
    from mnv2_core.display.benchmark import precision_rows

    rows = precision_rows()
    assert [r["model"] for r in rows][:5] == [f"MobileNetV2 {w}" for w in ("0.35", "0.5", "0.75", "1.0", "1.4")]
    assert {"ResNet18", "ResNet50", "EfficientNet-B0", "LeNet-5", "MobileNetV2 1.0 (from scratch)"} <= {
        r["model"] for r in rows}
    assert all(r["INT8 agreement"] and r["BF16 agreement"] for r in rows)
