"""Saved records as typed values: the few helpers every record type shares to read its JSON (whatever version of
this project wrote it) and to write the same layout back."""

from __future__ import annotations

import functools
import json
from dataclasses import asdict, fields, is_dataclass
from pathlib import Path
from types import UnionType
from typing import Any, Callable, TypeVar, Union, get_args, get_origin, get_type_hints

T = TypeVar("T")


def known(cls: type, data: Any) -> dict[str, Any]:
    """The entries of ``data`` that are fields of ``cls`` (``other`` excepted)."""
    data = data if isinstance(data, dict) else {}
    names = _names(cls)
    return {k: v for k, v in data.items() if k in names and k != "other"}


def rest(cls: type, data: Any) -> dict[str, Any]:
    """The entries of ``data`` that ``cls`` does not name."""
    names = _names(cls)
    return {k: v for k, v in data.items() if k not in names} if isinstance(data, dict) else {}


@functools.cache
def _names(cls: type) -> frozenset[str]:
    return frozenset(f.name for f in fields(cls))


def present(value: Any) -> dict[str, Any]:
    """A record part as JSON: its fields that hold a value (None left out) and whatever else it carried."""
    out = {k: v for k, v in asdict(value).items() if v is not None and k != "other"}
    return out | dict(getattr(value, "other", {}))


def parse(cls: type[T], data: Any) -> T:
    """A record of type ``cls`` from its JSON: the fields it names, each nested record (a field typed as a record,
    a tuple or a dict of records) read by its own type's reader; the keys it does not name kept in ``other`` where
    ``cls`` has that field. Missing fields take their defaults."""
    hints = _hints(cls)
    found = {name: _value(hints[name], value) for name, value in known(cls, data).items()}
    if "other" in hints:
        found["other"] = rest(cls, data)
    return cls(**found)


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    """A record type's fields and their types, resolved once (resolving string annotations is slow)."""
    hints = get_type_hints(cls)
    return {f.name: hints[f.name] for f in fields(cls)}


def _value(hint: Any, value: Any) -> Any:
    if get_origin(hint) in (Union, UnionType):  # X | None: None stays None, anything else is read as X
        if value is None:
            return None
        hint = next(a for a in get_args(hint) if a is not type(None))
    origin, args = get_origin(hint), get_args(hint)
    if is_dataclass(hint):
        return getattr(hint, "from_json", lambda v: parse(hint, v))(value)
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        return tuple(_value(args[0], v) for v in value or ())
    if origin is dict and len(args) == 2 and is_dataclass(args[1]):
        return {k: _value(args[1], v) for k, v in (value or {}).items()}
    if origin is list and len(args) == 1 and is_dataclass(args[0]):
        return [_value(args[0], v) for v in value or () if isinstance(v, dict)]
    return value


class Record:
    """A saved record type: ``from_json`` is :func:`parse`, the one reader."""

    @classmethod
    def from_json(cls: type[T], data: Any) -> T:
        return parse(cls, data)


class Open(Record):
    """A record part that keeps the keys it does not name in ``other`` (written back as they were)."""


def read_list(path: Path, parse: Callable[[Any], T]) -> list[T]:
    """A JSON file's list of records, each parsed; empty when the file is missing or does not read, and without the
    rows that do not parse (a results file half-copied or edited by hand must not break a page, nor cost the other
    rows, which a save writes back)."""
    try:
        rows = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    found = []
    for row in rows if isinstance(rows, list) else ():
        try:
            found.append(parse(row))
        except (ValueError, TypeError, AttributeError, KeyError):
            continue
    return found
