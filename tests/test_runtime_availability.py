"""Whether a model answers with trained weights here, why not, and the command that trains it."""

from __future__ import annotations

import subprocess

import json
from pathlib import Path

import pytest

from mnv2_core.models import build_model, weights
from mnv2_core.models.weights import SOURCE_WORDS
from mnv2_core.runtime.availability import transfer_choices, TOO_LARGE_WORDS, availability, weights_overview

REPO = Path(__file__).resolve().parent.parent


def test_a_model_trained_too_large_to_ship_says_so(offline: Path) -> None:
    runs = offline / "results" / "runs"
    runs.mkdir(parents=True)
    (runs / "r.json").write_text(json.dumps({"model": "resnet18", "width": None, "checkpoint": {
        "shipped": False, "size_bytes": 22_400_000}}))
    available = availability("resnet18")
    assert not available.trained and "(22.4 MB) is too large to ship" in available.reason
    assert available.command.startswith("python -m mnv2_core train --recipe scratch --model resnet18")


def test_the_sidebar_overview_groups_models_by_where_their_weights_come_from(offline: Path) -> None:
    runs = offline / "results" / "runs"
    runs.mkdir(parents=True)
    (runs / "r.json").write_text(json.dumps({"model": "resnet18", "width": None, "checkpoint": {
        "shipped": False, "size_bytes": 22_400_000}}))
    weights.save_checkpoint(weights.checkpoint_path("lenet5", None), build_model("lenet5", num_classes=102), {})
    overview = dict(weights_overview(["lenet5", "resnet18", "resnet50"], "flowers"))
    assert overview == {SOURCE_WORDS["checkpoint"]: ["LeNet-5"], TOO_LARGE_WORDS: ["ResNet18"],
                        SOURCE_WORDS["untrained"]: ["ResNet50"]}


def test_a_model_without_trained_weights_says_why_and_how_to_train_it(offline: Path) -> None:
    for name, width in [("mobilenet_v2", 0.5), ("mobilenet_v2", 1.4), ("resnet18", None), ("lenet5", None)]:
        available = availability(name, width, "flowers")
        assert not available.trained and "no Oxford-102 checkpoint" in available.reason
        assert available.command.startswith("python -m mnv2_core train")
    from mnv2_core.models.recipes import recipes_for

    (recipe,) = recipes_for("mobilenet_v2", 0.5)  # the shipped 0.5's own recipe
    assert recipe.flags in availability("mobilenet_v2", 0.5).command
    assert "--recipe widen --width 1.4" in availability("mobilenet_v2", 1.4).command
    assert "--model resnet18" in availability("resnet18").command
    assert "timm publishes them" in availability("mobilenet_v2", 0.5, "imagenet").reason
    assert "width 1.0 only" in availability("mobilenet_v2", 0.75, "imagenet").reason
    assert "never trained on ImageNet" in availability("lenet5", None, "imagenet").reason


def test_bf16_is_read_from_the_cpu_flags(tmp_path: Path) -> None:
    from mnv2_core.runtime.availability import has_fast_bf16

    (tmp_path / "zen3").write_text("flags\t\t: fpu sse avx2 fma vaes\n")
    (tmp_path / "xeon").write_text("flags\t\t: fpu avx2 avx512f avx512_bf16 amx_bf16 amx_tile\n")
    assert not has_fast_bf16(tmp_path / "zen3") and has_fast_bf16(tmp_path / "xeon")
    assert not has_fast_bf16(tmp_path / "missing")


@pytest.mark.parametrize("bf16", [True, False])
def test_the_training_command_asks_for_bf16_only_where_the_cpu_has_it(bf16: bool,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from mnv2_core.runtime import availability as module

    monkeypatch.setattr(module, "has_fast_bf16", lambda: bf16)
    assert ("--bf16" in module.train_command("mobilenet_v2", 0.5)) is bf16


def test_the_training_scripts_run_every_step_of_the_recipes_table() -> None:
    from mnv2_core.models.recipes import FAMILY, PEERS, main

    for script, table in (("train_width_family.sh", FAMILY), ("train_peers.sh", PEERS)):
        text = (REPO / "scripts" / script).read_text()
        assert "python -m mnv2_core.models.recipes" in text and "--recipe" not in text  # no flags of its own
        listed = subprocess.run(["bash", "-c", "python -m mnv2_core.models.recipes --list " + script[6:-3]
                                 .replace("width_", "")], cwd=REPO, capture_output=True, text=True, check=True)
        assert listed.stdout.split() == [r.step for r in table]
    assert main(["no-such-step"]) == 2


def test_every_trainable_model_has_a_command_from_the_recipes_table() -> None:
    from mnv2_core.models import REGISTRY
    from mnv2_core.runtime.availability import train_command

    for name, spec in REGISTRY.items():
        for width in spec.widths:
            command = train_command(name, width)
            assert command.startswith("python -m mnv2_core train --recipe"), (name, width)
    assert train_command("mobilenet_v2", 1.0).count("python -m mnv2_core train") == 2  # transfer, then fine-tune
    assert "--recipe transfer" in train_command("mobilenet_v2", 0.35)


def test_phase_1_offers_every_backbone_with_imagenet_weights_and_explains_the_rest(
        tflite_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    monkeypatch.setenv("MNV2_DOWNLOAD", "0")
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    ready, missing = transfer_choices(["mobilenet_v2", "resnet18", "lenet5"])
    assert [(c.model, c.width) for c in ready] == [("mobilenet_v2", 0.35), ("mobilenet_v2", 1.0)]
    assert [c.weights for c in ready] == ["Keras ImageNet backbone, imported", "official TFLite ImageNet, imported"]
    assert len(missing) == 5 and any("LeNet-5" in m and "never trained on ImageNet" in m for m in missing)
    assert any("ResNet18" in m and "MNV2_DOWNLOAD=0" in m for m in missing)
