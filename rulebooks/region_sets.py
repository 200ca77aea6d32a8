"""The values one comparison or one table cell admits for one fact, as sets we can compare exactly.

`rulebooks.rulebook_diff` says where a change flips an outcome. For that it needs to know when
two comparisons admit the same inputs (`count > 10` and `count >= 11` on a whole-number fact),
which inputs one admits and the other does not, when a table row is covered by an earlier one,
and when two rows can never match the same input. Every answer here is exact or "not known";
a caller says nothing when the answer is not known, never a guess.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, InvalidOperation
from typing import Any

from dsl import ast
from dsl.vocabulary import Type

#: Units counted in whole numbers: a threshold between two counts flips at whole values.
COUNTED_UNITS = frozenset({"lesions", "stages", "units", "blocks", "years", "days", "visits", "doses", "weeks"})


def counts_in_whole_numbers(type_: Type | None) -> bool:
    """Whether a fact only takes whole values (an integer, or a quantity of counted things)."""
    if type_ is None:
        return False
    return type_.integer or (type_.kind == "quantity" and (type_.unit or "") in COUNTED_UNITS)


def number_of(literal: Any) -> tuple[Decimal, str] | None:
    """The value and unit of a number or quantity literal (`10 lesions` -> 10, "lesions")."""
    if not isinstance(literal, ast.Literal) or literal.kind not in ("number", "quantity"):
        return None
    value, _, unit = literal.text.partition(" ")
    try:
        return Decimal(value), unit.strip()
    except InvalidOperation:
        return None


@dataclass(frozen=True)
class Interval:
    """The numbers between `low` and `high` (None: unbounded); on a whole-number fact both ends are
    closed whole numbers, so `> 10` and `>= 11` are the same interval."""

    low: Decimal | None
    low_closed: bool
    high: Decimal | None
    high_closed: bool

    def holds(self, value: Decimal) -> bool:
        above = self.low is None or value > self.low or (self.low_closed and value == self.low)
        below = self.high is None or value < self.high or (self.high_closed and value == self.high)
        return above and below


EVERY_NUMBER = Interval(None, False, None, False)


def comparison(op: str, bound: Decimal, whole: bool) -> Interval | None:
    """The values `fact OP bound` admits (None: no value), whole numbers only when `whole`."""
    if whole:
        floor = bound.to_integral_value(rounding=ROUND_FLOOR)
        ceiling = bound.to_integral_value(rounding=ROUND_CEILING)
        low, high = {
            ">": (floor + 1, None),
            ">=": (ceiling, None),
            "<": (None, ceiling - 1),
            "<=": (None, floor),
            "=": (bound, bound) if floor == bound else (None, None),
        }[op]
        if op == "=" and low is None:
            return None
        return Interval(low, low is not None, high, high is not None)
    return {
        ">": Interval(bound, False, None, False),
        ">=": Interval(bound, True, None, False),
        "<": Interval(None, False, bound, False),
        "<=": Interval(None, False, bound, True),
        "=": Interval(bound, True, bound, True),
    }[op]


def _empty(interval: Interval) -> bool:
    if interval.low is None or interval.high is None:
        return False
    return interval.low > interval.high or (
        interval.low == interval.high and not (interval.low_closed and interval.high_closed)
    )


def intersection(a: Interval, b: Interval) -> Interval | None:
    """The values both admit, or None when none."""
    if a.low is None or (b.low is not None and (b.low, not b.low_closed) > (a.low, not a.low_closed)):
        low, low_closed = b.low, b.low_closed
    else:
        low, low_closed = a.low, a.low_closed
    if a.high is None or (b.high is not None and (b.high, b.high_closed) < (a.high, a.high_closed)):
        high, high_closed = b.high, b.high_closed
    else:
        high, high_closed = a.high, a.high_closed
    both = Interval(low, low_closed and low is not None, high, high_closed and high is not None)
    return None if _empty(both) else both


def difference(a: Interval, b: Interval, whole: bool) -> list[Interval]:
    """The values `a` admits and `b` does not: none, one or two intervals."""
    parts: list[Interval] = []
    if b.low is not None:  # below b
        below = Interval(None, False, b.low - 1, True) if whole else Interval(None, False, b.low, not b.low_closed)
        parts.append(below)
    if b.high is not None:  # above b
        above = Interval(b.high + 1, True, None, False) if whole else Interval(b.high, not b.high_closed, None, False)
        parts.append(above)
    return [part for part in (intersection(a, piece) for piece in parts) if part is not None]


def contains(outer: Interval, inner: Interval) -> bool:
    return intersection(outer, inner) == inner


def describe(interval: Interval, whole: bool, unit: str = "") -> str:
    """`11-14 lesions`, `15 lesions or more`, `[2, 3) cm`, `above 14 cm`: how a person reads the range."""
    low, high = interval.low, interval.high
    units = f" {unit}" if unit else ""
    if low is not None and high is not None:
        if low == high:
            return f"{low}{units}"
        if whole:
            return f"{low}-{high}{units}"
        return f"{'[' if interval.low_closed else '('}{low}, {high}{']' if interval.high_closed else ')'}{units}"
    if low is not None:
        return f"{low}{units} or more" if interval.low_closed else f"above {low}{units}"
    if high is not None:
        return f"{high}{units} or {'fewer' if whole else 'less'}" if interval.high_closed else f"below {high}{units}"
    return "any value"


# ---- table cells ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CellSet:
    """What one input cell admits: any value, an interval, some values, every value but some, or
    (`opaque`) something only known to equal itself (a value set by name, a computed value)."""

    kind: str  # any | interval | values | all_but | opaque
    interval: Interval | None = None
    values: frozenset[Any] = frozenset()
    cell: Any = None


def _value(expr: Any) -> Any:
    number = number_of(expr)
    if number is not None:
        return number[0]
    if isinstance(expr, ast.Literal):
        return (expr.kind == "code", expr.text.upper() if expr.kind == "code" else expr.text)
    if isinstance(expr, ast.Path) and len(expr.parts) == 1:
        return (False, expr.parts[0])  # a bare name in a cell is a symbol (AK, AETNA)
    return None


def cell_set(cell: Any, whole: bool) -> CellSet:
    """The set a table cell admits, for a column of whole numbers or not."""
    if isinstance(cell, ast.AnyValue):
        return CellSet("any")
    if not isinstance(cell, ast.CellTest):
        return CellSet("opaque", cell=cell)
    number = number_of(cell.value)
    if number is not None and cell.op in ("<", "<=", ">", ">=", "="):
        interval = comparison(cell.op, number[0], whole)
        return CellSet("interval", interval) if interval is not None else CellSet("values")
    items = cell.value.items if isinstance(cell.value, ast.ListExpr) and cell.op in ("in", "not in") else None
    if cell.op in ("=", "!="):
        items = (cell.value,)
    values = [_value(item) for item in items] if items is not None else [None]
    if any(value is None for value in values):
        return CellSet("opaque", cell=cell)
    return CellSet("values" if cell.op in ("=", "in") else "all_but", values=frozenset(values))


def _inside(value: Any, interval: Interval) -> bool:
    return isinstance(value, Decimal) and interval.holds(value)


def covers(outer: CellSet, inner: CellSet) -> bool:
    """Whether every value `inner` admits, `outer` admits too (False when not known)."""
    if outer.kind == "any" or outer == inner:
        return True
    if outer.kind == "interval" and outer.interval is not None:
        if inner.kind == "interval" and inner.interval is not None:
            return contains(outer.interval, inner.interval)
        return inner.kind == "values" and all(_inside(value, outer.interval) for value in inner.values)
    if outer.kind == "values":
        return inner.kind == "values" and inner.values <= outer.values
    if outer.kind == "all_but":
        if inner.kind == "values":
            return not inner.values & outer.values
        return inner.kind == "all_but" and outer.values <= inner.values
    return False


def disjoint(a: CellSet, b: CellSet) -> bool:
    """Whether no value is admitted by both (False when not known)."""
    if a.kind in ("any", "opaque") or b.kind in ("any", "opaque"):
        return (a.kind == "values" and not a.values) or (b.kind == "values" and not b.values)
    if a.kind == "interval" and b.kind == "interval" and a.interval is not None and b.interval is not None:
        return intersection(a.interval, b.interval) is None
    if a.kind == "interval" and a.interval is not None:
        a, b = b, a
    if b.kind == "interval" and b.interval is not None:
        return a.kind == "values" and not any(_inside(value, b.interval) for value in a.values)
    if a.kind == "values" and b.kind == "values":
        return not a.values & b.values
    if a.kind == "values" and b.kind == "all_but":
        return a.values <= b.values
    if a.kind == "all_but" and b.kind == "values":
        return b.values <= a.values
    return False
