"""The recipes of the shipped checkpoints, as data: what ``scripts/train_width_family.sh`` and
``scripts/train_peers.sh`` run (they read this table), and the command the app shows for a model it has no
checkpoint for. ``python -m mnv2_core.models.recipes STEP`` prints one step's training flags.

``--bf16`` (autocast to bfloat16) is added only where the CPU has native bfloat16 (AVX512-BF16 or AMX), where it is
about 2x faster, and never to EfficientNet-B0, measured slower in bf16 on such CPUs here.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

_CHECKPOINTS = "assets/checkpoints"
TEACHER_CHECKPOINT = f"{_CHECKPOINTS}/mobilenet_v2_1.0_flowers102.pt"
# The from-scratch recipe on a CPU: 20 epochs of 112 px crops distilled from the 1.0 flower teacher at 144 px, tested
# at 128 px.
PEER_RECIPE = ("--distill-resolution 144 --epochs 20 --warmup-epochs 2 --batch-size 64 --train-resolution 112 "
               "--resolution 128")
_FAMILY = "--augment phone --warmup-epochs 0.3"


@dataclass(frozen=True)
class Recipe:
    """One shipped checkpoint's training step: its name in the scripts, the model, and the ``train`` flags."""

    step: str
    model: str
    width: float | None
    flags: str
    bf16: bool = True  # whether --bf16 pays off for this model on a CPU that has it

    def train_flags(self, has_bf16: bool) -> str:
        return self.flags + (" --bf16" if self.bf16 and has_bf16 else "")

    def command(self, has_bf16: bool) -> str:
        return f"python -m mnv2_core train {self.train_flags(has_bf16)}"


# In the order the steps must run: the 1.0 teacher first (after its transfer), then the 0.35 from its own ImageNet
# backbone, then the widths widened from it, step by step; the 1.4 is widened from the 1.0.
FAMILY: tuple[Recipe, ...] = (
    Recipe("1.0-transfer", "mobilenet_v2", 1.0,
           "--recipe transfer --model mobilenet_v2 --width 1.0 --epochs 3 --train-resolution 160", bf16=False),
    Recipe("teacher", "mobilenet_v2", 1.0,
           f"--recipe finetune --width 1.0 --start-from {TEACHER_CHECKPOINT} --epochs 5 --lr 1e-4 {_FAMILY}"),
    Recipe("0.35", "mobilenet_v2", 0.35,
           f"--recipe transfer --model mobilenet_v2 --width 0.35 --epochs 8 --lr 2e-4 --distill-from "
           f"{TEACHER_CHECKPOINT} {_FAMILY}"),
    Recipe("0.5", "mobilenet_v2", 0.5,
           f"--recipe widen --width 0.5 --start-from {_CHECKPOINTS}/mobilenet_v2_0.35_flowers102.pt --distill-from "
           f"{TEACHER_CHECKPOINT} --epochs 6 --lr 1e-4 {_FAMILY}"),
    Recipe("0.75", "mobilenet_v2", 0.75,
           f"--recipe widen --width 0.75 --start-from {_CHECKPOINTS}/mobilenet_v2_0.5_flowers102.pt --distill-from "
           f"{TEACHER_CHECKPOINT} --epochs 5 --lr 1e-4 {_FAMILY}"),
    Recipe("1.4", "mobilenet_v2", 1.4,
           f"--recipe widen --width 1.4 --start-from {TEACHER_CHECKPOINT} --epochs 1 --lr 5e-5 {_FAMILY}"),
)
PEERS: tuple[Recipe, ...] = (
    Recipe("resnet18", "resnet18", None, f"--recipe scratch --model resnet18 --distill-from {TEACHER_CHECKPOINT} "
                                         f"{PEER_RECIPE}"),
    Recipe("resnet50", "resnet50", None, f"--recipe scratch --model resnet50 --distill-from {TEACHER_CHECKPOINT} "
                                         f"{PEER_RECIPE}"),
    Recipe("mobilenet_v2", "mobilenet_v2", 1.0, f"--recipe scratch --model mobilenet_v2 --width 1.0 --distill-from "
                                                f"{TEACHER_CHECKPOINT} {PEER_RECIPE}"),
    Recipe("efficientnet_b0", "efficientnet_b0", None, f"--recipe scratch --model efficientnet_b0 --distill-from "
                                                       f"{TEACHER_CHECKPOINT} {PEER_RECIPE}", bf16=False),
    Recipe("lenet5", "lenet5", None, "--recipe scratch --model lenet5", bf16=False),
)


def recipes_for(model: str, width: float | None) -> list[Recipe]:
    """The steps that make this model's shipped flower checkpoint (the family's 1.0: transfer, then fine-tune)."""
    return [r for r in (*FAMILY, *PEERS) if (r.model, r.width) == (model, width)
            and not (r in PEERS and model == "mobilenet_v2")]


def main(argv: list[str]) -> int:
    """``STEP [--bf16-cpu]``: print the step's training flags (the scripts call this); ``--list family|peers``."""
    if argv[:1] == ["--list"]:
        print(" ".join(r.step for r in (FAMILY if argv[1:] == ["family"] else PEERS)))
        return 0
    found = [r for r in (*FAMILY, *PEERS) if argv and r.step == argv[0]]
    if not found:
        print(f"unknown step; one of: {', '.join(r.step for r in (*FAMILY, *PEERS))}", file=sys.stderr)
        return 2
    print(found[0].train_flags("--bf16-cpu" in argv))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
