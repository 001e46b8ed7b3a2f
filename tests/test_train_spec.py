"""What to train: the kind of run a recipe and its options make."""

from __future__ import annotations

from pathlib import Path


from mnv2_core.models import weights



def test_a_transfer_run_distilled_from_a_teacher_is_still_a_transfer_run(tmp_path: Path, _spec) -> None:
    teacher = weights.checkpoint_path("mobilenet_v2", 1.0, "flowers")
    spec = _spec(tmp_path, tmp_path / "out", model="mobilenet_v2", width=0.35, recipe="transfer", init="imagenet",
                 distill_from=teacher)
    assert spec.kind == "transfer2" and _spec(tmp_path, tmp_path, distill_from=teacher).kind == "distill"
