"""The machine a measurement is made on: a CPU identity that tells this project's machines apart.

Every cloud CPU here reports itself as "AMD EPYC", yet a Zen1 (AVX2 only) and a Zen4 (AVX-512 with VNNI and BF16)
pick different engines and INT8 formats. The identity therefore holds the vendor, the family/model/stepping, the
instruction-set flags that decide kernels, the cores this process may use and the engine versions; its ``key``
names the timing records measured on it, so that a record never speaks for another CPU.
"""

from __future__ import annotations

import hashlib
import os
import platform
from dataclasses import asdict, dataclass, field
from pathlib import Path

# The flags that change which kernels the engines pick (int8 dot products, bf16, 512-bit vectors, AMX tiles).
ISA_FLAGS = ("avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512_vnni", "avx_vnni", "avx512_bf16", "avx512_fp16",
             "amx_tile", "amx_int8", "amx_bf16")


@dataclass(frozen=True)
class CpuIdentity:
    vendor: str
    model_name: str
    family: str
    model: str
    stepping: str
    flags: tuple[str, ...]  # the ISA_FLAGS this CPU has, in ISA_FLAGS order
    cores: int  # CPUs this process may run on
    arch: str = field(default_factory=platform.machine)
    engines: tuple[tuple[str, str], ...] = ()  # (engine package, version): a new version may pick other kernels

    @property
    def key(self) -> str:
        """A file-name-safe name: readable prefix, then a hash of everything above."""
        digest = hashlib.sha256(repr(asdict(self)).encode()).hexdigest()[:10]
        name = "".join(c if c.isalnum() else "-" for c in self.model_name.lower()).strip("-")
        return f"{name}-f{self.family}m{self.model}-{self.cores}c-{digest}"

    @property
    def title(self) -> str:
        """For people: "AMD EPYC (family 25 model 1; AVX2, FMA; 2 cores)"."""
        isa = ", ".join(f.upper().replace("_", "-") for f in self.flags if f in ("avx2", "avx512f", "avx512_vnni",
                                                                               "avx_vnni", "avx512_bf16", "amx_int8",
                                                                               "amx_bf16")) or "no AVX2"
        return f"{self.model_name} (family {self.family} model {self.model}; {isa}; {self.cores} cores)"

    @property
    def has_vnni(self) -> bool:
        """Native int8 dot products (AVX512-VNNI, AVX-VNNI or AMX): where INT8 with signed weights is fast."""
        return bool({"avx512_vnni", "avx_vnni", "amx_int8"} & set(self.flags))

    @property
    def has_bf16(self) -> bool:
        """Native bfloat16 arithmetic (AVX512-BF16 or AMX): where BF16 is about twice FP32's speed."""
        return bool({"avx512_bf16", "amx_bf16"} & set(self.flags))

    def as_dict(self) -> dict:
        return {**asdict(self), "key": self.key, "title": self.title}


def _cpuinfo_fields(text: str) -> dict[str, str]:
    """The first processor's ``key: value`` lines of /proc/cpuinfo."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            if fields:
                break
            continue
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    return fields


def _engine_versions() -> tuple[tuple[str, str], ...]:
    from importlib import metadata

    versions = []
    for package in ("torch", "onnxruntime", "openvino"):
        try:
            versions.append((package, metadata.version(package)))
        except metadata.PackageNotFoundError:
            pass
    return tuple(versions)


def read_cpu(cpuinfo: Path = Path("/proc/cpuinfo"), *, cores: int | None = None,
             engines: tuple[tuple[str, str], ...] | None = None) -> CpuIdentity:
    """This machine's CPU (or the one a saved /proc/cpuinfo describes)."""
    try:
        fields = _cpuinfo_fields(cpuinfo.read_text())
    except OSError:  # not Linux: what platform knows
        fields = {"vendor_id": platform.system(), "model name": platform.processor() or platform.machine()}
    flags = set(fields.get("flags", "").split())
    if cores is None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return CpuIdentity(fields.get("vendor_id", "?"), fields.get("model name", "?"), fields.get("cpu family", "?"),
                       fields.get("model", "?"), fields.get("stepping", "?"), tuple(f for f in ISA_FLAGS if f in flags),
                       cores, engines=_engine_versions() if engines is None else engines)


_THIS_CPU: CpuIdentity | None = None


def this_cpu() -> CpuIdentity:
    """The CPU this process runs on (read once); ``MNV2_CPUINFO`` names a saved /proc/cpuinfo to stand in for it
    (tests of what another CPU is offered, e.g. BF16)."""
    global _THIS_CPU
    if _THIS_CPU is None:
        _THIS_CPU = read_cpu(Path(os.environ.get("MNV2_CPUINFO") or "/proc/cpuinfo"))
    return _THIS_CPU
