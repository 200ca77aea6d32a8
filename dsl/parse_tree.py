"""Turns a parse into `dsl.ast`: the one place that knows Lark's tree shapes.

One method per grammar rule makes that rule's node from its children, as Lark's transformers
do: the children are already `dsl.ast` nodes, Lark tokens, or `Tree`s of the few rules with no
method of their own (clauses only their parent reads). The fast reader (`dsl.lalr`) calls the
methods in `BUILDERS` as it reduces, so a clean block never becomes a Lark tree at all; a tree
Lark parsed goes through `transform`, which calls the very same methods bottom-up. The span a
method is given is Lark's position of the node relative to the block or cell, None for a node
that covers no text.

The methods are grouped by what they make, one module each: expressions and positions
(`dsl.tree_expressions`, the base of the others), plain items such as rules (`dsl.tree_items`),
decision tables (`dsl.tree_tables`) and tests (`dsl.tree_tests`). `TreeToAst` joins them and
`BUILDERS` below is the one map from grammar rule to method.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from lark import Token, Tree

from dsl import ast
from dsl.diagnostics import LineIndex
from dsl.tree_expressions import CellParser, Position
from dsl.tree_items import ItemMaker
from dsl.tree_tables import TableMaker
from dsl.tree_tests import RulebookTestMaker

__all__ = ["BUILDERS", "CellParser", "Position", "TreeToAst"]


class TreeToAst(ItemMaker, TableMaker, RulebookTestMaker):
    """Makes the AST of one block or table cell; its `diagnostics` are the mistakes found meanwhile."""

    def transform(self, node: Any) -> Any:
        """The value of a tree Lark parsed, made bottom-up by the methods the fast reader calls."""
        if not isinstance(node, Tree):
            return node
        children = [self.transform(child) for child in node.children]
        meta = node.meta
        position = (
            None
            if meta.empty
            else (meta.start_pos, meta.line, meta.column, meta.end_pos, meta.end_line, meta.end_column)
        )
        make = BUILDERS.get(node.data)
        return Tree(node.data, children, meta) if make is None else make(self, children, position)

    # ---- the file ---------------------------------------------------------------------------

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
            if number in by_item or number in inner
            else item
            for number, item in enumerate(items_list)
        )
        if rulebook.header is not None and leading:
            # Comments inside the header are printed before the first item.
            if items:
                items = (replace(items[0], comments=tuple(leading) + items[0].comments), *items[1:])
            else:
                trailing = leading + trailing
        return ast.Rulebook(rulebook.header, items, rulebook.span, tuple(trailing))


# The method that makes each rule's node, by the rule's name in the tree (its alias, if it has
# one). The rules not named here stay `Tree`s for their parent's method to read.
BUILDERS: dict[str, Callable[[TreeToAst, list[Any], Position], Any]] = {
    "start": TreeToAst.start,
    "header": TreeToAst.header,
    "valueset": TreeToAst.valueset,
    "disable": TreeToAst.disable,
    "rule": TreeToAst.rule,
    "when_clause": TreeToAst.when_clause,
    "effective": TreeToAst.effective,
    "then_clause": TreeToAst.then_clause,
    "action_seq": TreeToAst.action_seq,
    "conditional": TreeToAst.conditional,
    "action": TreeToAst.action,
    "table": TreeToAst.table,
    "criteria": TreeToAst.criteria,
    "test": TreeToAst.test,
    "expectation": TreeToAst.expectation,
    "record": TreeToAst.record,
    "record_field": TreeToAst.record_field,
    "path": TreeToAst.path,
    "or_expr": TreeToAst.or_expr,
    "and_expr": TreeToAst.and_expr,
    "negation": TreeToAst.negation,
    "compare": TreeToAst.compare,
    "comp_op": TreeToAst.comp_op,
    "member": TreeToAst.member,
    "not_member": TreeToAst.not_member,
    "set_test": TreeToAst.set_test,
    "union": TreeToAst.union,
    "quantified": TreeToAst.quantified,
    "quantifier": TreeToAst.quantifier,
    "each": TreeToAst.each,
    "call": TreeToAst.call,
    "list": TreeToAst.list_expr,
    "code_range": TreeToAst.code_range,
    "input_cell": TreeToAst.only_child,
    "header_cell": TreeToAst.only_child,
    "expect_cell": TreeToAst.only_child,
    "output_cell": TreeToAst.output_cell,
    "output_column": TreeToAst.output_column,
    "input_column": TreeToAst.input_column,
    "any_value": TreeToAst.any_value,
    "no_output": TreeToAst.no_output,
    "cell_compare": TreeToAst.cell_compare,
    "cell_match": TreeToAst.cell_match,
}


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
