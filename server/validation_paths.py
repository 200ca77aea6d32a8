"""Pydantic validation errors as `FieldError`s: a dotted path a person can follow and the reason, never the value."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from server.errors import FieldError


def field_errors(error: ValidationError, root: str) -> list[FieldError]:
    """One `FieldError` per problem; `root` names the document when the problem is at its top."""
    return [
        FieldError(path=_path(issue["loc"]) or root, message=_message(issue))
        for issue in error.errors(include_url=False, include_input=False)
    ]


def _path(location: tuple[Any, ...]) -> str:
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def _message(issue: Any) -> str:
    return str(issue["msg"]).removeprefix("Value error, ")
