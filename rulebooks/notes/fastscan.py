"""Speed up word-list regular expressions by telling the engine which characters can start a match.

Python's ``re`` skips ahead quickly only when a pattern starts with a known set of characters;
our lexicon patterns start with ``\\b`` and an alternation, so the engine tries every position
of the note. Prefixing ``(?=[...])`` with the possible first characters (read from the parsed
pattern) halves the scanning time and changes no match. When the first characters cannot be
known (a pattern that may start with any character), the pattern is returned unchanged.
This reads ``re._parser``, which is private: any surprise falls back to the original pattern.
"""

from __future__ import annotations

import importlib
import re
from typing import Any

try:  # pragma: no cover - the modules exist on every CPython >= 3.11
    _c: Any = importlib.import_module("re._constants")
    _parser: Any = importlib.import_module("re._parser")
except ImportError:  # pragma: no cover
    _parser = None


def _first_of(op: Any, av: Any) -> tuple[set[str] | None, bool]:
    """(possible first characters or None for "any", whether the element can match empty)."""
    if op is _c.AT or op in (_c.ASSERT, _c.ASSERT_NOT):
        return set(), True
    if op is _c.LITERAL:
        return {chr(av)}, False
    if op is _c.IN:
        chars: set[str] = set()
        for item_op, item_av in av:
            if item_op is _c.LITERAL:
                chars.add(chr(item_av))
            elif item_op is _c.RANGE:
                chars.update(chr(code) for code in range(item_av[0], item_av[1] + 1))
            else:
                return None, False
        return chars, False
    if op is _c.SUBPATTERN:
        return _first_of_sequence(av[3])
    if op is _c.BRANCH:
        union: set[str] = set()
        nullable = False
        for branch in av[1]:
            chars_or_none, branch_nullable = _first_of_sequence(branch)
            if chars_or_none is None:
                return None, False
            union |= chars_or_none
            nullable = nullable or branch_nullable
        return union, nullable
    if op in (_c.MAX_REPEAT, _c.MIN_REPEAT):
        minimum, _maximum, body = av
        chars_or_none, body_nullable = _first_of_sequence(body)
        return chars_or_none, minimum == 0 or body_nullable
    return None, False


def _first_of_sequence(items: Any) -> tuple[set[str] | None, bool]:
    result: set[str] = set()
    for op, av in items:
        chars, nullable = _first_of(op, av)
        if chars is None:
            return None, False
        result |= chars
        if not nullable:
            return result, False
    return result, True


def first_characters(pattern: re.Pattern[str]) -> frozenset[str] | None:
    """The characters a match can start with, or None when any character could.

    >>> sorted(first_characters(re.compile(r"\\b(?:bled|friab\\w+)")))
    ['b', 'f']
    """
    if _parser is None:
        return None
    try:
        chars, nullable = _first_of_sequence(_parser.parse(pattern.pattern, pattern.flags))
    except Exception:  # an unexpected parse shape only means "no speed-up"
        return None
    if chars is None or nullable or not chars:
        return None
    return frozenset(chars)


def with_first_character_hint(pattern: re.Pattern[str]) -> re.Pattern[str]:
    """The same pattern, prefixed with a lookahead of its possible first characters when known."""
    chars = first_characters(pattern)
    if chars is None:
        return pattern
    if pattern.flags & re.IGNORECASE:
        chars = frozenset(chars | {c.lower() for c in chars} | {c.upper() for c in chars})
    if len(chars) > 60:
        return pattern
    charset = "".join(sorted(re.escape(c) if c not in "-]\\^" else "\\" + c for c in chars))
    return re.compile(f"(?=[{charset}])(?:{pattern.pattern})", pattern.flags)
