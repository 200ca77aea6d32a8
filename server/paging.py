"""Cursor paging of a newest-first list: the SQL half (the GraphQL Connection is built in server/api/common.py).

A cursor is base64 of `created_at|id`: stable under inserts, and it says nothing a client could not see.
"""

from __future__ import annotations

import base64
import datetime as dt
import uuid
from typing import Any

from sqlalchemy import and_, or_

from server.errors import InputInvalid

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20


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
