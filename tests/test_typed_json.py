"""Saved records read back: a row that does not parse costs only itself."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from mnv2_core.typed_json import Record, read_list


@dataclass(frozen=True)
class _Row(Record):
    name: str
    score: float = 0.0


def test_a_row_edited_by_hand_is_skipped_and_the_others_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "rows.json"
    path.write_text(json.dumps([{"name": "a", "score": 0.5}, {"score": 0.7}, "not a row", {"name": "c"}]))
    assert read_list(path, _Row.from_json) == [_Row("a", 0.5), _Row("c")]
    path.write_text("[{half a file")
    assert read_list(path, _Row.from_json) == [] and read_list(tmp_path / "missing.json", _Row.from_json) == []
