"""Saved records as typed values: the few helpers every record type shares to read its JSON (whatever version of
this project wrote it) and to write the same layout back."""

from __future__ import annotations

import json
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any, Callable, TypeVar

T = TypeVar("T")


def known(cls: type, data: Any) -> dict[str, Any]:
    """The entries of ``data`` that are fields of ``cls`` (``other`` excepted)."""
    data = data if isinstance(data, dict) else {}
    names = {f.name for f in fields(cls)} - {"other"}
    return {k: v for k, v in data.items() if k in names}


def rest(cls: type, data: Any) -> dict[str, Any]:
    """The entries of ``data`` that ``cls`` does not name."""
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in data.items() if k not in names} if isinstance(data, dict) else {}


def present(value: Any) -> dict[str, Any]:
    """A record part as JSON: its fields that hold a value (None left out) and whatever else it carried."""
    out = {k: v for k, v in asdict(value).items() if v is not None and k != "other"}
    return out | dict(getattr(value, "other", {}))


class Open:
    """A record part that keeps the keys it does not name in ``other`` (written back as they were)."""

    @classmethod
    def from_json(cls: type[T], data: Any) -> T:
        return cls(**known(cls, data), other=rest(cls, data))


def read_list(path: Path, parse: Callable[[Any], T]) -> list[T]:
    """A JSON file's list of records, each parsed; empty when the file is missing or does not read (a results file
    half-copied or edited by hand must not break a page)."""
    try:
        return [parse(row) for row in json.loads(Path(path).read_text(encoding="utf-8"))]
    except (OSError, ValueError, TypeError, AttributeError):
        return []
