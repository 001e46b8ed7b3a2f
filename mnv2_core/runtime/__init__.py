"""Answering: a model configuration -> an engine (PyTorch or ONNX Runtime, FP32 or INT8) -> top-k with Grad-CAM
(predictor); INT8 by PyTorch (int8_torch) or ONNX Runtime (int8_onnx); whether a model is trained here (availability)."""
