"""The content hash of a rulebook's canonical AST: its published version id.

Spans and comments are left out (they are not part of equality), so two rulebooks that
format to the same text hash the same, and moving a rule's text by a line does not.
The hashed text is the canonical AST as compact JSON with sorted keys, each node an object
`{"node": class name, field: value...}`; it is written in one pass rather than built as
dictionaries and then dumped, which halves the time for a large rulebook.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable
from json.encoder import encode_basestring  # what json.dumps(..., ensure_ascii=False) quotes text with
from typing import Any

from dsl import ast


def content_hash(rulebook: ast.Rulebook) -> str:
    """Defined for any AST the parser makes, even one of text with errors (a lone surrogate
    included: the parser reports it, the hash still names the text)."""
    parts: list[str] = []
    _write(rulebook, parts.append)
    return "sha256:" + hashlib.sha256("".join(parts).encode("utf-8", "surrogatepass")).hexdigest()[:16]


def _write(value: Any, out: Callable[[str], None]) -> None:
    """Append `json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`."""
    kind = type(value)
    if kind is str:
        out(encode_basestring(value))
        return
    layout = _LAYOUTS.get(kind)
    if layout is None and kind not in _LAYOUTS:
        layout = _LAYOUTS[kind] = _layout(kind)
    if layout is not None:
        for text, name in layout:
            out(text)
            if name is not None:
                field = getattr(value, name)
                if type(field) is str:  # most fields: written here rather than in one more call
                    out(encode_basestring(field))
                else:
                    _write(field, out)
        out("}")
    elif isinstance(value, tuple | list):
        out("[")
        for number, item in enumerate(value):
            if number:
                out(",")
            _write(item, out)
        out("]")
    else:
        out(json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False))


_LAYOUTS: dict[type, tuple[tuple[str, str | None], ...] | None] = {}


def _layout(kind: type) -> tuple[tuple[str, str | None], ...] | None:
    """For an AST class, its object's keys in sorted order: the text before each value and the
    field it comes from (None for the class name, written there whole). None for other types."""
    if not dataclasses.is_dataclass(kind):
        return None
    keys = sorted(["node", *(field.name for field in dataclasses.fields(kind) if field.compare)])
    layout: list[tuple[str, str | None]] = []
    for number, key in enumerate(keys):
        text = ("{" if number == 0 else ",") + encode_basestring(key) + ":"
        if key == "node":
            layout.append((text + encode_basestring(kind.__name__), None))
        else:
            layout.append((text, key))
    return tuple(layout)
