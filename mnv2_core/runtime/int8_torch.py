"""INT8 post-training static quantization: per-channel weights, calibrated activations, conv-bn(-relu) fused.

Uses torch.ao's FX graph mode (``prepare_fx``/``convert_fx``) because it quantizes the plain ``x + self.conv(x)``
residual adds and fuses conv-bn without editing the model, so our MobileNetV2 keeps torchvision's module layout.
torch.ao.quantization is deprecated in favour of torchao's PT2E flow but still works in torch 2.x; its warnings are
silenced here so they do not flood the app.

Notes (tests/test_runtime_int8_torch.py holds the checks):
- ReLU6 is not fused into the conv (the x86 backend fuses only ReLU): it runs as a quantized hardtanh, with no
  dequantize/requantize round trip. Swapping it for a fused ReLU whose output range is clamped to [0, 6] was
  measured only slightly faster, with no better agreement, so it is not done.
- TF 'SAME' convs (weights imported from TFLite) are rewritten to fixed zero-pads + a padding-1 conv for the
  calibration input size (see :func:`_replace_tf_same`); the pads run in float, one dequantize/quantize pair each.
"""

from __future__ import annotations

import copy
import io
import math
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from itertools import chain
from typing import TYPE_CHECKING

import torch
from torch import nn

from mnv2_core.models.mobilenetv2 import TFSamePadConv2d
from mnv2_core.runtime.calibration import QuantizationError, calibration_tensors

if TYPE_CHECKING:
    from mnv2_core.models.weights import LoadedModel

__all__ = ["QuantizationError", "BACKENDS", "quantize_int8", "set_engine", "model_size_bytes", "reestimate_bn_stats",
           "is_quantized", "quantize_for_predictor", "calibrated_int8", "fix_tf_same_padding"]

# fbgemm and x86 are the same kernels on x86 CPUs (x86 also picks onednn where it is faster); qnnpack is for ARM.
BACKENDS: tuple[str, ...] = ("x86", "fbgemm", "qnnpack")


@contextmanager
def _quiet() -> Iterator[None]:
    # torch.ao.quantization warns on import, on every observer and on every quantized tensor it creates.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", UserWarning)
        yield


