"""``python -m mnv2_core train``: flags -> a :class:`RunSpec` -> one resumable run; user errors as one line."""

from __future__ import annotations

import argparse
import shlex
import sys
from dataclasses import asdict
from pathlib import Path

import torch

from mnv2_core import config
from mnv2_core.models.registry import get_spec
from mnv2_core.train.features import HeadConfig
from mnv2_core.train.loop import FitConfig
from mnv2_core.files import os_error_sentence
from mnv2_core.progress import Listener, ProgressFile, listening
from mnv2_core.train.run import RunResult, run
from mnv2_core.train.spec import DERIVED, FINE_TUNE, SCRATCH, RunSpec, TrainInterrupted


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m mnv2_core train", description=__doc__.split("\n\n")[0])
    p.add_argument("--recipe", choices=("transfer", "scratch") + DERIVED, default="transfer",
                   help="finetune/prune/widen start from --start-from (prune/widen change the width to --width)")
    p.add_argument("--start-from", type=Path, default=None,
                   help="trained flower checkpoint that finetune, prune and widen start from (and, for prune and "
                        "widen, distil from unless --distill-from says otherwise)")
    p.add_argument("--augment", choices=("crop", "phone"), default="crop",
                   help="crop: random-resized crop + flip; phone: phone-photo distortions (mnv2_core.images.phone)")
    p.add_argument("--bf16", action="store_true", help="autocast to bfloat16 (fast on CPUs with AMX/AVX512-BF16)")
    p.add_argument("--replace", action="store_true",
                   help="ship the checkpoint even if the one in assets/ has a better valid top-1")
    p.add_argument("--model", default="mobilenet_v2")
    p.add_argument("--width", type=float, default=1.0, help="MobileNetV2 width multiplier (ignored by others)")
    p.add_argument("--init", choices=("imagenet", "scratch"), default=None,
                   help="default: imagenet for --recipe transfer, scratch otherwise")
    p.add_argument("--phases", type=int, choices=(1, 2), default=2, help="transfer only: 1 = head only")
    p.add_argument("--distill-from", type=Path, default=None, help="teacher checkpoint (scratch recipe + KD)")
    p.add_argument("--distill-resolution", type=int, default=None,
                   help="the teacher sees each training crop upsampled to this size (default: the crop's own)")
    p.add_argument("--epochs", type=int, default=None,
                   help=f"phase-2 epochs for transfer (default {FINE_TUNE.epochs}), all epochs for scratch "
                        f"(default {SCRATCH.epochs})")
    p.add_argument("--head-epochs", type=int, default=HeadConfig.epochs, help="transfer phase-1 epochs")
    # --img-size and --eval-size are the names these flags had before the glossary settled on "resolution".
    p.add_argument("--train-resolution", "--img-size", type=int, default=None, dest="train_resolution",
                   help=f"training crop (default {FINE_TUNE.train_resolution} transfer, {SCRATCH.train_resolution} "
                        f"scratch; LeNet-5 always 32)")
    p.add_argument("--resolution", "--eval-size", type=int, default=None, dest="resolution",
                   help="valid and test resolution (default 224; LeNet-5 32)")
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--lr", type=float, default=None, help="peak lr of the full-network phase")
    p.add_argument("--warmup-epochs", type=float, default=None, help="linear warm-up before the cosine decay")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data", default=None,
                   help="Oxford-102 folder in the Udacity layout (default: MNV2_DATA or ../shared/data/flowers102), "
                        "or 'torchvision' for the official split downloaded by torchvision")
    p.add_argument("--out", type=Path, default=config.ASSETS_DIR, help="writes checkpoints/ and results/runs/ here")
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu or cuda")
    p.add_argument("--threads", type=int, default=None, help="CPU threads (default: torch's)")
    p.add_argument("--fresh", action="store_true", help="discard a saved state instead of resuming it")
    p.add_argument("--stop-after", type=int, default=None, help="stop after N epochs of this process (resumable)")
    p.add_argument("--progress-file", type=Path, default=None,
                   help="also write the run's steps and outcome to this JSON file as it goes (the Training page "
                        "follows a run it started through it)")
    return p


