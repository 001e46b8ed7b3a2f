"""The comparison's lesson: said only from measured figures."""

from __future__ import annotations

from mnv2_core.jobs import comparison
from mnv2_core.display import comparison as display


def test_the_lesson_is_said_only_from_measured_figures() -> None:
    def row(title, model, width, init, top1, params, macs, ms, imagenet):
        entry = comparison.Entry(model, width, init)
        assert entry.title == title
        return comparison.ComparisonRow(entry, "x.pt", "t", 128, top1, None, None, None, params, macs, 1, ms, "torch",
                                        None, None, "run", imagenet)

    rows = [row("MobileNetV2 1.0", "mobilenet_v2", 1.0, "default", 0.96, 2.35e6, 300e6, 3.0, True),
            row("MobileNetV2 1.0 (from scratch)", "mobilenet_v2", 1.0, "scratch", 0.70, 2.35e6, 98e6, 2.0, False),
            row("ResNet50", "resnet50", None, "default", 0.75, 23.7e6, 1.35e9, 20.0, False)]
    first, second = display.lesson(rows)
    assert "70.0%" in first and "75.0%" in first and "10x fewer parameters" in first and "14x less compute" in first
    assert "10.0x faster" in first
    assert "96.0%" in second and "70.0%" in second
    assert display.lesson(rows[:1]) == []  # nothing to compare: nothing said
