"""Bias correction of a QDQ INT8 model (Nagel et al., "Data-Free Quantization Through Weight Equalization and Bias
Correction", ICCV 2019, section 4.2).

Rounding a layer's weights shifts the mean of its output: E[W_q x] - E[W x] = (W_q - W) E[x], per output channel.
The shift adds up through the network; narrow MobileNetV2s, whose layers have few channels to average it out, lose
most of their INT8 agreement to it. Each Conv and Gemm bias absorbs its own shift: E[x] is the per-channel mean of
the layer's input in the float model over the calibration photos, W_q is read back from the quantized model (its
DequantizeLinear), and the int32 bias moves by -(W_q - W) E[x] in its own scale. What it is worth at each width is
measured in the README (the INT8 table of the results) and in each shipped model's record (assets/int8).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mnv2_core.files import atomic_write

CORRECTED = ("Conv", "Gemm")


def input_means(fp32_model: Path, arrays: Sequence[np.ndarray]) -> dict[str, np.ndarray]:
    """Per-channel mean of every Conv/Gemm input of the float model over ``arrays``, keyed by node name."""
    import onnx
    import onnxruntime as ort

    model = onnx.load(str(fp32_model))
    nodes = [n for n in model.graph.node if n.op_type in CORRECTED]
    tensors = sorted({n.input[0] for n in nodes})
    outputs = {o.name for o in model.graph.output}
    for name in tensors:
        if name not in outputs:
            model.graph.output.append(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    feed = session.get_inputs()[0].name
    sums: dict[str, np.ndarray] = {}
    for array in arrays:
        for name, value in zip(tensors, session.run(tensors, {feed: array})):
            mean = value.mean(axis=(0, 2, 3)) if value.ndim == 4 else value.mean(axis=0)
            sums[name] = sums.get(name, 0) + mean.astype(np.float64)
    return {n.name: sums[n.input[0]] / len(arrays) for n in nodes}


def _shift(dw: np.ndarray, mean_in: np.ndarray, op_type: str, groups: int) -> np.ndarray:
    """(W_q - W) E[x] per output channel; a grouped conv's channel reads only its group's inputs."""
    if op_type == "Gemm":
        return dw @ mean_in
    per_out, per_in = dw.shape[0] // groups, dw.shape[1]
    group_means = mean_in.reshape(groups, per_in)[np.arange(dw.shape[0]) // per_out]  # [C_out, per_in]
    return (dw.sum(axis=(2, 3)) * group_means).sum(axis=1)


def bias_correct(qdq_model: Path, fp32_model: Path, means: dict[str, np.ndarray], target: Path) -> int:
    """Write ``qdq_model`` with every Conv/Gemm int32 bias corrected to ``target``; returns how many were."""
    import onnx
    from onnx import numpy_helper

    float_graph, quantized = onnx.load(str(fp32_model)).graph, onnx.load(str(qdq_model))
    float_weights = {i.name: numpy_helper.to_array(i) for i in float_graph.initializer}
    float_nodes = {n.name: n for n in float_graph.node}
    inits = {i.name: i for i in quantized.graph.initializer}
    producer = {out: n for n in quantized.graph.node for out in n.output}

    def array(name: str) -> np.ndarray:
        return numpy_helper.to_array(inits[name]).astype(np.float64)

    corrected = 0
    for node in quantized.graph.node:
        if node.op_type not in CORRECTED or node.name not in means or len(node.input) < 3:
            continue
        weight_dq, bias_dq = producer.get(node.input[1]), producer.get(node.input[2])
        if not (weight_dq and bias_dq and weight_dq.op_type == bias_dq.op_type == "DequantizeLinear"):
            continue  # a layer left in float has nothing to correct
        q, scale, zero = (array(name) for name in weight_dq.input[:3])
        shape = (-1,) + (1,) * (q.ndim - 1)
        dw = (q - zero.reshape(shape)) * scale.reshape(shape) - float_weights[float_nodes[node.name].input[1]]
        groups = next((a.i for a in node.attribute if a.name == "group"), 1)
        shift = _shift(dw, means[node.name], node.op_type, groups)
        bias = numpy_helper.to_array(inits[bias_dq.input[0]])
        fixed = (bias.astype(np.float64) - np.round(shift / array(bias_dq.input[1]))).astype(bias.dtype)
        inits[bias_dq.input[0]].CopyFrom(numpy_helper.from_array(fixed, bias_dq.input[0]))
        corrected += 1
    data = quantized.SerializeToString()
    atomic_write(target, lambda fh: fh.write(data))
    return corrected
