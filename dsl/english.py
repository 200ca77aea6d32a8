"""English comparison words written where the language wants an operator (`is more than` for `>`).

A practice manager writes `service.count is more than 10 lesions`; Lark stumbles on `is` and
the best it can say is "did you mean `if`?", and nothing else in that condition gets checked.
So a block that does not parse is searched for these phrases (outside texts and comments); each
becomes its operator, padded with spaces to the same length so every position after it stays
where it was, and the block is read again: the phrase is reported with the operator to write,
and the block's other mistakes are reported as if the operator had been written.
"""

from __future__ import annotations

import re

# Longest first: `is not more than` before `is not`, `is more than` before `is`.
PHRASES: tuple[tuple[str, str], ...] = (
    (r"is\s+(?:more|greater)\s+than\s+or\s+equal\s+to", ">="),
    (r"is\s+(?:less|fewer)\s+than\s+or\s+equal\s+to", "<="),
    (r"(?:more|greater)\s+than\s+or\s+equal\s+to", ">="),
    (r"(?:less|fewer)\s+than\s+or\s+equal\s+to", "<="),
    (r"is\s+not\s+(?:more|greater)\s+than", "<="),
    (r"is\s+not\s+(?:less|fewer)\s+than", ">="),
    (r"is\s+(?:more|greater)\s+than", ">"),
    (r"is\s+(?:less|fewer)\s+than", "<"),
    (r"is\s+at\s+least", ">="),
    (r"is\s+at\s+most", "<="),
    (r"is\s+not\s+equal\s+to", "!="),
    (r"is\s+equal\s+to", "="),
    (r"is\s+(?:over|above)", ">"),
    (r"is\s+(?:under|below)", "<"),
    (r"is\s+not", "!="),
    (r"isn't", "!="),
    (r"does\s+not\s+equal", "!="),
    (r"no\s+more\s+than", "<="),
    (r"no\s+less\s+than", ">="),
    (r"(?:more|greater)\s+than", ">"),
    (r"(?:less|fewer)\s+than", "<"),
    (r"at\s+least", ">="),
    (r"at\s+most", "<="),
    (r"exceeds", ">"),
    (r"equals", "="),
    (r"is", "="),
)
_PHRASE = re.compile(
    r"(?<![\w.-])(?:" + "|".join(f"(?P<p{n}>{pattern})" for n, (pattern, _) in enumerate(PHRASES)) + r")(?![\w-])",
    re.IGNORECASE,
)
# Texts and comments keep their words: they are blanked out before the search.
_QUOTED_OR_COMMENT = re.compile(r'"([^"\\\n]|\\.)*"|#[^\n]*')


class EnglishOperator:
    """One phrase found: where it is in the block, what was written, the operator it means."""

    __slots__ = ("end", "operator", "start", "written")

    def __init__(self, start: int, end: int, written: str, operator: str) -> None:
        self.start, self.end, self.written, self.operator = start, end, written, operator


def english_operators(block: str) -> tuple[str, list[EnglishOperator]]:
    """The block with each English comparison replaced by its operator (same length), and the
    phrases found; the block unchanged and no phrases when there are none.

    >>> patched, found = english_operators("when service.count is more than 10 lesions")
    >>> patched
    'when service.count >            10 lesions'
    >>> [(f.written, f.operator) for f in found]
    [('is more than', '>')]
    """
    searched = _QUOTED_OR_COMMENT.sub(lambda m: " " * len(m.group(0)), block)
    found: list[EnglishOperator] = []
    for match in _PHRASE.finditer(searched):
        number = int(next(name for name, value in match.groupdict().items() if value is not None)[1:])
        found.append(
            EnglishOperator(match.start(), match.end(), block[match.start() : match.end()], PHRASES[number][1])
        )
    if not found:
        return block, found
    parts, last = [], 0
    for phrase in found:
        parts.append(block[last : phrase.start])
        parts.append(phrase.operator.ljust(phrase.end - phrase.start))
        last = phrase.end
    parts.append(block[last:])
    return "".join(parts), found
