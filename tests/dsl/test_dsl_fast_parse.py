"""The fast reader (`dsl.lalr`) either declines or makes exactly the AST Lark's tree makes.

Compared node by node, spans, comments and diagnostics included: the AST the reader makes as it
reads against the AST `TreeToAst.transform` makes of Lark's tree, for each block and table cell
of the library, the malformed rulebooks and generated texts, with every start rule of the
grammar. Both call the same method per grammar rule, so this compares the children and positions
each method is given. Also: the content hash, written in one pass for speed, is still the hash
of the canonical JSON.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re._parser as sre_parse
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lark import Token, Tree
from lark.exceptions import UnexpectedInput

from dsl import ast, lalr, lalr_lexing, parser
from dsl.content_hash import content_hash
from dsl.diagnostics import LineIndex
from dsl.formatter import format_rulebook
from dsl.parse_tree import TreeToAst
from dsl.parser import START_RULES, fast_parser, lark_parser
from tests.dsl.test_dsl_properties import FRAGMENTS, rulebooks

ROOT = Path(__file__).parents[2]
LIBRARY = sorted((ROOT / "rulebooks" / "library").glob("*.rules"))
MALFORMED = sorted((Path(__file__).parent / "malformed").glob("*.rules"))
DOCS = sorted((ROOT / "docs").rglob("*.rules"))
POSITIONS = ("start_pos", "line", "column", "end_pos", "end_line", "end_column")


def pieces(text: str) -> list[tuple[str, str]]:
    """Every (text, start rule) the parser reads for this rulebook: its blocks and table cells."""
    read: list[tuple[str, str]] = []
    real = lalr.FastParser.parse

    def recording(self: lalr.FastParser, block: str, start: str, nodes: Any) -> Any:
        read.append((block, start))
        return real(self, block, start, nodes)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(lalr.FastParser, "parse", recording)
        parser.clear_caches()
        parser.parse(text)
    return read


def builder(text: str) -> TreeToAst:
    index = LineIndex(text)
    return TreeToAst(text, index, 0, parser.cell_parser(text, index))


def described(value: Any) -> Any:
    """A value with everything it holds spelled out, spans too (they are left out of `==`)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (type(value).__name__, [(f.name, described(getattr(value, f.name))) for f in dataclasses.fields(value)])
    if isinstance(value, tuple | list):
        return (type(value).__name__, [described(item) for item in value])
    if isinstance(value, Tree):
        positions = None if value.meta.empty else [getattr(value.meta, p) for p in POSITIONS]
        return ("Tree", str(value.data), type(value.data).__name__, positions, described(value.children))
    if isinstance(value, Token):
        return ("Token", value.type, value.value, [getattr(value, p) for p in POSITIONS])
    return value


def assert_declines_or_agrees(text: str, start: str) -> bool:
    """True when the fast reader made the AST (and it is the one Lark's tree makes)."""
    fast_builder = builder(text)
    fast = fast_parser().parse(text, start, fast_builder)
    if fast is None:
        return False
    try:
        tree = lark_parser().parse(text, start=start)
    except UnexpectedInput:
        raise AssertionError(f"the fast reader read what Lark refuses, {start}: {text!r}") from None
    lark_builder = builder(text)
    lark = lark_builder.transform(tree)
    assert described(fast) == described(lark), f"{start}: {text!r}"
    assert described(fast_builder.diagnostics) == described(lark_builder.diagnostics), f"{start}: {text!r}"
    return True


def assert_agrees_on_rulebook(text: str) -> None:
    for piece, start in pieces(text):
        for other_start in START_RULES:
            assert_declines_or_agrees(piece, other_start)
        assert_declines_or_agrees(piece, start)


@pytest.mark.parametrize("path", LIBRARY + MALFORMED + DOCS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_fast_reader_declines_or_makes_the_ast_of_larks_tree(path: Path) -> None:
    assert_agrees_on_rulebook(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: p.stem)
def test_fast_reader_reads_every_clean_block_and_cell_of_the_library(path: Path) -> None:
    for piece, start in pieces(path.read_text(encoding="utf-8")):
        assert assert_declines_or_agrees(piece, start), f"declined {start}: {piece!r}"


def test_a_broken_block_is_left_to_lark() -> None:
    for text in ('rule r "r"\n  in decide\n  when x >\n  then\n    flag y\n', "rule r 'r'\n"):
        assert fast_parser().parse(text, "start", builder(text)) is None


def test_end_of_text_ends_the_last_statement() -> None:
    text = 'rule r "r"\n  in decide\n  then\n    flag y'
    assert assert_declines_or_agrees(text, "start")


GENERATED = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@GENERATED
@given(rulebooks)
def test_generated_rulebooks(rulebook: Any) -> None:
    assert_agrees_on_rulebook(format_rulebook(rulebook))


@GENERATED
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=25).map("".join))
def test_near_miss_texts(text: str) -> None:
    for start in START_RULES:
        assert_declines_or_agrees(text, start)
    assert_agrees_on_rulebook(text)


