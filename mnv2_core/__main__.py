"""Command line: ``python -m mnv2_core predict IMAGE...``, ``... bench`` and ``... train`` (see mnv2_core.train)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .labels import HEADS


def _width(text: str) -> float:
    return float(text)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m mnv2_core", description="MobileNetV2 Lab command line")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("predict", help="classify images with the same code path as the Classify page")
    p.add_argument("images", nargs="+", type=Path)
    p.add_argument("--model", default="mobilenet_v2")
    p.add_argument("--width", type=_width, default=None, help="MobileNetV2 width multiplier (default 1.0)")
    p.add_argument("--precision", choices=("fp32", "int8"), default="fp32")
    p.add_argument("--head", choices=HEADS, default="flowers")
    p.add_argument("--top", type=int, default=5)
    p.add_argument("--json", action="store_true", help="print a JSON list instead of text")

    b = sub.add_parser("bench", help="measure params, MACs and latency on this machine")
    b.add_argument("--models", nargs="+", default=None)
    b.add_argument("--widths", nargs="+", type=_width, default=[1.0])
    b.add_argument("--precisions", nargs="+", choices=("fp32", "int8"), default=["fp32"])
    b.add_argument("--runs", type=int, default=30)
    b.add_argument("--warmup", type=int, default=5)
    b.add_argument("--threads", type=int, default=None)
    b.add_argument("--json", action="store_true")

    # Options belong to mnv2_core.train's own parser; `python -m mnv2_core train --help` shows them.
    sub.add_parser("train", help="transfer learning on Oxford-102 (python -m mnv2_core train --help)", add_help=False)
    return parser


def _predict(args: argparse.Namespace) -> int:
    from .inference import Predictor
    from .preprocess import ImageDecodeError, load_path

    predictor = Predictor(args.model, args.width, args.precision, args.head)
    if not predictor.info.trained:
        print(f"warning: {predictor.info.description}", file=sys.stderr)
    out, failed = [], 0
    for path in args.images:
        try:
            image = load_path(path).image
        except (OSError, ImageDecodeError) as exc:
            print(f"{path}: {exc}", file=sys.stderr)
            failed += 1
            continue
        result = predictor.predict(image, args.top)
        out.append({"file": str(path), **result.as_dict()})
        if not args.json:
            print(f"{path}  ({result.latency_ms:.1f} ms, {predictor.precision})")
            for p in result.top:
                print(f"  {p.prob:7.2%}  {p.label} [{p.class_id}]")
    if args.json:
        print(json.dumps(out, indent=2))
    return 1 if failed else 0


def _bench(args: argparse.Namespace) -> int:
    from .compare import DEFAULT_MODELS, expand_configs, run_benchmark
    from .models.zoo import format_width

    configs = expand_configs(args.models or DEFAULT_MODELS, args.widths, args.precisions)

    def progress(i: int, n: int, config) -> None:
        if config is not None and not args.json:
            print(f"[{i + 1}/{n}] {config.label}", file=sys.stderr, flush=True)

    rows = run_benchmark(configs, runs=args.runs, warmup=args.warmup, threads=args.threads, progress=progress)
    if args.json:
        print(json.dumps([r.as_dict() for r in rows], indent=2))
        return 0
    header = f"{'model':<16}{'width':>6} {'prec':<5}{'runtime':<8}{'params':>10}{'MACs':>10}{'median ms':>11}" \
             f"{'p90 ms':>9}{'cv':>7}{'threads':>8}"
    print(header)
    for r in rows:
        width = format_width(r.width) if r.width is not None else "-"
        print(f"{r.model:<16}{width:>6} {r.precision:<5}{r.runtime:<8}{r.params / 1e6:>9.2f}M{r.macs / 1e6:>9.1f}M"
              f"{r.median_ms:>11.2f}{r.p90_ms:>9.2f}{r.cv:>7.1%}{r.threads:>8}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["train"]:
        from .train import main as train_main

        return train_main(argv[1:])
    args = _parser().parse_args(argv)
    try:
        return _predict(args) if args.command == "predict" else _bench(args)
    except (ValueError, KeyError) as exc:  # user errors: unknown model, bad width, missing data
        print(f"error: {exc.args[0] if exc.args else exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