def set_engine(backend: str = "x86") -> None:
    """Select the quantized kernel library; a quantized model must run under the engine it was packed for."""
    if backend not in BACKENDS:
        raise QuantizationError(f"unknown INT8 backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if backend not in torch.backends.quantized.supported_engines:
        raise QuantizationError(f"this machine's PyTorch has no {backend!r} INT8 kernels (it has "
                                f"{', '.join(e for e in torch.backends.quantized.supported_engines if e != 'none')})")
    if torch.backends.quantized.engine != backend:
        torch.backends.quantized.engine = backend


def fix_tf_same_padding(model: nn.Module, example_input: torch.Tensor, *, fbgemm_depthwise: bool = True) -> None:
    """Replace every TF-'SAME' conv with fixed zero-pads + a plain conv for ``example_input``'s size.

    FX cannot trace the shape arithmetic in :class:`TFSamePadConv2d`, so the pads are fixed here. They only depend
    on whether each strided side is even or odd, so the result stays exact for any input size with the same
    parities (all multiples of 32 for MobileNetV2).
    """
    targets = [(name, m) for name, m in model.named_modules() if isinstance(m, TFSamePadConv2d)]
    if not targets:
        return
    sizes: dict[str, tuple[int, int]] = {}
    hooks = [m.register_forward_pre_hook(lambda mod, args, name=name: sizes.__setitem__(name, tuple(args[0].shape[-2:])))
             for name, m in targets]
    try:
        with torch.no_grad():
            model(example_input)
    finally:
        for h in hooks:
            h.remove()
    for name, conv in targets:
        pads: list[int] = []  # F.pad order: left, right, top, bottom
        for size, k, s, d in zip(reversed(sizes[name]), reversed(conv.kernel_size), reversed(conv.stride),
                                 reversed(conv.dilation)):
            total = max((math.ceil(size / s) - 1) * s + (k - 1) * d + 1 - size, 0)
            pads += [total // 2, total - total // 2]
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        _replace_tf_same(parent, child, conv, pads, fbgemm_depthwise)


def _conv_like(conv: nn.Conv2d, padding: int) -> nn.Conv2d:
    plain = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, padding, conv.dilation,
                      conv.groups, conv.bias is not None)
    plain.load_state_dict(conv.state_dict())
    return plain.train(conv.training)


def _replace_tf_same(parent: nn.Module, child: str, conv: nn.Conv2d, pads: list[int],
                     fbgemm_depthwise: bool = True) -> None:
    # fbgemm has a fast depthwise kernel only for padding 1: a padding-0 depthwise conv runs ~100x slower, which made
    # INT8 MobileNetV2 with TF weights 4x slower than FP32. TF pads (0, 1) on even sides; the same windows come from
    # one zero row/column on top/left, a padding-1 conv, then dropping the first output row/column. The crop commutes
    # with the BN and activation that follow, so it goes after them and conv-bn fusion still matches.
    later = list(parent.children())[list(dict(parent.named_children())).index(child) + 1:]
    per_element = all(isinstance(m, (nn.BatchNorm2d, nn.ReLU, nn.ReLU6, nn.Identity)) for m in later)
    if fbgemm_depthwise and pads in ([0, 1, 0, 1], [1, 1, 1, 1]) and conv.kernel_size == (3, 3) \
            and isinstance(parent, nn.Sequential) and per_element:
        if pads == [1, 1, 1, 1]:
            setattr(parent, child, _conv_like(conv, 1))
        else:
            setattr(parent, child, nn.Sequential(nn.ZeroPad2d((1, 0, 1, 0)), _conv_like(conv, 1)).train(conv.training))
            parent.append(nn.ZeroPad2d((-1, 0, -1, 0)))  # a negative pad crops
        return
    setattr(parent, child, nn.Sequential(nn.ZeroPad2d(tuple(pads)), _conv_like(conv, 0)).train(conv.training))


def quantize_int8(model: nn.Module, calibration: Iterable[torch.Tensor], *, example_input: torch.Tensor | None = None,
                  backend: str = "x86") -> nn.Module:
    """Return an INT8 copy of ``model`` (an FX ``GraphModule`` in eval mode); ``model`` itself is left untouched.

    ``calibration`` yields float batches normalised as the model expects; their activation ranges set the INT8
    scales, so use real images (a few dozen suffice). ``example_input`` defaults to the first batch. Also sets
    ``torch.backends.quantized.engine`` to ``backend``, which must stay set while the model runs (see
    :func:`set_engine`).
    """
    from torch.ao.quantization import get_default_qconfig_mapping
    from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx

    set_engine(backend)
    batches = iter(calibration)
    first = next(batches, None)
    if first is None:
        raise QuantizationError("INT8 calibration needs at least one batch of images, and none was given")
    if example_input is None:
        example_input = first[:1]
    float_model = copy.deepcopy(model).eval()
    with _quiet():
        try:
            fix_tf_same_padding(float_model, example_input)
            prepared = prepare_fx(float_model, get_default_qconfig_mapping(backend), (example_input,))
        except Exception as exc:  # FX raises TraceError, TypeError, RuntimeError... depending on what it met
            raise QuantizationError(f"{type(model).__name__} cannot be traced for INT8 quantization ({exc})") from exc
        with torch.no_grad():
            for batch in chain([first], batches):
                prepared(batch)
        quantized = convert_fx(prepared)
    quantized.eval()
    quantized.quant_backend = backend  # so a runner can call set_engine() with the right value
    return quantized


def is_quantized(model: nn.Module) -> bool:
    """Whether ``model`` holds INT8 quantized layers (rather than only float ones)."""
    return any(type(m).__module__.startswith("torch.ao.nn.quantized") for m in model.modules())




def model_size_bytes(model: nn.Module) -> int:
    """Bytes that ``torch.save(model.state_dict())`` writes: the size on disk of the weights."""
    buffer = io.BytesIO()
    with _quiet():
        torch.save(model.state_dict(), buffer)
    return buffer.getbuffer().nbytes


def reestimate_bn_stats(model: nn.Module, batches: Iterable[torch.Tensor]) -> None:
    """Recompute every BatchNorm's running mean/variance from ``batches`` (cumulative average), then eval().

    Untrained models need this before their outputs mean anything: fresh statistics (mean 0, variance 1) leave a
    randomly initialised MobileNetV2 with logits around 1e-9.
    """
    it = iter(batches)
    first = next(it, None)
    if first is None:
        raise ValueError("re-estimating BatchNorm statistics needs at least one batch of images, and none was given")
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        model.eval()
        return
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # None means a cumulative average over all batches seen
    model.train()
    try:
        with torch.no_grad():
            for batch in chain([first], it):
                model(batch)
    finally:
        for m, momentum in zip(norms, momenta):
            m.momentum = momentum
        model.eval()






def quantize_for_predictor(loaded: LoadedModel, backend: str = "x86") -> nn.Module:
    """INT8 twin of a loaded model, calibrated on real flower photos normalised the way its weights expect.

    Untrained weights get their BatchNorm statistics re-estimated first (on a copy), else every activation is
    near zero and the calibrated ranges mean nothing.
    """
    batches = calibration_tensors(loaded.info.preprocess)
    model = loaded.model
    if not loaded.info.trained:
        model = copy.deepcopy(model)
        reestimate_bn_stats(model, batches)
    return quantize_int8(model, batches, backend=backend)


def calibrated_int8(float_model: nn.Module, resolution: int, backend: str = "x86") -> nn.Module:
    """INT8 copy of an untrained model for timing: BN statistics re-estimated (on a copy), calibrated on photos."""
    from mnv2_core.images.views import Preprocess

    batches = calibration_tensors(Preprocess(resolution))
    model = copy.deepcopy(float_model)
    reestimate_bn_stats(model, batches)
    return quantize_int8(model, batches, backend=backend)
