"""Reads a clean block with Lark's own LALR table and terminals, building the tree Lark builds.

Lark spends nearly all of a parse in generic machinery: a lexer object per parser state, each
token pulled through three generators, a chain of wrapper objects around every reduction.
`FastParser` drives the very same table in one loop, with one regular expression made of the
very same terminals, and shapes each node by the options of the very same grammar rules, so
`grammar.lark` stays the only definition of the syntax. It never reports an error: at the first
thing out of the ordinary (a character no terminal matches, a token the table has no action
for) it declines, returning None, and the caller lets Lark parse the block, so every syntax
diagnostic still comes from Lark.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from lark import Lark, Token, Tree
from lark.lexer import PatternStr, TerminalDef
from lark.parsers.lalr_analysis import Shift
from lark.tree import Meta

# Positions of a node as Lark's position propagation sees them: (start_pos, line, column,
# end_pos, end_line, end_column), or None for a node that covers no text.
Span = tuple[int, int, int, int, int, int] | None
Builder = Callable[[list[Any], list[Span]], tuple[Any, Span]]
new_token = Token._future_new  # Token(...) without the check for a deprecated keyword argument
new_meta = object.__new__  # Meta() would set `empty` only for it to be overwritten at once


class StatementEnds(Protocol):
    """The post-lexer's decision, token by token, of which newlines end a statement."""

    def keeps(self, token_type: str) -> bool: ...

    def ends_text(self) -> bool: ...


