"""Makes the AST of a decision table, checking its shape: hit policy, columns, row widths.

A table's cells are parsed one by one, each from the start rule its column needs (see
`ExpressionMaker.table_cell`); `cell_bounds` finds them, here and in a test's examples.
"""

from __future__ import annotations

from typing import Any

from lark import Tree

from dsl import ast
from dsl.diagnostics import did_you_mean
from dsl.tree_expressions import Effective, ExpressionMaker, Position, WhenClause, unquote

HIT_POLICIES = ("unique", "first", "priority", "collect")
AGGREGATIONS = ("min", "max", "sum", "count")


class TableMaker(ExpressionMaker):
    """The makers of a table and of the cells its rows are read into."""

    def table(self, children: list[Any], position: Position) -> ast.Table | None:
        table_id, label, phase_tree, *rest = children
        hit_policy, aggregation, hit_span = "", None, self.span(phase_tree)
        guard = None
        rows: list[Tree] = []
        actions: tuple[ast.Step, ...] = ()
        dates: dict[str, Any] = {}
        for child in rest:
            if isinstance(child, WhenClause):
                guard = child.condition
            elif isinstance(child, tuple):
                actions = child
            elif isinstance(child, Effective):
                dates = child.fields()
            elif not isinstance(child, Tree):
                continue
            elif child.data == "hit_policy":
                hit_policy = str(child.children[0])
                aggregation = str(child.children[1]) if len(child.children) > 1 else None
                hit_span = self.span(child)
            elif child.data == "table_row":
                rows.append(child)
        span = self.at(position)
        if len(phase_tree.children) > 2:
            self.error(
                "table.scope",
                f"table `{table_id}` runs for each service; only a rule runs for the encounter",
                self.span(phase_tree.children[2]),
                "write the table's rows as rules `in ... for the encounter`, or drop `for ...`",
            )
            return None
        if not hit_policy:
            self.error(
                "table.missing_hit_policy",
                f"table `{table_id}` does not say what happens when several rows match",
                self.span(phase_tree),
                "add a line `hit first`, `hit unique`, `hit priority` or `hit collect max` after the phase",
            )
            return None
        if hit_policy not in HIT_POLICIES:
            guess = did_you_mean(hit_policy, HIT_POLICIES)
            self.error(
                "table.unknown_hit_policy",
                f"`{hit_policy}` is not a hit policy",
                hit_span,
                f"did you mean `{guess}`?" if guess else "use unique, first, priority or collect",
            )
            return None
        if aggregation is not None and (hit_policy != "collect" or aggregation not in AGGREGATIONS):
            self.error(
                "table.bad_aggregation",
                f"`{aggregation}` cannot follow `hit {hit_policy}`",
                hit_span,
                "only `hit collect` takes min, max, sum or count",
            )
            return None
        heading_row, *body = rows
        headings = [self.table_cell(begin, end, "header_cell") for begin, end in cell_bounds(self, heading_row)]
        if any(h is None for h in headings):
            return None
        inputs = tuple(h[1] for h in headings if h[0] == "input")
        outputs = tuple(h[1] for h in headings if h[0] == "output")
        if not outputs and not actions:
            self.error(
                "table.no_output",
                f"table `{table_id}` has no output column and no `then` actions",
                self.span(heading_row),
                "add a column `=> name` or a `then` block that uses the row",
            )
        kinds = [h[0] for h in headings]
        table_rows: list[ast.TableRow] = []
        for row in body:
            bounds = cell_bounds(self, row)
            if len(bounds) != len(kinds):
                self.error(
                    "table.row_width",
                    f"this row has {len(bounds)} cells but the table has {len(kinds)} columns",
                    self.span(row),
                    "every row needs one cell per column, `-` for any value",
                )
                continue
            cells = [
                self.table_cell(b, e, "input_cell" if k == "input" else "output_cell")
                for (b, e), k in zip(bounds, kinds, strict=True)
            ]
            if any(c is None for c in cells):
                continue
            input_cells = tuple(c for c, k in zip(cells, kinds, strict=True) if k == "input")
            output_cells = tuple(c for c, k in zip(cells, kinds, strict=True) if k == "output")
            table_rows.append(ast.TableRow(input_cells, output_cells, self.span(row)))
        return ast.Table(
            str(table_id),
            unquote(label),
            str(phase_tree.children[1]),
            hit_policy,
            aggregation,
            guard,
            inputs,
            outputs,
            tuple(table_rows),
            actions,
            span,
            self.span(phase_tree.children[1]),
            hit_span,
            **dates,
        )

    # The start rules of cells, and the alternatives of their first rules.
    def only_child(self, children: list[Any], position: Position) -> Any:
        return children[0]

    def output_cell(self, children: list[Any], position: Position) -> ast.Expr:
        return self.expr(children[0])

    def output_column(self, children: list[Any], position: Position) -> tuple[str, str]:
        return ("output", str(children[1]))

    def input_column(self, children: list[Any], position: Position) -> tuple[str, ast.Expr]:
        return ("input", self.expr(children[0]))

    def any_value(self, children: list[Any], position: Position) -> ast.AnyValue:
        return ast.AnyValue(self.at(position))

    def no_output(self, children: list[Any], position: Position) -> ast.Literal:
        return ast.Literal("name", "-", self.at(position))

    def cell_compare(self, children: list[Any], position: Position) -> ast.CellTest:
        return ast.CellTest(children[0], self.expr(children[1]), self.at(position))

    def cell_match(self, children: list[Any], position: Position) -> ast.CellTest:
        negated = len(children) == 2
        value_node = self.expr(children[-1])
        is_set = isinstance(value_node, ast.ListExpr | ast.CodeRange | ast.Union) or (
            isinstance(value_node, ast.Literal) and value_node.kind == "code" and "*" in value_node.text
        )
        op = ("not in" if negated else "in") if is_set else ("!=" if negated else "=")
        return ast.CellTest(op, value_node, self.at(position))


def cell_bounds(builder: ExpressionMaker, row: Tree) -> list[tuple[int, int]]:
    """The source bounds of each cell of a `| a | b |` row, quotes respected."""
    start = builder.offset + row.meta.start_pos
    end = builder.offset + row.meta.end_pos
    text = builder.text
    bounds: list[tuple[int, int]] = []
    position = start + 1
    cell_start = position
    in_string = False
    while position < end:
        char = text[position]
        if in_string and char == "\\":
            position += 2  # an escaped character, `\"` or `\\` alike, as the STRING terminal reads it
            continue
        if char == '"':
            in_string = not in_string
        elif char == "|" and not in_string:
            bounds.append((cell_start, position))
            cell_start = position + 1
        position += 1
    return bounds
