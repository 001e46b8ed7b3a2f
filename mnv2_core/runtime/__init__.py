"""Answering: a configuration (model_config) -> an engine, PyTorch or ONNX Runtime (engines) -> top-k with Grad-CAM
(predictor, explain); INT8 by PyTorch (int8_torch) or ONNX Runtime (int8_onnx), calibrated on real photos
(calibration); whether a model is trained here, and if not how to train it (availability)."""
