"""What changed between two versions of a rulebook, as a compliance reviewer reads it.

Two views of the text (the third, the encounters whose coding changes, is `rulebooks.replay`):

- **Structural** (`structural_diff`): the header, and each rule, table, value set, criteria,
  disable line and test added, removed or changed, matched by id (value sets and tests by name),
  with the unified diff of that item's canonical text. Moving an item is no change.
- **Exact regions** (`exact_regions`), where the language allows it: a rule whose condition
  changed only in the number of one comparison says for which values of that fact its outcome
  flips ("service.count 11-14 lesions: fires -> does not fire"), on a whole-number fact counting
  `> 10` and `>= 11` as the same; a table says, row by row, which inputs now get which outputs
  ("payer = AETNA: cap 10 lesions -> 14 lesions"), minding rows masked by an earlier row and what
  a change of hit policy does (`rulebooks.table_regions`). Any other change gets no region: it
  is in the structural diff, never guessed at.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dsl import ast
from dsl.api import render_diagnostics
from dsl.formatter import format_rulebook
from dsl.parser import parse
from dsl.vocabulary import Vocabulary
from rulebooks.region_sets import comparison, counts_in_whole_numbers, describe, difference, intersection, number_of
from rulebooks.table_regions import policy_regions, row_regions
from rulebooks.vocabulary import dermatology_vocabulary


@dataclass(frozen=True)
class ItemChange:
    """One item of the rulebook added, removed or changed, with the diff of its canonical text."""

    kind: str  # header | rule | table | valueset | criteria | disable | test
    id: str
    status: str  # added | removed | changed
    label: str
    text_diff: str
    before: str
    after: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "id": self.id,
            "status": self.status,
            "label": self.label,
            "text_diff": self.text_diff,
            "before": self.before,
            "after": self.after,
        }


@dataclass(frozen=True)
class Region:
    """The inputs whose outcome a change flips, for one rule or table row, said as a sentence."""

    rule_id: str
    sentence: str

    def to_dict(self) -> dict[str, Any]:
        return {"rule_id": self.rule_id, "sentence": self.sentence}


@dataclass(frozen=True)
class _Book:
    text: str
    rulebook: ast.Rulebook
    items: dict[tuple[str, str], ast.Item]


def _book(text: str, side: str) -> _Book:
    """The text in canonical form, parsed again (so spans index the canonical text)."""
    if not text.strip():
        return _Book("", ast.Rulebook(header=None, items=()), {})
    parsed = parse(text)
    if not parsed.ok:
        errors = [d for d in parsed.diagnostics if d.severity == "error"]
        raise ValueError(f"the {side} rulebook has errors:\n{render_diagnostics(text, errors)}")
    canonical = format_rulebook(parsed.rulebook)
    rulebook = parse(canonical).rulebook
    return _Book(canonical, rulebook, {_key(item): item for item in rulebook.items})


def _key(item: ast.Item) -> tuple[str, str]:
    if isinstance(item, ast.Rule):
        return ("rule", item.id)
    if isinstance(item, ast.Table):
        return ("table", item.id)
    if isinstance(item, ast.Criteria):
        return ("criteria", item.id)
    if isinstance(item, ast.ValueSet):
        return ("valueset", item.name)
    if isinstance(item, ast.Disable):
        return ("disable", item.rule_id)
    return ("test", item.name)


def _slice(book: _Book, node: Any) -> str:
    span = node.span
    return book.text[span.start : span.end].strip("\n") + "\n"


def _diff(before: str, after: str, name: str) -> str:
    lines = difflib.unified_diff(
        before.splitlines(keepends=True), after.splitlines(keepends=True), f"{name} (before)", f"{name} (after)"
    )
    return "".join(lines)


def _header_text(header: ast.Header | None) -> str:
    if header is None:
        return ""
    lines = [f'rulebook "{header.name}"' + (f" for payer {header.payer}" if header.payer else "")]
    lines += [f'  extends "{name}"' for name in header.extends]
    if header.effective_from:
        lines.append(
            f"  effective {header.effective_from}"
            + (f" until {header.effective_until}" if header.effective_until else "")
        )
    return "\n".join(lines) + "\n"


def structural_diff(old_text: str, new_text: str) -> list[ItemChange]:
    """Every item added, removed or changed from `old_text` to `new_text` ("" for no book)."""
    old, new = _book(old_text, "old"), _book(new_text, "new")
    changes: list[ItemChange] = []
    before_header, after_header = _header_text(old.rulebook.header), _header_text(new.rulebook.header)
    if before_header != after_header:
        status = "added" if not before_header else "removed" if not after_header else "changed"
        changes.append(
            ItemChange(
                "header",
                "header",
                status,
                "",
                _diff(before_header, after_header, "header"),
                before_header,
                after_header,
            )
        )
    for key in [*old.items, *(key for key in new.items if key not in old.items)]:
        was, now = old.items.get(key), new.items.get(key)
        if was is not None and now is not None and was == now:
            continue
        before = _slice(old, was) if was is not None else ""
        after = _slice(new, now) if now is not None else ""
        status = "added" if was is None else "removed" if now is None else "changed"
        label = getattr(now if now is not None else was, "label", "")
        changes.append(
            ItemChange(key[0], key[1], status, label, _diff(before, after, f"{key[0]} {key[1]}"), before, after)
        )
    return changes


# ---- exact regions --------------------------------------------------------------------------


def exact_regions(old_text: str, new_text: str, vocabulary: Vocabulary | None = None) -> list[Region]:
    """The input regions whose outcome changes, for the changes the language lets us say exactly."""
    old, new = _book(old_text, "old"), _book(new_text, "new")
    facts = vocabulary or dermatology_vocabulary()
    regions: list[Region] = []
    for key, was in old.items.items():
        now = new.items.get(key)
        if now is None or now == was:
            continue
        if isinstance(was, ast.Rule) and isinstance(now, ast.Rule):
            regions += _rule_regions(old, new, was, now, facts)
        elif isinstance(was, ast.Table) and isinstance(now, ast.Table):
            regions += _table_regions(was, now, facts)
    return regions


def _conjuncts(condition: Any) -> list[Any]:
    if isinstance(condition, ast.BoolOp) and condition.op == "and":
        return [part for operand in condition.operands for part in _conjuncts(operand)]
    return [] if condition is None else [condition]


def _rule_regions(old: _Book, book: _Book, was: ast.Rule, now: ast.Rule, facts: Vocabulary) -> list[Region]:
    """A rule whose condition changed only in one `fact OP number` conjunct: where its outcome
    flips; and, when its actions changed too, what the inputs it still fires on get."""
    before, after = _conjuncts(was.condition), _conjuncts(now.condition)
    if was.phase != now.phase or len(before) != len(after):
        return []
    differing = [(b, a) for b, a in zip(before, after, strict=True) if b != a]
    if len(differing) != 1:
        return []
    b, a = differing[0]
    ordering = ("<", "<=", ">", ">=")
    if not (isinstance(b, ast.Compare) and isinstance(a, ast.Compare) and b.left == a.left):
        return []
    if not isinstance(b.left, ast.Path) or b.op not in ordering or a.op not in ordering:
        return []
    old_bound, new_bound = number_of(b.right), number_of(a.right)
    if old_bound is None or new_bound is None or old_bound[1] != new_bound[1]:
        return []
    whole = counts_in_whole_numbers(facts.field_type(b.left.dotted))
    held, holds = comparison(b.op, old_bound[0], whole), comparison(a.op, new_bound[0], whole)
    if held is None or holds is None:
        return []
    context = [_slice(book, part).strip() for part in after if part != a]
    where = f" (when {' and '.join(context)})" if context else ""
    fact, unit = b.left.dotted, old_bound[1]
    lost, gained = difference(held, holds, whole), difference(holds, held, whole)
    regions = [
        Region(now.id, f"{now.id}: {fact} {describe(part, whole, unit)}: {outcome}{where}")
        for parts, outcome in ((lost, "fires -> does not fire"), (gained, "does not fire -> fires"))
        for part in parts
    ]
    if not lost and not gained:
        values = "whole numbers" if whole else "values"
        regions.append(
            Region(
                now.id,
                f"{now.id}: {fact} {b.op} {_expr_text(b.right)} and {fact} {a.op} {_expr_text(a.right)} "
                f"admit the same {values}: no input changes",
            )
        )
    both = intersection(held, holds)
    if was.actions != now.actions and both is not None:
        then = "; ".join(_slice(old, step).strip() for step in was.actions)
        now_then = "; ".join(_slice(book, step).strip() for step in now.actions)
        still = f"{fact} {describe(both, whole, unit)}"
        regions.append(Region(now.id, f"{now.id}: {still} (fires before and after){where}: {then} -> {now_then}"))
    return regions


def _expr_text(expr: Any) -> str:
    if isinstance(expr, ast.Literal):
        return expr.text if expr.kind != "string" else f'"{expr.text}"'
    if isinstance(expr, ast.Path):
        return ".".join(expr.parts)
    if isinstance(expr, ast.ListExpr):
        return "[" + ", ".join(_expr_text(item) for item in expr.items) + "]"
    return "…"


def _cells_text(table: ast.Table, row: ast.TableRow) -> str:
    parts = []
    for column, cell in zip(table.inputs, row.inputs, strict=True):
        if isinstance(cell, ast.CellTest):
            parts.append(f"{_expr_text(column)} {cell.op} {_expr_text(cell.value)}")
    return ", ".join(parts) or "any input"


def _outputs_text(table: ast.Table, row: ast.TableRow) -> str:
    return ", ".join(
        f"{name} {_expr_text(value) if value is not None else '-'}"
        for name, value in zip(table.outputs, row.outputs, strict=True)
    )


def _changed_outputs(table: ast.Table) -> Callable[[ast.TableRow, ast.TableRow], str]:
    def changed(row: ast.TableRow, other: ast.TableRow) -> str:
        return ", ".join(
            f"{name} {_expr_text(b) if b is not None else '-'} -> {_expr_text(a) if a is not None else '-'}"
            for name, b, a in zip(table.outputs, row.outputs, other.outputs, strict=True)
            if b != a
        )

    return changed


def _table_regions(was: ast.Table, now: ast.Table, facts: Vocabulary) -> list[Region]:
    """Rows matched by their input cells (outputs changed, rows added, removed, masked or swapped),
    or a change of hit policy over the same rows. Only when the table's guard, inputs, outputs and
    actions are the same (else: no region)."""
    if (was.guard, was.inputs, was.outputs, was.actions) != (now.guard, now.inputs, now.outputs, now.actions):
        return []
    whole_columns = [
        isinstance(column, ast.Path) and counts_in_whole_numbers(facts.field_type(column.dotted))
        for column in now.inputs
    ]
    if (was.hit_policy, was.aggregation) != (now.hit_policy, now.aggregation):
        if was.rows != now.rows:
            return []  # the policy and the rows changed together: not said row by row
        sentences = policy_regions(was, now, whole_columns, _cells_text)
    else:
        found = row_regions(was, now, whole_columns, _cells_text, _outputs_text, _changed_outputs(now))
        if found is None:
            return []
        sentences = found
    return [Region(now.id, f"{now.id}: {sentence}") for sentence in sentences]