class FastParser:
    """One immutable reader per grammar: Lark's tables, re-encoded for a tight loop."""

    def __init__(self, lark: Lark, statement_ends: Callable[[], StatementEnds]) -> None:
        self.statement_ends = statement_ends
        table = lark.parser.parser.parser.parse_table  # the LALR table Lark itself parses with
        self.start_states: dict[str, int] = dict(table.start_states)
        self.end_states: dict[str, int] = dict(table.end_states)
        rules = {rule for actions in table.states.values() for action, rule in actions.values() if action is not Shift}
        kept = _terminals_ever_kept(rules)
        self.reductions: list[tuple[int, str, Builder | None]] = []
        number: dict[Any, int] = {}
        nullable = _nullable(rules)
        for rule in rules:
            number[rule] = len(self.reductions)
            builder = _builder(rule, lark.options.maybe_placeholders, nullable)
            self.reductions.append((len(rule.expansion), str(rule.origin.name), builder))
        # A shift is the next state (>= 0), a reduction the complement of its number (< 0).
        self.states: dict[int, dict[str, int]] = {
            state: {str(symbol): arg if action is Shift else ~number[arg] for symbol, (action, arg) in actions.items()}
            for state, actions in table.states.items()
        }
        terminals = _lexer_order(lark.terminals)
        self.keywords = _keywords(terminals)
        embedded = {name for by_value in self.keywords.values() for name in by_value.values()}
        self.pattern = re.compile("|".join(f"(?P<{t.name}>{t.pattern.to_regexp()})"
                                           for t in terminals if t.name not in embedded))
        self.ignored = frozenset(lark.lexer_conf.ignore)
        self.kept = kept

    def parse(self, text: str, start: str) -> Tree | None:
        """Lark's tree for `text` from rule `start`, or None to let Lark parse it and say what is wrong."""
        states, reductions, keywords, kept = self.states, self.reductions, self.keywords, self.kept
        ignored = self.ignored
        ends = self.statement_ends()
        keeps = ends.keeps
        state_stack = [self.start_states[start]]
        value_stack: list[Any] = []
        span_stack: list[Span] = []
        line, line_start, position = 1, 0, 0
        span: Span = None  # of the last token kept
        for match in self.pattern.finditer(text):
            start_pos = match.start()
            if start_pos != position:
                return None  # a character no terminal matches
            kind: str = match.lastgroup  # type: ignore[assignment]  # every alternative is a named group
            value = match.group()
            position = end_pos = start_pos + len(value)
            if kind in ignored:
                if "\n" in value:
                    line += value.count("\n")
                    line_start = start_pos + value.rindex("\n") + 1
                continue
            token_line, column = line, start_pos - line_start + 1
            if "\n" in value:
                line += value.count("\n")
                line_start = start_pos + value.rindex("\n") + 1
            actions = states[state_stack[-1]]
            if kind in keywords:
                # What the contextual lexer does: a word is a keyword only where the keyword is expected.
                keyword = keywords[kind].get(value)
                if keyword is not None and keyword in actions:
                    kind = keyword
            if not keeps(kind):
                continue
            end_column = end_pos - line_start + 1
            span = (start_pos, token_line, column, end_pos, line, end_column)
            token = None
            if kind in kept:
                token = new_token(kind, value, start_pos, token_line, column, line, end_column, end_pos)
            while True:
                action = actions.get(kind)
                if action is None:
                    return None
                if action >= 0:
                    state_stack.append(action)
                    value_stack.append(token)
                    span_stack.append(span)
                    break
                size, origin, build = reductions[~action]
                if build is None:
                    del state_stack[-1]
                else:
                    if size:
                        values = value_stack[-size:]
                        spans = span_stack[-size:]
                        del state_stack[-size:], value_stack[-size:], span_stack[-size:]
                    else:
                        values, spans = [], []
                    node, node_span = build(values, spans)
                    value_stack.append(node)
                    span_stack.append(node_span)
                goto = states[state_stack[-1]][origin]
                state_stack.append(goto)
                actions = states[goto]
        if position != len(text):
            return None
        if ends.ends_text() and span is not None:
            # The end of the text ends the last statement, just after its last token.
            end_pos, end_line, end_column = span[3:]
            action = self._reduce_before("_NL", state_stack, value_stack, span_stack)
            if action is None:
                return None
            state_stack.append(action)
            value_stack.append(new_token("_NL", "\n", end_pos, end_line, end_column, end_line, end_column, end_pos)
                               if "_NL" in kept else None)
            span_stack.append((end_pos, end_line, end_column, end_pos, end_line, end_column))
        end_state = self.end_states[start]
        while state_stack[-1] != end_state:
            action = states[state_stack[-1]].get("$END")
            if action is None or action >= 0:
                return None  # the block ends in the middle of something
            self._reduce(reductions[~action], state_stack, value_stack, span_stack)
        result = value_stack[-1]
        return result if isinstance(result, Tree) else None

    def _reduce_before(self, kind: str, state_stack: list[int], value_stack: list[Any],
                       span_stack: list[Span]) -> int | None:
        """Reduce as the table says before a token of type `kind`; the state to shift to, or None."""
        while True:
            action = self.states[state_stack[-1]].get(kind)
            if action is None or action >= 0:
                return action
            self._reduce(self.reductions[~action], state_stack, value_stack, span_stack)

    def _reduce(self, reduction: tuple[int, str, Builder | None], state_stack: list[int], value_stack: list[Any],
                span_stack: list[Span]) -> None:
        """One reduction, as the main loop of `parse` does it inline."""
        size, origin, build = reduction
        if build is None:
            del state_stack[-1]
        else:
            values, spans = value_stack[len(value_stack) - size:], span_stack[len(span_stack) - size:]
            del state_stack[len(state_stack) - size:], value_stack[len(value_stack) - size:]
            del span_stack[len(span_stack) - size:]
            node, node_span = build(values, spans)
            value_stack.append(node)
            span_stack.append(node_span)
        state_stack.append(self.states[state_stack[-1]][origin])


def _lexer_order(terminals: Iterable[TerminalDef]) -> list[TerminalDef]:
    """The order in which Lark's BasicLexer tries terminals: the first that matches wins."""
    return sorted(terminals, key=lambda t: (-t.priority, -t.pattern.max_width, -len(t.pattern.value), t.name))


