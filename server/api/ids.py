"""Relay-style global ids: base64 of `Type:uuid`; a malformed id is simply not found."""

from __future__ import annotations

import base64
import binascii
import uuid


def to_global_id(type_name: str, object_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{object_id}".encode()).decode().rstrip("=")


def from_global_id(global_id: str, expected_type: str) -> uuid.UUID | None:
    """The uuid inside a global id of the expected type, else None.

    >>> gid = to_global_id("Encounter", uuid.UUID(int=5))
    >>> from_global_id(gid, "Encounter")
    UUID('00000000-0000-0000-0000-000000000005')
    >>> from_global_id(gid, "Coding") is None
    True
    """
    try:
        padded = global_id + "=" * (-len(global_id) % 4)
        type_name, _, raw = base64.urlsafe_b64decode(padded.encode()).decode().partition(":")
        return uuid.UUID(raw) if type_name == expected_type else None
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
