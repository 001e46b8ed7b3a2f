"""Oxford-102 from a folder, phase-1 transfer training end to end on a tiny subset, and the shipped checkpoint."""

from __future__ import annotations

import csv
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import torch

from mnv2_core.images.augment import load_bank, train_batch
from mnv2_core.images.flowers import (
    FLOWER_SPLITS,
    FlowerDataError,
    FlowerDataset,
    flower_samples,
    official_flower_samples,
)
from mnv2_core.measure.accuracy import classification_report
from mnv2_core.measure.records import load_runs
from mnv2_core.measure.run_record import RunRecord
from mnv2_core.models import weights
from mnv2_core.models.labels import flower_names
from mnv2_core.train.cli import main
from mnv2_core.runtime.passes import split_logits
from mnv2_core.train.epochs import lr_at
from mnv2_core.train.distill import distill_loss
from mnv2_core.train.loop import FitConfig
from mnv2_core.train.run import run
from mnv2_core.train.spec import HeadConfig, RunSpec, TrainInterrupted

pytestmark = pytest.mark.slow  # training runs / real browsers: see pytest.ini


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


def test_test_photos_lists_the_test_split_and_nothing_without_data(flowers_dir: Path, tmp_path: Path) -> None:
    from mnv2_core.images.flowers import test_photos

    photos = test_photos(flowers_dir)
    assert len(photos) == 819 and all(p.parent.parent.name == "test" for p in photos)
    assert test_photos(tmp_path / "nowhere") == []


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


def _spec(data: Path, out: Path, **kw) -> RunSpec:
    fit = {"epochs": 2, "lr": 2e-3, "batch_size": 4, "warmup_epochs": 0.5, "train_resolution": 32, "resolution": 32}
    fit.update(kw.pop("fit", {}))
    base = {"model": "lenet5", "width": None, "recipe": "scratch", "init": "scratch", "data": data, "out": out,
            "fit": FitConfig(**fit), "device": "cpu", "command": "pytest"}
    return RunSpec(**{**base, **kw})


@dataclass
class TinyTransfer:
    """One two-phase transfer run on 3 classes (4/2/2 photos each), shared by the tests that read it."""

    data: Path
    out: Path
    cache: Path
    result: Any

    @property
    def record(self) -> RunRecord:
        (first,) = [r for r in load_runs(self.out / "results" / "runs") if r.id == self.result.run.id]
        return first


