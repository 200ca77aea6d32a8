"""Turns a parse into `dsl.ast`: the one place that knows Lark's tree shapes.

One method per grammar rule makes that rule's node from its children, as Lark's transformers
do: the children are already `dsl.ast` nodes, Lark tokens, or `Tree`s of the few rules with no
method of their own (clauses only their parent reads). The fast reader (`dsl.lalr`) calls the
methods in `BUILDERS` as it reduces, so a clean block never becomes a Lark tree at all; a tree
Lark parsed goes through `transform`, which calls the very same methods bottom-up. The span a
method is given is Lark's position of the node relative to the block or cell, None for a node
that covers no text.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from lark import Token, Tree

from dsl import ast
from dsl.diagnostics import Diagnostic, LineIndex

HIT_POLICIES = ("unique", "first", "priority", "collect")
AGGREGATIONS = ("min", "max", "sum", "count")
LITERAL_KINDS = {"NUMBER": "number", "QUANTITY": "quantity", "DATE": "date", "STRING": "string", "CODE": "code"}
WORD_TOKENS = frozenset(("NAME", "IN", "FOR", "NO", "BECAUSE", "NOT"))
# A table cell's value (see `TreeToAst.table_cell`) or what is wrong with it.
CellParser = Callable[[str, int, int], Any]
# (start_pos, line, column, end_pos, end_line, end_column) relative to the block, or None.
Position = tuple[int, int, int, int, int, int] | None
new_object = object.__new__


class TreeToAst:
    def __init__(self, text: str, index: LineIndex, offset: int, cell_parser: CellParser) -> None:
        self.text = text
        self.index = index
        self.offset = offset
        self.cell_parser = cell_parser
        self.diagnostics: list[Diagnostic] = []
        line, column = index.position(offset)
        self.line_offset, self.column_offset = line - 1, column - 1

    def transform(self, node: Any) -> Any:
        """The value of a tree Lark parsed, made bottom-up by the methods the fast reader calls."""
        if not isinstance(node, Tree):
            return node
        children = [self.transform(child) for child in node.children]
        meta = node.meta
        position = None if meta.empty else (meta.start_pos, meta.line, meta.column, meta.end_pos, meta.end_line,
                                            meta.end_column)
        make = BUILDERS.get(node.data)
        return Tree(node.data, children, meta) if make is None else make(self, children, position)

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
            return self.at((start_pos, line, column, node.end_pos or start_pos, node.end_line or line,
                            node.end_column or column))
        meta = node.meta
        if meta.empty:
            return self.at(None)
        return self.at((meta.start_pos, meta.line, meta.column, meta.end_pos, meta.end_line, meta.end_column))

    def error(self, code: str, message: str, span: ast.Span, hint: str | None = None) -> None:
        self.diagnostics.append(Diagnostic("error", code, message, span, hint))

    # ---- file and items -------------------------------------------------------------------

    def start(self, children: list[Any], position: Position) -> ast.Rulebook:
        header = None
        items: list[ast.Item] = []
        for child in children:
            if isinstance(child, ast.Header):
                header = child
            elif child is not None:  # None: a table whose mistakes are reported
                items.append(child)
        return ast.Rulebook(header, tuple(items))

    @staticmethod
    def attach_comments(rulebook: ast.Rulebook, comments: list[Token], index: LineIndex) -> ast.Rulebook:
        """Each comment goes to the item it precedes or sits in.

        A comment above an item is printed above it; one inside an item (or at the end of an
        item's line) is kept with its offset, so the formatter puts it back beside the statement
        it was written at instead of moving it above the whole rule.
        """
        if not comments:
            return rulebook
        items_list = rulebook.items
        starts = [item.span.start for item in items_list]
        by_item: dict[int, list[str]] = {}
        inner: dict[int, list[ast.Comment]] = {}
        trailing: list[str] = []
        header_end = rulebook.header.span.end if rulebook.header else -1
        leading: list[str] = []
        text_of = index.text
        for comment in sorted(comments, key=lambda c: c.start_pos or 0):
            position = comment.start_pos or 0
            text = comment.value.rstrip()
            if position < header_end:
                leading.append(text)
                continue
            line_start = text_of.rfind("\n", 0, position) + 1
            end_of_line = bool(text_of[line_start:position].strip())
            owner = bisect_right(starts, position) - 1  # the last item starting before the comment
            if owner >= 0 and (end_of_line or position < items_list[owner].span.end):
                on_last_line = end_of_line and line_start >= _last_code_line(text_of, items_list[owner].span, comments)
                inner.setdefault(owner, []).append(ast.Comment(position, text, end_of_line, on_last_line))
                continue
            if owner + 1 < len(items_list):
                by_item.setdefault(owner + 1, []).append(text)
            else:
                trailing.append(text)
        items = tuple(
            replace(item, comments=tuple(by_item.get(number, ())), inner_comments=tuple(inner.get(number, ())))
            if number in by_item or number in inner else item
            for number, item in enumerate(items_list)
        )
        if rulebook.header is not None and leading:
            # Comments inside the header are printed before the first item.
            if items:
                items = (replace(items[0], comments=tuple(leading) + items[0].comments), *items[1:])
            else:
                trailing = leading + trailing
        return ast.Rulebook(rulebook.header, items, rulebook.span, tuple(trailing))

    def header(self, children: list[Any], position: Position) -> ast.Header:
        name = _string(children[0])
        payer = None
        extends: list[str] = []
        effective_from = effective_until = template_note = None
        span = from_span = until_span = self.at(position)
        for child in children[1:]:
            if not isinstance(child, Tree):
                continue
            if child.data == "payer_clause":
                payer = str(child.children[0])
            elif child.data == "extends":
                extends.append(_string(child.children[0]))
            elif child.data == "effective":
                effective_from = str(child.children[0])
                from_span = self.span(child.children[0])
                if len(child.children) > 1 and isinstance(child.children[1], Tree):
                    effective_until = str(child.children[1].children[0])
                    until_span = self.span(child.children[1].children[0])
            elif child.data == "template":
                template_note = _string(child.children[0])
        return ast.Header(name, payer, tuple(extends), effective_from, effective_until, template_note,
                          span, from_span, until_span)

    def valueset(self, children: list[Any], position: Position) -> ast.ValueSet:
        name, value = children
        return ast.ValueSet(str(name), self.expr(value), self.at(position))

    def disable(self, children: list[Any], position: Position) -> ast.Disable:
        rule_id, why = children
        return ast.Disable(str(rule_id), _string(why), self.at(position))

    def rule(self, children: list[Any], position: Position) -> ast.Rule:
        rule_id, label, phase_tree, *rest = children
        condition = None
        actions: tuple[ast.Step, ...] = ()
        for child in rest:
            if isinstance(child, WhenClause):
                condition = child.condition
            elif isinstance(child, tuple):
                actions = child
        phase = phase_tree.children[1]
        return ast.Rule(str(rule_id), _string(label), str(phase), condition, actions, self.at(position),
                        self.span(phase))

    def when_clause(self, children: list[Any], position: Position) -> WhenClause:
        return WhenClause(self.expr(children[0]))

    def then_clause(self, children: list[Any], position: Position) -> tuple[ast.Step, ...]:
        steps: list[ast.Step] = []
        for line in children:
            steps.extend(_steps(line))
        return tuple(steps)

    def action_seq(self, children: list[Any], position: Position) -> list[ast.Step]:
        return [child for child in children if isinstance(child, ast.Action)]  # the `and`s left out

    def conditional(self, children: list[Any], position: Position) -> ast.Conditional:
        condition, then_seq, *rest = children
        otherwise: list[ast.Step] = []
        for child in rest:
            if child is not None:
                otherwise.extend(_steps(child))
        return ast.Conditional(self.expr(condition), tuple(then_seq), tuple(otherwise), self.at(position))

    def action(self, children: list[Any], position: Position) -> ast.Action:
        return ast.Action(tuple(self.word(child) for child in children), self.at(position))

    def word(self, node: Any) -> ast.Expr:
        if isinstance(node, Token) and node.type in WORD_TOKENS:
            return ast.Literal("name", str(node), self.span(node))
        return self.expr(node)

    # ---- tables -----------------------------------------------------------------------------

    def table(self, children: list[Any], position: Position) -> ast.Table | None:
        table_id, label, phase_tree, *rest = children
        hit_policy, aggregation, hit_span = "", None, self.span(phase_tree)
        guard = None
        rows: list[Tree] = []
        actions: tuple[ast.Step, ...] = ()
        for child in rest:
            if isinstance(child, WhenClause):
                guard = child.condition
            elif isinstance(child, tuple):
                actions = child
            elif not isinstance(child, Tree):
                continue
            elif child.data == "hit_policy":
                hit_policy = str(child.children[0])
                aggregation = str(child.children[1]) if len(child.children) > 1 else None
                hit_span = self.span(child)
            elif child.data == "table_row":
                rows.append(child)
        span = self.at(position)
        if not hit_policy:
            self.error("table.missing_hit_policy",
                       f"table `{table_id}` does not say what happens when several rows match",
                       self.span(phase_tree),
                       "add a line `hit first`, `hit unique`, `hit priority` or `hit collect max` after the phase")
            return None
        if hit_policy not in HIT_POLICIES:
            from dsl.diagnostics import did_you_mean

            guess = did_you_mean(hit_policy, HIT_POLICIES)
            self.error("table.unknown_hit_policy", f"`{hit_policy}` is not a hit policy", hit_span,
                       f"did you mean `{guess}`?" if guess else "use unique, first, priority or collect")
            return None
        if aggregation is not None and (hit_policy != "collect" or aggregation not in AGGREGATIONS):
            self.error("table.bad_aggregation", f"`{aggregation}` cannot follow `hit {hit_policy}`", hit_span,
                       "only `hit collect` takes min, max, sum or count")
            return None
        heading_row, *body = rows
        headings = [self.table_cell(begin, end, "header_cell") for begin, end in _cells(self, heading_row)]
        if any(h is None for h in headings):
            return None
        inputs = tuple(h[1] for h in headings if h[0] == "input")
        outputs = tuple(h[1] for h in headings if h[0] == "output")
        if not outputs and not actions:
            self.error("table.no_output", f"table `{table_id}` has no output column and no `then` actions",
                       self.span(heading_row), "add a column `=> name` or a `then` block that uses the row")
        kinds = [h[0] for h in headings]
        table_rows: list[ast.TableRow] = []
        for row in body:
            bounds = _cells(self, row)
            if len(bounds) != len(kinds):
                self.error("table.row_width",
                           f"this row has {len(bounds)} cells but the table has {len(kinds)} columns",
                           self.span(row), "every row needs one cell per column, `-` for any value")
                continue
            cells = [self.table_cell(b, e, "input_cell" if k == "input" else "output_cell")
                     for (b, e), k in zip(bounds, kinds, strict=True)]
            if any(c is None for c in cells):
                continue
            input_cells = tuple(c for c, k in zip(cells, kinds, strict=True) if k == "input")
            output_cells = tuple(c for c, k in zip(cells, kinds, strict=True) if k == "output")
            table_rows.append(ast.TableRow(input_cells, output_cells, self.span(row)))
        return ast.Table(str(table_id), _string(label), str(phase_tree.children[1]), hit_policy, aggregation,
                         guard, inputs, outputs, tuple(table_rows), actions, span, self.span(phase_tree.children[1]),
                         hit_span)

    def table_cell(self, begin: int, end: int, start: str) -> Any:
        """The cell `text[begin:end]` parsed from the start rule its column needs, or None if broken."""
        result = self.cell_parser(start, begin, end)
        if isinstance(result, Diagnostic):
            self.diagnostics.append(result)
            return None
        return result

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
            isinstance(value_node, ast.Literal) and value_node.kind == "code" and "*" in value_node.text)
        op = ("not in" if negated else "in") if is_set else ("!=" if negated else "=")
        return ast.CellTest(op, value_node, self.at(position))

    # ---- criteria -------------------------------------------------------------------------------

    def criteria(self, children: list[Any], position: Position) -> ast.Criteria:
        criteria_id, label, drug_clause, *rest = children
        drug, _, indication = drug_clause.children
        requirements: list[ast.Requirement] = []
        approve_for = reauthorize_for = None
        for child in rest:
            if not isinstance(child, Tree):
                continue
            if child.data == "requirement":
                requirements.append(ast.Requirement(self.expr(child.children[0]), _string(child.children[1]),
                                                    self.span(child)))
            elif child.data == "approval":
                approve_for = _quantity(child.children[0])
                if len(child.children) > 1 and isinstance(child.children[1], Tree):
                    reauthorize_for = _quantity(child.children[1].children[0])
        return ast.Criteria(str(criteria_id), _string(label), str(drug), self.expr(indication), tuple(requirements),
                            approve_for, reauthorize_for, self.at(position))

    # ---- tests -------------------------------------------------------------------------------------

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
        return ast.Test(_string(name), tuple(given), tuple(expectations), tuple(examples), columns,
                        self.at(position))

    def examples(self, statement: Tree) -> tuple[tuple[str, ...], list[ast.Example]]:
        heading_row, *rows = [c for c in statement.children if isinstance(c, Tree)]
        headings = [self.text[b:e].strip() for b, e in _cells(self, heading_row)]
        if "expect" not in headings:
            self.error("test.examples_without_expect", "an examples table needs an `expect` column",
                       self.span(heading_row), "add a last column `expect` saying what each row should produce")
            return (), []
        fact_columns: list[ast.Path] = []
        for (begin, end), heading in zip(_cells(self, heading_row), headings, strict=True):
            if heading != "expect":
                parsed = self.table_cell(begin, end, "header_cell")
                if parsed is None or not isinstance(parsed[1], ast.Path):
                    self.error("test.examples_heading", f"`{heading}` is not a fact name", self.index.span(begin, end))
                    return (), []
                fact_columns.append(parsed[1])
        examples: list[ast.Example] = []
        for row in rows:
            bounds = _cells(self, row)
            if len(bounds) != len(headings):
                self.error("table.row_width", f"this row has {len(bounds)} cells but the examples have "
                           f"{len(headings)} columns", self.span(row))
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

    def record(self, children: list[Any], position: Position) -> ast.Record:
        return ast.Record(tuple(child for child in children if isinstance(child, ast.RecordField)), self.at(position))

    def record_field(self, children: list[Any], position: Position) -> ast.RecordField:
        path, value = children
        path_node = self.expr(path)
        assert isinstance(path_node, ast.Path)  # the grammar's record_field starts with a path
        return ast.RecordField(path_node, self.expr(value), self.at(position))

    # ---- expressions ------------------------------------------------------------------------------

    def expr(self, node: Any) -> ast.Expr:
        """An expression: a token is a literal, anything else was made by its rule's method."""
        if not isinstance(node, Token):
            return node
        kind = LITERAL_KINDS.get(node.type, "name")
        text = _string(node) if kind == "string" else str(node)
        if kind == "quantity":
            text = _quantity(node)
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
        return ast.Quantified(quantifier, str(variable), self.expr(collection), self.expr(condition),
                              self.at(position))

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


class WhenClause:
    """A `when` line's condition, told apart from the other clauses of a rule or table by its class."""

    __slots__ = ("condition",)

    def __init__(self, condition: ast.Expr) -> None:
        self.condition = condition


# The method that makes each rule's node, by the rule's name in the tree (its alias, if it has
# one). The rules not named here stay `Tree`s for their parent's method to read.
BUILDERS: dict[str, Callable[[TreeToAst, list[Any], Position], Any]] = {
    "start": TreeToAst.start, "header": TreeToAst.header, "valueset": TreeToAst.valueset,
    "disable": TreeToAst.disable, "rule": TreeToAst.rule, "when_clause": TreeToAst.when_clause,
    "then_clause": TreeToAst.then_clause, "action_seq": TreeToAst.action_seq, "conditional": TreeToAst.conditional,
    "action": TreeToAst.action, "table": TreeToAst.table, "criteria": TreeToAst.criteria, "test": TreeToAst.test,
    "expectation": TreeToAst.expectation, "record": TreeToAst.record, "record_field": TreeToAst.record_field,
    "path": TreeToAst.path, "or_expr": TreeToAst.or_expr, "and_expr": TreeToAst.and_expr,
    "negation": TreeToAst.negation, "compare": TreeToAst.compare, "comp_op": TreeToAst.comp_op,
    "member": TreeToAst.member, "not_member": TreeToAst.not_member, "set_test": TreeToAst.set_test,
    "union": TreeToAst.union, "quantified": TreeToAst.quantified, "quantifier": TreeToAst.quantifier,
    "call": TreeToAst.call, "list": TreeToAst.list_expr, "code_range": TreeToAst.code_range,
    "input_cell": TreeToAst.only_child, "header_cell": TreeToAst.only_child, "expect_cell": TreeToAst.only_child,
    "output_cell": TreeToAst.output_cell, "output_column": TreeToAst.output_column,
    "input_column": TreeToAst.input_column, "any_value": TreeToAst.any_value, "no_output": TreeToAst.no_output,
    "cell_compare": TreeToAst.cell_compare, "cell_match": TreeToAst.cell_match,
}


def _steps(line: Any) -> list[ast.Step]:
    """The steps of an action line: a conditional, or the actions of an `a and b` sequence."""
    return [line] if isinstance(line, ast.Conditional) else line


def _last_code_line(text: str, span: ast.Span, comments: list[Token]) -> int:
    """Where the last line with code of an item starts (its span also covers the line breaks and
    end-of-line comments after its last token)."""
    chars = list(text[span.start : span.end])
    for comment in comments:
        start = (comment.start_pos or 0) - span.start
        if 0 <= start < len(chars):
            chars[start : start + len(comment.value)] = " " * len(comment.value)
    code = "".join(chars).rstrip()
    return span.start + code.rfind("\n") + 1


def _string(token: Any) -> str:
    text = str(token)[1:-1]
    return re.sub(r"\\(.)", r"\1", text) if "\\" in text else text


def _quantity(token: Any) -> str:
    """`10lesions`, `10  lesions` and `10 lesions` are the same quantity, written one way."""
    match = re.match(r"(\d+(?:\.\d+)?)[ \t]*(\S+)", str(token))
    assert match is not None
    return f"{match.group(1)} {match.group(2)}"


def _cells(builder: TreeToAst, row: Tree) -> list[tuple[int, int]]:
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


def _split_expectations(text: str, begin: int, end: int) -> list[tuple[int, int]]:
    """An examples cell may hold several expectations separated by `;`."""
    parts: list[tuple[int, int]] = []
    cursor = begin
    for match in re.finditer(";", text[begin:end]):
        parts.append((cursor, begin + match.start()))
        cursor = begin + match.end()
    parts.append((cursor, end))
    return [(b, e) for b, e in parts if text[b:e].strip()]
