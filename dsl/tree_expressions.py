"""The base every node maker of `TreeToAst` builds on: positions, expressions and conditions.

Every item is made of expressions placed in the file, so the makers of items (`dsl.tree_items`,
`dsl.tree_tables`, `dsl.tree_tests`) all extend `ExpressionMaker`, and `dsl.parse_tree` puts them
together. A method named after a grammar rule makes that rule's node (see `dsl.parse_tree`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from lark import Token, Tree

from dsl import ast
from dsl.diagnostics import Diagnostic, LineIndex

LITERAL_KINDS = {"NUMBER": "number", "QUANTITY": "quantity", "DATE": "date", "STRING": "string", "CODE": "code"}
WORD_TOKENS = frozenset(("NAME", "IN", "FOR", "NO", "BECAUSE", "NOT"))
# A table cell's value (see `ExpressionMaker.table_cell`) or what is wrong with it.
CellParser = Callable[[str, int, int], Any]
# (start_pos, line, column, end_pos, end_line, end_column) relative to the block, or None.
Position = tuple[int, int, int, int, int, int] | None
new_object = object.__new__


class ExpressionMaker:
    """The state of one block's or cell's making (the file's text, where the block starts, the
    diagnostics so far), spans in the file, and the nodes of expressions."""

    def __init__(self, text: str, index: LineIndex, offset: int, cell_parser: CellParser) -> None:
        self.text = text
        self.index = index
        self.offset = offset
        self.cell_parser = cell_parser
        self.diagnostics: list[Diagnostic] = []
        line, column = index.position(offset)
        self.line_offset, self.column_offset = line - 1, column - 1

    # ---- positions --------------------------------------------------------------------

    def at(self, position: Position) -> ast.Span:
        """Lark's own line/column, shifted to where this block or cell starts in the file."""
        if position is None:
            return self.index.span(self.offset, self.offset)
        start_pos, line, column, end_pos, end_line, end_column = position
        # ast.Span(...) would set each field through object.__setattr__, as a frozen dataclass does;
        # filling the new object's attributes in place costs a quarter of that, for spans made by the thousand.
        span = new_object(ast.Span)
        fields = span.__dict__
        fields["start"] = self.offset + start_pos
        fields["end"] = self.offset + end_pos
        fields["line"] = line + self.line_offset
        fields["column"] = column + (self.column_offset if line == 1 else 0)
        fields["end_line"] = end_line + self.line_offset
        fields["end_column"] = end_column + (self.column_offset if end_line == 1 else 0)
        return span

    def span(self, node: Tree | Token) -> ast.Span:
        """The span of a token, or of a tree left as a tree."""
        if isinstance(node, Token):
            start_pos, line, column = node.start_pos or 0, node.line or 1, node.column or 1
            return self.at(
                (start_pos, line, column, node.end_pos or start_pos, node.end_line or line, node.end_column or column)
            )
        meta = node.meta
        if meta.empty:
            return self.at(None)
        return self.at((meta.start_pos, meta.line, meta.column, meta.end_pos, meta.end_line, meta.end_column))

    def error(self, code: str, message: str, span: ast.Span, hint: str | None = None) -> None:
        self.diagnostics.append(Diagnostic("error", code, message, span, hint))

    def table_cell(self, begin: int, end: int, start: str) -> Any:
        """The cell `text[begin:end]` parsed from the start rule its column needs, or None if broken."""
        result = self.cell_parser(start, begin, end)
        if isinstance(result, Diagnostic):
            self.diagnostics.append(result)
            return None
        return result

    def word(self, node: Any) -> ast.Expr:
        """A word of an action or expectation sentence: a name even where it is also a keyword."""
        if isinstance(node, Token) and node.type in WORD_TOKENS:
            return ast.Literal("name", str(node), self.span(node))
        return self.expr(node)

    # ---- expressions ------------------------------------------------------------------------------

    def expr(self, node: Any) -> ast.Expr:
        """An expression: a token is a literal, anything else was made by its rule's method."""
        if not isinstance(node, Token):
            return node
        kind = LITERAL_KINDS.get(node.type, "name")
        text = unquote(node) if kind == "string" else str(node)
        if kind == "quantity":
            text = quantity_text(node)
        return ast.Literal(kind, text, self.span(node))

    def operands(self, children: list[Any]) -> tuple[ast.Expr, ...]:
        """The operands of `a or b`, `a and b` or `a + b`: every other child, between the operators."""
        return tuple([self.expr(c) if isinstance(c, Token) else c for c in children[::2]])

    def path(self, children: list[Any], position: Position) -> ast.Path:
        return ast.Path(tuple([c.value for c in children]), self.at(position))  # `.value`: a str, not a copy

    def or_expr(self, children: list[Any], position: Position) -> ast.BoolOp:
        return ast.BoolOp("or", self.operands(children), self.at(position))

    def and_expr(self, children: list[Any], position: Position) -> ast.BoolOp:
        return ast.BoolOp("and", self.operands(children), self.at(position))

    def negation(self, children: list[Any], position: Position) -> ast.Not:
        return ast.Not(self.expr(children[1]), self.at(position))

    def compare(self, children: list[Any], position: Position) -> ast.Compare:
        left, op, right = children
        return ast.Compare(op, self.expr(left), self.expr(right), self.at(position))

    def comp_op(self, children: list[Any], position: Position) -> str:
        return str(children[0])

    def member(self, children: list[Any], position: Position) -> ast.Member:
        return ast.Member("in", self.expr(children[0]), self.expr(children[2]), self.at(position))

    def not_member(self, children: list[Any], position: Position) -> ast.Member:
        return ast.Member("not in", self.expr(children[0]), self.expr(children[3]), self.at(position))

    def set_test(self, children: list[Any], position: Position) -> ast.Member:
        return ast.Member(f"{children[1]} in", self.expr(children[0]), self.expr(children[3]), self.at(position))

    def union(self, children: list[Any], position: Position) -> ast.Union:
        return ast.Union(self.operands(children), self.at(position))

    def quantified(self, children: list[Any], position: Position) -> ast.Quantified:
        quantifier, variable, _, collection, condition = children
        return ast.Quantified(quantifier, str(variable), self.expr(collection), self.expr(condition), self.at(position))

    def each(self, children: list[Any], position: Position) -> ast.Quantified:
        """`each x in xs: condition`, the filter of `count(...)`: a quantifier named `each`."""
        _, variable, _, collection, condition = children
        return ast.Quantified("each", str(variable), self.expr(collection), self.expr(condition), self.at(position))

    def quantifier(self, children: list[Any], position: Position) -> str:
        return str(children[0])

    def call(self, children: list[Any], position: Position) -> ast.Call:
        function, *args = children
        return ast.Call(str(function), tuple(self.expr(a) for a in args if a is not None), self.at(position))

    def list_expr(self, children: list[Any], position: Position) -> ast.ListExpr:
        return ast.ListExpr(tuple(self.expr(c) for c in children if c is not None), self.at(position))

    def code_range(self, children: list[Any], position: Position) -> ast.CodeRange:
        low, _, high = children
        low_node, high_node = self.expr(low), self.expr(high)
        assert isinstance(low_node, ast.Literal) and isinstance(high_node, ast.Literal)  # code_bound tokens
        return ast.CodeRange(low_node, high_node, self.at(position))

    # ---- conditions and records -------------------------------------------------------------

    def when_clause(self, children: list[Any], position: Position) -> WhenClause:
        return WhenClause(self.expr(children[0]))

    def effective(self, children: list[Any], position: Position) -> Effective:
        """`effective DATE [until DATE]` of a rulebook, a rule or a table."""
        first, *until = children
        from_span = self.span(first)
        if not until:
            return Effective(str(first), None, from_span, from_span)
        last = until[0].children[0]
        return Effective(str(first), str(last), from_span, self.span(last))

    def record(self, children: list[Any], position: Position) -> ast.Record:
        return ast.Record(tuple(child for child in children if isinstance(child, ast.RecordField)), self.at(position))

    def record_field(self, children: list[Any], position: Position) -> ast.RecordField:
        path, value = children
        path_node = self.expr(path)
        assert isinstance(path_node, ast.Path)  # the grammar's record_field starts with a path
        return ast.RecordField(path_node, self.expr(value), self.at(position))


