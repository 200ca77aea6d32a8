"""The content hash of a rulebook's canonical AST: its published version id.

Spans and comments are left out (they are not part of equality), so two rulebooks that
format to the same text hash the same, and moving a rule's text by a line does not.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from functools import cache
from typing import Any

from dsl import ast


def content_hash(rulebook: ast.Rulebook) -> str:
    payload = json.dumps(_canonical(rulebook), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


def _canonical(value: Any) -> Any:
    compared = _compared_fields(type(value))  # type: ignore[arg-type]
    if compared is not None:
        data: dict[str, Any] = {"node": type(value).__name__}
        for name in compared:
            data[name] = _canonical(getattr(value, name))
        return data
    if isinstance(value, tuple | list):
        return [_canonical(item) for item in value]
    return value


@cache
def _compared_fields(kind: type) -> tuple[str, ...] | None:
    """The fields that take part in equality, per AST class; None for what is not a dataclass."""
    if not dataclasses.is_dataclass(kind):
        return None
    return tuple(field.name for field in dataclasses.fields(kind) if field.compare)