def spec_from_args(args: argparse.Namespace, command: str = "") -> RunSpec:
    get_spec(args.model)  # unknown names fail here, in one sentence
    width = args.width if get_spec(args.model).has_widths else None
    base = SCRATCH if args.recipe == "scratch" else FINE_TUNE
    native = get_spec(args.model).resolution
    small = native < 100  # LeNet-5 sees 32 px images, train and test
    overrides = {k: v for k, v in {"epochs": args.epochs, "lr": args.lr, "batch_size": args.batch_size,
                                   "warmup_epochs": args.warmup_epochs,
                                   "train_resolution": native if small else args.train_resolution,
                                   "resolution": native if small else args.resolution, "seed": args.seed,
                                   "augment": args.augment, "bf16": args.bf16,
                                   "distill_resolution": args.distill_resolution}.items()
                 if v is not None}
    distill_from = args.distill_from
    if args.recipe in ("prune", "widen") and distill_from is None:
        distill_from = args.start_from
    return RunSpec(model=args.model, width=width, recipe=args.recipe,
                   init=args.init or {"transfer": "imagenet", "scratch": "scratch"}.get(args.recipe, "checkpoint"),
                   data=args.data,
                   out=args.out, phases=args.phases,
                   head=HeadConfig(epochs=args.head_epochs, seed=args.seed),
                   fit=FitConfig(**{**asdict(base), **overrides}), distill_from=distill_from,
                   start_from=args.start_from, replace=args.replace,
                   device=args.device, fresh=args.fresh, stop_after=args.stop_after, command=command)


def _shown_command(argv: list[str]) -> str:
    """The command as the run records it: what reproduces the run, without where its progress was written."""
    kept, skip = [], False
    for arg in argv:
        if skip or arg.startswith("--progress-file="):
            skip = False
            continue
        if arg == "--progress-file":
            skip = True
            continue
        kept.append(arg)
    return "python -m mnv2_core train " + " ".join(shlex.quote(a) for a in kept)


def outcome(result: RunResult) -> str:
    """One sentence on how a run ended: its test top-1, how long it took, and where its checkpoint went."""
    metrics, seconds = result.run.metrics, result.run.provenance.seconds
    where = ("shipped to " if result.shipped else "kept at ") + str(result.checkpoint)
    return (f"Test top-1 {metrics.test_top1:.1%} (valid {metrics.valid_top1:.1%}) in {seconds / 60:.1f} min; "
            f"checkpoint {where} ({result.run.checkpoint.why}).")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    command = _shown_command(sys.argv[1:] if argv is None else argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    job = ProgressFile(args.progress_file, command=command) if args.progress_file else Listener()
    try:
        with listening(job):
            result = run(spec_from_args(args, command))
    except TrainInterrupted as exc:
        print(str(exc), file=sys.stderr)
        if isinstance(job, ProgressFile):
            job.fail(str(exc))
        return 3
    except (ValueError, KeyError) as exc:  # user errors: missing data, unknown model, bad width, bad checkpoint
        sentence = str(exc.args[0] if exc.args else exc)
        print(f"error: {sentence}", file=sys.stderr)
        if isinstance(job, ProgressFile):
            job.fail(sentence)
        return 2
    except BaseException as exc:
        if isinstance(job, ProgressFile):
            job.fail(os_error_sentence(exc) if isinstance(exc, OSError) else
                     f"The run stopped with an error ({type(exc).__name__}: {exc}); its log has the details.")
        raise
    if isinstance(job, ProgressFile):
        job.finish(outcome(result), run_id=result.run.id, results_file=str(result.results_file),
                   checkpoint=str(result.checkpoint), shipped=result.shipped,
                   test_top1=result.run.metrics.test_top1, valid_top1=result.run.metrics.valid_top1)
    return 0