class WhenClause:
    """A `when` line's condition, told apart from the other clauses of a rule or table by its class."""

    __slots__ = ("condition",)

    def __init__(self, condition: ast.Expr) -> None:
        self.condition = condition


class Effective:
    """An `effective` line's dates as written (checked as dates by the checker), with their spans."""

    __slots__ = ("effective_from", "effective_until", "from_span", "until_span")

    def __init__(self, effective_from: str, effective_until: str | None, from_span: ast.Span, until_span: ast.Span):
        self.effective_from, self.effective_until = effective_from, effective_until
        self.from_span, self.until_span = from_span, until_span

    def fields(self) -> dict[str, Any]:
        """The dates as the keyword arguments of a dated node (`ast.Header`, `ast.Rule`, `ast.Table`)."""
        return {
            "effective_from": self.effective_from,
            "effective_until": self.effective_until,
            "from_span": self.from_span,
            "until_span": self.until_span,
        }


def unquote(token: Any) -> str:
    """The text of a STRING token: its quotes dropped, its escapes read."""
    text = str(token)[1:-1]
    return re.sub(r"\\(.)", r"\1", text) if "\\" in text else text


def quantity_text(token: Any) -> str:
    """`10lesions`, `10  lesions` and `10 lesions` are the same quantity, written one way."""
    match = re.match(r"(\d+(?:\.\d+)?)[ \t]*(\S+)", str(token))
    assert match is not None
    return f"{match.group(1)} {match.group(2)}"
