"""One diagnostics format for the CLI, the GraphQL API and the web editor.

LSP-style: `range` with zero-based line/character, plus `line`/`column` counted from 1
(what a person reads) and `start`/`end` offsets counted from 0 in code points
(CONTRACTS.md, Positions). Messages are written for a practice manager, not a parser.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from dsl.ast import Span

Severity = Literal["error", "warning", "information"]
NEWLINE = re.compile("\n")


@dataclass(frozen=True)
class Diagnostic:
    severity: Severity
    code: str
    message: str
    span: Span
    hint: str | None = None

    def to_json(self) -> dict[str, Any]:
        span = self.span
        return {
            "range": {
                "start": {"line": span.line - 1, "character": span.column - 1},
                "end": {"line": span.end_line - 1, "character": span.end_column - 1},
            },
            "line": span.line,
            "column": span.column,
            "start": span.start,
            "end": span.end,
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
            "hint": self.hint,
        }


class LineIndex:
    """Turns code-point offsets into line/column (both from 1) in O(log n)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.line_starts = [0]
        self.line_starts.extend(match.end() for match in NEWLINE.finditer(text))

    def position(self, offset: int) -> tuple[int, int]:
        offset = max(0, min(offset, len(self.text)))
        line = bisect_right(self.line_starts, offset) - 1
        return line + 1, offset - self.line_starts[line] + 1

    def span(self, start: int, end: int) -> Span:
        end = max(start, end)
        line, column = self.position(start)
        end_line, end_column = self.position(end)
        return Span(start, end, line, column, end_line, end_column)

    def excerpt(self, span: Span) -> str:
        """The source line with a caret under the span, as a terminal shows it."""
        start = self.line_starts[span.line - 1]
        stop = self.text.find("\n", start)
        source_line = self.text[start : stop if stop >= 0 else len(self.text)]
        width = max(1, (span.end_column - span.column) if span.end_line == span.line else 1)
        return f"{source_line}\n{' ' * (span.column - 1)}{'^' * width}"


def render(diagnostic: Diagnostic, index: LineIndex, filename: str = "<rulebook>") -> str:
    """`file:line:column: severity: message`, the excerpt with a caret, and the hint."""
    span = diagnostic.span
    text = f"{filename}:{span.line}:{span.column}: {diagnostic.severity}: {diagnostic.message}\n"
    text += index.excerpt(span)
    if diagnostic.hint:
        text += f"\n  hint: {diagnostic.hint}"
    return text


def did_you_mean(word: str, candidates: list[str] | tuple[str, ...] | set[str] | frozenset[str]) -> str | None:
    """The closest candidate by edit distance, if close enough to be a likely typo."""
    return _closest(word, tuple(sorted(candidates)))


@lru_cache(maxsize=4096)
def _closest(word: str, candidates: tuple[str, ...]) -> str | None:
    """Cached: an editor validating on every keystroke asks about the same typo again and again."""
    best: tuple[int, str] | None = None
    lowered = word.lower()
    for candidate in candidates:
        limit = max(1, min(3, len(candidate) // 3))
        other = candidate.lower()
        if abs(len(other) - len(lowered)) > limit:
            continue  # the distance is at least the difference in length
        distance = edit_distance(lowered, other)
        if distance <= limit and (best is None or distance < best[0]):
            best = (distance, candidate)
    return best[1] if best else None


def edit_distance(a: str, b: str) -> int:
    """Damerau-Levenshtein (optimal string alignment): a swapped pair of letters costs one."""
    if abs(len(a) - len(b)) > 3:
        return 4
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i]
        for j, char_b in enumerate(b, 1):
            cost = 0 if char_a == char_b else 1
            value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and char_a == b[j - 2] and a[i - 2] == char_b:
                value = min(value, previous2[j - 2] + 1)
            current.append(value)
        previous2, previous = previous, current
    return previous[-1]
