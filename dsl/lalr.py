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
diagnostic still comes from Lark.
"""

from __future__ import annotations

import re
import re._constants as sre  # the parsed form of a regular expression, for `_first_chars`
import re._parser as sre_parse
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

from lark import Lark, Token, Tree
from lark.lexer import PatternStr, TerminalDef
from lark.parsers.lalr_analysis import Shift
from lark.tree import Meta

# Positions of a node as Lark's position propagation sees them: (start_pos, line, column,
# end_pos, end_line, end_column), or None for a node that covers no text.
Span = tuple[int, int, int, int, int, int] | None
# Makes the node of a rule from the object given to `parse`, its children and its span.
Maker = Callable[[Any, list[Any], Span], Any]
Builder = Callable[[Any, list[Any], list[Span]], tuple[Any, Span]]
# How to reduce by a rule: (symbols popped, rule name, then how the node is made, then its maker
# or None). A node of the common shape (see `_builder`) is made in the main loop from its tree
# name and the indices of the children it keeps (None: all); any other by calling its builder;
# a node that is its only child has neither.
Reduction = tuple[int, str, str | None, list[int] | None, Builder | None, Maker | None]
new_token = Token._future_new  # Token(...) without the check for a deprecated keyword argument
new_str = str.__new__  # a Token made in place, as `new_token` makes it, saves a call per token
new_object = object.__new__  # Meta() would set `empty` only for it to be overwritten at once
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
        kept = _terminals_ever_kept(rules)
        self.reductions: list[Reduction] = []
        number: dict[Any, int] = {}
        nullable = _nullable(rules)
        for rule in rules:
            number[rule] = len(self.reductions)
            data, indices, build = _builder(rule, lark.options.maybe_placeholders, nullable, makers)
            self.reductions.append((len(rule.expansion), str(rule.origin.name), data, indices, build,
                                    None if data is None else _maker(data, makers)))
        # A shift is the next state (>= 0), a reduction the complement of its number (< 0), and
        # one to a node that is its only child (see `_builder`) the rule's name: a third of all
        # reductions, where only the state changes.
        self.states: dict[int, dict[str, Any]] = {
            state: {str(symbol): arg if action is Shift else _action(self.reductions, number[arg])
                    for symbol, (action, arg) in actions.items()}
            for state, actions in table.states.items()
        }
        terminals = _lexer_order(lark.terminals)
        self.keywords = _keywords(terminals)
        embedded = {name for by_value in self.keywords.values() for name in by_value.values()}
        lexed = [t for t in terminals if t.name not in embedded]
        self.ignored = frozenset(lark.lexer_conf.ignore)
        blanks = _skippable_blanks(lexed, self.ignored)
        self.pattern = _alternatives(lexed, blanks)
        self.by_first_char = _by_first_char(lexed, blanks)
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
                    first: Any = span_stack[-size]  # never None: see `first_fixed` in `_builder`
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


def _maker(data: str, makers: Mapping[str, Maker]) -> Maker | None:
    """The maker of a rule's node. A `_rule`'s node, which its parent always inlines, is the list
    of its children: a Lark tree would be made for nothing."""
    return _children if data.startswith("_") else makers.get(data)


def _children(nodes: Any, children: list[Any], span: Span) -> list[Any]:
    return children


def _action(reductions: list[Reduction], number: int) -> int | str:
    """How the table of `FastParser` encodes a reduction by the rule numbered `number`."""
    _, origin, data, _, build, _ = reductions[number]
    return origin if data is None and build is None else ~number


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


def _builder(rule: Any, maybe_placeholders: bool, nullable: frozenset[str],
             makers: Mapping[str, Maker]) -> tuple[str | None, list[int] | None, Builder | None]:
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

    make = _maker(data, makers)

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
                    children += values[index]  # the children of a `_rule`: see `_maker`
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
            if node is None:
                return node, None
            # A node already made keeps its own position; its parent sees what this rule covers
            # (`(a)` from its brackets), as Lark's propagation sees a node's container.
            if isinstance(node, Tree) and first is not None and node.meta.empty:
                _place(node.meta, first, last)
        elif make is not None:
            return make(nodes, children, None if first is None else (*first[:3], *last[3:])), (
                None if first is None else (*first[:3], *last[3:]))
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


def _alternatives(terminals: list[TerminalDef], blanks: str | None) -> re.Pattern[str]:
    """One pattern trying the terminals in order, each a named group: the first that matches wins;
    then any `blanks` (see `_skippable_blanks`), outside every group."""
    alternatives = "|".join(f"(?P<{t.name}>{t.pattern.to_regexp()})" for t in terminals)
    return re.compile(alternatives if blanks is None else f"(?:{alternatives})(?:{blanks})?")


def _skippable_blanks(terminals: list[TerminalDef], ignored: frozenset[str]) -> str | None:
    """The pattern of an ignored terminal made of blanks alone, such as `[\\t \\f]+`, if no other
    terminal can start with a blank; else None.

    The blanks after a token are then the next token, ignored, with no line break to count: the
    lexer skips them in the same match as the token, which saves a turn of its loop for every
    space between two words.
    """
    firsts = {t.name: _first_chars(sre_parse.parse(t.pattern.to_regexp())) for t in terminals}
    for terminal in terminals:
        parsed = sre_parse.parse(terminal.pattern.to_regexp())
        if terminal.name not in ignored or parsed.state.flags & sre.SRE_FLAG_IGNORECASE or len(parsed) != 1:
            continue
        op, argument = parsed[0]
        if op is not sre.MAX_REPEAT or argument[0] < 1 or argument[1] is not sre.MAXREPEAT or len(argument[2]) != 1:
            continue
        inner_op, items = argument[2][0]
        blanks = _set_chars(items) if inner_op is sre.IN else None
        if not blanks or blanks & {"\n", "\r"}:
            continue
        others = [first for name, first in firsts.items() if name != terminal.name]
        if all(first is not None and not first & blanks for first in others):
            return terminal.pattern.to_regexp()
    return None


def _by_first_char(terminals: list[TerminalDef], blanks: str | None) -> dict[str, re.Pattern[str]]:
    """For each ASCII character, the pattern of only the terminals that can start with it.

    Trying thirty alternatives for every token is most of the lexer's time; leaving out those
    that cannot match there keeps the first that matches, so the token is the same. Characters
    not in the dictionary are lexed with the full pattern.
    """
    firsts = [_first_chars(sre_parse.parse(t.pattern.to_regexp())) for t in terminals]
    patterns: dict[tuple[str, ...], re.Pattern[str]] = {}
    by_char: dict[str, re.Pattern[str]] = {}
    for char in _ASCII:
        names = tuple(t.name for t, first in zip(terminals, firsts, strict=True) if first is None or char in first)
        if names:
            if names not in patterns:
                patterns[names] = _alternatives([t for t in terminals if t.name in names], blanks)
            by_char[char] = patterns[names]
    return by_char


_ASCII = [chr(code) for code in range(128)]
_CATEGORIES = {sre.CATEGORY_DIGIT: r"\d", sre.CATEGORY_NOT_DIGIT: r"\D", sre.CATEGORY_SPACE: r"\s",
               sre.CATEGORY_NOT_SPACE: r"\S", sre.CATEGORY_WORD: r"\w", sre.CATEGORY_NOT_WORD: r"\W"}
_ZERO_WIDTH = (sre.ASSERT, sre.ASSERT_NOT, sre.AT)
_REPEATS = (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT)


def _first_chars(items: Any) -> frozenset[str] | None:
    """The ASCII characters a parsed regular expression's match can start with, or None for
    "any": a superset, erring towards None wherever the answer is not plain."""
    if items.state.flags & sre.SRE_FLAG_IGNORECASE:  # `(?i)` for the whole pattern
        return None
    chars, can_be_empty = _sequence_first_chars(items)
    return None if chars is None or can_be_empty else frozenset(chars)


def _sequence_first_chars(items: Any) -> tuple[set[str] | None, bool]:
    """(first characters, whether the sequence can match the empty text) of a parsed sequence.

    A lookaround or anchor matches no text: it is skipped, which only makes the set larger.
    """
    chars: set[str] = set()
    for op, argument in items:
        if op in _ZERO_WIDTH:
            continue
        item_chars: set[str] | None
        if op is sre.LITERAL:
            item_chars, can_be_empty = {chr(argument)}, False
        elif op is sre.IN:
            item_chars, can_be_empty = _set_chars(argument), False
        elif op is sre.BRANCH:
            item_chars, can_be_empty = set(), False
            for branch in argument[1]:
                branch_chars, branch_empty = _sequence_first_chars(branch)
                if branch_chars is None:
                    return None, True
                item_chars |= branch_chars
                can_be_empty = can_be_empty or branch_empty
        elif op is sre.SUBPATTERN and not argument[1] & sre.SRE_FLAG_IGNORECASE:
            item_chars, can_be_empty = _sequence_first_chars(argument[3])
        elif op is sre.ATOMIC_GROUP:
            item_chars, can_be_empty = _sequence_first_chars(argument)
        elif op in _REPEATS:
            item_chars, can_be_empty = _sequence_first_chars(argument[2])
            can_be_empty = can_be_empty or argument[0] == 0
        else:
            return None, True
        if item_chars is None:
            return None, True
        chars |= item_chars
        if not can_be_empty:
            return chars, False
    return chars, True


def _set_chars(items: Any) -> set[str] | None:
    """The ASCII characters in a parsed character set such as `[A-Za-z_\\d]`, None if negated."""
    chars: set[str] = set()
    for op, argument in items:
        if op is sre.LITERAL:
            chars.add(chr(argument))
        elif op is sre.RANGE:
            chars.update(chr(code) for code in range(argument[0], min(argument[1], 127) + 1))
        elif op is sre.CATEGORY and argument in _CATEGORIES:
            chars.update(char for char in _ASCII if re.fullmatch(_CATEGORIES[argument], char))
        else:
            return None
    return chars
