"""The content hash of a rulebook's canonical AST: its published version id.

Spans and comments are left out (they are not part of equality), so two rulebooks that
format to the same text hash the same, and moving a rule's text by a line does not. So is a
field added to the language later (`ast.HASHED_WHEN_SET`, such as a rule's dates) while it has
no value: a rulebook that does not use it keeps the version id it was published with.
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
        for text, name, when_set in layout:
            if name is None:
                out(text)
                continue
            field = getattr(value, name)
            if field is None and when_set:
                continue
            out(text)
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


Layout = tuple[tuple[str, str | None, bool], ...]
_LAYOUTS: dict[type, Layout | None] = {}


def _layout(kind: type) -> Layout | None:
    """For an AST class, its object's keys in sorted order: the text before each value, the field
    it comes from (None for the class name, written there whole) and whether the key is left out
    while the field is None. None for other types."""
    if not dataclasses.is_dataclass(kind):
        return None
    fields = [field for field in dataclasses.fields(kind) if field.compare]
    when_set = {field.name for field in fields if field.metadata.get("hashed_when_set")}
    keys = sorted(["node", *(field.name for field in fields)])
    if keys[0] in when_set:  # pragma: no cover - the first key writes the `{`
        raise TypeError(f"{kind.__name__}.{keys[0]} cannot be left out of the hash: it is the first key")
    layout: list[tuple[str, str | None, bool]] = []
    for number, key in enumerate(keys):
        text = ("{" if number == 0 else ",") + encode_basestring(key) + ":"
        if key == "node":
            layout.append((text + encode_basestring(kind.__name__), None, False))
        else:
            layout.append((text, key, key in when_set))
    return tuple(layout)
