"""Makes the AST of a test: its `given` facts, its expectations and its examples table."""

from __future__ import annotations

import re
from typing import Any

from lark import Token, Tree

from dsl import ast
from dsl.tree_expressions import ExpressionMaker, Position, unquote
from dsl.tree_tables import cell_bounds


class RulebookTestMaker(ExpressionMaker):
    """The makers of a `test` block and its expectations; `record` and `record_field`, which
    its `given` facts are made of, are expressions (see `dsl.tree_expressions`)."""

    def test(self, children: list[Any], position: Position) -> ast.Test:
        name, *statements = children
        given: list[ast.RecordField] = []
        expectations: list[ast.Expectation] = []
        examples: list[ast.Example] = []
        columns: tuple[str, ...] = ()
        for statement in statements:
            if not isinstance(statement, Tree):
                continue
            made = statement.children[0]  # by `record` or `expectation`, for `given` or `expect`
            if statement.data == "given" and isinstance(made, ast.Record):
                given.extend(made.fields)
            elif statement.data == "expect" and isinstance(made, ast.Expectation):
                expectations.append(made)
            elif statement.data == "examples":
                columns, rows = self.examples(statement)
                examples.extend(rows)
        return ast.Test(unquote(name), tuple(given), tuple(expectations), tuple(examples), columns, self.at(position))

    def examples(self, statement: Tree) -> tuple[tuple[str, ...], list[ast.Example]]:
        heading_row, *rows = [c for c in statement.children if isinstance(c, Tree)]
        headings = [self.text[b:e].strip() for b, e in cell_bounds(self, heading_row)]
        if "expect" not in headings:
            self.error(
                "test.examples_without_expect",
                "an examples table needs an `expect` column",
                self.span(heading_row),
                "add a last column `expect` saying what each row should produce",
            )
            return (), []
        fact_columns: list[ast.Path] = []
        for (begin, end), heading in zip(cell_bounds(self, heading_row), headings, strict=True):
            if heading != "expect":
                parsed = self.table_cell(begin, end, "header_cell")
                if parsed is None or not isinstance(parsed[1], ast.Path):
                    self.error("test.examples_heading", f"`{heading}` is not a fact name", self.index.span(begin, end))
                    return (), []
                fact_columns.append(parsed[1])
        examples: list[ast.Example] = []
        for row in rows:
            bounds = cell_bounds(self, row)
            if len(bounds) != len(headings):
                self.error(
                    "table.row_width",
                    f"this row has {len(bounds)} cells but the examples have {len(headings)} columns",
                    self.span(row),
                )
                continue
            facts: list[ast.RecordField] = []
            expectations: list[ast.Expectation] = []
            paths = iter(fact_columns)
            for (begin, end), heading in zip(bounds, headings, strict=True):
                if heading == "expect":
                    parts = _split_expectations(self.text, begin, end)
                    for part_begin, part_end in parts:
                        expectation = self.table_cell(part_begin, part_end, "expect_cell")
                        if expectation is not None:
                            expectations.append(expectation)
                else:
                    path = next(paths)
                    value = self.table_cell(begin, end, "output_cell")
                    if value is not None and not (isinstance(value, ast.Literal) and value.text == "-"):
                        facts.append(ast.RecordField(path, value, self.index.span(begin, end)))
            examples.append(ast.Example(tuple(facts), tuple(expectations), self.span(row)))
        return tuple(p.dotted for p in fact_columns), examples

    def expectation(self, children: list[Any], position: Position) -> ast.Expectation:
        negated = False
        words: list[ast.Expr] = []
        because = None
        for child in children:
            if isinstance(child, Token) and child.type == "NO" and not words:
                negated = True
            elif isinstance(child, Tree) and child.data == "because":
                because = str(child.children[1])
            elif child is not None:
                words.append(self.word(child))
        return ast.Expectation(negated, tuple(words), because, self.at(position))


def _split_expectations(text: str, begin: int, end: int) -> list[tuple[int, int]]:
    """An examples cell may hold several expectations separated by `;`."""
    parts: list[tuple[int, int]] = []
    cursor = begin
    for match in re.finditer(";", text[begin:end]):
        parts.append((cursor, begin + match.start()))
        cursor = begin + match.end()
    parts.append((cursor, end))
    return [(b, e) for b, e in parts if text[b:e].strip()]
