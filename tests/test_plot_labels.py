"""Chart labels placed so that none prints over another or leaves the plot."""

from __future__ import annotations

from mnv2_core.plot_labels import Canvas, boxes_overlap, place_labels


def test_labels_of_crowded_points_do_not_overlap_and_stay_inside_the_plot() -> None:
    # MobileNetV2 at five widths within a factor of 8 in latency and 20 points of accuracy, plus peers
    points = [(0.83, 77.0), (1.4, 85.6), (2.4, 93.2), (3.6, 96.1), (6.7, 96.1), (2.1, 42.7), (0.03, 47.6),
              (3.7, 70.0), (9.0, 72.0), (3.4, 71.0)]
    texts = ["MobileNetV2 0.35", "MobileNetV2 0.5", "MobileNetV2 0.75", "MobileNetV2 1.0", "MobileNetV2 1.4",
             "EfficientNet-B0", "LeNet-5", "MobileNetV2 1.0 (from scratch)", "ResNet50", "ResNet18"]
    import math

    canvas = Canvas(760, 390, (math.log10(0.03) - 0.25, math.log10(9.0) + 0.25), (32.0, 104.0), x_log=True)
    placements = place_labels(points, texts, canvas)
    assert boxes_overlap(points, texts, placements, canvas) == []
    for (x, y), text, p in zip(points, texts, placements):
        px, py = canvas.to_px(x, y)
        left, top, right, bottom = canvas.box(text, px + p.ax, py + p.ay)
        assert left >= 0 and top >= 0 and right <= canvas.width and bottom <= canvas.height, text


def test_a_lone_point_keeps_its_label_next_to_it() -> None:
    canvas = Canvas(760, 390, (0.0, 2.0), (0.0, 100.0), x_log=True)
    (p,) = place_labels([(10.0, 50.0)], ["ResNet18"], canvas)
    assert abs(p.ax) + abs(p.ay) <= 60


def test_no_leader_line_runs_through_another_point() -> None:
    import math

    from mnv2_core.plot_labels import _line_crosses

    # two points side by side at the top right, as MobileNetV2 1.0 and 1.4 on the latency chart
    points, texts = [(3.2, 96.1), (6.8, 96.1), (2.4, 93.2)], ["MobileNetV2 1.0", "MobileNetV2 1.4", "MobileNetV2 0.75"]
    canvas = Canvas(700, 350, (math.log10(0.03) - 0.25, math.log10(13.5) + 0.25), (37.0, 104.0), x_log=True)
    placements = place_labels(points, texts, canvas)
    pixels = [canvas.to_px(x, y) for x, y in points]
    for i, (p, (px, py)) in enumerate(zip(placements, pixels)):
        others = [(qx - 9, qy - 9, qx + 9, qy + 9) for j, (qx, qy) in enumerate(pixels) if j != i]
        assert _line_crosses((px, py), (px + p.ax, py + p.ay), others) == 0, texts[i]
