"""Relay-style global ids: base64 of `Type:uuid`; a malformed id is simply not found."""

from __future__ import annotations

import base64
import binascii
import uuid


def to_global_id(type_name: str, object_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{object_id}".encode()).decode().rstrip("=")


def parse_global_id(global_id: str) -> tuple[str, uuid.UUID] | None:
    """(type name, uuid) of a global id, or None when it is not one this API gave out."""
    try:
        padded = global_id + "=" * (-len(global_id) % 4)
        type_name, _, raw = base64.urlsafe_b64decode(padded.encode()).decode().partition(":")
        return type_name, uuid.UUID(raw)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


def from_global_id(global_id: str, expected_type: str) -> uuid.UUID | None:
    """The uuid inside a global id of the expected type, else None.

    >>> gid = to_global_id("Encounter", uuid.UUID(int=5))
    >>> from_global_id(gid, "Encounter")
    UUID('00000000-0000-0000-0000-000000000005')
    >>> from_global_id(gid, "Coding") is None
    True
    """
    parsed = parse_global_id(global_id)
    return parsed[1] if parsed is not None and parsed[0] == expected_type else None
