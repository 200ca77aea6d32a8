"""Checks of decision tables: cell types, output types, gaps, overlaps and masked rows.

A mixin of `dsl.checker.Checker`, kept apart because tables are their own idea: columns typed
from their heading, outputs typed from the action they fill, and the representative-value
analysis of `dsl.analysis`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dsl import ast
from dsl.analysis import OTHER, analyse_table
from dsl.typecheck import Scope
from dsl.values import CodeSet
from dsl.vocabulary import ActionSpec, Type, Vocabulary, list_of

if TYPE_CHECKING:
    from dsl.checker import CheckResult
    from dsl.typecheck import Typer


class TableChecks:
    """Needs from its host (`Checker`): vocabulary, typer, result, error(), warn(), phase(), dates(),
    steps(), missing_guards()."""

    if TYPE_CHECKING:
        vocabulary: Vocabulary
        typer: Typer
        result: CheckResult
        under: list[ast.Expr]

        def error(self, code_: str, message: str, span: ast.Span, hint: str | None = None) -> None: ...
        def warn(self, code_: str, message: str, span: ast.Span, hint: str | None = None) -> None: ...
        def phase(self, phase: str, span: ast.Span) -> bool: ...
        def dates(self, node: ast.Header | ast.Rule | ast.Table, code_: str, what: str) -> None: ...
        def steps(self, steps: tuple[ast.Step, ...], scope: Scope, phase: str | None) -> None: ...
        def missing_guards(self, rule_id: str, read_before: int) -> None: ...

    # ---- tables ---------------------------------------------------------------------------------

    def table(self, table: ast.Table) -> None:
        phase_ok = self.phase(table.phase, table.phase_span)
        self.dates(table, "rule.dates", f"table `{table.id}`")
        self.typer.guarded = set()
        read_before = len(self.typer.fields_read)
        if table.guard is not None:
            self.typer.condition(table.guard, Scope())
        column_types: list[Type | None] = [self.typer.infer(column, Scope()) for column in table.inputs]
        cells_by_row: list[list[tuple[str, Any] | None]] = []
        for row in table.rows:
            cells: list[tuple[str, Any] | None] = []
            for cell, column_type in zip(row.inputs, column_types, strict=True):
                if isinstance(cell, ast.AnyValue) or column_type is None:
                    cells.append(None)
                    continue
                expected = list_of(column_type) if cell.op in ("in", "not in") else column_type
                if column_type.kind == "list" and cell.op in ("=", "in"):
                    expected = column_type
                elif self.names_a_valueset(cell, column_type):
                    cells.append(None)
                    continue
                self.typer.coerce(cell.value, expected, Scope())
                constant = self.typer.constants.get(id(cell.value))
                cells.append((cell.op, constant) if constant is not None else None)
            cells_by_row.append(cells)
        outputs: dict[str, Type | None] = {}
        used_as = self.output_uses(table)
        for index, name in enumerate(table.outputs):
            found: Type | None = used_as.get(name)
            for row in table.rows:
                value = row.outputs[index]
                if value is None or (isinstance(value, ast.Literal) and value.text == "-"):
                    continue
                if found is None:
                    found = self.typer.infer(value, Scope(), quiet=True) or Type("symbol")
                    if found.kind == "symbol":
                        self.typer.coerce(value, found, Scope())
                else:
                    self.typer.coerce(value, found, Scope())
            outputs[name] = found
        self.result.output_types[table.id] = outputs
        if table.aggregation in ("min", "max", "sum"):
            for name, type_ in outputs.items():
                if type_ is not None and type_.kind not in ("number", "quantity"):
                    self.error(
                        "table.aggregation_type",
                        f"`collect {table.aggregation}` needs numbers, but output `{name}` is {type_.describe()}",
                        table.hit_span,
                    )
        scope = Scope(outputs={name: t or Type("symbol") for name, t in outputs.items()})
        self.under = [] if table.guard is None else [table.guard]
        self.steps(table.actions, scope, table.phase if phase_ok else None)
        self.missing_guards(table.id, read_before)
        self.table_findings(table, column_types, cells_by_row)

    def names_a_valueset(self, cell: ast.CellTest, column_type: Type) -> bool:
        """A cell `| biologics |` in a column of single values would compare each value with the
        whole set and never match: say so (a cell's set is written out, `[J0517, J3357]`)."""
        value = cell.value
        if not (isinstance(value, ast.Path) and len(value.parts) == 1 and cell.op in ("=", "!=")):
            return False
        name = value.parts[0]
        if not self.typer.rulebook_set(name) and name not in self.vocabulary.value_sets:
            return False
        self.typer.used_valuesets.add(name)
        self.error(
            "table.valueset_cell",
            f"`{name}` is a value set, but a cell in this column holds one value to compare with "
            f"{column_type.describe()}",
            value.span,
            f"write its values in the cell as a list such as `[J0517, J3357]`, or test `... in {name}` in the "
            "table's `when`",
        )
        return True

    def output_uses(self, table: ast.Table) -> dict[str, Type]:
        """The type each output must have, from the action argument it fills in `then`."""
        uses: dict[str, Type] = {}

        def visit(steps: tuple[ast.Step, ...]) -> None:
            for step in steps:
                if isinstance(step, ast.Conditional):
                    visit(step.then)
                    visit(step.otherwise)
                    continue
                for spec in self.vocabulary.actions:
                    arguments = match_action(spec, step.words)
                    if arguments is None:
                        continue
                    for name, value in arguments:
                        if isinstance(value, ast.Path) and value.parts[0] in table.outputs and len(value.parts) == 1:
                            uses.setdefault(value.parts[0], spec.param_type(name))
                    break

        visit(table.actions)
        return uses

    def table_findings(
        self, table: ast.Table, column_types: list[Type | None], cells_by_row: list[list[tuple[str, Any] | None]]
    ) -> None:
        names = [_describe_column(column) for column in table.inputs]
        findings = analyse_table(list(zip(names, column_types, strict=True)), cells_by_row, table.hit_policy)
        for finding in findings:
            example = ", ".join(f"{name} = {_show(value)}" for name, value in finding.example)
            if finding.kind == "gap" and table.hit_policy != "collect":
                self.warn(
                    "table.gap",
                    f"no row of table `{table.id}` matches some inputs, e.g. {example}",
                    table.span,
                    "add a row for them, or a last row of `-` cells as the default",
                )
            elif finding.kind == "overlap":
                first, second = (table.rows[i] for i in finding.rows)
                self.error(
                    "table.overlap",
                    f"rows on lines {first.span.line} and {second.span.line} both match "
                    f"{example}, but the table is `hit unique`",
                    second.span,
                    "make the rows exclusive, or use `hit first` if the order decides",
                )
            elif finding.kind == "masked":
                row = table.rows[finding.rows[0]]
                self.warn(
                    "table.masked_row",
                    "this row can never be the first match: rows above it match every input it matches",
                    row.span,
                    "move it up, or remove it",
                )


def match_action(spec: ActionSpec, words: tuple[ast.Expr, ...]) -> list[tuple[str, ast.Expr]] | None:
    template = spec.words
    if len(template) != len(words):
        return None
    arguments: list[tuple[str, ast.Expr]] = []
    for expected, word in zip(template, words, strict=True):
        if expected.startswith("{") and expected.endswith("}"):
            if isinstance(word, ast.Literal) and word.kind == "name":
                word = ast.Path((word.text,), word.span)
            arguments.append((expected[1:-1], word))
        elif word_of(word) != expected:
            return None
    return arguments


def word_of(expr: ast.Expr) -> str | None:
    if isinstance(expr, ast.Literal) and expr.kind == "name":
        return expr.text
    if isinstance(expr, ast.Path) and len(expr.parts) == 1:
        return expr.parts[0]
    return None


def _describe_column(column: ast.Expr) -> str:
    return column.dotted if isinstance(column, ast.Path) else "column"


def _show(value: Any) -> str:
    if value == OTHER:
        return "another value"
    if isinstance(value, CodeSet):
        return ", ".join(value.describe())
    return str(value)
