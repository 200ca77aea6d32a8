"""Reads a clean block with Lark's own LALR table and terminals, making the nodes Lark would.

Lark spends nearly all of a parse in generic machinery: a lexer object per parser state, each
token pulled through three generators, a chain of wrapper objects around every reduction.
`FastParser` drives the very same table in one loop, with regular expressions made of the very
same terminals (for each first character, only those that can start with it), and shapes each
node by the options of the very same grammar rules, so `grammar.lark` stays the only
definition of the syntax. Like Lark's LALR `transformer=` option, it hands each node's children
and position to the maker given for its rule, as they would reach a transformer of Lark's tree,
instead of building the tree first; a rule with no maker becomes a `Tree` as Lark makes it.
It never reports an error: at the first
thing out of the ordinary (a character no terminal matches, a token the table has no action
for) it declines, returning None, and the caller lets Lark parse the block, so every syntax
diagnostic still comes from Lark. What is worked out once from the grammar, when the reader is
made, lives in `dsl.lalr_lexing` (the terminals) and `dsl.lalr_reductions` (the rules); this
module keeps the table and the loop that reads with it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from lark import Lark, Token, Tree
from lark.parsers.lalr_analysis import Shift
from lark.tree import Meta

from dsl.lalr_lexing import (
    alternatives_pattern,
    keyword_terminals,
    lexer_order,
    patterns_by_first_char,
    skippable_blanks,
)
from dsl.lalr_reductions import (
    Maker,
    Reduction,
    Span,
    encoded_action,
    maker_of,
    new_object,
    node_shape,
    nullable_rules,
    terminals_ever_kept,
)

new_token = Token._future_new  # Token(...) without the check for a deprecated keyword argument
new_str = str.__new__  # a Token made in place, as `new_token` makes it, saves a call per token
END = "$END"  # what Lark's table expects at the end of the text


class StatementEnds(Protocol):
    """The post-lexer's decision, token by token, of which newlines end a statement: asked only
    about the `watched` token types, given the type of the last token kept."""

    watched: frozenset[str]

    def keeps(self, token_type: str, previous: str | None) -> bool: ...

    def ends_text(self, previous: str | None) -> bool: ...


class FastParser:
    """One immutable reader per grammar: Lark's tables, re-encoded for a tight loop."""

    def __init__(self, lark: Lark, statement_ends: Callable[[], StatementEnds], makers: Mapping[str, Maker]) -> None:
        self.statement_ends = statement_ends
        table = lark.parser.parser.parser.parse_table  # the LALR table Lark itself parses with
        self.start_states: dict[str, int] = dict(table.start_states)
        self.end_states: dict[str, int] = dict(table.end_states)
        rules = {rule for actions in table.states.values() for action, rule in actions.values() if action is not Shift}
        kept = terminals_ever_kept(rules)
        self.reductions: list[Reduction] = []
        number: dict[Any, int] = {}
        nullable = nullable_rules(rules)
        for rule in rules:
            number[rule] = len(self.reductions)
            data, indices, build = node_shape(rule, lark.options.maybe_placeholders, nullable, makers)
            self.reductions.append(
                (
                    len(rule.expansion),
                    str(rule.origin.name),
                    data,
                    indices,
                    build,
                    None if data is None else maker_of(data, makers),
                )
            )
        # A shift is the next state (>= 0), a reduction the complement of its number (< 0), and
        # one to a node that is its only child (see `node_shape`) the rule's name: a third of all
        # reductions, where only the state changes.
        self.states: dict[int, dict[str, Any]] = {
            state: {
                str(symbol): arg if action is Shift else encoded_action(self.reductions, number[arg])
                for symbol, (action, arg) in actions.items()
            }
            for state, actions in table.states.items()
        }
        terminals = lexer_order(lark.terminals)
        self.keywords = keyword_terminals(terminals)
        embedded = {name for by_value in self.keywords.values() for name in by_value.values()}
        lexed = [t for t in terminals if t.name not in embedded]
        self.ignored = frozenset(lark.lexer_conf.ignore)
        blanks = skippable_blanks(lexed, self.ignored)
        self.pattern = alternatives_pattern(lexed, blanks)
        self.by_first_char = patterns_by_first_char(lexed, blanks)
        self.kept = kept

    def parse(self, text: str, start: str, nodes: Any) -> Any:
        """The node of `text` from rule `start`, its makers called with `nodes` first, or None to
        let Lark parse it and say what is wrong."""
        states, reductions, keywords, kept = self.states, self.reductions, self.keywords, self.kept
        ignored = self.ignored
        ends = self.statement_ends()
        keeps, watched = ends.keeps, ends.watched
        previous: str | None = None  # the type of the last token kept
        state_stack = [self.start_states[start]]
        end_state = self.end_states[start]
        value_stack: list[Any] = []
        span_stack: list[Span] = []
        line, line_start, position = 1, 0, 0
        span: Span = None  # of the last token kept
        by_first_char, any_first_char = self.by_first_char, self.pattern
        length = len(text)
        ended = False  # whether the newline that ends the text has been read (see below)
        kind: str
        while True:
            token = None
            if position < length:
                match = by_first_char.get(text[position], any_first_char).match(text, position)
                if match is None:
                    return None  # a character no terminal matches
                start_pos = position
                position = match.end()  # always further on: Lark refuses zero-width terminals
                kind = match.lastgroup  # type: ignore[assignment]  # every alternative is a named group
                end_pos = match.end(kind)  # before the blanks skipped after the token
                value = text[start_pos:end_pos]
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
                if kind in watched and not keeps(kind, previous):
                    continue
                previous = kind
                end_column = end_pos - line_start + 1
                span = (start_pos, token_line, column, end_pos, line, end_column)
                if kind in kept:
                    token = new_str(Token, value)
                    token.type, token.value, token.start_pos, token.end_pos = kind, value, start_pos, end_pos
                    token.line, token.column, token.end_line, token.end_column = token_line, column, line, end_column
            elif not ended and ends.ends_text(previous) and span is not None:
                # The end of the text ends the last statement, just after its last token.
                ended = True
                end_pos, end_line, end_column = span[3:]
                kind, span = "_NL", (end_pos, end_line, end_column, end_pos, end_line, end_column)
                if kind in kept:
                    token = new_token(kind, "\n", end_pos, end_line, end_column, end_line, end_column, end_pos)
                actions = states[state_stack[-1]]
            else:
                kind = END
                actions = states[state_stack[-1]]
            while True:
                action = actions.get(kind)
                if action is None:
                    return value_stack[-1] if kind is END and state_stack[-1] == end_state else None
                if action.__class__ is str:  # the node is its only child: only the state changes
                    goto = state_stack[-1] = states[state_stack[-2]][action]
                    actions = states[goto]
                    continue
                if action >= 0:
                    if kind is END:  # Lark stops at the end state, before it would shift `$END`
                        return value_stack[-1] if state_stack[-1] == end_state else None
                    state_stack.append(action)
                    value_stack.append(token)
                    span_stack.append(span)
                    break
                size, origin, data, indices, build, make = reductions[~action]
                if data is not None:  # the common shape: its first and last children cover text
                    first: Any = span_stack[-size]  # never None: see `first_fixed` in `node_shape`
                    last: Any = span_stack[-1]
                    children = value_stack[-size:]
                    if indices is not None:
                        children = [children[index] for index in indices]
                    del state_stack[-size:], value_stack[-size:], span_stack[-size:]
                    node_span = first if first is last else (first[0], first[1], first[2], last[3], last[4], last[5])
                    if make is not None:
                        value_stack.append(make(nodes, children, node_span))
                    else:
                        meta = new_object(Meta)
                        meta.start_pos, meta.line, meta.column = first[0], first[1], first[2]
                        meta.end_pos, meta.end_line, meta.end_column = last[3], last[4], last[5]
                        meta.empty = False
                        value_stack.append(Tree(data, children, meta))
                    span_stack.append(node_span)
                else:
                    if size:
                        values = value_stack[-size:]
                        spans = span_stack[-size:]
                        del state_stack[-size:], value_stack[-size:], span_stack[-size:]
                    else:
                        values, spans = [], []
                    node, node_span = build(nodes, values, spans)
                    value_stack.append(node)
                    span_stack.append(node_span)
                goto = states[state_stack[-1]][origin]
                state_stack.append(goto)
                actions = states[goto]
