"""Oxford-102 flowers, from a folder in the Udacity layout or from torchvision's official download.

Folder: ``<root>/<split>/<class id>/*.jpg`` (or ``.webp``, as in the 144 px pack). Class ids are the folder names
1..102; the label (output index) is ``id - 1``, the same order as :func:`mnv2_core.models.labels.flower_names`.
torchvision's ``ImageFolder`` would sort the folders as strings ("1", "10", "100", ...) and scramble that mapping,
so the folders are listed and sorted here by number.

Official: ``--data torchvision`` reads ``torchvision.datasets.Flowers102`` (the 1020/1020/6149 ``setid.mat``
split) under ``<cache>/torchvision`` and downloads it there when downloads are allowed. Its labels are
``imagelabels.mat - 1``, the same class order and names as the Udacity folders' ids, so a model trained on either
source has the same outputs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FLOWER_SPLITS = ("train", "valid", "test")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")
OFFICIAL = "torchvision"  # the --data value that selects torchvision's official Flowers102
_OFFICIAL_SPLITS = {"train": "train", "valid": "val", "test": "test"}


class FlowerDataError(ValueError):
    """The flower folder is missing or not in the expected layout; ``str()`` is one sentence."""


def flower_samples(root: Path, split: str) -> list[tuple[Path, int]]:
    """Every image of ``split`` as ``(path, label)``, classes in numeric id order, files sorted by name."""
    if split not in FLOWER_SPLITS:
        raise FlowerDataError(f"Unknown split {split!r}; choose one of {', '.join(FLOWER_SPLITS)}.")
    folder = Path(root) / split
    if not folder.is_dir():
        raise FlowerDataError(f"No {split!r} folder at {folder}: expected Oxford-102 in the Udacity layout "
                              f"(<data>/{split}/<class id 1..102>/*.jpg); set MNV2_DATA or pass --data.")
    class_dirs = [d for d in folder.iterdir() if d.is_dir() and d.name.isdigit()]
    samples: list[tuple[Path, int]] = []
    for class_dir in sorted(class_dirs, key=lambda d: int(d.name)):
        label = int(class_dir.name) - 1
        if not 0 <= label < 102:
            raise FlowerDataError(f"Class folder {class_dir} is not an Oxford-102 class id (1..102).")
        samples += [(p, label) for p in sorted(class_dir.iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES]
    if not samples:
        raise FlowerDataError(f"The {split!r} folder {folder} has no images in numbered class folders.")
    return samples


def spread_over_classes(samples: list[tuple[Path, int]], count: int) -> list[tuple[Path, int]]:
    """``count`` samples round-robin over the classes (the first photo of every class, then the second, ...):
    deterministic, and as many classes as ``count`` allows."""
    by_class: dict[int, list[tuple[Path, int]]] = {}
    for sample in samples:
        by_class.setdefault(sample[1], []).append(sample)
    picked: list[tuple[Path, int]] = []
    for rank in range(max((len(v) for v in by_class.values()), default=0)):
        picked += [v[rank] for _, v in sorted(by_class.items()) if rank < len(v)][:count - len(picked)]
        if len(picked) >= count:
            break
    return picked


def test_photos(root: Path | None = None) -> list[Path]:
    """The test split's photos, for the app's "try a test photo"; empty when the data folder is not there."""
    from mnv2_core import config

    try:
        return [path for path, _ in flower_samples(Path(root or config.data_dir()), "test")]
    except FlowerDataError:
        return []


# Well-known classes for the Classify page's click-to-try strip (Oxford-102 class ids, as in the data folders).
EXAMPLE_CLASSES = (50, 54, 74, 73, 6, 78)  # dandelion, sunflower, rose, water lily, tiger lily, lotus


def example_photos(root: Path | None = None, classes: tuple[int, ...] = EXAMPLE_CLASSES) -> list[tuple[int, Path]]:
    """(class id, path) of the first test photo of each example class found; empty without the data folder."""
    firsts: dict[int, Path] = {}
    for path in test_photos(root):
        label = int(path.parent.name) if path.parent.name.isdigit() else -1
        if label in classes and label not in firsts:
            firsts[label] = path
    return [(c, firsts[c]) for c in classes if c in firsts]


def photos_of_class(class_id: int, count: int, split: str = "train", root: Path | None = None) -> list[Path]:
    """The first ``count`` photos of one Oxford-102 class in ``split`` (the Teach page's ready-made classes); empty
    without the data folder."""
    from mnv2_core import config

    folder = Path(root or config.data_dir()) / split / str(class_id)
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)[:count] if folder.is_dir() else []


def official_flower_samples(root: Path, split: str, *, download: bool) -> list[tuple[Path, int]]:
    """The official Oxford-102 split through ``torchvision.datasets.Flowers102`` (labels 0..101 = class id - 1)."""
    if split not in FLOWER_SPLITS:
        raise FlowerDataError(f"Unknown split {split!r}; choose one of {', '.join(FLOWER_SPLITS)}.")
    from torchvision.datasets import Flowers102

    try:
        dataset = Flowers102(str(root), split=_OFFICIAL_SPLITS[split], download=download)
    except ImportError as exc:  # Flowers102 reads its .mat files with scipy
        raise FlowerDataError(f"Reading the official Oxford-102 split needs scipy ({exc}).") from exc
    except (RuntimeError, OSError) as exc:  # not downloaded and downloads off, or no internet
        how = "the download failed (no internet?)" if download else "it is not downloaded and MNV2_DOWNLOAD=0"
        raise FlowerDataError(f"The official Oxford-102 dataset is not available under {root}: {how}.") from exc
    return [(Path(path), int(label)) for path, label in zip(dataset._image_files, dataset._labels)]


def split_samples(data: str | Path | None, split: str) -> list[tuple[Path, int]]:
    """Samples of ``split`` from ``data``: a Udacity-layout folder (default ``config.data_dir()``) or ``OFFICIAL``."""
    from mnv2_core import config

    if str(data) == OFFICIAL:
        return official_flower_samples(config.cache_dir() / "torchvision", split, download=config.downloads_allowed())
    return flower_samples(Path(data) if data is not None else config.data_dir(), split)


Samples = list[tuple[Path, int]]


@dataclass(frozen=True)
class Splits:
    """The three splits of one data source, as ``[(path, label)]`` each."""

    train: Samples
    valid: Samples
    test: Samples

    @classmethod
    def read(cls, data: str | Path | None) -> Splits:
        return cls(*(split_samples(data, split) for split in FLOWER_SPLITS))

    def sizes(self) -> dict[str, int]:
        return {split: len(getattr(self, split)) for split in FLOWER_SPLITS}


def describe_source(data: str | Path | None) -> str:
    """Where the images came from, for a run's provenance."""
    from mnv2_core import config

    if str(data) == OFFICIAL:
        return "torchvision.datasets.Flowers102 (official split 1020/1020/6149)"
    return f"{Path(data) if data is not None else config.data_dir()} (Udacity split, numbered class folders)"


def load_rgb(path: Path):
    """Decode a file with the app's own decoder (EXIF rotation, mode conversion), so training sees what users do.

    Full size (no DCT-domain reduction): training crops and evaluation sizes above 224 px need every pixel.
    """
    from mnv2_core.images.decode import ImageDecodeError, decode_image

    try:
        return decode_image(Path(path).read_bytes(), min_side=0).image
    except ImageDecodeError as exc:  # its sentence speaks of an upload; here it is a file of the data folder
        raise FlowerDataError(f"{path} cannot be read ({exc.args[0]}); remove or replace it.") from exc


class FlowerDataset:
    """A map-style dataset over :func:`flower_samples`: item ``i`` is ``(transform(image), label)``.

    It implements ``__len__``/``__getitem__`` only, which is all ``torch.utils.data.DataLoader`` needs, so this
    module does not import torch.
    """

    def __init__(self, samples: list[tuple[Path, int]], transform: Callable[[Any], Any] | None = None) -> None:
        self.samples = list(samples)
        self.transform = transform

    @classmethod
    def from_folder(cls, root: Path, split: str, transform: Callable[[Any], Any] | None = None) -> FlowerDataset:
        return cls(flower_samples(root, split), transform)

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[Any, int]:
        path, label = self.samples[index]
        image = load_rgb(path)
        return (self.transform(image) if self.transform is not None else image), label
