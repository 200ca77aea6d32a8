"""How the fast reader reduces: each grammar rule's node, shaped as Lark's tree builder shapes it.

Built only when `FastParser` is made: the rules' options (`?rule`, `_rule`, `[...]`, kept and
filtered tokens) become, per rule, either the indices of the children a node keeps or a builder
for the rarer shapes, and the maker of its AST node if it has one; a node that is its only child
needs neither. The builders run while reading, but are made here, from the grammar alone.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from lark import Token, Tree
from lark.tree import Meta

# Positions of a node as Lark's position propagation sees them: (start_pos, line, column,
# end_pos, end_line, end_column), or None for a node that covers no text.
Span = tuple[int, int, int, int, int, int] | None
# Makes the node of a rule from the object given to `parse`, its children and its span.
Maker = Callable[[Any, list[Any], Span], Any]
Builder = Callable[[Any, list[Any], list[Span]], tuple[Any, Span]]
# How to reduce by a rule: (symbols popped, rule name, then how the node is made, then its maker
# or None). A node of the common shape (see `node_shape`) is made in the main loop from its tree
# name and the indices of the children it keeps (None: all); any other by calling its builder;
# a node that is its only child has neither.
Reduction = tuple[int, str, str | None, list[int] | None, Builder | None, Maker | None]
new_object = object.__new__  # Meta() would set `empty` only for it to be overwritten at once


def maker_of(data: str, makers: Mapping[str, Maker]) -> Maker | None:
    """The maker of a rule's node. A `_rule`'s node, which its parent always inlines, is the list
    of its children: a Lark tree would be made for nothing."""
    return _children if data.startswith("_") else makers.get(data)


def _children(nodes: Any, children: list[Any], span: Span) -> list[Any]:
    return children


def encoded_action(reductions: list[Reduction], number: int) -> int | str:
    """How the table of `FastParser` encodes a reduction by the rule numbered `number`."""
    _, origin, data, _, build, _ = reductions[number]
    return origin if data is None and build is None else ~number


def nullable_rules(rules: set[Any]) -> frozenset[str]:
    """The rules that can match the empty text (their nodes then have no position)."""
    nullable: set[str] = set()
    changed = True
    while changed:
        changed = False
        for rule in rules:
            if rule.origin.name not in nullable and all(
                not symbol.is_term and symbol.name in nullable for symbol in rule.expansion
            ):
                nullable.add(rule.origin.name)
                changed = True
    return frozenset(nullable)


def terminals_ever_kept(rules: set[Any]) -> frozenset[str]:
    """Terminals that some rule keeps as a child; the others only lend their positions."""
    return frozenset(
        symbol.name
        for rule in rules
        for symbol in rule.expansion
        if symbol.is_term and (rule.options.keep_all_tokens or not symbol.filter_out)
    )


def node_shape(
    rule: Any, maybe_placeholders: bool, nullable: frozenset[str], makers: Mapping[str, Maker]
) -> tuple[str | None, list[int] | None, Builder | None]:
    """How Lark's ParseTreeBuilder shapes a node of this rule: (tree name, indices of the children
    kept) for the common shape, a builder for any other, neither when the node is its only child.

    Mirrors lark.parse_tree_builder: the children kept (`filter_out` terminals dropped unless the
    rule is `!rule`), `_rule` children inlined, None for each absent `[...]`, `?rule` replaced by
    its only child, and positions propagated from the first and last children that cover text.
    """
    options = rule.options
    expansion = rule.expansion
    expand_single = options.expand1 and not rule.alias
    empty_indices = options.empty_indices if maybe_placeholders else ()
    nones_before = [0] * (len(expansion) + 1)
    if empty_indices:
        nones_before = [len(ones) for ones in "".join(str(int(b)) for b in empty_indices).split("0")]
    include: list[tuple[int, bool, int]] = []
    nones = 0
    for index, symbol in enumerate(expansion):
        nones += nones_before[index]
        if options.keep_all_tokens or not (symbol.is_term and symbol.filter_out):
            include.append((index, not symbol.is_term and symbol.name.startswith("_"), nones))
            nones = 0
    trailing_nones = nones + nones_before[len(expansion)]
    plain = not trailing_nones and all(not inline and not added for _, inline, added in include)
    if expand_single and plain and len(expansion) == 1 and len(include) == 1:
        return None, None, None  # `?rule: child`: the child is the node, with its own positions
    data = rule.alias or options.template_source or rule.origin.name
    indices = [index for index, _, _ in include]
    keeps_all = indices == list(range(len(expansion)))
    # A symbol that cannot match the empty text always covers some: its position is known.
    first_fixed = bool(expansion) and expansion[0].name not in nullable
    last_fixed = bool(expansion) and expansion[-1].name not in nullable
    if plain and not expand_single and first_fixed and last_fixed:
        return data, None if keeps_all else indices, None

    make = maker_of(data, makers)

    def build(nodes: Any, values: list[Any], spans: list[Any]) -> tuple[Any, Span]:
        first: Any = None  # the first and last children's spans that are not None
        last: Any = None
        if first_fixed:
            first = spans[0]
        else:
            for span in spans:
                if span is not None:
                    first = span
                    break
        if last_fixed:
            last = spans[-1]
        elif first is not None:
            for span in reversed(spans):
                if span is not None:
                    last = span
                    break
        if not plain:
            children: list[Any] = []
            for index, inline, added in include:
                if added:
                    children += [None] * added
                if inline:
                    children += values[index]  # the children of a `_rule`: see `maker_of`
                else:
                    children.append(values[index])
            if trailing_nones:
                children += [None] * trailing_nones
        else:
            children = values if keeps_all else [values[index] for index in indices]
        if expand_single and len(children) == 1:
            node = children[0]
            if isinstance(node, Token):  # positions from the lexer: never None
                return node, (
                    node.start_pos,
                    node.line,
                    node.column,
                    node.end_pos,
                    node.end_line,  # type: ignore[return-value]
                    node.end_column,
                )
            if node is None:
                return node, None
            # A node already made keeps its own position; its parent sees what this rule covers
            # (`(a)` from its brackets), as Lark's propagation sees a node's container.
            if isinstance(node, Tree) and first is not None and node.meta.empty:
                _place(node.meta, first, last)
        elif make is not None:
            return make(nodes, children, None if first is None else (*first[:3], *last[3:])), (
                None if first is None else (*first[:3], *last[3:])
            )
        elif first is None:
            return Tree(data, children), None
        else:
            meta = new_object(Meta)
            _place(meta, first, last)
            return Tree(data, children, meta), (*first[:3], *last[3:])
        if first is None:
            return node, None
        return node, (*first[:3], *last[3:])

    return None, None, build


def _place(meta: Meta, first: tuple[int, ...], last: tuple[int, ...]) -> None:
    """Set a node's meta from its first and last positioned children, as Lark's propagation sets it."""
    meta.start_pos, meta.line, meta.column, meta.end_pos, meta.end_line, meta.end_column = *first[:3], *last[3:]
    meta.empty = False