def _keywords(terminals: list[TerminalDef]) -> dict[str, dict[str, str]]:
    """For each pattern terminal, the string terminals it matches whole (`when` as a NAME).

    Lark's lexer folds these into the pattern and retypes the token afterwards, exactly as here.
    """
    found: dict[str, dict[str, str]] = {}
    strings = [t for t in terminals if isinstance(t.pattern, PatternStr)]
    for terminal in terminals:
        if isinstance(terminal.pattern, PatternStr):
            continue
        regexp = re.compile(terminal.pattern.to_regexp())
        for string in strings:
            if (string.priority == terminal.priority and set(string.pattern.flags) <= set(terminal.pattern.flags)
                    and regexp.fullmatch(string.pattern.value)):
                found.setdefault(terminal.name, {})[string.pattern.value] = string.name
    return found


def _nullable(rules: set[Any]) -> frozenset[str]:
    """The rules that can match the empty text (their nodes then have no position)."""
    nullable: set[str] = set()
    changed = True
    while changed:
        changed = False
        for rule in rules:
            if rule.origin.name not in nullable and all(
                    not symbol.is_term and symbol.name in nullable for symbol in rule.expansion):
                nullable.add(rule.origin.name)
                changed = True
    return frozenset(nullable)


def _terminals_ever_kept(rules: set[Any]) -> frozenset[str]:
    """Terminals that some rule keeps as a child; the others only lend their positions."""
    return frozenset(symbol.name for rule in rules for symbol in rule.expansion
                     if symbol.is_term and (rule.options.keep_all_tokens or not symbol.filter_out))


def _builder(rule: Any, maybe_placeholders: bool, nullable: frozenset[str]) -> Builder | None:
    """How Lark's ParseTreeBuilder shapes a node of this rule, or None when the node is its only child.

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
        return None  # `?rule: child`: the child is the node, with its own positions
    data = rule.alias or options.template_source or rule.origin.name
    indices = [index for index, _, _ in include]
    keeps_all = indices == list(range(len(expansion)))
    # A symbol that cannot match the empty text always covers some: its position is known.
    first_fixed = bool(expansion) and expansion[0].name not in nullable
    last_fixed = bool(expansion) and expansion[-1].name not in nullable
    if plain and not expand_single and first_fixed and last_fixed:
        return _simple_builder(data, None if keeps_all else indices)

    def build(values: list[Any], spans: list[Any]) -> tuple[Any, Span]:
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
                    children += values[index].children
                else:
                    children.append(values[index])
            if trailing_nones:
                children += [None] * trailing_nones
        else:
            children = values if keeps_all else [values[index] for index in indices]
        if expand_single and len(children) == 1:
            node = children[0]
            if isinstance(node, Token):  # positions from the lexer: never None
                return node, (node.start_pos, node.line, node.column, node.end_pos, node.end_line,  # type: ignore[return-value]
                              node.end_column)
            if not isinstance(node, Tree):
                return node, None
            if first is not None and node.meta.empty:
                _placed(node.meta, first, last)
        elif first is None:
            return Tree(data, children), None
        else:
            return Tree(data, children, _placed(new_meta(Meta), first, last)), (*first[:3], *last[3:])
        if first is None:
            return node, None
        return node, (*first[:3], *last[3:])

    return build


def _simple_builder(data: str, indices: list[int] | None) -> Builder:
    """The common shape, made cheap: a node whose first and last children cover text, and that
    keeps its children as they are."""

    def build(values: list[Any], spans: list[Any]) -> tuple[Any, Span]:
        first, last = spans[0], spans[-1]  # never None: see `first_fixed`
        children = values if indices is None else [values[index] for index in indices]
        tree = Tree(data, children, _placed(new_meta(Meta), first, last))
        return tree, first if first is last else (*first[:3], *last[3:])

    return build


def _placed(meta: Meta, first: tuple[int, ...], last: tuple[int, ...]) -> Meta:
    """The meta of a node from its first and last positioned children, as Lark's propagation sets it."""
    meta.start_pos, meta.line, meta.column, meta.end_pos, meta.end_line, meta.end_column = *first[:3], *last[3:]
    meta.empty = False
    return meta
