"""Shared GraphQL pieces: the Node interface, typed errors, cursor connections, permission checks."""

from __future__ import annotations

import base64
import datetime as dt
import uuid
from typing import Any, Generic, TypeVar

import strawberry
from sqlalchemy import and_, or_
from strawberry.types import Info

from server.api.context import CutisContext
from server.errors import InputInvalid
from tenants.auth import SECOND_FACTOR_NEEDED
from tenants.keys import Principal
from tenants.roles import Permission

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20
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


def page_size(first: int | None) -> int:
    if first is None:
        return DEFAULT_PAGE_SIZE
    if first < 1 or first > MAX_PAGE_SIZE:
        raise InputInvalid("page size out of range", [])
    return first


def encode_cursor(moment: dt.datetime, object_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(f"{moment.isoformat()}|{object_id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[dt.datetime, uuid.UUID] | None:
    try:
        moment, _, raw = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        return dt.datetime.fromisoformat(moment), uuid.UUID(raw)
    except (ValueError, UnicodeDecodeError):
        return None


def connection(rows: list[Any], limit: int, to_node: Any, key: Any) -> Connection[Any]:
    """A page from `limit + 1` fetched rows; `key(row)` gives (created_at, id) for the cursor."""
    page = rows[:limit]
    edges = [Edge(cursor=encode_cursor(*key(row)), node=to_node(row)) for row in page]
    return Connection(
        edges=edges,
        page_info=PageInfo(has_next_page=len(rows) > limit, end_cursor=edges[-1].cursor if edges else None),
    )


def paged(statement: Any, first: int | None, after: str | None, time_column: Any, id_column: Any) -> tuple[Any, int]:
    """Newest first, after the cursor, one row more than the page (to know if another follows)."""
    limit = page_size(first)
    statement = statement.order_by(time_column.desc(), id_column.desc())
    if after:
        position = decode_cursor(after)
        if position is None:
            raise InputInvalid("the `after` cursor is not one this API gave out", [])
        moment, last_id = position
        statement = statement.where(or_(time_column < moment, and_(time_column == moment, id_column < last_id)))
    return statement.limit(limit + 1), limit


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
        from server.errors import Forbidden as ForbiddenError

        raise ForbiddenError(result.message)
    return result
