"""Reads a clean block with Lark's own LALR table and terminals, building the tree Lark builds.

Lark spends nearly all of a parse in generic machinery: a lexer object per parser state, each
token pulled through three generators, a chain of wrapper objects around every reduction.
`FastParser` drives the very same table in one loop, with regular expressions made of the very
same terminals (for each first character, only those that can start with it), and shapes each
node by the options of the very same grammar rules, so `grammar.lark` stays the only
definition of the syntax. It never reports an error: at the first
thing out of the ordinary (a character no terminal matches, a token the table has no action
for) it declines, returning None, and the caller lets Lark parse the block, so every syntax
diagnostic still comes from Lark.
"""

from __future__ import annotations

import re
import re._constants as sre  # the parsed form of a regular expression, for `_first_chars`
import re._parser as sre_parse
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
# How to reduce by a rule: (symbols popped, rule name, then how the node is made). A node of the
# common shape (see `_builder`) is made in the main loop from its tree name and the indices of
# the children it keeps (None: all); any other by calling its builder; a node that is its only
# child has neither.
Reduction = tuple[int, str, str | None, list[int] | None, Builder | None]
new_token = Token._future_new  # Token(...) without the check for a deprecated keyword argument
new_str = str.__new__  # a Token made in place, as `new_token` makes it, saves a call per token
new_object = object.__new__  # Meta() would set `empty` only for it to be overwritten at once


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
        self.reductions: list[Reduction] = []
        number: dict[Any, int] = {}
        nullable = _nullable(rules)
        for rule in rules:
            number[rule] = len(self.reductions)
            self.reductions.append((len(rule.expansion), str(rule.origin.name),
                                    *_builder(rule, lark.options.maybe_placeholders, nullable)))
        # A shift is the next state (>= 0), a reduction the complement of its number (< 0).
        self.states: dict[int, dict[str, int]] = {
            state: {str(symbol): arg if action is Shift else ~number[arg] for symbol, (action, arg) in actions.items()}
            for state, actions in table.states.items()
        }
        terminals = _lexer_order(lark.terminals)
        self.keywords = _keywords(terminals)
        embedded = {name for by_value in self.keywords.values() for name in by_value.values()}
        lexed = [t for t in terminals if t.name not in embedded]
        self.pattern = _alternatives(lexed)
        self.by_first_char = _by_first_char(lexed)
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
        by_first_char, any_first_char = self.by_first_char, self.pattern
        length = len(text)
        while position < length:
            match = by_first_char.get(text[position], any_first_char).match(text, position)
            if match is None:
                return None  # a character no terminal matches
            start_pos = position
            position = end_pos = match.end()  # always further on: Lark refuses zero-width terminals
            kind: str = match.lastgroup  # type: ignore[assignment]  # every alternative is a named group
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
            if not keeps(kind):
                continue
            end_column = end_pos - line_start + 1
            span = (start_pos, token_line, column, end_pos, line, end_column)
            token = None
            if kind in kept:
                token = new_str(Token, value)
                token.type, token.value, token.start_pos, token.end_pos = kind, value, start_pos, end_pos
                token.line, token.column, token.end_line, token.end_column = token_line, column, line, end_column
            while True:
                action = actions.get(kind)
                if action is None:
                    return None
                if action >= 0:
                    state_stack.append(action)
                    value_stack.append(token)
                    span_stack.append(span)
                    break
                size, origin, data, indices, build = reductions[~action]
                if data is not None:  # the common shape, as `_simple_node` makes it
                    first: Any = span_stack[-size]  # never None: see `first_fixed` in `_builder`
                    last: Any = span_stack[-1]
                    children = value_stack[-size:]
                    if indices is not None:
                        children = [children[index] for index in indices]
                    del state_stack[-size:], value_stack[-size:], span_stack[-size:]
                    meta = new_object(Meta)
                    meta.start_pos, meta.line, meta.column = first[0], first[1], first[2]
                    meta.end_pos, meta.end_line, meta.end_column = last[3], last[4], last[5]
                    meta.empty = False
                    value_stack.append(Tree(data, children, meta))
                    span_stack.append(first if first is last else (first[0], first[1], first[2],
                                                                   last[3], last[4], last[5]))
                elif build is not None:
                    if size:
                        values = value_stack[-size:]
                        spans = span_stack[-size:]
                        del state_stack[-size:], value_stack[-size:], span_stack[-size:]
                    else:
                        values, spans = [], []
                    node, node_span = build(values, spans)
                    value_stack.append(node)
                    span_stack.append(node_span)
                else:  # the node is its only child: only the state changes
                    goto = state_stack[-1] = states[state_stack[-2]][origin]
                    actions = states[goto]
                    continue
                goto = states[state_stack[-1]][origin]
                state_stack.append(goto)
                actions = states[goto]
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

    def _reduce(self, reduction: Reduction, state_stack: list[int], value_stack: list[Any],
                span_stack: list[Span]) -> None:
        """One reduction, as the main loop of `parse` does it inline."""
        size, origin, data, indices, build = reduction
        if data is None and build is None:
            del state_stack[-1]
        else:
            values, spans = value_stack[len(value_stack) - size:], span_stack[len(span_stack) - size:]
            del state_stack[len(state_stack) - size:], value_stack[len(value_stack) - size:]
            del span_stack[len(span_stack) - size:]
            if build is None:
                node, node_span = _simple_node(data, indices, values, spans)  # type: ignore[arg-type]
            else:
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


def _builder(rule: Any, maybe_placeholders: bool,
             nullable: frozenset[str]) -> tuple[str | None, list[int] | None, Builder | None]:
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
                _place(node.meta, first, last)
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


def _simple_node(data: str, indices: list[int] | None, values: list[Any], spans: list[Any]) -> tuple[Tree, Span]:
    """A node of the common shape: its first and last children cover text, it keeps its children
    as they are. The main loop of `FastParser.parse` makes these inline, the very same way."""
    first, last = spans[0], spans[-1]  # never None: see `first_fixed` in `_builder`
    children = values if indices is None else [values[index] for index in indices]
    meta = new_object(Meta)
    _place(meta, first, last)
    return Tree(data, children, meta), first if first is last else (*first[:3], *last[3:])


def _place(meta: Meta, first: tuple[int, ...], last: tuple[int, ...]) -> None:
    """Set a node's meta from its first and last positioned children, as Lark's propagation sets it."""
    meta.start_pos, meta.line, meta.column, meta.end_pos, meta.end_line, meta.end_column = *first[:3], *last[3:]
    meta.empty = False


def _alternatives(terminals: list[TerminalDef]) -> re.Pattern[str]:
    """One pattern trying the terminals in order, each a named group: the first that matches wins."""
    return re.compile("|".join(f"(?P<{t.name}>{t.pattern.to_regexp()})" for t in terminals))


def _by_first_char(terminals: list[TerminalDef]) -> dict[str, re.Pattern[str]]:
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
                patterns[names] = _alternatives([t for t in terminals if t.name in names])
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
