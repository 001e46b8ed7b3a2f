"""The Training page's tables, charts and sentences, shaped from the recorded runs: every run in one table, the
shipped MobileNetV2 family, the routes to a small network and their lesson, and the accuracy-vs-compute points."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mnv2_core.measure.real_photos import score_for
from mnv2_core.measure.records import FAMILY_STEPS, derivation_steps, load_runs, shipped_run, shipped_run_ids
from mnv2_core.measure.run_record import RunRecord


def run_title(run: RunRecord) -> str:
    """The model's title, marked "(from scratch)" where the model's shipped checkpoint starts from ImageNet."""
    from mnv2_core.models import model_title

    return model_title(run.model, run.width, "default" if run.from_imagenet else "scratch")


def runs_table(runs: list[RunRecord] | None = None) -> list[dict[str, Any]]:
    """One row per run for the Training page's table of runs: what was trained, how, and what it scored on the test split."""

    rows = []
    for r in runs if runs is not None else load_runs():
        m, prov = r.metrics, r.provenance
        rows.append(dict(  # in the order the page shows the columns: what, how well, at what cost, then details
            title=run_title(r), training=r.kind_label, test_top1=m.test_top1, test_top5=m.test_top5,
            valid_top1=m.valid_top1, params=r.params, macs=r.macs, epochs=r.epochs, run=r.id, model=r.model,
            width=r.width, init=r.init, train_resolution=r.train_resolution, resolution=r.resolution,
            phone_top1=m.test_phone_top1, shipped=r.checkpoint.shipped, device=prov.device, minutes=prov.minutes,
            commit=str(prov.git_commit or "")[:8]))
    return rows


@dataclass(frozen=True)
class FamilyRow:
    """The shipped MobileNetV2 of one width: how it was made, its cost and its accuracy (the file the app runs)."""

    width: float
    how: str
    params: int | None = None
    macs: int | None = None
    test_top1: float | None = None
    phone_top1: float | None = None
    real_top1: float | None = None
    valid_top1: float | None = None


def family_rows(widths: tuple[float, ...], runs: list[RunRecord] | None = None) -> list[FamilyRow]:
    """The shipped MobileNetV2 of each width. Few columns, to fit a projector: the run chosen below the tables gives
    the rest (top-5s, minutes, device, command)."""
    runs = runs if runs is not None else load_runs()
    rows = []
    for width in widths:
        run = shipped_run("mobilenet_v2", width, runs)
        if run is None:
            rows.append(FamilyRow(width, "not trained yet"))
            continue
        real = score_for("mobilenet_v2", width, run.id)
        started_kept = run.kind == "widen" and run.phases and run.phases[-1].best_epoch == 0
        rows.append(FamilyRow(width, run.kind_label + (" (the widened start ships)" if started_kept else ""),
                              run.params, run.macs, run.metrics.shipped_top1, run.metrics.test_phone_top1,
                              real.top1 if real else None, run.metrics.valid_top1))
    return rows


ROUTE_WORDS = {"transfer2": "trained on ImageNet itself, then transfer-learned",
               "finetune": "trained on ImageNet itself, then transfer-learned", "prune": "cut down from the 1.0",
               "widen": "widened from a narrower trained width"}


@dataclass(frozen=True)
class RouteRow:
    """One MobileNetV2 checkpoint by the route that made it (fractions; None where not measured)."""

    width: float
    route: str
    test_top1: float | None
    phone_top1: float | None
    real_top1: float | None
    shipped: bool


def routes_rows(widths: tuple[float, ...], runs: list[RunRecord] | None = None) -> list[RouteRow]:
    """Every MobileNetV2 run that made a checkpoint at a width, with how it was made, its test, phone-proxy and
    real-photo top-1, and whether its checkpoint is the shipped one: the routes to a small network side by side."""
    runs = runs if runs is not None else load_runs()
    rows = []
    for width in widths:
        shipped = shipped_run("mobilenet_v2", width, runs)
        latest: dict[str, RunRecord] = {}  # per route, the newest run (the 1.0's transfer was fine-tuned further)
        for run in sorted((r for r in runs if (r.model, r.width) == ("mobilenet_v2", width)
                           and r.kind in ROUTE_WORDS and r.checkpoint.shipped), key=lambda r: r.provenance.date):
            latest[ROUTE_WORDS[run.kind]] = run
        for route, run in latest.items():
            real = score_for("mobilenet_v2", width, run.id)
            rows.append(RouteRow(width, route, run.metrics.shipped_top1, run.metrics.test_phone_top1,
                                 real.top1 if real else None, run is shipped))
    return rows


