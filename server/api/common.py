"""Shared GraphQL pieces: the Node interface, typed errors, cursor connections, permission checks."""

from __future__ import annotations

from typing import Any, Generic, TypeVar, overload

import strawberry
from strawberry.types import Info

from server.api.context import CutisContext
from server.errors import Conflict as ConflictError
from server.errors import Forbidden as ForbiddenError
from server.errors import InputInvalid, NotFound, Refusal
from server.paging import encode_cursor
from server.paging import paged as paged  # the SQL half of paging; resolvers of other contexts still import it here
from tenants.auth import SECOND_FACTOR_NEEDED
from tenants.keys import Principal
from tenants.roles import Permission

T = TypeVar("T")


def context(info: Info) -> CutisContext:
    return info.context


@strawberry.interface(description="An object with a global id (Relay).")
class Node:
    id: strawberry.ID


@strawberry.type
class FieldProblem:
    path: str
    message: str


@strawberry.type(description="The input was refused; nothing was stored.")
class InvalidInput:
    message: str
    fields: list[FieldProblem]

    @classmethod
    def from_error(cls, error: InputInvalid) -> InvalidInput:
        return cls(message=error.message, fields=[FieldProblem(path=f.path, message=f.message) for f in error.fields])

    @classmethod
    def single(cls, path: str, message: str) -> InvalidInput:
        return cls(message=message, fields=[FieldProblem(path=path, message=message)])


ROLLED_BACK = (
    "nothing was stored: another operation in this document failed, and one document is one transaction; "
    "send this operation again"
)


@strawberry.type(
    description="This operation succeeded on its own, but another in the same document failed, so the "
    "whole document was rolled back: nothing of it was stored, no secret it returned exists."
)
class RolledBack:
    message: str


@strawberry.type(description="No such object in your clinic (it may exist elsewhere; you cannot know).")
class NotFoundError:
    message: str


@strawberry.type(description="Your role or key does not allow this operation.")
class Forbidden:
    message: str
    permission: str


@strawberry.type(description="The save was based on an older revision; nothing was overwritten.")
class Conflict:
    message: str
    current_revision: int


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo

    @strawberry.field
    def nodes(self) -> list[T]:
        return [edge.node for edge in self.edges]


def connection(rows: list[Any], limit: int, to_node: Any, key: Any) -> Connection[Any]:
    """A page from `limit + 1` fetched rows; `key(row)` gives (created_at, id) for the cursor."""
    page = rows[:limit]
    edges = [Edge(cursor=encode_cursor(*key(row)), node=to_node(row)) for row in page]
    return Connection(
        edges=edges,
        page_info=PageInfo(has_next_page=len(rows) > limit, end_cursor=edges[-1].cursor if edges else None),
    )


def allowed(info: Info, permission: Permission) -> Principal | Forbidden:
    """The principal when it holds `permission`, else a typed Forbidden result."""
    principal = context(info).require_principal()
    if principal.can(permission):
        return principal
    if principal.second_factor_missing:
        return Forbidden(message=SECOND_FACTOR_NEEDED, permission=permission.value)
    return Forbidden(message=f"your role or key does not allow {permission.value}", permission=permission.value)


def require(info: Info, permission: Permission) -> Principal:
    """For queries: the principal, or a FORBIDDEN GraphQL error."""
    result = allowed(info, permission)
    if isinstance(result, Forbidden):
        raise ForbiddenError(result.message, result.permission)
    return result


@overload
def refused(error: InputInvalid) -> InvalidInput: ...
@overload
def refused(error: NotFound) -> NotFoundError: ...
@overload
def refused(error: ConflictError) -> Conflict: ...
@overload
def refused(error: ForbiddenError) -> Forbidden: ...
def refused(error: Refusal) -> InvalidInput | NotFoundError | Conflict | Forbidden:
    """A service's refusal as the GraphQL typed result that says so: the one place they are mapped."""
    if isinstance(error, InputInvalid):
        return InvalidInput.from_error(error)
    if isinstance(error, NotFound):
        return NotFoundError(message=error.message)
    if isinstance(error, ConflictError):
        return Conflict(message=error.message, current_revision=error.current_revision)
    return Forbidden(message=error.message, permission=error.permission)
