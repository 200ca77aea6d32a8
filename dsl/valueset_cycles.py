"""Finds value sets defined in terms of themselves (`valueset x = x`, or `a = b` with `b = a`).

Such a set has no members to find and no type to give it, so the checker would otherwise say
nothing about it: each rule using it quietly tests against nothing. One error per knot of sets
that lead back to each other, at the first of them in the file, pointing at the name in its
definition that leads back: the other sets of the knot are wrong for the same reason.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

from dsl import ast
from dsl.diagnostics import Diagnostic


def valueset_cycles(valuesets: dict[str, ast.ValueSet]) -> list[Diagnostic]:
    """One error for each group of the rulebook's value sets that are defined through each other."""
    uses = {name: list(_references(valueset.value, valuesets)) for name, valueset in valuesets.items()}
    reaches = {name: _reachable(name, uses) for name in valuesets}
    diagnostics: list[Diagnostic] = []
    reported: set[str] = set()
    for valueset in sorted(valuesets.values(), key=lambda v: v.span.start):
        name = valueset.name
        if name in reported or name not in reaches[name]:
            continue
        knot = {other for other in reaches[name] if name in reaches[other]}
        reported |= knot
        cycle = _shortest_cycle(name, uses, knot)
        reference = next(path for path in uses[name] if path.parts[0] == cycle[1])
        diagnostics.append(
            Diagnostic(
                "error",
                "valueset.cycle",
                _message(cycle),
                reference.span,
                "define it by its codes, ranges or symbols, or by value sets that do not lead back to it",
            )
        )
    return diagnostics


def _references(
    expr: ast.Expr, valuesets: dict[str, ast.ValueSet], bound: frozenset[str] = frozenset()
) -> Iterator[ast.Path]:
    """The names of the rulebook's value sets in an expression, first to last; not a variable of
    `any x in ...` that hides a set of the same name."""
    if isinstance(expr, ast.Path):
        if len(expr.parts) == 1 and expr.parts[0] in valuesets and expr.parts[0] not in bound:
            yield expr
        return
    if isinstance(expr, ast.Quantified):
        yield from _references(expr.collection, valuesets, bound)
        yield from _references(expr.condition, valuesets, bound | {expr.variable})
        return
    for field in dataclasses.fields(expr):
        value = getattr(expr, field.name)
        for child in value if isinstance(value, tuple) else (value,):
            if dataclasses.is_dataclass(child) and not isinstance(child, ast.Span):
                yield from _references(child, valuesets, bound)  # type: ignore[arg-type]


def _reachable(start: str, uses: dict[str, list[ast.Path]]) -> set[str]:
    """The value sets whose definitions `start`'s definition depends on, directly or not."""
    found: set[str] = set()
    pending = [path.parts[0] for path in uses[start]]
    while pending:
        name = pending.pop()
        if name not in found:
            found.add(name)
            pending.extend(path.parts[0] for path in uses[name])
    return found


def _shortest_cycle(start: str, uses: dict[str, list[ast.Path]], knot: set[str]) -> list[str]:
    """The names on a shortest way from `start` back to itself, `start` first and last."""
    came_from: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following: list[str] = []
        for name in frontier:
            for path in uses[name]:
                used = path.parts[0]
                if used == start:
                    way_back = [name]  # from the last set before `start` back to `start`
                    while way_back[-1] != start:
                        way_back.append(came_from[way_back[-1]])
                    return [*reversed(way_back), start]
                if used in knot and used not in came_from:
                    came_from[used] = name
                    following.append(used)
        frontier = following
    raise AssertionError(f"`{start}` does not lead back to itself")  # pragma: no cover - the caller checks


def _message(cycle: list[str]) -> str:
    name = cycle[0]
    if len(cycle) == 2:
        return f"value set `{name}` is defined by itself, so it has no members"
    chain = ", which uses ".join(f"`{step}`" for step in cycle[1:])
    return f"value set `{name}` is defined through itself: it uses {chain}, so none of them has members"
