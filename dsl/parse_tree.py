"""Turns a Lark parse tree into `dsl.ast`: the one place that knows Lark's tree shapes."""

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
CellParser = Callable[[str, int, int], "Tree | Diagnostic"]
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

    # ---- positions --------------------------------------------------------------------

    def span(self, node: Tree | Token) -> ast.Span:
        """Lark's own line/column, shifted to where this block or cell starts in the file."""
        if isinstance(node, Token):
            start_pos, line, column = node.start_pos or 0, node.line or 1, node.column or 1
            end_pos, end_line, end_column = node.end_pos or start_pos, node.end_line or line, node.end_column or column
        else:
            meta = node.meta
            if meta.empty:
                return self.index.span(self.offset, self.offset)
            start_pos, line, column = meta.start_pos, meta.line, meta.column
            end_pos, end_line, end_column = meta.end_pos, meta.end_line, meta.end_column
        # ast.Span(...) would set each field through object.__setattr__, as a frozen dataclass does;
        # filling the new object's attributes at once halves the cost of the spans made by the thousand.
        span = new_object(ast.Span)
        span.__dict__.update(start=self.offset + start_pos, end=self.offset + end_pos, line=line + self.line_offset,
                             column=column + (self.column_offset if line == 1 else 0),
                             end_line=end_line + self.line_offset,
                             end_column=end_column + (self.column_offset if end_line == 1 else 0))
        return span

    def error(self, code: str, message: str, span: ast.Span, hint: str | None = None) -> None:
        self.diagnostics.append(Diagnostic("error", code, message, span, hint))

    # ---- file and items -------------------------------------------------------------------

    def rulebook(self, tree: Tree, comments: list[Token]) -> ast.Rulebook:
        header = None
        items: list[ast.Item] = []
        for child in tree.children:
            if not isinstance(child, Tree):
                continue
            data = str(child.data)  # a plain string: Lark's Token compares in Python
            if data == "header":
                header = self.header(child)
            else:
                item = getattr(self, "item_" + data)(child)
                if item is not None:
                    items.append(item)
        return self.attach_comments(ast.Rulebook(header, tuple(items)), comments, self.index)

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

    def header(self, tree: Tree) -> ast.Header:
        name = _string(tree.children[0])
        payer = None
        extends: list[str] = []
        effective_from = effective_until = template_note = None
        from_span = until_span = self.span(tree)
        for child in tree.children[1:]:
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
                          self.span(tree), from_span, until_span)

    def item_valueset(self, tree: Tree) -> ast.ValueSet:
        name, value = tree.children
        return ast.ValueSet(str(name), self.expr(value), self.span(tree))

    def item_disable(self, tree: Tree) -> ast.Disable:
        rule_id, why = tree.children
        return ast.Disable(str(rule_id), _string(why), self.span(tree))

    def item_rule(self, tree: Tree) -> ast.Rule:
        rule_id, label, phase_tree, *rest = tree.children
        condition = None
        actions: tuple[ast.Step, ...] = ()
        for child in rest:
            data = str(child.data) if isinstance(child, Tree) else None
            if data == "when_clause":
                condition = self.expr(child.children[0])
            elif data == "then_clause":
                actions = self.steps(child)
        phase = phase_tree.children[1]
        return ast.Rule(str(rule_id), _string(label), str(phase), condition, actions, self.span(tree),
                        self.span(phase))

    def steps(self, then_clause: Tree) -> tuple[ast.Step, ...]:
        steps: list[ast.Step] = []
        for line in then_clause.children:
            steps.extend(self.step_line(line))
        return tuple(steps)

    def step_line(self, node: Tree) -> list[ast.Step]:
        if node.data == "conditional":
            return [self.conditional(node)]
        return [self.action(child) for child in node.children if isinstance(child, Tree)]

    def conditional(self, tree: Tree) -> ast.Conditional:
        condition, then_seq, *rest = tree.children
        otherwise: list[ast.Step] = []
        for child in rest:
            if isinstance(child, Tree):
                otherwise.extend(self.step_line(child))
        return ast.Conditional(self.expr(condition), tuple(self.step_line(then_seq)), tuple(otherwise),
                               self.span(tree))

    def action(self, tree: Tree) -> ast.Action:
        return ast.Action(tuple(self.word(child) for child in tree.children), self.span(tree))

    def word(self, node: Tree | Token) -> ast.Expr:
        if isinstance(node, Token) and node.type in ("NAME", "IN", "FOR", "NO", "BECAUSE", "NOT"):
            return ast.Literal("name", str(node), self.span(node))
        return self.expr(node)

    # ---- tables -----------------------------------------------------------------------------

    def item_table(self, tree: Tree) -> ast.Table | None:
        table_id, label, phase_tree, *rest = tree.children
        hit_policy, aggregation, hit_span = "", None, self.span(phase_tree)
        guard = None
        rows: list[Tree] = []
        actions: tuple[ast.Step, ...] = ()
        for child in rest:
            if not isinstance(child, Tree):
                continue
            if child.data == "hit_policy":
                hit_policy = str(child.children[0])
                aggregation = str(child.children[1]) if len(child.children) > 1 else None
                hit_span = self.span(child)
            elif child.data == "when_clause":
                guard = self.expr(child.children[0])
            elif child.data == "table_row":
                rows.append(child)
            elif child.data == "then_clause":
                actions = self.steps(child)
        span = self.span(tree)
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
        headings = [self.cell(heading_row, begin, end, "header_cell") for begin, end in _cells(self, heading_row)]
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
            cells = [self.cell(row, b, e, "input_cell" if k == "input" else "output_cell")
                     for (b, e), k in zip(bounds, kinds, strict=True)]
            if any(c is None for c in cells):
                continue
            input_cells = tuple(c for c, k in zip(cells, kinds, strict=True) if k == "input")
            output_cells = tuple(c for c, k in zip(cells, kinds, strict=True) if k == "output")
            table_rows.append(ast.TableRow(input_cells, output_cells, self.span(row)))
        return ast.Table(str(table_id), _string(label), str(phase_tree.children[1]), hit_policy, aggregation,
                         guard, inputs, outputs, tuple(table_rows), actions, span, self.span(phase_tree.children[1]),
                         hit_span)

    def cell(self, row: Tree, begin: int, end: int, start: str) -> Any:
        result = self.cell_parser(start, begin, end)
        if isinstance(result, Diagnostic):
            self.diagnostics.append(result)
            return None
        sub = TreeToAst(self.text, self.index, begin, self.cell_parser)
        node = result.children[0]
        if start == "header_cell":
            if node.data == "output_column":
                return ("output", str(node.children[1]))
            return ("input", sub.expr(node.children[0]))
        if start == "input_cell":
            if node.data == "any_value":
                return ast.AnyValue(sub.span(node))
            if node.data == "cell_compare":
                return ast.CellTest(str(node.children[0].children[0]), sub.expr(node.children[1]), sub.span(node))
            negated = len(node.children) == 2
            value = node.children[-1]
            value_node = sub.expr(value)
            is_set = isinstance(value_node, ast.ListExpr | ast.CodeRange | ast.Union) or (
                isinstance(value_node, ast.Literal) and value_node.kind == "code" and "*" in value_node.text)
            op = ("not in" if negated else "in") if is_set else ("!=" if negated else "=")
            return ast.CellTest(op, value_node, sub.span(node))
        if start == "expect_cell":
            return sub.expectation(node)
        if isinstance(node, Tree) and node.data == "no_output":
            return ast.Literal("name", "-", sub.span(node))
        return sub.expr(node)

    # ---- criteria -------------------------------------------------------------------------------

    def item_criteria(self, tree: Tree) -> ast.Criteria:
        criteria_id, label, drug_clause, *rest = tree.children
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
                            approve_for, reauthorize_for, self.span(tree))

    # ---- tests -------------------------------------------------------------------------------------

    def item_test(self, tree: Tree) -> ast.Test:
        name, *statements = tree.children
        given: list[ast.RecordField] = []
        expectations: list[ast.Expectation] = []
        examples: list[ast.Example] = []
        columns: tuple[str, ...] = ()
        for statement in statements:
            if not isinstance(statement, Tree):
                continue
            if statement.data == "given":
                given.extend(self.record(statement.children[0]))
            elif statement.data == "expect":
                expectations.append(self.expectation(statement.children[0]))
            elif statement.data == "examples":
                columns, rows = self.examples(statement)
                examples.extend(rows)
        return ast.Test(_string(name), tuple(given), tuple(expectations), tuple(examples), columns, self.span(tree))

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
                parsed = self.cell(heading_row, begin, end, "header_cell")
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
                        expectation = self.cell(row, part_begin, part_end, "expect_cell")
                        if expectation is not None:
                            expectations.append(expectation)
                else:
                    path = next(paths)
                    value = self.cell(row, begin, end, "output_cell")
                    if value is not None and not (isinstance(value, ast.Literal) and value.text == "-"):
                        facts.append(ast.RecordField(path, value, self.index.span(begin, end)))
            examples.append(ast.Example(tuple(facts), tuple(expectations), self.span(row)))
        return tuple(p.dotted for p in fact_columns), examples

    def expectation(self, tree: Tree) -> ast.Expectation:
        negated = False
        words: list[ast.Expr] = []
        because = None
        for child in tree.children:
            if isinstance(child, Token) and child.type == "NO" and not words:
                negated = True
            elif isinstance(child, Tree) and child.data == "because":
                because = str(child.children[1])
            elif child is not None:
                words.append(self.word(child))
        return ast.Expectation(negated, tuple(words), because, self.span(tree))

    def record(self, tree: Tree) -> list[ast.RecordField]:
        fields = []
        for child in tree.children:
            if isinstance(child, Tree) and child.data == "record_field":
                path, value = child.children
                path_node = self.expr(path)
                assert isinstance(path_node, ast.Path)  # the grammar's record_field starts with a path
                fields.append(ast.RecordField(path_node, self.expr(value), self.span(child)))
        return fields

    # ---- expressions ------------------------------------------------------------------------------

    def expr(self, node: Tree | Token) -> ast.Expr:
        span = self.span(node)
        if isinstance(node, Token):
            kind = LITERAL_KINDS.get(node.type, "name")
            text = _string(node) if kind == "string" else str(node)
            if kind == "quantity":
                text = _quantity(node)
            return ast.Literal(kind, text, span)
        data = str(node.data)  # a plain string: Lark's Token compares in Python, ten times over
        if data == "path":  # the most common node by far: tested first
            return ast.Path(tuple(str(c) for c in node.children), span)
        if data == "or_expr":
            return ast.BoolOp("or", tuple(self.expr(c) for c in _operands(node)), span)
        if data == "and_expr":
            return ast.BoolOp("and", tuple(self.expr(c) for c in _operands(node)), span)
        if data == "negation":
            return ast.Not(self.expr(node.children[1]), span)
        if data == "compare":
            left, op, right = node.children
            return ast.Compare(str(op.children[0]), self.expr(left), self.expr(right), span)
        if data == "member":
            return ast.Member("in", self.expr(node.children[0]), self.expr(node.children[2]), span)
        if data == "not_member":
            return ast.Member("not in", self.expr(node.children[0]), self.expr(node.children[3]), span)
        if data == "set_test":
            return ast.Member(f"{node.children[1].children[0]} in", self.expr(node.children[0]),
                              self.expr(node.children[3]),
                              span)
        if data == "union":
            return ast.Union(tuple(self.expr(c) for c in _operands(node)), span)
        if data == "quantified":
            quantifier, variable, _, collection, condition = node.children
            return ast.Quantified(str(quantifier.children[0]), str(variable), self.expr(collection),
                                  self.expr(condition), span)
        if data == "call":
            function, *args = node.children
            return ast.Call(str(function), tuple(self.expr(a) for a in args if a is not None), span)
        if data == "list":
            return ast.ListExpr(tuple(self.expr(c) for c in node.children if c is not None), span)
        if data == "record":
            return ast.Record(tuple(self.record(node)), span)
        if data == "code_range":
            low, _, high = node.children
            low_node, high_node = self.expr(low), self.expr(high)
            assert isinstance(low_node, ast.Literal) and isinstance(high_node, ast.Literal)  # code_bound tokens
            return ast.CodeRange(low_node, high_node, span)
        raise ValueError(f"unexpected tree {data}")  # pragma: no cover - the grammar has no other shapes


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


def _operands(node: Tree) -> list[Any]:
    """The operands of `a or b`, `a and b` or `a + b`: the children but the operator tokens."""
    return [c for c in node.children if not (isinstance(c, Token) and c.type in ("OR", "AND", "PLUS"))]


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
