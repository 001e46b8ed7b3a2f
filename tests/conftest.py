"""Shared test fixtures. Data and weights live in ../shared: skipped locally when absent, a failure in CI."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mnv2_core import config

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require_shared_path(path: Path) -> Path:
    """Return ``path`` if it exists; otherwise skip (developer machine) or fail (CI=true)."""
    if not path.exists():
        message = f"needs {path} (the shared data/weights folder beside the checkout)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def flowers_dir() -> Path:
    return require_shared_path(config.data_dir())


@pytest.fixture(scope="session")
def tflite_path() -> Path:
    return require_shared_path(config.weights_dir() / "mobilenet_v2_1.0_224_quant.tflite")


@pytest.fixture(scope="session")
def keras_folder() -> Path:
    return require_shared_path(config.weights_dir() / "mobilenet_v2_0.35_224_keras_imagenet")


@pytest.fixture(scope="session")
def sample_flower(flowers_dir: Path) -> Path:
    """A fixed real test image (class 50, common dandelion)."""
    return require_shared_path(sorted((flowers_dir / "test" / "50").glob("*.jpg"))[0])


@pytest.fixture(scope="session", autouse=True)
def fresh_engine_timings(tmp_path_factory: pytest.TempPathFactory):
    """Each test session starts, like a fresh clone, with no engine timings for this CPU (the app measures them)."""
    from mnv2_core.runtime import timings

    folder = tmp_path_factory.mktemp("engine_timings")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(timings, "timings_dir", lambda: folder)
        yield folder


ZEN1_FLAGS = "fpu sse sse2 ssse3 sse4_1 sse4_2 avx avx2 fma f16c"
ZEN4_FLAGS = ZEN1_FLAGS + " avx512f avx512bw avx512_vnni avx512_bf16 avx512_fp16"


def _cpuinfo(folder: Path, name: str, family: int, model: int, flags: str) -> Path:
    path = folder / name
    path.write_text(f"processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: {family}\nmodel\t\t: {model}\n"
                    f"model name\t: AMD EPYC\nstepping\t: 2\nflags\t\t: {flags}\n\nprocessor\t: 1\n"
                    f"model name\t: something else\n")
    return path


@pytest.fixture()
def cpuinfo_files(tmp_path: Path) -> dict[str, Path]:
    """/proc/cpuinfo of two machines this project has run on, both "AMD EPYC": a Zen1 (AVX2) and a Zen4 (AVX-512,
    VNNI, BF16)."""
    return {"zen1": _cpuinfo(tmp_path, "zen1", 23, 1, ZEN1_FLAGS), "zen4": _cpuinfo(tmp_path, "zen4", 25, 17, ZEN4_FLAGS)}


@pytest.fixture()
def offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No downloads, an empty torch hub and conversion cache, and empty checkpoint and run-record folders."""
    monkeypatch.setenv("MNV2_DOWNLOAD", "0")
    monkeypatch.setenv("MNV2_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr(config, "CHECKPOINT_DIR", tmp_path / "checkpoints")
    monkeypatch.setattr(config, "RESULTS_DIR", tmp_path / "results")
    return tmp_path


@pytest.fixture(scope="session")
def real_photos_dir() -> Path:
    return require_shared_path(config.real_photos_dir())


@pytest.fixture(scope="session")
def mnv2_backbone(flowers_dir: Path):
    """The shipped MobileNetV2 1.0 flower model, whose features Teach trains on."""
    from mnv2_core.models.weights import load_model

    return load_model("mobilenet_v2", 1.0, "flowers")


@pytest.fixture(scope="session")
def class_photos():
    """``class_photos(flowers_dir, class_id, split, count)``: photos of one Oxford-102 class, as RGB images."""
    from PIL import Image

    from mnv2_core.images.flowers import photos_of_class

    def photos(flowers_dir: Path, class_id: int, split: str, count: int):
        return [Image.open(p).convert("RGB") for p in photos_of_class(class_id, count, split, flowers_dir)]

    return photos


@pytest.fixture(scope="module")
def mnv2_models() -> dict:
    """MobileNetV2 at the five published widths (0.35, 0.5, 0.75, 1.0, 1.4), built once per test module."""
    from mnv2_core.models import mobilenet_v2

    return {w: mobilenet_v2(w) for w in (0.35, 0.5, 0.75, 1.0, 1.4)}


@pytest.fixture(scope="session")
def _spec():
    """``_spec(data, out, **kw)``: the RunSpec of a tiny CPU training run (LeNet-5 from scratch, 2 epochs at 32 px);
    ``kw`` replaces its fields, ``fit={...}`` its FitConfig's."""
    from mnv2_core.train.loop import FitConfig
    from mnv2_core.train.spec import RunSpec

    def _spec(data: Path, out: Path, **kw) -> RunSpec:
        fit = {"epochs": 2, "lr": 2e-3, "batch_size": 4, "warmup_epochs": 0.5, "train_resolution": 32, "resolution": 32}
        fit.update(kw.pop("fit", {}))
        base = {"model": "lenet5", "width": None, "recipe": "scratch", "init": "scratch", "data": data, "out": out,
                "fit": FitConfig(**fit), "device": "cpu", "command": "pytest"}
        return RunSpec(**{**base, **kw})

    return _spec


@pytest.fixture(scope="session")
def _tiny_copy():
    """``_tiny_copy(flowers_dir, target, class_ids=(1, 10, 102), per_split=(4, 2, 2))``: a few photos of a few classes
    copied into ``target`` in the Oxford-102 folder layout, for training runs that take seconds."""
    import shutil

    from mnv2_core.images.flowers import FLOWER_SPLITS

    def _tiny_copy(flowers_dir: Path, target: Path, class_ids=(1, 10, 102), per_split=(4, 2, 2)) -> Path:
        for split, n in zip(FLOWER_SPLITS, per_split):
            for class_id in class_ids:
                dest = target / split / str(class_id)
                dest.mkdir(parents=True)
                for path in sorted((flowers_dir / split / str(class_id)).glob("*.jpg"))[:n]:
                    shutil.copy(path, dest / path.name)
        return target

    return _tiny_copy
