"""Where a changed decision table gives other outputs, row by row, as sentences a reviewer reads.

The engine (dsl/compiler.py) takes the first matching row under `hit first`, `hit priority` and
`hit unique` (a table whose rows overlap is refused under `unique`; `first` also stops at a row
whose fact is missing), and every matching row, combined, under `hit collect`. So under the first
three an earlier row can mask a later one, and moving rows matters exactly where two rows overlap.
A row is masked when an earlier row covers every input it admits; two rows overlap unless some
column proves them apart (`region_sets`). A sentence never claims more than that proves.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import combinations

from dsl import ast
from rulebooks.region_sets import CellSet, cell_set, covers, disjoint

FIRST_MATCH = ("first", "priority", "unique")

Text = Callable[[ast.Table, ast.TableRow], str]
Changed = Callable[[ast.TableRow, ast.TableRow], str]


class _Rows:
    """A table's rows with the sets their cells admit."""

    def __init__(self, table: ast.Table, whole_columns: list[bool]) -> None:
        self.table = table
        self.sets: list[tuple[CellSet, ...]] = [
            tuple(cell_set(cell, whole) for cell, whole in zip(row.inputs, whole_columns, strict=True))
            for row in table.rows
        ]

    def index(self, row: ast.TableRow) -> int:
        return next(i for i, other in enumerate(self.table.rows) if other.inputs == row.inputs)

    def masking_row(self, number: int) -> int | None:
        """The first earlier row that covers every input row `number` admits (first match only)."""
        if self.table.hit_policy not in FIRST_MATCH:
            return None
        mine = self.sets[number]
        for earlier in range(number):
            if all(covers(outer, inner) for outer, inner in zip(self.sets[earlier], mine, strict=True)):
                return earlier
        return None

    def overlap(self, a: int, b: int) -> bool:
        """Whether some input may match both rows (False only when a column proves them apart)."""
        return not any(disjoint(x, y) for x, y in zip(self.sets[a], self.sets[b], strict=True))

    def earlier_overlapping(self, number: int) -> list[int]:
        if self.table.hit_policy not in FIRST_MATCH:
            return []
        return [earlier for earlier in range(number) if self.overlap(earlier, number)]


def _policy(table: ast.Table) -> str:
    return f"hit {table.hit_policy}" + (f" {table.aggregation}" if table.aggregation else "")


def _unless(rows: _Rows, number: int, cells: Text) -> str:
    earlier = rows.earlier_overlapping(number)
    if not earlier:
        return ""
    return ", where no earlier row matches (" + "; ".join(cells(rows.table, rows.table.rows[i]) for i in earlier) + ")"


def row_regions(
    was: ast.Table, now: ast.Table, whole_columns: list[bool], cells: Text, outputs: Text, changed: Changed
) -> list[str] | None:
    """Sentences for a table whose rows changed under one hit policy (None: cannot say exactly)."""
    old, new = _Rows(was, whole_columns), _Rows(now, whole_columns)
    before = {row.inputs: row for row in was.rows}
    after = {row.inputs: row for row in now.rows}
    if len(before) != len(was.rows) or len(after) != len(now.rows):
        return None  # two rows with the same inputs: not a row's region
    sentences: list[str] = []
    collect = "" if now.hit_policy in FIRST_MATCH else f" ({_policy(now)}: combined with every other matching row)"
    if now.hit_policy in FIRST_MATCH:
        sentences += _reordered(old, new, cells, outputs)
    for inputs, row in before.items():
        other = after.get(inputs)
        number = old.index(row)
        if other is None:
            masked = old.masking_row(number)
            if masked is not None:
                sentences.append(
                    f"{cells(was, row)}: row removed, but row {masked + 1} above it matched all its inputs: "
                    "no input changes"
                )
                continue
            sentences.append(
                f"{cells(was, row)}: row removed ({outputs(was, row)}){_unless(old, number, cells)}{collect}"
            )
        elif other.outputs != row.outputs:
            new_number = new.index(other)
            masked = new.masking_row(new_number)
            if masked is not None:
                was_masked = old.masking_row(number) is not None
                consequence = (
                    "so changing it changes nothing"
                    if was_masked
                    else f"the inputs it matched get row {masked + 1}'s outputs ({outputs(now, now.rows[masked])})"
                )
                sentences.append(
                    f"{cells(now, other)}: row {new_number + 1} is masked by row {masked + 1} above it "
                    f"({_policy(now)}): no input reaches it, {consequence}"
                )
                continue
            sentences.append(f"{cells(now, other)}: {changed(row, other)}{_unless(new, new_number, cells)}{collect}")
    for inputs, row in after.items():
        if inputs in before:
            continue
        number = new.index(row)
        masked = new.masking_row(number)
        if masked is not None:
            sentences.append(
                f"{cells(now, row)}: row added as row {number + 1}, masked by row {masked + 1} above it "
                f"({_policy(now)}): no input reaches it"
            )
            continue
        sentences.append(f"{cells(now, row)}: row added ({outputs(now, row)}){_unless(new, number, cells)}{collect}")
    return sentences


def _reordered(old: _Rows, new: _Rows, cells: Text, outputs: Text) -> list[str]:
    """Two rows kept but swapped under a first match: the inputs both match now get the other's outputs."""
    common = [row for row in old.table.rows if row.inputs in {other.inputs for other in new.table.rows}]
    sentences = []
    for a, b in combinations(common, 2):  # a above b before
        new_a, new_b = new.index(a), new.index(b)
        if new_a < new_b:
            continue
        now_b, now_a = new.table.rows[new_b], new.table.rows[new_a]
        if not new.overlap(new_a, new_b) or now_a.outputs == now_b.outputs:
            continue
        sentences.append(
            f"inputs matching both {cells(new.table, now_b)} and {cells(new.table, now_a)} "
            f"(rows swapped): {outputs(old.table, a)} -> {outputs(new.table, now_b)}"
        )
    return sentences


def policy_regions(was: ast.Table, now: ast.Table, whole_columns: list[bool], cells: Text) -> list[str]:
    """Sentences for a table whose hit policy (or aggregation) changed and whose rows did not."""
    rows = _Rows(now, whole_columns)
    change = f"{_policy(was)} -> {_policy(now)}"
    if was.hit_policy in FIRST_MATCH and now.hit_policy in FIRST_MATCH:
        caveat = (
            " (`hit first` also stops at a row whose fact is missing, where the other goes on to the next row)"
            if "first" in (was.hit_policy, now.hit_policy)
            else ""
        )
        return [f"{change}: the first matching row wins under both, so no input changes{caveat}"]
    if {was.aggregation, now.aggregation} & {None, "count"}:
        combining = was if was.hit_policy == "collect" else now
        if combining.aggregation is None or combining.aggregation == "count":
            what = "a list of every matching row's" if combining.aggregation is None else "the count of matching rows"
            return [f"{change}: every input a row matches changes form: the outputs become {what}"]
    pairs = [(a, b) for a, b in combinations(range(len(now.rows)), 2) if rows.overlap(a, b)]
    if not pairs:
        return [f"{change}: no input matches two rows, so no input changes"]
    return [
        f"{change}: inputs matching both {cells(now, now.rows[a])} and {cells(now, now.rows[b])}: "
        f"{_describe_combination(was, a)} -> {_describe_combination(now, a)}"
        for a, b in pairs
    ]


def _describe_combination(table: ast.Table, first: int) -> str:
    if table.hit_policy == "collect":
        return f"the {table.aggregation} of the matching rows' outputs"
    return f"row {first + 1}'s outputs"