@pytest.fixture(scope="module")
def tiny_transfer(flowers_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> TinyTransfer:
    root = tmp_path_factory.mktemp("tiny_transfer")
    data, out = _tiny_copy(flowers_dir, root / "data"), root / "out"
    spec = _spec(data, out, model="mobilenet_v2", width=1.0, recipe="transfer", init="imagenet",
                 head=HeadConfig(epochs=3, batch_size=4), fit={"epochs": 1, "train_resolution": 48, "resolution": 64,
                                                                "freeze_bn": True})
    return TinyTransfer(data, out, root / "cache", run(spec, log=lambda *_: None, cache=root / "cache"))


def test_a_first_transfer_run_ships_an_fp16_checkpoint_that_names_its_run(tiny_transfer: TinyTransfer) -> None:
    result = tiny_transfer.result
    assert result.shipped and result.checkpoint == tiny_transfer.out / "checkpoints" / "mobilenet_v2_1.0_flowers102.pt"
    blob = torch.load(result.checkpoint, map_location="cpu", weights_only=True)
    assert blob["state_dict"]["classifier.1.weight"].dtype == torch.float16
    meta = blob["meta"]
    assert meta["run_id"] == result.run.id and meta["resolution"] == 64 and meta["padding"] == "tf_same"
    assert (meta["model"], meta["width"]) == ("mobilenet_v2", 1.0)


def test_the_run_record_lists_both_phases_and_every_epoch_in_order(tiny_transfer: TinyTransfer) -> None:
    record = tiny_transfer.record
    assert record.id == tiny_transfer.result.run.id
    assert record.kind == "transfer2" and [p.phase for p in record.phases] == [1, 2]
    assert [(h["epoch"], h["phase"]) for h in record.history] == [(1, 1), (2, 1), (3, 1), (4, 2)]
    rows = list(csv.DictReader(open(tiny_transfer.out / "results" / "runs" / f"{record.id}.csv",
                                    encoding="utf-8")))
    assert [r["phase"] for r in rows] == ["1", "1", "1", "2"]


def test_phase_2_never_ends_below_phase_1_on_valid(tiny_transfer: TinyTransfer) -> None:
    # Phase 2 starts from phase 1's weights and keeps them unless an epoch beats them on valid.
    record = tiny_transfer.record
    assert record.metrics.valid_top1 >= record.phases[0].best_valid_top1


def test_the_record_carries_metrics_per_class_scores_and_provenance(tiny_transfer: TinyTransfer) -> None:
    record = tiny_transfer.record
    measured = record.to_json()["metrics"]
    assert {"test_top1", "test_top5", "valid_top1"} <= set(measured)
    assert all(0.0 <= v <= 1.0 for v in measured.values())
    assert len(record.per_class) == 102 and sum(c["n"] for c in record.per_class) == 6
    assert record.provenance.other["split_sizes"] == {"train": 12, "valid": 6, "test": 6}
    assert record.provenance.command == "pytest" and record.provenance.date
    # MobileNetV2 1.0 with a 102-way classifier: torchvision's 3,504,872 - (1280 x 1000 + 1000) + (1280 x 102 + 102)
    assert record.params == 3_504_872 - 1_281_000 + 130_662 == 2_354_534 and record.macs > 0


def test_a_second_run_reads_cached_features_and_keeps_a_better_shipped_checkpoint(
        tiny_transfer: TinyTransfer, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_extraction(*args, **kwargs):
        raise AssertionError("features were recomputed despite the cache")

    monkeypatch.setattr("mnv2_core.train.features.extract_features", no_extraction)
    shipped = tiny_transfer.result.checkpoint
    before, first_valid = shipped.read_bytes(), tiny_transfer.record.metrics.valid_top1
    again = run(_spec(tiny_transfer.data, tiny_transfer.out, model="mobilenet_v2", width=1.0, recipe="transfer",
                      init="imagenet", phases=1, head=HeadConfig(epochs=1, batch_size=4), fit={"resolution": 64}),
                log=lambda *_: None, cache=tiny_transfer.cache)
    if again.run.metrics.valid_top1 <= first_valid:
        assert not again.shipped and again.checkpoint.is_file() and shipped.read_bytes() == before


def test_a_checkpoint_over_the_size_limit_goes_to_the_local_folder_not_assets(flowers_dir: Path, tmp_path: Path,
                                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("mnv2_core.train.ship.MAX_SHIPPED_BYTES", 1000)  # LeNet-5's 0.14 MB file is "too large"
    monkeypatch.setattr("mnv2_core.models.weights.MAX_INT8_SHIPPED_BYTES", 1000)  # in int8 too
    result = run(_spec(_tiny_copy(flowers_dir, tmp_path / "data"), tmp_path / "out", fit={"epochs": 1}),
                 log=lambda *_: None, cache=tmp_path / "cache")
    assert not result.shipped and not (tmp_path / "out" / "checkpoints").exists()
    assert result.checkpoint == tmp_path / "cache" / "checkpoints" / "lenet5_flowers102.pt"
    assert result.run.checkpoint.local and not result.run.checkpoint.shipped


def test_a_checkpoint_over_the_fp16_limit_ships_as_per_channel_int8_scored_against_fp16(
        flowers_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("mnv2_core.train.ship.MAX_SHIPPED_BYTES", 100_000)  # LeNet-5: 0.14 MB fp16, 0.07 MB int8
    result = run(_spec(_tiny_copy(flowers_dir, tmp_path / "data"), tmp_path / "out", fit={"epochs": 1}),
                 log=lambda *_: None, cache=tmp_path / "cache")
    assert result.shipped and result.checkpoint == tmp_path / "out" / "checkpoints" / "lenet5_flowers102.pt"
    assert result.checkpoint.stat().st_size < 100_000 and result.run.checkpoint.storage == "int8-per-channel"
    meta = weights.load_checkpoint_file(result.checkpoint).info.meta
    assert meta["storage"] == "int8-per-channel" and isinstance(meta["fp16_test_top1"], float)
    assert result.run.metrics.checkpoint_fp16_test_top1 == meta["fp16_test_top1"]
    assert "per-channel int8" in result.run.checkpoint.why


def test_an_interrupted_run_resumes_to_the_same_result(flowers_dir: Path, tmp_path: Path) -> None:
    data = _tiny_copy(flowers_dir, tmp_path / "data")
    straight = run(_spec(data, tmp_path / "a", fit={"epochs": 3}), log=lambda *_: None, cache=tmp_path / "c1")
    with pytest.raises(TrainInterrupted, match="resume"):
        run(_spec(data, tmp_path / "b", fit={"epochs": 3}, stop_after=1), log=lambda *_: None, cache=tmp_path / "c2")
    assert list((tmp_path / "c2" / "train_state").glob("*_phase1.pt")), "no state was saved to resume from"
    lines: list[str] = []
    resumed = run(_spec(data, tmp_path / "b", fit={"epochs": 3}), log=lines.append, cache=tmp_path / "c2")
    assert any("resuming after epoch 1" in line for line in lines)
    drop = ("seconds",)
    assert ([{k: v for k, v in h.items() if k not in drop} for h in resumed.run.history]
            == [{k: v for k, v in h.items() if k not in drop} for h in straight.run.history])
    a = torch.load(straight.checkpoint, weights_only=True)["state_dict"]
    b = torch.load(resumed.checkpoint, weights_only=True)["state_dict"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not list((tmp_path / "c2" / "train_state").glob("*.pt")), "a finished run leaves its state behind"


def test_distillation_uses_the_teacher(flowers_dir: Path, tmp_path: Path) -> None:
    data = _tiny_copy(flowers_dir, tmp_path / "data")
    teacher = weights.checkpoint_path("mobilenet_v2", 1.0, "flowers")
    spec = _spec(data, tmp_path / "out", model="mobilenet_v2", width=0.35, distill_from=teacher,
                 fit={"epochs": 1, "train_resolution": 64, "resolution": 64})
    result = run(spec, log=lambda *_: None, cache=tmp_path / "cache")
    assert result.run.kind == "distill" and result.run.distill_from == str(teacher)
    assert result.run.id.endswith("mobilenet_v2_0.35_distill")


def test_distill_loss_is_zero_only_when_student_matches_teacher_and_labels() -> None:
    cfg = FitConfig(epochs=1, lr=1e-3, label_smoothing=0.0, distill_alpha=1.0)
    logits = torch.randn(4, 102)
    target = logits.argmax(1)
    assert float(distill_loss(logits, logits, target, cfg)) == pytest.approx(0.0, abs=1e-6)
    assert float(distill_loss(logits, logits.flip(1), target, cfg)) > 0.1
    hard_only = FitConfig(epochs=1, lr=1e-3, label_smoothing=0.0, distill_alpha=0.0)
    assert float(distill_loss(logits, logits.flip(1), target, hard_only)) == pytest.approx(
        float(torch.nn.functional.cross_entropy(logits, target)))


def test_lr_schedule_warms_up_then_decays_to_zero() -> None:
    lrs = [lr_at(s, 100, 10, 1.0) for s in range(100)]
    assert lrs[0] == pytest.approx(0.1) and lrs[9] == pytest.approx(1.0)
    assert all(a >= b for a, b in zip(lrs[9:], lrs[10:])) and lrs[-1] < 1e-3


def test_augmentation_is_seeded_and_keeps_shapes(flowers_dir: Path) -> None:
    bank = load_bank(flower_samples(flowers_dir, "valid")[:4], 73, desc="t")
    assert all(min(im.shape[1:]) == 73 and im.dtype == torch.uint8 for im in bank.images)
    index = torch.arange(4)
    one = train_batch(bank, index, 64, torch.Generator().manual_seed(1))
    two = train_batch(bank, index, 64, torch.Generator().manual_seed(1))
    other = train_batch(bank, index, 64, torch.Generator().manual_seed(2))
    assert one.shape == (4, 3, 64, 64) and torch.equal(one, two) and not torch.equal(one, other)


def test_official_split_maps_to_the_same_class_ids(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """torchvision's Flowers102 (labels = imagelabels.mat - 1) gives the same ids and names as the folders."""
    scipy_io = pytest.importorskip("scipy.io")
    from torchvision.datasets import Flowers102

    base = tmp_path / "flowers-102"
    (base / "jpg").mkdir(parents=True)
    image_labels = [1, 10, 102, 10, 1, 102]  # Oxford ids of image_00001..6
    scipy_io.savemat(base / "imagelabels.mat", {"labels": image_labels})
    scipy_io.savemat(base / "setid.mat", {"trnid": [1, 2], "valid": [3, 4], "tstid": [5, 6]})
    monkeypatch.setattr(Flowers102, "_check_integrity", lambda self: True)  # the md5s are of the real files
    train = official_flower_samples(tmp_path, "train", download=False)
    valid = official_flower_samples(tmp_path, "valid", download=False)
    assert [(p.name, y) for p, y in train] == [("image_00001.jpg", 0), ("image_00002.jpg", 9)]
    assert [y for _, y in valid] == [101, 9]
    names = flower_names()
    differ = [(i + 1, a, b) for i, (a, b) in enumerate(zip(names, Flowers102.classes)) if a != b]
    assert len(Flowers102.classes) == 102 and [i for i, *_ in differ] == [60, 78]  # spelling only: "lotus lotus"


def test_official_split_without_download_is_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(FlowerDataError, match="not available") as info:
        official_flower_samples(tmp_path, "test", download=False)
    assert "\n" not in str(info.value)


def test_classification_report_counts_confusions() -> None:
    logits = torch.full((4, 102), -1.0)
    logits[0, 0] = logits[1, 1] = logits[2, 1] = logits[3, 1] = 1.0  # true labels 0, 1, 0, 0
    report = classification_report(logits, torch.tensor([0, 1, 0, 0]))
    assert report.top1 == 0.5
    assert report.per_class[0] == {"class_id": 1, "name": "pink primrose", "n": 3, "accuracy": 1 / 3}
    assert report.per_class[2]["accuracy"] is None
    assert report.confused == [{"true_id": 1, "true_name": "pink primrose", "pred_id": 2,
                                   "pred_name": "hard-leaved pocket orchid", "count": 2}]


def test_cli_reports_missing_data_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MNV2_CACHE", str(tmp_path / "cache"))
    code = main(["--recipe", "scratch", "--width", "0.35", "--data", str(tmp_path / "nowhere"), "--out", str(tmp_path)])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err
    for bad in (["--recipe", "transfer", "--init", "scratch"], ["--model", "resnet18", "--init", "imagenet"],
                ["--recipe", "scratch", "--model", "nope"],
                ["--recipe", "scratch", "--distill-from", str(tmp_path / "missing.pt")]):
        assert main(bad + ["--out", str(tmp_path)]) == 2, bad
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: ") and "\n" not in err, err
    assert not list((tmp_path / "cache").glob("train_state/*")), "a refused run left a resume ticket behind"


def test_shipped_checkpoint_matches_its_reported_accuracy(flowers_dir: Path) -> None:
    path = weights.checkpoint_path("mobilenet_v2", 1.0, "flowers")
    assert path.is_file(), f"the Oxford-102 checkpoint {path.name} should ship in assets/checkpoints"
    assert path.stat().st_size <= 15e6
    loaded = weights.load_model("mobilenet_v2", 1.0, "flowers")
    assert loaded.info.source == "checkpoint" and loaded.info.trained
    meta = loaded.info.meta
    assert meta["padding"] == "tf_same" and loaded.resolution == 224
    samples = flower_samples(flowers_dir, "test")[::8]  # a fixed ~100-image subset keeps this fast
    logits = split_logits(loaded.model, samples, loaded.info.preprocess.at(224))
    top1 = classification_report(logits, torch.tensor([y for _, y in samples])).top1
    assert top1 >= meta["test_top1"] - 0.03, (top1, meta["test_top1"])


@pytest.mark.parametrize("recipe,width", [("prune", 0.5), ("widen", 1.4)])
def test_prune_and_widen_runs_start_from_the_teacher_and_record_each_step(flowers_dir: Path, tmp_path: Path,
                                                                         recipe: str, width: float) -> None:
    data = _tiny_copy(flowers_dir, tmp_path / "data")
    teacher = weights.checkpoint_path("mobilenet_v2", 1.0, "flowers")
    spec = _spec(data, tmp_path / "out", model="mobilenet_v2", width=width, recipe=recipe, init="checkpoint",
                 start_from=teacher, distill_from=teacher,
                 fit={"epochs": 1, "lr": 1e-5, "train_resolution": 64, "resolution": 64, "augment": "phone",
                      "freeze_bn": True})
    result = run(spec, log=lambda *_: None, cache=tmp_path / "cache")
    record = result.run
    assert record.kind == recipe and record.width == width
    steps = record.provenance.derived
    assert steps.source == teacher.name and 0 <= steps.source_valid_top1 <= 1
    if recipe == "prune":
        assert steps.copied_valid_top1 is not None and steps.refit_valid_top1 is not None
    else:  # Net2WiderNet computes the same function: the same valid answers before any training
        assert abs(steps.widened_valid_top1 - steps.source_valid_top1) <= 1 / 6 + 1e-9  # at most one image
    assert 0 <= record.metrics.test_phone_top1 <= 1 and "valid_phone_top1" in record.history[-1]
    loaded = weights.load_checkpoint_file(result.checkpoint)  # strict load at the new width
    assert loaded.width == width and loaded.info.meta["kind"] == recipe
    assert (tmp_path / "out" / "checkpoints" / f"mobilenet_v2_{width:g}_flowers102.pt").is_file()


def test_finetune_refuses_a_checkpoint_of_another_width(flowers_dir: Path, tmp_path: Path) -> None:
    data = _tiny_copy(flowers_dir, tmp_path / "data")
    teacher = weights.checkpoint_path("mobilenet_v2", 1.0, "flowers")
    spec = _spec(data, tmp_path / "out", model="mobilenet_v2", width=0.5, recipe="finetune", init="checkpoint",
                 start_from=teacher)
    with pytest.raises(ValueError, match="keeps the width"):
        run(spec, log=lambda *_: None, cache=tmp_path / "cache")


def test_pruning_another_model_is_one_sentence(flowers_dir: Path, tmp_path: Path) -> None:
    data = _tiny_copy(flowers_dir, tmp_path / "data")
    lenet = weights.checkpoint_path("lenet5", None, "flowers")
    spec = _spec(data, tmp_path / "out", recipe="prune", init="checkpoint", start_from=lenet, distill_from=lenet)
    with pytest.raises(ValueError, match="change a MobileNetV2's width"):
        run(spec, log=lambda *_: None, cache=tmp_path / "cache")


@pytest.mark.parametrize("name", ["resnet18", "efficientnet_b0"])
def test_phase_1_transfer_runs_from_torchvision_weights_in_the_hub_cache(name: str, flowers_dir: Path, tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """A faked torch hub cache (locally built weights under torchvision's file name) stands in for the download."""
    from torchvision.models import get_model, get_model_weights

    from mnv2_core.models.weights import load_checkpoint_file

    monkeypatch.setenv("MNV2_DOWNLOAD", "0")
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    weights = get_model_weights(name).DEFAULT
    torch.manual_seed(0)
    imagenet = get_model(name, num_classes=1000).eval()
    (tmp_path / "hub" / "checkpoints").mkdir(parents=True)
    torch.save(imagenet.state_dict(), tmp_path / "hub" / "checkpoints" / Path(weights.url).name)
    monkeypatch.setattr("mnv2_core.train.ship.MAX_SHIPPED_BYTES", 10**9)
    spec = _spec(_tiny_copy(flowers_dir, tmp_path / "data"), tmp_path / "out", model=name, recipe="transfer",
                 init="imagenet", phases=1, head=HeadConfig(epochs=2, batch_size=4), fit={"resolution": 64})
    result = run(spec, log=lambda *_: None, cache=tmp_path / "cache")
    assert result.shipped and result.run.init == f"imagenet ({weights})"
    assert result.run.recipe == "transfer phase 1 (frozen backbone, linear head)"
    trained = load_checkpoint_file(result.checkpoint, name, None, "flowers").model
    # phase 1 leaves the backbone as it was: only the head changed
    keep = {k: v for k, v in imagenet.state_dict().items() if not k.startswith(("fc.", "classifier."))}
    for key, value in keep.items():
        torch.testing.assert_close(trained.state_dict()[key], value, atol=2e-3, rtol=2e-3)  # fp16 checkpoint


def test_a_damaged_photo_in_the_data_folder_is_named(tmp_path: Path) -> None:
    from mnv2_core.images.flowers import FlowerDataError, load_rgb

    bad = tmp_path / "train" / "1" / "image_00001.jpg"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"\xff\xd8\xff\xe0 truncated")
    with pytest.raises(FlowerDataError, match=r"image_00001\.jpg cannot be read .*remove or replace it"):
        load_rgb(bad)


def test_an_os_error_reads_as_a_sentence_not_its_number() -> None:
    from mnv2_core.files import os_error_sentence

    sentence = os_error_sentence(PermissionError(13, "Permission denied", "/cache/onnx/x.onnx"))
    assert sentence.startswith("A file could not be read or written (/cache/onnx/x.onnx): Permission denied.")
    assert "MNV2_CACHE" in sentence


def test_a_transfer_run_distilled_from_a_teacher_is_still_a_transfer_run(tmp_path: Path) -> None:
    teacher = weights.checkpoint_path("mobilenet_v2", 1.0, "flowers")
    spec = _spec(tmp_path, tmp_path / "out", model="mobilenet_v2", width=0.35, recipe="transfer", init="imagenet",
                 distill_from=teacher)
    assert spec.kind == "transfer2" and _spec(tmp_path, tmp_path, distill_from=teacher).kind == "distill"
