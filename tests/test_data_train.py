"""Oxford-102 from a folder, phase-1 transfer training end to end on a tiny subset, and the shipped checkpoint."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
import torch

from mnv2_core import weights
from mnv2_core.data import FLOWER_SPLITS, FlowerDataError, FlowerDataset, flower_samples
from mnv2_core.models import build_model
from mnv2_core.results import load_runs
from mnv2_core.train import HeadConfig, classification_report, evaluate_model, main, run_transfer_phase1


def _counts(flowers_dir: Path) -> dict[int, dict[str, int]]:
    with open(flowers_dir / "counts.csv", newline="", encoding="utf-8") as fh:
        return {int(r["class_id"]): {s: int(r[s]) for s in FLOWER_SPLITS} for r in csv.DictReader(fh)}


def test_labels_follow_numeric_class_ids_and_counts_match(flowers_dir: Path) -> None:
    train = flower_samples(flowers_dir, "train")
    labels = [label for _, label in train]
    assert sorted(set(labels)) == list(range(102))
    assert labels == sorted(labels)  # "10" after "9", not after "1" as ImageFolder's string order would put it
    assert {label for path, label in train if path.parent.name == "10"} == {9}
    assert {label for path, label in train if path.parent.name == "102"} == {101}
    counts = _counts(flowers_dir)
    for split in FLOWER_SPLITS:
        per_class = [label for _, label in flower_samples(flowers_dir, split)]
        for class_id in (1, 10, 51, 102):
            assert per_class.count(class_id - 1) == counts[class_id][split], (split, class_id)


def test_missing_folder_is_one_clear_sentence(tmp_path: Path) -> None:
    with pytest.raises(FlowerDataError, match="Udacity layout") as info:
        flower_samples(tmp_path, "train")
    assert isinstance(info.value, ValueError) and "\n" not in str(info.value)
    with pytest.raises(ValueError, match="Unknown split"):
        flower_samples(tmp_path, "validation")


def test_dataset_applies_the_transform(flowers_dir: Path) -> None:
    dataset = FlowerDataset.from_folder(flowers_dir, "valid", transform=lambda im: im.size)
    size, label = dataset[0]
    assert label == 0 and min(size) > 0 and len(dataset) == 818


def _tiny_copy(flowers_dir: Path, target: Path, class_ids=(1, 10, 102), per_split=(4, 2, 2)) -> Path:
    for split, n in zip(FLOWER_SPLITS, per_split):
        for class_id in class_ids:
            dest = target / split / str(class_id)
            dest.mkdir(parents=True)
            for path in sorted((flowers_dir / split / str(class_id)).glob("*.jpg"))[:n]:
                shutil.copy(path, dest / path.name)
    return target


def test_phase1_end_to_end_on_a_tiny_subset(flowers_dir: Path, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    data = _tiny_copy(flowers_dir, tmp_path / "data")
    torch.manual_seed(0)
    model = build_model("mobilenet_v2", num_classes=102, width=0.35)
    out = tmp_path / "out"
    mean, std = weights.IMAGENET_MEAN, weights.IMAGENET_STD
    result = run_transfer_phase1(model, name="mobilenet_v2", width=0.35, init="random", data_root=data, out_dir=out,
                                 img_size=64, mean=mean, std=std, cfg=HeadConfig(epochs=3, batch_size=4),
                                 cache=tmp_path / "cache", batch_size=8, command="pytest", log=lambda *_: None)
    assert result.checkpoint == out / "checkpoints" / "mobilenet_v2_0.35_flowers102.pt"
    blob = torch.load(result.checkpoint, map_location="cpu", weights_only=True)
    assert blob["state_dict"]["classifier.1.weight"].dtype == torch.float16
    assert blob["meta"]["run_id"] == result.run["id"] and blob["meta"]["input_size"] == 64

    runs = load_runs(out / "results" / "runs")
    assert [r["id"] for r in runs] == [result.run["id"]]
    run = runs[0]
    assert {"test_top1", "test_top5", "valid_top1"} <= set(run["metrics"])
    assert all(0.0 <= v <= 1.0 for v in run["metrics"].values())
    assert len(run["per_class"]) == 102 and sum(c["n"] for c in run["per_class"]) == 6
    assert [h["epoch"] for h in run["history"]] == [1, 2, 3] and run["history"][0]["phase"] == 1
    assert run["provenance"]["split_sizes"] == {"train": 12, "valid": 6, "test": 6}
    assert run["provenance"]["command"] == "pytest" and run["provenance"]["date"]

    # A second run reads the cached features: extracting again would be a cache miss.
    def no_extraction(*args, **kwargs):
        raise AssertionError("features were recomputed despite the cache")

    monkeypatch.setattr("mnv2_core.train.extract_features", no_extraction)
    torch.manual_seed(0)  # the same backbone weights, hence the same cache key
    again = run_transfer_phase1(build_model("mobilenet_v2", num_classes=102, width=0.35), name="mobilenet_v2",
                                width=0.35, init="random", data_root=data, out_dir=tmp_path / "out2", img_size=64,
                                mean=mean, std=std, cfg=HeadConfig(epochs=1, batch_size=4), cache=tmp_path / "cache",
                                batch_size=8, log=lambda *_: None)
    assert again.checkpoint.exists()


def test_classification_report_counts_confusions() -> None:
    logits = torch.full((4, 102), -1.0)
    logits[0, 0] = logits[1, 1] = logits[2, 1] = logits[3, 1] = 1.0  # true labels 0, 1, 0, 0
    report = classification_report(logits, torch.tensor([0, 1, 0, 0]))
    assert report["top1"] == 0.5
    assert report["per_class"][0] == {"class_id": 1, "name": "pink primrose", "n": 3, "accuracy": 1 / 3}
    assert report["per_class"][2]["accuracy"] is None
    assert report["confused"] == [{"true_id": 1, "true_name": "pink primrose", "pred_id": 2,
                                   "pred_name": "hard-leaved pocket orchid", "count": 2}]


def test_cli_reports_missing_data_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--init", "random", "--width", "0.35", "--data", str(tmp_path / "nowhere"), "--out", str(tmp_path)])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err
    with pytest.raises(SystemExit):
        main(["--phases", "2"])  # fine-tuning is not implemented; argparse refuses it


def test_shipped_checkpoint_matches_its_reported_accuracy(flowers_dir: Path) -> None:
    path = weights.checkpoint_path("mobilenet_v2", 1.0, "flowers")
    assert path.is_file(), f"the Oxford-102 checkpoint {path.name} should ship in assets/checkpoints"
    assert path.stat().st_size <= 15e6
    loaded = weights.load_model("mobilenet_v2", 1.0, "flowers")
    assert loaded.info.source == "checkpoint" and loaded.info.trained
    meta = loaded.info.meta
    assert meta["padding"] == "tf_same" and loaded.input_size == 224
    samples = flower_samples(flowers_dir, "test")[::8]  # a fixed ~100-image subset keeps this fast
    logits = evaluate_model(loaded.model, samples, 224, loaded.info.mean, loaded.info.std)
    top1 = classification_report(logits, torch.tensor([y for _, y in samples]))["top1"]
    assert top1 >= meta["test_top1"] - 0.03, (top1, meta["test_top1"])