@GENERATED
@given(st.text(max_size=120))
def test_arbitrary_texts(text: str) -> None:
    for start in START_RULES:
        assert_declines_or_agrees(text, start)


@pytest.mark.parametrize(
    "text",
    [
        'rule r "r"\r\n  in decide\r\n  when (10) > (x)\r\n  then\r\n    flag in for (a)\r\n',
        'rule r "r"  # a comment\n  in decide\n  when a\n   # between\n   and b or not c in [x, y,]\n  then\n    f\n',
        'test "t" {\n  given {a.b: 1, c: [L57.0, D22.*]}\n  expect no flag x because y\n}\n',
        'table t "t"\n  in decide\n  hit collect max\n  | a | => b |\n  | - | 1 |\n  |  | "x" |\n',
        'rulebook "b" for payer AETNA\n  extends "a"\n  effective 2026-01-01 until 2026-12-31\n',
        "valueset v = 17000..17004 + [A1, 0001U] + C44.3*\n",
        'criteria c "c"\n  drug d for x in y\n  require any l in lines: l.n >= 2 "why"\n'
        "  approve 6 months reauthorize 12 months\n",
        'rule r "r"\n  in decide\n  then\n    if a then b else if c then d else e\n',
    ],
    ids=[
        "crlf and parentheses",
        "comments and continuations",
        "test block",
        "table",
        "header",
        "valueset",
        "criteria",
        "nested conditionals",
    ],
)
def test_tricky_shapes(text: str) -> None:
    assert assert_declines_or_agrees(text, "start")
    assert_agrees_on_rulebook(text)


def canonical(value: Any) -> Any:
    """The hash's definition, spelled out: each node as a dictionary of its compared fields, less
    those added to the language later while they have no value (`ast.HASHED_WHEN_SET`)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        data = {"node": type(value).__name__}
        data.update(
            {
                f.name: canonical(getattr(value, f.name))
                for f in dataclasses.fields(value)
                if f.compare and not (f.metadata.get("hashed_when_set") and getattr(value, f.name) is None)
            }
        )
        return data
    if isinstance(value, tuple | list):
        return [canonical(item) for item in value]
    return value


@GENERATED
@given(rulebooks)
def test_the_hash_written_in_one_pass_is_the_hash_of_the_canonical_json(rulebook: Any) -> None:
    rulebook = parser.parse(format_rulebook(rulebook)).rulebook
    payload = json.dumps(canonical(rulebook), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert content_hash(rulebook) == "sha256:" + hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


@pytest.mark.parametrize(
    ("pattern", "first"),
    [
        ("a?b", frozenset("ab")),
        ("(?>(\r?\n[\t ]*)+)(?!x)", frozenset("\r\n")),
        (r"\d{4}-|[A-Z]\.", frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")),
        ("(?i)ab", None),
        ("(?i:ab)", None),
        ("[^a]", None),
        ("a*", None),
    ],
    ids=[
        "optional then literal",
        "atomic group and lookahead",
        "alternatives",
        "ignore case for all",
        "ignore case in a group",
        "negated set",
        "can match nothing",
    ],
)
def test_first_characters_of_a_terminal_never_leave_one_out(pattern: str, first: frozenset[str] | None) -> None:
    assert lalr_lexing.first_chars(sre_parse.parse(pattern)) == first


def test_lexing_by_first_character_picks_the_terminal_the_full_pattern_picks() -> None:
    reader = fast_parser()
    texts = [path.read_text(encoding="utf-8") for path in LIBRARY + MALFORMED]
    for text in texts:
        for position in range(len(text)):
            narrowed = reader.by_first_char.get(text[position], reader.pattern).match(text, position)
            full = reader.pattern.match(text, position)
            assert (narrowed and (narrowed.lastgroup, narrowed.end())) == (full and (full.lastgroup, full.end()))


def test_spans_made_in_place_equal_spans_made_by_their_class() -> None:
    rulebook = parser.parse((LIBRARY[0]).read_text(encoding="utf-8")).rulebook
    spans = [item.span for item in rulebook.items]
    assert all(
        span == ast.Span(**vars(span)) and set(vars(span)) == {f.name for f in dataclasses.fields(span)}
        for span in spans
    )
