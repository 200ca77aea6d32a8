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

    @classmethod
    def at(cls, path: str, message: str) -> InputInvalid:
        """One field refused: the message names the problem, the path says where."""
        return cls(message, [FieldError(path=path, message=message)])

    def __str__(self) -> str:
        details = "; ".join(f"{f.path}: {f.message}" for f in self.fields)
        return f"{self.message}: {details}" if details else self.message


class NotFound(CutisError):
    """No such object in the caller's clinic (it may exist elsewhere; the caller cannot know)."""

    code = "not_found"


class Conflict(CutisError):
    """The change was based on an older revision; nothing was overwritten."""

    code = "conflict"

    def __init__(self, message: str, current_revision: int) -> None:
        super().__init__(message)
        self.current_revision = current_revision


class Unauthenticated(CutisError):
    code = "unauthenticated"


class Forbidden(CutisError):
    code = "forbidden"

    def __init__(self, message: str, permission: str = "") -> None:
        super().__init__(message)
        self.permission = permission


# What a service refuses with; the API answers each with its typed result (server/api/common.py `refused`).
Refusal = InputInvalid | NotFound | Conflict | Forbidden
REFUSALS = (InputInvalid, NotFound, Conflict, Forbidden)  # the same, for `except`


class OperationTooCostly(CutisError):
    """An operation overran its CPU budget and was stopped; the server is unaffected."""

    code = "operation_too_costly"

    def __init__(self, budget_seconds: float) -> None:
        super().__init__(
            f"this operation was too costly: it did not finish within its budget of {budget_seconds:g} seconds "
            "of computation, and was stopped; send a smaller input (a shorter note or rulebook, fewer services "
            "or tests)"
        )
        self.budget_seconds = budget_seconds
        # graphql-core copies an original error's `extensions` into the GraphQL error
        self.extensions = {"code": "OPERATION_TOO_COSTLY", "budgetSeconds": budget_seconds}
