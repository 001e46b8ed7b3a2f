"""Where to put a scatter chart's point labels so that none prints over another, a point or the plot's edge.

Plotly places a text label at one fixed side of its point, so the labels of close points (MobileNetV2 at five
widths, engines of one model) overprint. Here each label is an annotation with a leader line: the label goes to the
first offset, nearest first, where its box is clear of every placed label, every point and the plot area's edges,
and its leader line passes through no other point,
estimated in pixels for the smallest plot the app expects (a 1280x720 projector with the sidebar open).
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Placement:
    """A label's offset from its point in pixels (plotly annotation ``ax``/``ay``: +x right, +y down)."""

    ax: float
    ay: float


@dataclass(frozen=True)
class Canvas:
    """The plot area in pixels, and the axes' data ranges (log10 of the range where the axis is logarithmic)."""

    width: float
    height: float
    x_range: tuple[float, float]
    y_range: tuple[float, float]
    x_log: bool = False
    font_px: float = 15.0

    def to_px(self, x: float, y: float) -> tuple[float, float]:
        xv = math.log10(x) if self.x_log else x
        px = (xv - self.x_range[0]) / (self.x_range[1] - self.x_range[0]) * self.width
        py = (self.y_range[1] - y) / (self.y_range[1] - self.y_range[0]) * self.height
        return px, py

    def box(self, text: str, cx: float, cy: float) -> tuple[float, float, float, float]:
        """The label's box (left, top, right, bottom) centred on (cx, cy), with a margin: about 0.62 em per
        character, and a line and a half high."""
        w, h = 0.62 * self.font_px * len(text) + 10, 1.5 * self.font_px + 6
        return cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return w * h if w > 0 and h > 0 else 0.0


def _offsets() -> list[tuple[float, float]]:
    """Candidate label centres around a point, nearest first, in eight directions at growing distances."""
    out = []
    angles = sorted(range(-180, 180, 15), key=lambda a: (min(abs(a), abs(180 - abs(a))) % 90 != 0, abs(abs(a) - 90)))
    for distance in (26, 40, 58, 80, 105, 135, 170, 210):
        for angle in angles:
            out.append((distance * 1.6 * math.cos(math.radians(angle)), distance * math.sin(math.radians(angle))))
    return out


def _line_crosses(start: tuple[float, float], end: tuple[float, float],
                  boxes: list[tuple[float, float, float, float]]) -> int:
    """How many of ``boxes`` the leader line from a point to its label passes through (sampled along the line)."""
    crossed = set()
    for step in range(1, 20):
        x = start[0] + (end[0] - start[0]) * step / 20
        y = start[1] + (end[1] - start[1]) * step / 20
        crossed |= {n for n, b in enumerate(boxes) if b[0] <= x <= b[2] and b[1] <= y <= b[3]}
    return len(crossed)


def place_labels(points: list[tuple[float, float]], texts: list[str], canvas: Canvas,
                 marker_px: float = 9.0) -> list[Placement]:
    """A :class:`Placement` per point; labels are placed widest first, so long ones get the free room."""
    pixels = [canvas.to_px(x, y) for x, y in points]
    markers = [(px - marker_px, py - marker_px, px + marker_px, py + marker_px) for px, py in pixels]
    placed: list[tuple[float, float, float, float]] = []
    result: dict[int, Placement] = {}
    for i in sorted(range(len(points)), key=lambda i: -len(texts[i])):
        px, py = pixels[i]
        best, best_cost = None, float("inf")
        others = [m for n, m in enumerate(markers) if n != i]
        for dx, dy in _offsets():
            box = canvas.box(texts[i], px + dx, py + dy)
            outside = (max(0.0, -box[0]) + max(0.0, box[2] - canvas.width) + max(0.0, -box[1])
                       + max(0.0, box[3] - canvas.height)) * 50
            # a leader line through another point reads as that point's label
            cost = outside + sum(_overlap(box, other) for other in placed + markers) \
                + 1000 * _line_crosses((px, py), (px + dx, py + dy), others)
            if cost < best_cost:
                best, best_cost = (dx, dy, box), cost
            if cost == 0:
                break
        dx, dy, box = best
        placed.append(box)
        result[i] = Placement(dx, dy)
    return [result[i] for i in range(len(points))]


def boxes_overlap(points: list[tuple[float, float]], texts: list[str], placements: list[Placement],
                  canvas: Canvas) -> list[tuple[int, int]]:
    """Pairs of labels whose boxes overlap (for tests, and to check a layout)."""
    boxes = []
    for (x, y), text, p in zip(points, texts, placements):
        px, py = canvas.to_px(x, y)
        boxes.append(canvas.box(text, px + p.ax, py + p.ay))
    return [(i, j) for i in range(len(boxes)) for j in range(i + 1, len(boxes)) if _overlap(boxes[i], boxes[j]) > 0]
