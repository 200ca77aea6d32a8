"""medspaCy's ConText for one sentence, in time that grows with the sentence rather than its square.

Why: medspaCy's ``ConTextGraph`` compares every modifier of a sentence with every other
(``update_scopes``) and every target with every modifier (``apply_modifiers``). A sentence is
short in a real note, but a 100,000-character list of denials with no full stop is one
sentence, and its analysis took minutes. This module gives each target the same ConText
categories as medspaCy's component (a property test runs both), computed as follows.

1. Modifiers are medspaCy's own matches (same rules, same matcher, same pruning of overlaps),
   so they are sorted by start and never overlap; their first scopes follow
   ``ConTextModifier.__set_scope`` with the sentence being the whole Doc (run_context makes
   one Doc per sentence).
2. ``update_scopes`` calls ``a.limit_scope(b)`` and ``b.limit_scope(a)`` for every pair in
   order. With sorted, non-overlapping modifiers, ``a.limit_scope(b)`` for a later ``b`` can
   only cut the end of a forward or bidirectional ``a`` (the "forward call"), and for an
   earlier ``b`` only raise the start of a backward or bidirectional ``a`` (the "backward
   call"). The same calls are replayed in the same order with the same state, except calls
   that cannot change anything:
   - a forward call from ``a`` stops being useful once a later modifier starts at or after
     ``a``'s scope end, and the first one that qualifies cuts it there, so each modifier looks
     ahead only to the next one of its kind (or a terminator);
   - backward calls pile up (every earlier modifier of the kind raises the start again), so
     they are applied lazily, when the scope is next read: of the pending calls only the last
     that takes effect matters, and whether a call takes effect can only turn from yes to no
     as the start rises, which `_settle_start` uses to decide from the last pending call back.
3. ``apply_modifiers``: a modifier modifies the targets that start or end inside its scope,
   found by bisection instead of testing every target.

Anything outside these conditions (a rule with ``max_targets`` or ``on_modifies``, matches that
overlap or are out of order) is left to medspaCy's component itself (`supported`).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Modifier:
    """A matched ConText modifier: its tokens ``[start, end)``, its rule, its current scope."""

    start: int
    end: int
    direction: str  # FORWARD, BACKWARD, BIDIRECTIONAL, TERMINATE or PSEUDO
    category: str
    allowed_types: frozenset[str] | None
    excluded_types: frozenset[str] | None
    terminated_by: frozenset[str]
    scope_start: int = 0
    scope_end: int = 0
    #: backward calls from the modifiers before this index are applied (see `ScopeGraph.settle`)
    settled_upto: int = 0
    kind: tuple[Any, ...] = field(default=(), compare=False)

    @classmethod
    def of(cls, rule: Any, start: int, end: int, doc_length: int) -> Modifier:
        modifier = cls(
            start, end, rule.direction.upper(), rule.category,
            frozenset(rule.allowed_types) if rule.allowed_types is not None else None,
            frozenset(rule.excluded_types) if rule.excluded_types is not None else None,
            frozenset(rule.terminated_by),
        )  # fmt: skip
        # everything `may_limit` reads of the modifier being limited
        modifier.kind = (
            modifier.direction == "TERMINATE", modifier.category, modifier.allowed_types, modifier.excluded_types,
            modifier.terminated_by,
        )  # fmt: skip
        modifier.scope_start, modifier.scope_end = first_scope(modifier, rule.max_scope, doc_length)
        return modifier

    @property
    def looks_forward(self) -> bool:
        return self.direction in ("FORWARD", "BIDIRECTIONAL")

    @property
    def looks_backward(self) -> bool:
        return self.direction in ("BACKWARD", "BIDIRECTIONAL")


def first_scope(modifier: Modifier, max_scope: int | None, doc_length: int) -> tuple[int, int]:
    """``ConTextModifier.__set_scope`` with the sentence being the whole Doc."""
    sentence_start, sentence_end = 0, doc_length
    if modifier.direction == "FORWARD":
        start, end = modifier.end, sentence_end
        if max_scope is not None and end - start > max_scope:
            end = modifier.end + max_scope
    elif modifier.direction == "BACKWARD":
        start, end = sentence_start, modifier.start
        if max_scope is not None and end - start > max_scope:
            start = modifier.start - max_scope
    else:
        start, end = sentence_start, sentence_end
        if max_scope is not None and modifier.start - start > max_scope:
            start = modifier.start - max_scope
        if max_scope is not None and end - modifier.end > max_scope:
            end = modifier.end + max_scope
    return start, end


def tuple_overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    """medspaCy's test (``medspacy.util.tuple_overlaps``): ``b`` starts or ends inside ``a``."""
    return a[0] <= b[0] < a[1] or a[0] < b[1] <= a[1]


def may_limit(modifier: Modifier, other: Modifier) -> bool:
    """The part of ``limit_scope`` that depends on the rules only: may ``other`` end ``modifier``'s scope?"""
    if modifier.direction == "TERMINATE":
        return False
    if (
        other.direction != "TERMINATE"
        and other.category not in modifier.terminated_by
        and other.category != modifier.category
    ):
        return False
    return not (
        modifier.category == other.category
        and (modifier.allowed_types != other.allowed_types or modifier.excluded_types != other.excluded_types)
    )


def overlaps_at(modifier: Modifier, scope_start: int, other: Modifier) -> bool:
    """``tuple_overlaps(modifier's scope, other's scope)``, were ``modifier``'s scope to start at ``scope_start``."""
    return tuple_overlaps((scope_start, modifier.scope_end), (other.scope_start, other.scope_end))


