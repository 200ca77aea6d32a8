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
from collections.abc import Iterator
from functools import cache
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


MIN_ANCHOR_LENGTH = 3
#: ASCII characters that are not word characters all read as a space in the scan text, so that an
#: anchor that must start a word (it follows a word boundary) is looked for with a space before
#: it ("ach" of "ache" is not in "each" then). Letters, digits and "_" stay as they are.
_NON_WORD_TO_SPACE = {code: " " for code in range(128) if not (chr(code).isalnum() or chr(code) == "_")}
Anchor = tuple[str, bool]  # a literal run, and whether it must start a word


def literal_anchors(pattern: re.Pattern[str]) -> frozenset[str] | None:
    """Needles one of which the `scan_text` of every note `pattern` matches contains, or None.

    Why: a note is mostly words no lexicon pattern can start with, and ``" bleed" in note`` runs
    in C over the whole note far faster than the regular-expression engine trying each position;
    a pattern none of whose needles occurs in the note's scan text cannot match, so its scan is
    skipped. A needle is a literal run every match contains, lowercased, with a leading space
    when the run follows ``\\b`` and starts with a word character. Runs shorter than three
    characters would rarely rule anything out: None.

    >>> sorted(literal_anchors(re.compile(r"\\b(?:non-?tender|painless)\\b", re.IGNORECASE)))
    [' painless', 'tender']
    >>> literal_anchors(re.compile(r"\\b\\w+ing\\b"))
    frozenset({'ing'})
    >>> literal_anchors(re.compile(r"\\b\\w+(?:s|es)\\b")) is None
    True
    """
    if _parser is None:
        return None
    try:
        anchors = _anchors_of_sequence(list(_parser.parse(pattern.pattern, pattern.flags)))
    except Exception:  # an unexpected parse shape only means "no pre-scan"
        return None
    if not anchors or any(len(run) < MIN_ANCHOR_LENGTH or not run.isascii() for run, _ in anchors):
        return None  # too short to rule anything out, or a letter whose case rules are not ASCII's
    return frozenset(_needle(run, word_start) for run, word_start in anchors)


def _needle(run: str, word_start: bool) -> str:
    text = run.lower().translate(_NON_WORD_TO_SPACE)
    return " " + text if word_start and (run[0].isalnum() or run[0] == "_") else text


def _anchors_of_sequence(items: list[Any], word_start: bool = False) -> set[Anchor] | None:
    """Literal runs one of which every match of the sequence contains: the first literal run that
    every path must pass through (an assertion, a character class or an optional part is stepped
    over, since what follows it is still in every match). `word_start`: a ``\\b`` comes right
    before the current position, with nothing consumed since."""
    for position, (op, av) in enumerate(items):
        rest = items[position + 1 :]
        if op is _c.LITERAL:
            run = chr(av)
            for next_op, next_av in rest:
                if next_op is not _c.LITERAL:
                    break
                run += chr(next_av)
            # A longer run further on is in every match too ("T-?SPOT", "high[- ]potency TCS"): the
            # longer the needle, the fewer notes it is found in by chance.
            later = _anchors_of_sequence(items[position + len(run) :])
            if later is not None and all(len(found) > len(run) for found, _ in later):
                return later
            return {(run, word_start)}
        if op is _c.SUBPATTERN:
            return _anchors_of_sequence([*av[3], *rest], word_start)
        if op is _c.BRANCH:
            union: set[Anchor] = set()
            for branch in av[1]:
                found = _anchors_of_sequence([*branch, *rest], word_start)
                if found is None:
                    return None
                union |= found
            return union
        if op is _c.AT:
            word_start = word_start or av is _c.AT_BOUNDARY
            continue
        if op in (_c.ASSERT, _c.ASSERT_NOT):
            continue  # zero-width: the position has not moved
        if op in (_c.MAX_REPEAT, _c.MIN_REPEAT) and av[0] >= 1:
            inside = _anchors_of_sequence(list(av[2]), word_start)
            if inside is not None:
                return inside
        word_start = False  # stepped over something that may consume characters
    return None


def scan_text(text: str) -> str | None:
    """The note as anchors are looked for in it: a space, then the note lowercased with every
    non-word character as a space; None when the note holds non-ASCII characters (whose case
    rules the regular-expression engine applies differently: then every pattern is scanned)."""
    return " " + text.lower().translate(_NON_WORD_TO_SPACE) if text.isascii() else None


def could_match(anchors: frozenset[str] | None, scanned: str | None) -> bool:
    """False only when none of a pattern's needles occurs in the note: the pattern cannot match."""
    return anchors is None or scanned is None or any(anchor in scanned for anchor in anchors)


@cache
def pattern_anchors(pattern: re.Pattern[str]) -> frozenset[str] | None:
    """`literal_anchors` of a compiled pattern, worked out once per pattern."""
    return literal_anchors(pattern)


def prescanned_finditer(pattern: re.Pattern[str], text: str, scanned: str | None) -> Iterator[re.Match[str]]:
    """`pattern.finditer(text)`, without scanning when none of the pattern's anchors is in the note."""
    if could_match(pattern_anchors(pattern), scanned):
        yield from pattern.finditer(text)
