"""What evaluation returns: fired actions, and for an explained run every rule's reasons.

A condition is True, False or undetermined (`None` inside compiled code): a comparison with
a missing fact is undetermined, `and`/`or`/`not` follow Kleene's three-valued logic, and a
rule fires only when its condition is True. An undetermined rule is reported in the trace
with the facts that were missing, so a missing fact never silently reads as false.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dsl.ast import Span
from dsl.vocabulary import ActionSpec


@dataclass(frozen=True)
class FiredAction:
    action: str
    arguments: dict[str, Any]
    rule_id: str
    label: str
    span: Span
    spec: ActionSpec | None = None

    @property
    def words(self) -> tuple[str, ...]:
        """The action as the sentence a test expects: `cap lesions of service at 10 lesions`."""
        if self.spec is None:
            return (self.action, *(str(v) for v in self.arguments.values()))
        words: list[str] = []
        for word in self.spec.words:
            if word.startswith("{") and word.endswith("}"):
                name = word[1:-1]
                type_ = self.spec.param_type(name)
                text = render_value(self.arguments.get(name))
                words.extend(text.split())
                if type_.kind == "quantity" and type_.unit:
                    words.append(type_.unit)
            else:
                words.append(word)
        return tuple(words)


def render_value(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "describe") and not isinstance(value, str):
        return ", ".join(value.describe())
    if isinstance(value, frozenset):
        return ", ".join(sorted(map(str, value)))
    return str(value)


@dataclass(frozen=True)
class RuleOutcome:
    """One rule's result for one input: fired or undetermined, with the values it compared."""

    rule_id: str
    label: str
    span: Span
    status: str  # fired | undetermined
    values: dict[str, Any]
    missing: tuple[str, ...] = ()
    actions: tuple[FiredAction, ...] = ()
    row: int | None = None  # the matching table row, counted from 1


@dataclass
class Trace:
    """Collects compared values and, for coverage, each condition's outcomes."""

    values: dict[str, Any] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    outcomes: dict[int, set[Any]] | None = None
    rows: set[tuple[str, int]] | None = None

    def saw(self, name: str, value: Any) -> None:
        if value is None:
            if name not in self.missing:
                self.missing.append(name)
        else:
            self.values[name] = value

    def outcome(self, node_id: int, result: Any) -> None:
        if self.outcomes is not None:
            self.outcomes.setdefault(node_id, set()).add(result)

    def reset(self) -> None:
        self.values = {}
        self.missing = []


@dataclass
class Decision:
    actions: list[FiredAction] = field(default_factory=list)
    outcomes: list[RuleOutcome] = field(default_factory=list)

    def fired(self) -> list[str]:
        return [o.rule_id for o in self.outcomes if o.status == "fired"]


Evaluator = Callable[[dict[str, Any], "Trace | None"], Any]


@dataclass(frozen=True)
class CompiledRule:
    """A rule or table ready to run; `effective_from`/`effective_until` are its own dates, if any."""

    id: str
    label: str
    phase: str
    span: Span
    run: Callable[[dict[str, Any], Trace | None, Decision], None]
    effective_from: dt.date | None = None
    effective_until: dt.date | None = None
    #: None: the rule runs for each service; "encounter": once for the whole encounter.
    scope: str | None = None

    def in_effect(self, date_of_service: dt.date) -> bool:
        """Whether the rule applies on this DATE OF SERVICE (never today): both dates included.

        Who runs rules chooses them by date: a rule out of effect neither runs nor, in a stack,
        replaces an earlier book's rule of the same id (`rulebooks.stack.applicable_rules`).

        >>> from dsl.ast import NO_SPAN
        >>> rule = CompiledRule("r", "", "policy", NO_SPAN, print, dt.date(2027, 1, 1), dt.date(2027, 12, 31))
        >>> [rule.in_effect(dt.date(*day)) for day in ((2026, 12, 31), (2027, 1, 1), (2027, 12, 31), (2028, 1, 1))]
        [False, True, True, False]
        """
        if self.effective_from is not None and date_of_service < self.effective_from:
            return False
        return self.effective_until is None or date_of_service <= self.effective_until


#: The fact that rule dates compare with, when a test or a caller gives one (`dsl.testing`).
DATE_OF_SERVICE = "date_of_service"


def run_rules(
    rules: list[CompiledRule] | tuple[CompiledRule, ...],
    facts: dict[str, Any],
    *,
    explain: bool = False,
    trace: Trace | None = None,
) -> Decision:
    """Evaluate rules in order over one input; `explain` records every rule's reasons."""
    decision = Decision()
    if explain and trace is None:
        trace = Trace()
    for rule in rules:
        if trace is not None:
            trace.reset()
        rule.run(facts, trace, decision)
    return decision
