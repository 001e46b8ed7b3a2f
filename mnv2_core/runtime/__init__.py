"""Answering: a configuration resolved from files (plan) -> an engine, PyTorch, ONNX Runtime or OpenVINO (engines)
-> top-k and the heat map from the same pass (predictor, explain; its sentences: describe); INT8 by PyTorch (int8_torch) or ONNX Runtime (int8_onnx), calibrated on real photos
(calibration); whether a model is trained here, and if not how to train it (availability)."""
