"""The one error hierarchy whose members may reach API clients; everything else is masked."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FieldError:
    path: str
    message: str


class CutisError(Exception):
    """An expected failure with a message safe to show (no PHI, no internals)."""

    code = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class InputInvalid(CutisError):
    message: str
    fields: list[FieldError] = field(default_factory=list)
    code = "invalid_input"

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        details = "; ".join(f"{f.path}: {f.message}" for f in self.fields)
        return f"{self.message}: {details}" if details else self.message


class NotFound(CutisError):
    code = "not_found"


class Unauthenticated(CutisError):
    code = "unauthenticated"


class Forbidden(CutisError):
    code = "forbidden"
