"""'Not sure': when a closed-set flower model's answer may not be one of its 102 classes at all.

A 102-way softmax always names a flower, even for a face or a rocket. The score is the maximum softmax
probability (Hendrycks & Gimpel 2017, "A Baseline for Detecting Misclassified and Out-of-Distribution Examples").
The threshold is chosen on the valid split so that it flags 5% of the answers the model gets right. On the test
split we then measure the share of correct answers it flags, and on real non-flower photos the share it catches.
scikit-image ships those photos (a test and development dependency, not an app one).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from mnv2_core import config
from mnv2_core.typed_json import Record, read_list

HIDE_CORRECT = 0.05  # the share of correct valid answers the threshold may flag
# Real photos from scikit-image's bundled samples (no flowers among them); synthetic drawings are left out.
NON_FLOWER_PHOTOS = ("astronaut", "brick", "camera", "cat", "clock", "coffee", "coins", "grass", "gravel",
                     "hubble_deep_field", "immunohistochemistry", "moon", "page", "retina", "rocket", "text")


def open_set_path() -> Path:
    return config.RESULTS_DIR / "open_set.json"


def non_flower_photos() -> list[tuple[str, Any]]:
    """(name, RGB PIL image) for each of NON_FLOWER_PHOTOS."""
    try:
        from skimage import data
    except ImportError as exc:
        raise ValueError("Measuring the 'not sure' threshold needs scikit-image's sample photos "
                         "(pip install scikit-image).") from exc
    from PIL import Image

    photos = []
    for name in NON_FLOWER_PHOTOS:
        array = np.asarray(getattr(data, name)())
        image = Image.fromarray(array if array.dtype == np.uint8 else (array * 255).astype(np.uint8))
        photos.append((name, image.convert("RGB")))
    return photos


def max_probability(logits: np.ndarray) -> np.ndarray:
    """The softmax's largest probability per row (the model's confidence in its top-1)."""
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z)
    return (p / p.sum(axis=1, keepdims=True)).max(axis=1)


def choose_threshold(confidence: np.ndarray, correct: np.ndarray, hide: float = HIDE_CORRECT) -> float:
    """The confidence below which ``hide`` of the correct answers fall (their ``hide`` quantile)."""
    right = np.sort(confidence[correct])
    if right.size == 0:
        return 1.0
    return float(np.quantile(right, hide))


@dataclass(frozen=True)
class OpenSetRecord(Record):
    model: str
    width: float | None
    threshold: float
    valid_correct_flagged: float
    test_correct_flagged: float
    test_wrong_flagged: float
    non_flowers_flagged: float
    non_flower_photos: int
    checkpoint: str
    command: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)



def score(model: str, width: float | None, checkpoint: str, valid: tuple[np.ndarray, np.ndarray],
          test: tuple[np.ndarray, np.ndarray], non_flowers: np.ndarray, command: str = "") -> OpenSetRecord:
    """The threshold from (valid logits, labels), judged on test and on the non-flower photos' logits."""
    def parts(logits: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return max_probability(logits), logits.argmax(1) == labels

    v_conf, v_right = parts(*valid)
    t_conf, t_right = parts(*test)
    threshold = choose_threshold(v_conf, v_right)
    flagged = lambda conf: conf < threshold  # noqa: E731
    return OpenSetRecord(model, width, threshold, float(flagged(v_conf)[v_right].mean()),
                         float(flagged(t_conf)[t_right].mean()), float(flagged(t_conf)[~t_right].mean()),
                         float(flagged(max_probability(non_flowers)).mean()), len(non_flowers), checkpoint, command)


def load_open_set(path: Path | None = None) -> list[OpenSetRecord]:
    """Every recorded threshold (none when the file is missing or does not read)."""
    return read_list(path or open_set_path(), OpenSetRecord.from_json)


def checkpoint_identity(info: Any) -> str:
    """What names a checkpoint's measurements (a WeightsInfo's): the run that made it, else its file name."""
    return str(info.provenance.get("run_id") or Path(info.path or "").name)


def threshold_for(model: str, width: float | None, checkpoint: str) -> float | None:
    """The 'not sure' threshold measured for this checkpoint (None when it was not measured)."""
    return next((r.threshold for r in load_open_set() if (r.model, r.width, r.checkpoint) == (model, width, checkpoint)),
                None)


def save_open_set(records: Sequence[OpenSetRecord], path: Path | None = None) -> Path:
    from mnv2_core.files import atomic_write_json

    path = path or open_set_path()
    kept = {(r.model, r.width): r for r in [*load_open_set(path), *records]}
    atomic_write_json([r.as_dict() for r in sorted(kept.values(), key=lambda r: (r.model, r.width or 0))], path)
    return path


def open_set_rows() -> list[dict[str, Any]]:
    """The recorded thresholds for a table: model, threshold and what it flags on test and on non-flowers."""
    from mnv2_core.models import model_title

    return [dict(title=model_title(r.model, r.width), threshold=r.threshold, test_correct_flagged=r.test_correct_flagged,
                 test_wrong_flagged=r.test_wrong_flagged, non_flowers_flagged=r.non_flowers_flagged,
                 non_flower_photos=r.non_flower_photos) for r in load_open_set()]
