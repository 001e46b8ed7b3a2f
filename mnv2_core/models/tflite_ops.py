"""Reading the official TFLite file without the TF runtime: every conv and depthwise op as float arrays in
PyTorch layout (uint8 weights and int32 biases dequantized), with its stride, padding and fused activation."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np


class TFLiteImportError(ValueError):
    """The TFLite file is missing, unreadable, or not the MobileNetV2 1.0 this importer knows."""


_NUMPY_TYPES = {0: np.float32, 2: np.int32, 3: np.uint8, 9: np.int8}  # tflite.TensorType codes


# The flatbuffer codes this reader needs (tflite.BuiltinOperator, tflite.ActivationFunctionType)
_CONV, _DEPTHWISE = 3, 4
_NO_ACTIVATION, _RELU6 = 0, 3


_PAD_SAME = 0  # tflite.Padding.SAME


@dataclass(frozen=True)
class _ConvOp:
    """One conv op of the file: float weight (OIHW), float bias, stride, fused ReLU6 or not."""

    weight: np.ndarray
    bias: np.ndarray
    stride: int
    relu6: bool
    padding_same: bool
    op_index: int = -1
    weight_name: str = ""
    depthwise: bool = False


def _read_model(path: Path):
    import tflite  # lazy: only the importer needs the flatbuffer reader

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise TFLiteImportError(f"Cannot read the TFLite file {path}: {exc.strerror or exc}.") from None
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise TFLiteImportError(f"{path.name} is not a TFLite model (no 'TFL3' flatbuffer identifier).")
    try:
        model = tflite.Model.GetRootAsModel(data, 0)
        if model.SubgraphsLength() != 1:
            raise TFLiteImportError(f"{path.name} has {model.SubgraphsLength()} subgraphs; expected one.")
    except TFLiteImportError:
        raise
    except Exception:
        raise TFLiteImportError(f"{path.name} could not be parsed as a TFLite flatbuffer.") from None
    return model, data


def _tensor_array(model, data: bytes, graph, index: int) -> np.ndarray:
    """The stored constant of tensor ``index``, dequantized to float32 if it carries quantization parameters."""
    tensor = graph.Tensors(index)
    dtype = _NUMPY_TYPES.get(tensor.Type())
    if dtype is None:
        raise TFLiteImportError(f"Tensor {tensor.Name().decode()!r} has unsupported type code {tensor.Type()}.")
    buffer = model.Buffers(tensor.Buffer())
    if buffer.DataLength() > 0:
        raw = buffer.DataAsNumpy().tobytes()
    elif buffer.Offset() > 1:  # files over 2 GB keep constants outside the flatbuffer, at an offset
        raw = data[buffer.Offset(): buffer.Offset() + buffer.Size()]
    else:
        raise TFLiteImportError(f"Tensor {tensor.Name().decode()!r} has no constant data.")
    shape = tuple(int(s) for s in tensor.ShapeAsNumpy())
    values = np.frombuffer(raw, dtype=dtype).reshape(shape)
    quant = tensor.Quantization()
    if quant is None or quant.ScaleLength() == 0:
        return values.astype(np.float32)
    scale = quant.ScaleAsNumpy().astype(np.float64)
    zero_point = quant.ZeroPointAsNumpy().astype(np.float64) if quant.ZeroPointLength() else np.zeros_like(scale)
    if scale.size > 1:  # per-channel: broadcast along the quantized dimension
        axis_shape = [1] * len(shape)
        axis_shape[quant.QuantizedDimension()] = scale.size
        scale, zero_point = scale.reshape(axis_shape), zero_point.reshape(axis_shape)
    return ((values.astype(np.float64) - zero_point) * scale).astype(np.float32)


def conv_ops(path: Path) -> list[_ConvOp]:
    """All CONV_2D and DEPTHWISE_CONV_2D ops of the file, in file order, as float arrays in PyTorch layout."""
    model, data = _read_model(path)
    try:
        return _extract_conv_ops(model, data, path)
    except TFLiteImportError:
        raise
    except Exception:  # flatbuffers parse lazily: a damaged file fails here, with IndexError, struct.error, ...
        raise TFLiteImportError(f"{path.name} is damaged: its tensors or operators could not be read.") from None


def _extract_conv_ops(model, data: bytes, path: Path) -> list[_ConvOp]:
    import tflite

    graph = model.Subgraphs(0)
    ops: list[_ConvOp] = []
    for i in range(graph.OperatorsLength()):
        op = graph.Operators(i)
        code_entry = model.OperatorCodes(op.OpcodeIndex())
        # Newer files store the code in BuiltinCode; older ones only in the deprecated int8 field.
        code = max(code_entry.BuiltinCode(), code_entry.DeprecatedBuiltinCode())
        if code not in (_CONV, _DEPTHWISE):
            continue
        inputs = op.InputsAsNumpy()
        weight = _tensor_array(model, data, graph, int(inputs[1]))
        bias = _tensor_array(model, data, graph, int(inputs[2]))
        if code == _CONV:
            options = tflite.Conv2DOptions()
            weight = weight.transpose(0, 3, 1, 2)  # OHWI -> OIHW
        else:
            options = tflite.DepthwiseConv2DOptions()
            weight = weight.transpose(3, 0, 1, 2)  # [1, H, W, C] -> [C, 1, H, W]
        table = op.BuiltinOptions()
        options.Init(table.Bytes, table.Pos)
        ops.append(_ConvOp(np.ascontiguousarray(weight), bias, int(options.StrideH()),
                           options.FusedActivationFunction() == _RELU6, options.Padding() == _PAD_SAME, i,
                           graph.Tensors(int(inputs[1])).Name().decode(), code == _DEPTHWISE))
        if options.StrideH() != options.StrideW():
            raise TFLiteImportError(f"{path.name}: op {i} has unequal strides; not MobileNetV2.")
        if options.FusedActivationFunction() not in (_NO_ACTIVATION, _RELU6):
            raise TFLiteImportError(f"{path.name}: op {i} has an activation other than ReLU6; not MobileNetV2.")
    return ops