def routes_lesson(rows: list[RouteRow]) -> str | None:
    """The two routes' lesson in one sentence, at the narrowest width where both were measured (None before)."""
    def pct(value: float | None) -> str:
        return "not measured" if value is None else f"{100 * value:.1f}%"

    cut_route, own_route = ROUTE_WORDS["prune"], ROUTE_WORDS["transfer2"]
    for width in sorted({r.width for r in rows}):
        cut = [r for r in rows if r.width == width and r.route == cut_route]
        own = [r for r in rows if r.width == width and r.route == own_route]
        if cut and own:
            cut, own = cut[-1], own[-1]
            return (f"**Two routes to MobileNetV2 {width:g}.** Cut down from the 1.0, it gets "
                    f"{pct(cut.test_top1)} of the Oxford-102 test photos and {pct(cut.real_top1)} of the real photos right; trained on "
                    f"ImageNet itself at that width (Keras's), then taught the flowers, it gets "
                    f"{pct(own.test_top1)} and {pct(own.real_top1)}. A small network that learned ImageNet keeps "
                    f"what ImageNet taught it about photos; one cut from a bigger network loses much of it.")
    return None


def widest_note(rows: list[FamilyRow]) -> str | None:
    """Where the widest shipped width scores no better than the 1.0 (widened, it computes the 1.0's function), what
    it is offline and what its own ImageNet weights would give a user who is online."""
    from mnv2_core.models.references import TIMM_SOURCE, timm_top1

    by_width = {r.width: r for r in rows}
    wide, base = by_width.get(1.4), by_width.get(1.0)
    if not wide or not base or wide.test_top1 is None or base.test_top1 is None:
        return None
    if wide.test_top1 > base.test_top1 and (wide.real_top1 or 0) > (base.real_top1 or 0):
        return None
    return (f"**The 1.4 does not earn its width here.** Offline it is the 1.0 widened (Net2WiderNet): it computes the "
            f"1.0's function, and distillation from the 1.0 did not take it past the 1.0 (test top-1 "
            f"{100 * wide.test_top1:.1f}% against {100 * base.test_top1:.1f}%). No ImageNet weights of width "
            f"1.4 can be had offline; a user who is online gets timm's, with {timm_top1(1.4):.1f}% ImageNet top-1 "
            f"against {timm_top1(1.0):.1f}% for its 1.0 ({TIMM_SOURCE}), a start the wider network can build on.")


def step_order(steps: list[dict[str, Any]]) -> list[str]:
    """The steps a family chart shows, in the order a width is made (only those some width took)."""
    taken = {r["step"] for r in steps}
    return [s for s in FAMILY_STEPS if s in taken]


def family_steps(widths: tuple[float, ...], runs: list[RunRecord] | None = None) -> list[dict[str, Any]]:
    """Each shipped width's :func:`derivation_steps` as long-form rows (width, step, valid top-1) for a chart."""
    runs = runs if runs is not None else load_runs()
    return [{"width": f"{width:g}", "step": step, "valid_top1": value} for width in widths
            if (run := shipped_run("mobilenet_v2", width, runs)) is not None
            for step, value in derivation_steps(run) if value is not None]


def shipped_points(table: list[dict[str, Any]]) -> tuple[list[float], list[float], list[str], list[str]]:
    """MACs, test top-1 (percent), title and how it was trained of every comparison row whose run made a shipped
    checkpoint: the points of the Training page's accuracy-vs-compute chart."""
    shipped = shipped_run_ids()
    rows = [r for r in with_values(table, "test_top1", "macs") if r["run"] in shipped]
    return ([r["macs"] for r in rows], [100 * r["test_top1"] for r in rows], [r["title"] for r in rows],
            [r["training"] for r in rows])


def with_values(rows: list[dict[str, Any]], *keys: str) -> list[dict[str, Any]]:
    """The rows that have every one of ``keys`` measured (not missing, not None, not NaN): the points of a chart."""
    return [r for r in rows if all(r.get(k) is not None and r.get(k) == r.get(k) for k in keys)]