class ScopeGraph:
    """The modifiers of one sentence, their scopes limited as ``ConTextGraph.update_scopes`` limits them."""

    def __init__(self, modifiers: list[Modifier]) -> None:
        self.modifiers = modifiers
        self.limiters: dict[tuple[Any, ...], tuple[list[int], list[int]]] = {}  # kind -> (indexes, their ends)

    def limiters_of(self, modifier: Modifier) -> tuple[list[int], list[int]]:
        """Indexes (and ends) of the modifiers that may limit ``modifier``, for every modifier of its kind."""
        if modifier.kind not in self.limiters:
            indexes = [i for i, other in enumerate(self.modifiers) if may_limit(modifier, other)]
            self.limiters[modifier.kind] = (indexes, [self.modifiers[i].end for i in indexes])
        return self.limiters[modifier.kind]

    def update_scopes(self) -> None:
        """Every forward call in order, with the backward calls each depends on applied first."""
        modifiers = self.modifiers
        for index, modifier in enumerate(modifiers):
            self.settle(index, index)  # its scope is final from now on, bar its own forward calls
            if not modifier.looks_forward:
                continue  # its forward calls change nothing; its backward calls on later ones wait (settle)
            later = index + 1
            while later < len(modifiers) and modifiers[later].start < modifier.scope_end:
                other = modifiers[later]
                self.settle(later, index)
                # medspaCy's two calls for the pair, in its order
                if may_limit(modifier, other) and overlaps_at(modifier, modifier.scope_start, other):
                    modifier.scope_end = min(modifier.scope_end, other.start)
                if (
                    other.looks_backward
                    and may_limit(other, modifier)
                    and overlaps_at(other, other.scope_start, modifier)
                ):
                    other.scope_start = max(other.scope_start, modifier.end)
                other.settled_upto = index + 1
                later += 1

    def settle(self, index: int, upto: int) -> None:
        """Apply the backward calls from the modifiers before ``upto`` to modifier ``index``, as medspaCy would.

        Each of those modifiers' scopes is final by now (its own turn is over), and the calls
        come in their order; only calls from modifiers that may limit this one and end after
        its current start can change it.
        """
        modifier = self.modifiers[index]
        first = modifier.settled_upto
        modifier.settled_upto = max(first, upto)
        if first >= upto or not modifier.looks_backward:
            return
        indexes, ends = self.limiters_of(modifier)
        low = max(bisect_left(indexes, first), bisect_right(ends, modifier.scope_start))
        high = bisect_left(indexes, upto)
        if low < high:
            modifier.scope_start = self._settle_start(modifier, indexes, low, high)

    def _settle_start(self, modifier: Modifier, indexes: list[int], low: int, high: int) -> int:
        """The scope start after the calls from ``indexes[low:high]`` (each would raise it to its end).

        The start only rises, and a call takes effect when the two scopes overlap, which stays
        true or turns false as the start rises. So, from the last call back: a call that takes
        effect even from the highest start the calls before it could leave decides the result;
        one that does not even from the current start never matters; any other depends on the
        calls before it, worked out first (the ``waiting`` stack).
        """
        modifiers, current = self.modifiers, modifier.scope_start
        waiting: list[Modifier] = []
        position = high - 1
        settled = current
        while position >= low:
            other = modifiers[indexes[position]]
            highest_before = max(current, modifiers[indexes[position - 1]].end) if position > low else current
            if overlaps_at(modifier, highest_before, other):
                settled = other.end
                break
            if overlaps_at(modifier, current, other):
                waiting.append(other)
            position -= 1
        for other in reversed(waiting):
            if other.end > settled and overlaps_at(modifier, settled, other):
                settled = other.end
        return settled


def supported(rules: Sequence[Any], matches: Sequence[tuple[int, int]]) -> bool:
    """True when the conditions this module relies on hold (else medspaCy's component is run)."""
    if any(rule.max_targets is not None or rule.on_modifies is not None for rule in rules):
        return False
    return all(matches[i][1] <= matches[i + 1][0] for i in range(len(matches) - 1)) and all(
        start < end for start, end in matches
    )


def target_categories(modifiers: list[Modifier], targets: Sequence[tuple[int, int, str]]) -> list[set[str]]:
    """The categories of the modifiers that modify each target ``(start_token, end_token, LABEL)``.

    ``ConTextModifier.modifies``: the target starts or ends inside the scope, does not touch
    the modifier's own tokens, and its label is allowed.
    """
    by_start = sorted(range(len(targets)), key=lambda t: targets[t][0])
    starts = [targets[t][0] for t in by_start]
    by_end = sorted(range(len(targets)), key=lambda t: targets[t][1])
    ends = [targets[t][1] for t in by_end]
    categories: list[set[str]] = [set() for _ in targets]
    for modifier in modifiers:
        if modifier.direction in ("TERMINATE", "PSEUDO"):
            continue
        scope = (modifier.scope_start, modifier.scope_end)
        inside = set(by_start[bisect_left(starts, scope[0]) : bisect_left(starts, scope[1])])
        inside.update(by_end[bisect_right(ends, scope[0]) : bisect_right(ends, scope[1])])
        for target in inside:
            start, end, label = targets[target]
            if tuple_overlaps((modifier.start, modifier.end), (start, end)) or not tuple_overlaps(scope, (start, end)):
                continue
            if modifier.allowed_types is not None:
                allowed = label in modifier.allowed_types
            else:
                allowed = modifier.excluded_types is None or label not in modifier.excluded_types
            if allowed:
                categories[target].add(modifier.category)
    return categories
