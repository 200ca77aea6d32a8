"""How the fast reader lexes: Lark's terminals, compiled once into the patterns it matches with.

Built only when `FastParser` is made, never while it reads. The terminals are tried in the order
Lark's own lexer tries them, keywords are folded into the terminals that match them whole, as
Lark folds them, and for each first character only the terminals that can start with it are
tried: the tokens are Lark's, found with fewer alternatives.
"""

from __future__ import annotations

import re
import re._constants as sre  # the parsed form of a regular expression, for `first_chars`
import re._parser as sre_parse
from collections.abc import Iterable
from typing import Any

from lark.lexer import PatternStr, TerminalDef


def lexer_order(terminals: Iterable[TerminalDef]) -> list[TerminalDef]:
    """The order in which Lark's BasicLexer tries terminals: the first that matches wins."""
    return sorted(terminals, key=lambda t: (-t.priority, -t.pattern.max_width, -len(t.pattern.value), t.name))


def keyword_terminals(terminals: list[TerminalDef]) -> dict[str, dict[str, str]]:
    """For each pattern terminal, the string terminals it matches whole (`when` as a NAME).

    Lark's lexer folds these into the pattern and retypes the token afterwards, exactly as here.
    """
    found: dict[str, dict[str, str]] = {}
    strings = [t for t in terminals if isinstance(t.pattern, PatternStr)]
    for terminal in terminals:
        if isinstance(terminal.pattern, PatternStr):
            continue
        regexp = re.compile(terminal.pattern.to_regexp())
        for string in strings:
            if (
                string.priority == terminal.priority
                and set(string.pattern.flags) <= set(terminal.pattern.flags)
                and regexp.fullmatch(string.pattern.value)
            ):
                found.setdefault(terminal.name, {})[string.pattern.value] = string.name
    return found


def alternatives_pattern(terminals: list[TerminalDef], blanks: str | None) -> re.Pattern[str]:
    """One pattern trying the terminals in order, each a named group: the first that matches wins;
    then any `blanks` (see `skippable_blanks`), outside every group."""
    alternatives = "|".join(f"(?P<{t.name}>{t.pattern.to_regexp()})" for t in terminals)
    return re.compile(alternatives if blanks is None else f"(?:{alternatives})(?:{blanks})?")


def skippable_blanks(terminals: list[TerminalDef], ignored: frozenset[str]) -> str | None:
    """The pattern of an ignored terminal made of blanks alone, such as `[\\t \\f]+`, if no other
    terminal can start with a blank; else None.

    The blanks after a token are then the next token, ignored, with no line break to count: the
    lexer skips them in the same match as the token, which saves a turn of its loop for every
    space between two words.
    """
    firsts = {t.name: first_chars(sre_parse.parse(t.pattern.to_regexp())) for t in terminals}
    for terminal in terminals:
        parsed = sre_parse.parse(terminal.pattern.to_regexp())
        if terminal.name not in ignored or parsed.state.flags & sre.SRE_FLAG_IGNORECASE or len(parsed) != 1:
            continue
        op, argument = parsed[0]
        if op is not sre.MAX_REPEAT or argument[0] < 1 or argument[1] is not sre.MAXREPEAT or len(argument[2]) != 1:
            continue
        inner_op, items = argument[2][0]
        blanks = _set_chars(items) if inner_op is sre.IN else None
        if not blanks or blanks & {"\n", "\r"}:
            continue
        others = [first for name, first in firsts.items() if name != terminal.name]
        if all(first is not None and not first & blanks for first in others):
            return terminal.pattern.to_regexp()
    return None


def patterns_by_first_char(terminals: list[TerminalDef], blanks: str | None) -> dict[str, re.Pattern[str]]:
    """For each ASCII character, the pattern of only the terminals that can start with it.

    Trying thirty alternatives for every token is most of the lexer's time; leaving out those
    that cannot match there keeps the first that matches, so the token is the same. Characters
    not in the dictionary are lexed with the full pattern.
    """
    firsts = [first_chars(sre_parse.parse(t.pattern.to_regexp())) for t in terminals]
    patterns: dict[tuple[str, ...], re.Pattern[str]] = {}
    by_char: dict[str, re.Pattern[str]] = {}
    for char in _ASCII:
        names = tuple(t.name for t, first in zip(terminals, firsts, strict=True) if first is None or char in first)
        if names:
            if names not in patterns:
                patterns[names] = alternatives_pattern([t for t in terminals if t.name in names], blanks)
            by_char[char] = patterns[names]
    return by_char


_ASCII = [chr(code) for code in range(128)]
_CATEGORIES = {
    sre.CATEGORY_DIGIT: r"\d",
    sre.CATEGORY_NOT_DIGIT: r"\D",
    sre.CATEGORY_SPACE: r"\s",
    sre.CATEGORY_NOT_SPACE: r"\S",
    sre.CATEGORY_WORD: r"\w",
    sre.CATEGORY_NOT_WORD: r"\W",
}
_ZERO_WIDTH = (sre.ASSERT, sre.ASSERT_NOT, sre.AT)
_REPEATS = (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT)


def first_chars(items: Any) -> frozenset[str] | None:
    """The ASCII characters a parsed regular expression's match can start with, or None for
    "any": a superset, erring towards None wherever the answer is not plain."""
    if items.state.flags & sre.SRE_FLAG_IGNORECASE:  # `(?i)` for the whole pattern
        return None
    chars, can_be_empty = _sequence_first_chars(items)
    return None if chars is None or can_be_empty else frozenset(chars)


def _sequence_first_chars(items: Any) -> tuple[set[str] | None, bool]:
    """(first characters, whether the sequence can match the empty text) of a parsed sequence.

    A lookaround or anchor matches no text: it is skipped, which only makes the set larger.
    """
    chars: set[str] = set()
    for op, argument in items:
        if op in _ZERO_WIDTH:
            continue
        item_chars: set[str] | None
        if op is sre.LITERAL:
            item_chars, can_be_empty = {chr(argument)}, False
        elif op is sre.IN:
            item_chars, can_be_empty = _set_chars(argument), False
        elif op is sre.BRANCH:
            item_chars, can_be_empty = set(), False
            for branch in argument[1]:
                branch_chars, branch_empty = _sequence_first_chars(branch)
                if branch_chars is None:
                    return None, True
                item_chars |= branch_chars
                can_be_empty = can_be_empty or branch_empty
        elif op is sre.SUBPATTERN and not argument[1] & sre.SRE_FLAG_IGNORECASE:
            item_chars, can_be_empty = _sequence_first_chars(argument[3])
        elif op is sre.ATOMIC_GROUP:
            item_chars, can_be_empty = _sequence_first_chars(argument)
        elif op in _REPEATS:
            item_chars, can_be_empty = _sequence_first_chars(argument[2])
            can_be_empty = can_be_empty or argument[0] == 0
        else:
            return None, True
        if item_chars is None:
            return None, True
        chars |= item_chars
        if not can_be_empty:
            return chars, False
    return chars, True


def _set_chars(items: Any) -> set[str] | None:
    """The ASCII characters in a parsed character set such as `[A-Za-z_\\d]`, None if negated."""
    chars: set[str] = set()
    for op, argument in items:
        if op is sre.LITERAL:
            chars.add(chr(argument))
        elif op is sre.RANGE:
            chars.update(chr(code) for code in range(argument[0], min(argument[1], 127) + 1))
        elif op is sre.CATEGORY and argument in _CATEGORIES:
            chars.update(char for char in _ASCII if re.fullmatch(_CATEGORIES[argument], char))
        else:
            return None
    return chars
