"""Parse rulebook text into the AST, reporting every error in words a person acts on.

Lark (LALR, contextual lexer) reads `grammar.lark`; a post-lexer decides which newlines end
a statement. A clean block is read by `dsl.lalr`, which drives Lark's own tables several times
faster and makes the AST as it reads, through the methods of `dsl.parse_tree`; whatever it
declines, Lark parses and explains, and the same methods turn Lark's tree into the AST.
A file is cut into top-level blocks (a line starting at column 1 with `rule`, `table`,
`valueset`, `criteria`, `test`, `disable` or `rulebook`) and each block is parsed on its own,
so a mistake never spills into the next block, and an unchanged block is never read twice
while it stays in place: an editor validating on every keystroke pays for the block that
changed. Within a broken block each broken statement is replaced by a correct stand-in and
the block parsed again, so every independent mistake is reported and none of the errors that
merely follow from another is.
Lark types stop here: `parse` returns `dsl.ast` classes and `Diagnostic`s. The grammar and
post-lexer are loaded by `dsl.grammar`; a broken block is explained by `dsl.recovery`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from itertools import pairwise
from typing import Any

from lark import Token
from lark.exceptions import UnexpectedInput

from dsl import ast
from dsl.diagnostics import Diagnostic, LineIndex
from dsl.english import english_operators
from dsl.grammar import KEYWORDS, START_RULES, StatementEnds, block_tree, lark_parser
from dsl.lalr import FastParser
from dsl.nesting import DEEPEST_NESTING, may_nest_too_deep, too_deep_node, too_deep_tree
from dsl.parse_tree import BUILDERS, CellParser, TreeToAst
from dsl.recovery import (
    MOST_ERRORS_PER_BLOCK,
    broken_block_diagnostics,
    error_start,
    syntax_diagnostic,
    syntax_errors,
)

__all__ = [
    "KEYWORDS",
    "MOST_ERRORS_PER_BLOCK",
    "START_RULES",
    "TOP_LEVEL",
    "ParseResult",
    "cell_parser",
    "clear_caches",
    "fast_parser",
    "lark_parser",
    "parse",
]

TOP_LEVEL = re.compile(r"^(rulebook|rule|table|valueset|criteria|test|disable)\b", re.MULTILINE)
# Half of a UTF-16 surrogate pair on its own is not a character: no file holds one, but text
# pasted into the editor can, and it could never be stored or published.
LONE_SURROGATE = re.compile("[\ud800-\udfff]")


@cache
def fast_parser() -> FastParser:
    """Lark's own tables, driven without Lark's per-token machinery (see `dsl.lalr`)."""
    return FastParser(lark_parser(), StatementEnds, BUILDERS)


@dataclass(frozen=True)
class ParseResult:
    rulebook: ast.Rulebook
    diagnostics: tuple[Diagnostic, ...]

    @property
    def ok(self) -> bool:
        return not any(d.severity == "error" for d in self.diagnostics)


def parse(text: str) -> ParseResult:
    """The AST of the blocks that parse, and one diagnostic per broken block."""
    return _parse_blocks(text, LineIndex(text))


# A clean block's AST by (block text, offset, line): a block keeps its AST while an edit
# elsewhere leaves its place in the file unchanged (any edit below it, or one above that
# keeps the length). Its spans are absolute, hence the position in the key. Blocks with
# diagnostics are built again each time: some of their messages look past the block.
_BLOCK_ASTS: dict[tuple[str, int, int], ast.Rulebook] = {}
_BLOCK_AST_LIMIT = 8192


def _remember_block(key: tuple[str, int, int], block: ast.Rulebook) -> None:
    if len(_BLOCK_ASTS) >= _BLOCK_AST_LIMIT:
        _BLOCK_ASTS.clear()
    _BLOCK_ASTS[key] = block


def clear_caches() -> None:
    """Forget every block parsed so far (benchmarks measure from cold with this)."""
    block_tree.cache_clear()
    syntax_errors.cache_clear()
    _BLOCK_ASTS.clear()


def _comments(text: str) -> Iterator[re.Match[str]]:
    """Comments outside strings, found with the same rule the lexer ignores them by."""
    for match in re.finditer(r'"([^"\\\n]|\\.)*"|#[^\n]*', text):
        if match.group(0).startswith("#"):
            yield match


def _parse_blocks(text: str, index: LineIndex) -> ParseResult:
    starts = [m.start() for m in TOP_LEVEL.finditer(text)]
    if not starts or starts[0] != 0:
        starts.insert(0, 0)
    starts.append(len(text))
    items: list[ast.Item] = []
    header: ast.Header | None = None
    diagnostics: list[Diagnostic] = []
    cells = cell_parser(text, index)
    comments: list[Token] = []
    for begin, end in pairwise(starts):
        chunk = text[begin:end]
        if not chunk.strip():
            continue
        key = (chunk, begin, index.position(begin)[0])
        built = _BLOCK_ASTS.get(key)
        if built is None:
            builder = TreeToAst(text, index, offset=begin, cell_parser=cells)
            built = fast_parser().parse(chunk, "start", builder)
            english: list[Diagnostic] = []
            if built is None:
                tree = block_tree(chunk)
                read_text = text
                if isinstance(tree, UnexpectedInput):
                    patched = _english_operators(chunk, tree, index, begin)
                    if patched is None:
                        diagnostics.extend(broken_block_diagnostics(chunk, text, index, begin, end))
                        continue
                    # Read again with the operators written: the block's other mistakes show.
                    chunk, english = patched
                    diagnostics.extend(english)
                    read_text = text[:begin] + chunk + text[end:]
                    tree = block_tree(chunk)
                    if isinstance(tree, UnexpectedInput):
                        diagnostics.extend(broken_block_diagnostics(chunk, read_text, index, begin, end))
                        continue
                if may_nest_too_deep(chunk) and (deep := too_deep_tree(tree)) is not None:
                    diagnostics.append(_too_deep(_tree_span(deep, chunk, index, begin), "block"))
                    continue  # Lark's transformer recurses: never hand it the tree
                builder = TreeToAst(read_text, index, offset=begin, cell_parser=cells)  # none of the reader's
                built = builder.transform(tree)
            if may_nest_too_deep(chunk) and (node := too_deep_node(built)) is not None:
                diagnostics.append(_too_deep(getattr(node, "span", built.items[0].span), "block"))
                continue
            if builder.diagnostics:
                diagnostics.extend(builder.diagnostics)
            elif not english:  # a block read with its English replaced is an error every time
                _remember_block(key, built)
        block = built
        if block.header is not None and header is None:
            header = block.header
        items.extend(block.items)
    diagnostics.extend(_lone_surrogates(text, index))
    comments.extend(Token("COMMENT", m.group(0), start_pos=m.start()) for m in _comments(text))
    rulebook = TreeToAst.attach_comments(ast.Rulebook(header, tuple(items)), comments, index)
    return ParseResult(rulebook, tuple(diagnostics))


def _english_operators(
    chunk: str, error: UnexpectedInput, index: LineIndex, begin: int
) -> tuple[str, list[Diagnostic]] | None:
    """When the block stumbled on an English comparison (`is more than`), the block with each
    such phrase replaced by its operator, and an error per phrase saying which to write
    (`dsl.english`); None when the error is elsewhere."""
    patched, found = english_operators(chunk)
    if not any(phrase.start == error_start(error, chunk) for phrase in found):
        return None
    return patched, [
        Diagnostic(
            "error",
            "syntax.english_operator",
            f"`{' '.join(phrase.written.split())}` is not an operator of the language",
            index.span(begin + phrase.start, begin + phrase.end),
            f"write `{phrase.operator}`, as in `service.count {phrase.operator} 10 lesions`",
        )
        for phrase in found
    ]


def _lone_surrogates(text: str, index: LineIndex) -> list[Diagnostic]:
    return [
        Diagnostic(
            "error",
            "syntax.invalid_character",
            f"U+{ord(match.group(0)):04X} is half of a character, not a character (a broken emoji or "
            "accented letter, usually from copying text)",
            index.span(match.start(), match.end()),
            "delete it, or type the character again",
        )
        for match in LONE_SURROGATE.finditer(text)
    ]


def _too_deep(span: ast.Span, what: str) -> Diagnostic:
    return Diagnostic(
        "error",
        "syntax.too_deep",
        f"this {what} nests more than {DEEPEST_NESTING} levels deep "
        "(brackets, `not`s or `else if`s inside one another)",
        span,
        "split it: name a part as a value set, or move it into a rule of its own",
    )


def _tree_span(tree: Any, chunk: str, index: LineIndex, begin: int) -> ast.Span:
    meta = tree.meta
    if meta.empty:
        return index.span(begin, begin + len(chunk.rstrip()))
    return index.span(begin + meta.start_pos, begin + meta.end_pos)


def cell_parser(text: str, index: LineIndex) -> CellParser:
    """What a `TreeToAst` of `text` parses its table cells with: one cell, from the start rule its
    column needs, positions kept, or the diagnostic of a broken one."""

    def parse_cell(start: str, begin: int, end: int) -> Any:
        cell = text[begin:end]
        value = fast_parser().parse(cell, start, TreeToAst(text, index, begin, parse_cell))
        if value is not None:
            return value
        tree = block_tree(cell, start)
        if isinstance(tree, UnexpectedInput):
            return syntax_diagnostic(tree, text, index, begin, end, what=_CELL_WORDS[start])
        if may_nest_too_deep(cell) and (deep := too_deep_tree(tree)) is not None:
            return _too_deep(_tree_span(deep, cell, index, begin), "table cell")
        return TreeToAst(text, index, begin, parse_cell).transform(tree)

    return parse_cell


_CELL_WORDS = {
    "input_cell": "a table cell: `-`, a value, a comparison such as `> 10 lesions`, or a set",
    "output_cell": "an output value or `-`",
    "header_cell": "a column heading: a fact such as `service.kind`, or `=> name` for an output",
    "expect_cell": "an expectation such as `flag payer_lesion_cap_applied because ak-cap-10`",
}
