"""One training run end to end on a tiny Oxford-102 subset: transfer phases, its record, shipping, resume,
distillation, pruning and widening."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import torch

from mnv2_core.measure.records import load_runs
from mnv2_core.measure.run_record import RunRecord
from mnv2_core.models import weights
from mnv2_core.train.run import run
from mnv2_core.train.spec import HeadConfig, TrainInterrupted

pytestmark = pytest.mark.slow  # training runs / real browsers: see pytest.ini


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
def tiny_transfer(flowers_dir: Path, tmp_path_factory: pytest.TempPathFactory, _tiny_copy, _spec) -> TinyTransfer:
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
        tiny_transfer: TinyTransfer, monkeypatch: pytest.MonkeyPatch, _spec) -> None:
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
                                                                               monkeypatch: pytest.MonkeyPatch,
                                                                               _tiny_copy, _spec) -> None:
    monkeypatch.setattr("mnv2_core.train.ship.MAX_SHIPPED_BYTES", 1000)  # LeNet-5's 0.14 MB file is "too large"
    monkeypatch.setattr("mnv2_core.models.weights.MAX_INT8_SHIPPED_BYTES", 1000)  # in int8 too
    result = run(_spec(_tiny_copy(flowers_dir, tmp_path / "data"), tmp_path / "out", fit={"epochs": 1}),
                 log=lambda *_: None, cache=tmp_path / "cache")
    assert not result.shipped and not (tmp_path / "out" / "checkpoints").exists()
    assert result.checkpoint == tmp_path / "cache" / "checkpoints" / "lenet5_flowers102.pt"
    assert result.run.checkpoint.local and not result.run.checkpoint.shipped


def test_a_checkpoint_over_the_fp16_limit_ships_as_per_channel_int8_scored_against_fp16(
        flowers_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, _tiny_copy, _spec) -> None:
    monkeypatch.setattr("mnv2_core.train.ship.MAX_SHIPPED_BYTES", 100_000)  # LeNet-5: 0.14 MB fp16, 0.07 MB int8
    result = run(_spec(_tiny_copy(flowers_dir, tmp_path / "data"), tmp_path / "out", fit={"epochs": 1}),
                 log=lambda *_: None, cache=tmp_path / "cache")
    assert result.shipped and result.checkpoint == tmp_path / "out" / "checkpoints" / "lenet5_flowers102.pt"
    assert result.checkpoint.stat().st_size < 100_000 and result.run.checkpoint.storage == "int8-per-channel"
    meta = weights.load_checkpoint_file(result.checkpoint).info.meta
    assert meta["storage"] == "int8-per-channel" and isinstance(meta["fp16_test_top1"], float)
    assert result.run.metrics.checkpoint_fp16_test_top1 == meta["fp16_test_top1"]
    assert "per-channel int8" in result.run.checkpoint.why


def test_an_interrupted_run_resumes_to_the_same_result(flowers_dir: Path, tmp_path: Path, _tiny_copy, _spec) -> None:
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


def test_distillation_uses_the_teacher(flowers_dir: Path, tmp_path: Path, _tiny_copy, _spec) -> None:
    data = _tiny_copy(flowers_dir, tmp_path / "data")
    teacher = weights.checkpoint_path("mobilenet_v2", 1.0, "flowers")
    spec = _spec(data, tmp_path / "out", model="mobilenet_v2", width=0.35, distill_from=teacher,
                 fit={"epochs": 1, "train_resolution": 64, "resolution": 64})
    result = run(spec, log=lambda *_: None, cache=tmp_path / "cache")
    assert result.run.kind == "distill" and result.run.distill_from == str(teacher)
    assert result.run.id.endswith("mobilenet_v2_0.35_distill")


@pytest.mark.parametrize("recipe,width", [("prune", 0.5), ("widen", 1.4)])
def test_prune_and_widen_runs_start_from_the_teacher_and_record_each_step(flowers_dir: Path, tmp_path: Path,
                                                                         recipe: str, width: float,
                                                                         _tiny_copy, _spec) -> None:
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


def test_finetune_refuses_a_checkpoint_of_another_width(flowers_dir: Path, tmp_path: Path, _tiny_copy, _spec) -> None:
    data = _tiny_copy(flowers_dir, tmp_path / "data")
    teacher = weights.checkpoint_path("mobilenet_v2", 1.0, "flowers")
    spec = _spec(data, tmp_path / "out", model="mobilenet_v2", width=0.5, recipe="finetune", init="checkpoint",
                 start_from=teacher)
    with pytest.raises(ValueError, match="keeps the width"):
        run(spec, log=lambda *_: None, cache=tmp_path / "cache")


def test_pruning_another_model_is_one_sentence(flowers_dir: Path, tmp_path: Path, _tiny_copy, _spec) -> None:
    data = _tiny_copy(flowers_dir, tmp_path / "data")
    lenet = weights.checkpoint_path("lenet5", None, "flowers")
    spec = _spec(data, tmp_path / "out", recipe="prune", init="checkpoint", start_from=lenet, distill_from=lenet)
    with pytest.raises(ValueError, match="change a MobileNetV2's width"):
        run(spec, log=lambda *_: None, cache=tmp_path / "cache")


@pytest.mark.parametrize("name", ["resnet18", "efficientnet_b0"])
def test_phase_1_transfer_runs_from_torchvision_weights_in_the_hub_cache(name: str, flowers_dir: Path, tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch,
                                                                        _tiny_copy, _spec) -> None:
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
