"""Command line: ``python -m mnv2_core predict IMAGE...``, ``... bench``, ``... quantize``, ``... fidelity``,
``... roofline``, ``... evaluate`` and ``... train``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from mnv2_core.models.labels import CLASS_SETS
from mnv2_core.models.model_config import ENGINES, PRECISIONS
from mnv2_core.models.registry import MOBILENET_WIDTHS


def _width(text: str) -> float:
    return float(text)


def _at_least_one(text: str) -> int:
    if int(text) < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return int(text)


def _predict_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("images", nargs="+", type=Path)
    p.add_argument("--model", default="mobilenet_v2")
    p.add_argument("--width", type=_width, default=None, help="MobileNetV2 width multiplier (default 1.0)")
    p.add_argument("--precision", choices=PRECISIONS, default="fp32")
    p.add_argument("--classes", "--head", dest="classes", choices=CLASS_SETS, default="flowers",
                   help="flowers: Oxford-102 (102 classes); imagenet: ImageNet-1k (--head is the old name)")
    p.add_argument("--engine", choices=("auto",) + ENGINES, default="auto",
                   help="auto = the engine measured fastest for the precision")
    p.add_argument("--top", type=int, default=5)
    p.add_argument("--json", action="store_true", help="print a JSON list instead of text")


def _bench_flags(b: argparse.ArgumentParser) -> None:
    b.add_argument("--models", nargs="+", default=None)
    b.add_argument("--widths", nargs="+", type=_width, default=[1.0])
    b.add_argument("--precisions", nargs="+", choices=PRECISIONS, default=["fp32"])
    b.add_argument("--engines", nargs="+", choices=ENGINES, default=None, help="default: every engine installed")
    b.add_argument("--runs", type=int, default=30)
    b.add_argument("--warmup", type=int, default=5)
    b.add_argument("--threads", type=int, default=None)
    b.add_argument("--json", action="store_true")
    b.add_argument("--photo", action="store_true",
                   help="also time a 12 MP phone JPEG from bytes to top-5 on the app's default engines")
    b.add_argument("--save", action="store_true",
                   help="record the timings for this CPU in MNV2_CACHE/engines/ (the app's automatic engine "
                        "comes from there)")


def _quantize_flags(q: argparse.ArgumentParser) -> None:
    from mnv2_core.runtime.int8_onnx import METHODS

    q.add_argument("--model", default="mobilenet_v2")
    q.add_argument("--widths", nargs="+", type=_width, default=list(MOBILENET_WIDTHS),
                   help="MobileNetV2 widths (others: ignored)")
    q.add_argument("--init", choices=("default", "scratch"), default="default",
                   help="scratch: the model's from-scratch checkpoint where its default one is transfer-learned")
    q.add_argument("--calibration", type=int, default=256, help="training photos to calibrate on (>= 256)")
    q.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    q.add_argument("--data", default=None, help="Oxford-102 folder for the valid/test splits")
    q.add_argument("--threads", type=int, default=None)


def _evaluate_flags(e: argparse.ArgumentParser) -> None:
    e.add_argument("--model", default="mobilenet_v2")
    e.add_argument("--widths", nargs="+", type=_width, default=[1.0], help="MobileNetV2 widths (others: ignored)")
    e.add_argument("--init", choices=("default", "scratch"), default="default",
                   help="scratch: the model's from-scratch checkpoint where its default one is transfer-learned "
                        "(MobileNetV2 1.0 of the one-recipe comparison)")
    e.add_argument("--split", choices=("train", "valid", "test"), default="test")
    e.add_argument("--data", default=None, help="Oxford-102 folder (default: MNV2_DATA or ../shared/data/flowers102)")
    e.add_argument("--no-phone", action="store_true", help="skip the phone proxy")
    e.add_argument("--no-real", action="store_true",
                   help="skip the real-photo dev set (default: measured, and recorded in assets/results/real_photos.json)")
    e.add_argument("--open-set", action="store_true",
                   help="instead: choose the 'not sure' threshold on valid, measure it on test and on non-flower "
                        "photos (scikit-image's samples), and record it in assets/results/open_set.json")
    e.add_argument("--threads", type=int, default=None)
    e.add_argument("--json", action="store_true")


def _fidelity_flags(f: argparse.ArgumentParser) -> None:
    f.add_argument("--precision", choices=("bf16",), default="bf16")
    f.add_argument("--models", nargs="+", default=None, help="default: every model")
    f.add_argument("--widths", nargs="+", type=_width, default=list(MOBILENET_WIDTHS),
                   help="MobileNetV2 widths (others: ignored)")
    f.add_argument("--data", default=None, help="Oxford-102 folder for the test split")
    f.add_argument("--threads", type=int, default=None)


def _roofline_flags(r: argparse.ArgumentParser) -> None:
    r.add_argument("--model", default="mobilenet_v2")
    r.add_argument("--width", type=_width, default=None, help="MobileNetV2 width multiplier (default 1.0)")
    r.add_argument("--precisions", nargs="+", choices=PRECISIONS, default=None,
                   help="default: every precision this CPU is offered")
    r.add_argument("--runs", type=_at_least_one, default=20, help="inferences whose per-layer times are the median")
    r.add_argument("--json", action="store_true")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m mnv2_core", description="MobileNetV2 Lab command line")
    sub = parser.add_subparsers(dest="command", required=True)
    _predict_flags(sub.add_parser("predict", help="classify images with the same code path as the Classify page"))
    _bench_flags(sub.add_parser("bench", help="measure params, MACs and latency on this machine"))
    _quantize_flags(sub.add_parser("quantize", help="make the shipped ONNX INT8 models (calibrate, select, measure)"))
    _fidelity_flags(sub.add_parser("fidelity", help="BF16 against FP32 on the test split, every trained model, every "
                                                   "engine that runs BF16 here"))
    _roofline_flags(sub.add_parser("roofline", help="this CPU's peak compute and memory bandwidth, and a model's "
                                                   "layers against them (OpenVINO's per-layer counters)"))
    _evaluate_flags(sub.add_parser("evaluate", help="score the flower checkpoints on a split and its phone proxy"))
    # Options belong to mnv2_core.train.cli's own parser; `python -m mnv2_core train --help` shows them.
    sub.add_parser("train", help="transfer learning on Oxford-102 (python -m mnv2_core train --help)", add_help=False)
    return parser


def _predict(args: argparse.Namespace) -> int:
    from mnv2_core.images.decode import ImageDecodeError, load_path
    from mnv2_core.models.model_config import ModelConfig
    from mnv2_core.runtime.predictor import Predictor

    predictor = Predictor(ModelConfig(args.model, args.width, args.precision, args.classes, args.engine))
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
        out.append({"file": str(path), "precision": predictor.precision, "engine": predictor.engine,
                    "runs_as": predictor.runner.detail, **result.as_dict()})
        if not args.json:
            print(f"{path}  ({result.latency_ms:.1f} ms, {predictor.precision}, {predictor.engine})")
            for p in result.top:
                print(f"  {p.prob:7.2%}  {p.label} [{p.class_id}]")
    if args.json:
        print(json.dumps(out, indent=2))
    return 1 if failed else 0


def _bench(args: argparse.Namespace) -> int:
    from mnv2_core.jobs.benchmark import expand_configs, ort_ratios, run_benchmark
    from mnv2_core.models.model_config import MODELS
    from mnv2_core.models.registry import format_width

    from mnv2_core.runtime.engines import available_engines

    configs = expand_configs(args.models or MODELS, args.widths, args.precisions,
                             args.engines or available_engines())

    def progress(i: int, n: int, config) -> None:
        if config is not None and not args.json:
            print(f"[{i + 1}/{n}] {config.title}", file=sys.stderr, flush=True)

    rows = run_benchmark(configs, runs=args.runs, warmup=args.warmup, threads=args.threads, progress=progress,
                         max_seconds=None)
    ratios = ort_ratios(rows)
    records = [{**r.as_dict(), "x_ort_fp32": ratio} for r, ratio in zip(rows, ratios)]
    photo = _photo_rows(args) if args.photo else []
    if args.save:
        from mnv2_core.runtime.timings import save_timings

        path = save_timings(records, "python -m mnv2_core " + " ".join(sys.argv[1:]))
        print(f"saved {path}", file=sys.stderr)
    if args.json:
        print(json.dumps(records, indent=2))
        return 0
    header = f"{'model':<16}{'width':>6} {'prec':<5}{'engine':<12}{'params':>10}{'MACs':>10}{'median ms':>11}" \
             f"{'p90 ms':>9}{'cv':>7}{'x ORT fp32':>11}{'threads':>8}"
    print(header)
    for r, ratio in zip(rows, ratios):
        width = format_width(r.width) if r.width is not None else "-"
        shown = f"{ratio:.2f}" if ratio is not None else "-"
        print(f"{r.model:<16}{width:>6} {r.precision:<5}{r.engine:<12}{r.params / 1e6:>9.2f}M{r.macs / 1e6:>9.1f}M"
              f"{r.median_ms:>11.2f}{r.p90_ms:>9.2f}{r.cv:>7.1%}{shown:>11}{r.threads:>8}")
    for p in photo:
        print(f"12 MP JPEG -> top-5, {p['precision']} on {p['engine']}: median {p['photo_ms']:.1f} ms = decode floor "
              f"{p['decode_floor_ms']:.1f} + model {p['model_ms']:.1f} + {p['overhead_ms']:.1f} ms of the app's own")
    return 0


def _photo_rows(args: argparse.Namespace) -> list[dict]:
    """Bytes-to-prediction time of a 12 MP phone photo with the flower model, per precision, default engine."""
    from mnv2_core import config
    from mnv2_core.images.flowers import flower_samples
    from mnv2_core.measure.latency import phone_jpeg, photo_to_prediction
    from mnv2_core.models.model_config import ModelConfig
    from mnv2_core.runtime.predictor import Predictor

    jpeg = phone_jpeg(flower_samples(config.data_dir(), "test")[0][0])
    out = []
    for precision in args.precisions:
        predictor = Predictor(ModelConfig(precision=precision))
        path = photo_to_prediction(predictor, jpeg, runs=args.runs, warmup=args.warmup)
        out.append({"precision": precision, "engine": predictor.engine, "photo_ms": path.whole.median_ms,
                    "decode_floor_ms": path.decode_floor.median_ms, "model_ms": path.model.median_ms,
                    "overhead_ms": path.overhead_ms})
    return out


def _quantize(args: argparse.Namespace) -> int:
    import torch

    from mnv2_core.jobs.quantize import make_shipped_int8
    from mnv2_core.models import get_spec
    from mnv2_core.models.weights import checkpoint_path

    if args.threads:
        torch.set_num_threads(args.threads)
    command = "python -m mnv2_core " + " ".join(sys.argv[1:])
    init = None if args.init == "default" else args.init
    done = 0
    for width in args.widths if get_spec(args.model).has_widths else [None]:
        if not (ckpt := checkpoint_path(args.model, width, "flowers", init)).is_file():
            print(f"skip: no flower checkpoint {ckpt.name}", file=sys.stderr)
            continue
        make_shipped_int8(args.model, width, init=init, methods=args.methods, calibration=args.calibration, data=args.data,
                          threads=args.threads, command=command, log=lambda m: print(m, file=sys.stderr))
        done += 1
    return 0 if done else 2


def _evaluate(args: argparse.Namespace) -> int:
    import torch

    from mnv2_core.jobs.evaluate import evaluate
    from mnv2_core.models import get_spec

    if args.threads:
        torch.set_num_threads(args.threads)
    widths = args.widths if get_spec(args.model).has_widths else [None]
    if args.open_set:
        return _open_set(args, widths)
    rows = []
    for width in widths:
        row = evaluate(args.model, width, split=args.split, data=args.data, phone=not args.no_phone,
                       real=not args.no_real, init=args.init, command="python -m mnv2_core " + " ".join(sys.argv[1:]))
        rows.append(row.as_dict())
        if not args.json:
            print(row.line())
    if args.json:
        print(json.dumps(rows, indent=2))
    return 0


def _open_set(args: argparse.Namespace, widths: list) -> int:
    from mnv2_core.jobs.evaluate import measure_open_set
    from mnv2_core.measure.open_set import save_open_set

    command = "python -m mnv2_core " + " ".join(sys.argv[1:])
    records = [measure_open_set(args.model, width, data=args.data, command=command) for width in widths]
    path = save_open_set(records)
    for r in records:
        print(f"{args.model} {r.width if r.width is not None else '':<5} not sure below {r.threshold:.1%}: flags "
              f"{r.test_correct_flagged:.1%} of correct and {r.test_wrong_flagged:.1%} of wrong test answers, "
              f"{r.non_flowers_flagged:.0%} of {r.non_flower_photos} non-flower photos")
    print(f"saved {path}", file=sys.stderr)
    return 0


def _fidelity(args: argparse.Namespace) -> int:
    import torch

    from mnv2_core.jobs.comparison import entries
    from mnv2_core.jobs.fidelity import measure_fidelity
    from mnv2_core.measure.fidelity import save_fidelity
    from mnv2_core.models.checkpoints import find_checkpoint

    if args.threads:
        torch.set_num_threads(args.threads)
    command = "python -m mnv2_core " + " ".join(sys.argv[1:])
    chosen = [e for e in entries() if (args.models is None or e.model in args.models)
              and (e.width is None or e.width in args.widths)
              and find_checkpoint(e.model, e.width, "flowers", None if e.init == "default" else e.init)]
    if not chosen:
        print("error: no trained flower checkpoint matches", file=sys.stderr)
        return 2
    for e in chosen:  # saved one by one: a long run keeps what it measured
        r = measure_fidelity(e.model, e.width, init=e.init, precision=args.precision, data=args.data,
                             threads=args.threads, command=command)
        save_fidelity([r])
        t = r.test
        print(f"{r.title:<32} {r.precision.upper()} top-1 {t.top1:.2%} (FP32 {t.fp32_top1:.2%}), agreement "
              f"{t.agreement:.2%} (" + ", ".join(f"{k} {v.agreement:.2%}" for k, v in t.by_engine.items()) + ")")
    return 0


def _roofline(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from mnv2_core.display import roofline as shown
    from mnv2_core.models.model_config import ModelConfig
    from mnv2_core.runtime.availability import require_bf16
    from mnv2_core.runtime.roofline import measure_roofline

    if "bf16" in (args.precisions or ()):
        require_bf16()
    config = ModelConfig(args.model, args.width)  # validates the model and width
    result = measure_roofline(config.model, config.width, tuple(args.precisions) if args.precisions else None,
                              runs=args.runs)
    if args.json:
        print(json.dumps(asdict(result), indent=2))
        return 0
    for table in (shown.peak_rows(result.peaks), shown.kind_rows(result), shown.whole_model_rows(result)):
        print(_text_table(table) + "\n")
    print("\n".join(shown.lesson(result)))
    if verdict := shown.int8_verdict(result):
        print(verdict)
    return 0


def _text_table(rows: list[dict]) -> str:
    if not rows:
        return "(nothing measured)"
    cols = list(rows[0])
    cells = [[str(c) for c in cols]] + [["-" if r[c] is None else str(r[c]) for c in cols] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(cols))]
    return "\n".join("  ".join(v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(row, widths)))
                     for row in cells)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["train"]:
        from mnv2_core.train.cli import main as train_main

        return train_main(argv[1:])
    args = _parser().parse_args(argv)
    try:
        return {"predict": _predict, "bench": _bench, "quantize": _quantize, "evaluate": _evaluate,
                "fidelity": _fidelity, "roofline": _roofline}[args.command](args)
    except (ValueError, KeyError) as exc:  # user errors: unknown model, bad width, missing data
        print(f"error: {exc.args[0] if exc.args else exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
