"""Decidable questions about conditions and tables, answered over representative values.

Conditions are conjunctions of facts compared with constants; each fact's constraints are
satisfiable exactly when one of a few representative values (each constant, a little
above and below it, every symbol of an enum, one 'other' value) satisfies them all. The
same points give table gaps and overlaps with an example input a person can read.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from dsl import ast
from dsl.values import CodeSet, normalize_code
from dsl.vocabulary import Type

OTHER = "<another value>"
MAX_POINTS = 20_000


@dataclass(frozen=True)
class Atom:
    """`fact op constant`: the only shape the analyses reason about."""

    path: str
    op: str  # = != < <= > >= in | not in
    value: Any


def matches(op: str, value: Any, candidate: Any) -> bool:
    if op in ("in", "not in"):
        inside = _contains(value, candidate)
        return inside if op == "in" else not inside
    if candidate == OTHER:
        return op == "!="
    if op == "=":
        return _same(candidate, value)
    if op == "!=":
        return not _same(candidate, value)
    try:
        return {"<": candidate < value, "<=": candidate <= value, ">": candidate > value, ">=": candidate >= value}[op]
    except TypeError:
        return False


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return normalize_code(a) == normalize_code(b)
    return bool(a == b)


def _contains(collection: Any, candidate: Any) -> bool:
    if candidate == OTHER:
        return False
    try:
        return candidate in collection
    except TypeError:
        return False


def candidates(values: Iterable[Any], type_: Type | None) -> list[Any]:
    """Representative values for one fact, given the constants it is compared with."""
    if type_ is not None and type_.kind == "enum":
        return list(type_.symbols)
    if type_ is not None and type_.kind == "bool":
        return [True, False]
    points: list[Any] = []
    for value in values:
        if isinstance(value, CodeSet):
            points.extend(sorted(value.exact))
            points.extend(p + "0" * max(0, 3 - len(p)) for p in value.prefixes)
            points.extend(low for low, _ in value.ranges)
            points.extend(high for _, high in value.ranges)
        elif isinstance(value, frozenset):
            points.extend(sorted(value, key=str))
        elif isinstance(value, bool):
            points.extend([True, False])
        elif isinstance(value, int | float):
            points.extend([value - 0.5, value, value + 0.5])
        elif isinstance(value, dt.date):
            points.extend([value - dt.timedelta(days=1), value, value + dt.timedelta(days=1)])
        else:
            points.append(value)
    unique: list[Any] = []
    for point in points:
        if point not in unique:
            unique.append(point)
    numeric = unique and all(isinstance(p, int | float | dt.date) and not isinstance(p, bool) for p in unique)
    return unique if numeric else [*unique, OTHER]


def satisfiable(atoms: list[Atom], types: dict[str, Type | None]) -> bool:
    """Whether some input makes every atom true (facts are independent of each other)."""
    by_path: dict[str, list[Atom]] = {}
    for atom in atoms:
        by_path.setdefault(atom.path, []).append(atom)
    for path, group in by_path.items():
        points = candidates([a.value for a in group], types.get(path))
        if not any(all(matches(a.op, a.value, point) for a in group) for point in points):
            return False
    return True


@dataclass(frozen=True)
class TableFinding:
    kind: str  # gap | overlap | masked
    rows: tuple[int, ...]
    example: tuple[tuple[str, Any], ...]


def analyse_table(
    columns: list[tuple[str, Type | None]], rows: list[list[tuple[str, Any] | None]], hit_policy: str
) -> list[TableFinding]:
    """Gaps (no row matches), overlaps (unique: two rows match) and rows no input reaches first."""
    points = [
        candidates([cell[1] for row in rows for cell in [row[i]] if cell is not None], type_)
        for i, (_, type_) in enumerate(columns)
    ]
    total = 1
    for column_points in points:
        total *= max(1, len(column_points))
    if total > MAX_POINTS or not rows:
        return []
    findings: list[TableFinding] = []
    reached_first = [False] * len(rows)
    gap_seen = overlap_seen = False
    for point in itertools.product(*points):
        matched = [
            number
            for number, row in enumerate(rows)
            if all(cell is None or matches(cell[0], cell[1], value) for cell, value in zip(row, point, strict=True))
        ]
        example = tuple((name, value) for (name, _), value in zip(columns, point, strict=True))
        if not matched and not gap_seen:
            findings.append(TableFinding("gap", (), example))
            gap_seen = True
        if matched:
            reached_first[matched[0]] = True
        if hit_policy == "unique" and len(matched) > 1 and not overlap_seen:
            findings.append(TableFinding("overlap", tuple(matched[:2]), example))
            overlap_seen = True
    if hit_policy == "first":
        findings.extend(TableFinding("masked", (number,), ()) for number, seen in enumerate(reached_first) if not seen)
    return findings


def conjunction(expr: ast.Expr | None) -> list[ast.Expr]:
    if expr is None:
        return []
    if isinstance(expr, ast.BoolOp) and expr.op == "and":
        return [atom for operand in expr.operands for atom in conjunction(operand)]
    return [expr]
