"""Laws as properties: canonical formatting is stable and faithful; any text gives diagnostics only."""

from __future__ import annotations

from dataclasses import replace
from itertools import pairwise
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dsl import ast
from dsl.api import build, format_text
from dsl.content_hash import content_hash
from dsl.formatter import format_rulebook
from dsl.parser import KEYWORDS, TOP_LEVEL, parse
from rulebooks.vocabulary import dermatology_vocabulary
from tests.dsl.dsl_helpers import TOY

RESERVED = set(KEYWORDS) | {
    "any",
    "all",
    "none",
    "no",
    "true",
    "false",
    "missing",
    "present",
    "count",
    "unique",
    "first",
    "priority",
    "collect",
    "table",
    "test",
    "criteria",
    "valueset",
    "rule",
}
names = st.from_regex(r"[a-z][a-z0-9_]{0,7}(-[a-z0-9]{1,4})?", fullmatch=True).filter(lambda n: n not in RESERVED)
upper_names = st.sampled_from(["AETNA", "UHC", "XS", "G2211", "L82"])
texts = st.text(st.characters(codec="utf-8", exclude_characters="\n\r\x00"), max_size=12)
numbers = st.sampled_from(["0", "2", "10", "17000", "1.5"])
quantities = st.sampled_from(["10 lesions", "28 days", "6 months", "1.5 cm", "10 %", "3 stages"])
codes = st.sampled_from(["L57.0", "D22.*", "C44.3*", "0001U", "L82.1"])
dates = st.sampled_from(["2026-01-01", "2025-12-31"])

literals = st.one_of(
    numbers.map(lambda t: ast.Literal("number", t)),
    quantities.map(lambda t: ast.Literal("quantity", t)),
    codes.map(lambda t: ast.Literal("code", t)),
    dates.map(lambda t: ast.Literal("date", t)),
    texts.map(lambda t: ast.Literal("string", t)),
)
paths = st.lists(names, min_size=1, max_size=3).map(lambda parts: ast.Path(tuple(parts)))
ranges = st.just(ast.CodeRange(ast.Literal("number", "17000"), ast.Literal("number", "17004")))
simple_atoms = st.one_of(literals, paths, ranges, upper_names.map(lambda n: ast.Path((n,))))
lists = st.lists(simple_atoms, max_size=3).map(lambda items: ast.ListExpr(tuple(items)))
atoms = st.one_of(simple_atoms, lists)
unions = st.one_of(atoms, st.lists(atoms, min_size=2, max_size=3).map(lambda p: ast.Union(tuple(p))))
comparisons = st.one_of(
    st.builds(ast.Compare, st.sampled_from(["=", "!=", "<", "<=", ">", ">="]), unions, unions),
    st.builds(ast.Member, st.sampled_from(["in", "not in", "any in", "all in", "none in"]), unions, unions),
    paths.map(lambda p: ast.Call("missing", (p,))),
)


def extend(children):
    return st.one_of(
        children.map(ast.Not),
        st.lists(children, min_size=2, max_size=3).map(lambda ops: ast.BoolOp("and", tuple(ops))),
        st.lists(children, min_size=2, max_size=3).map(lambda ops: ast.BoolOp("or", tuple(ops))),
        st.builds(ast.Quantified, st.sampled_from(["any", "all", "none"]), names, paths, children),
    )


conditions = st.recursive(comparisons, extend, max_leaves=6)
word_literals = st.one_of(names, st.sampled_from(["in", "for"])).map(lambda w: ast.Literal("name", w))
actions = st.builds(
    lambda verb, rest: ast.Action((verb, *rest)),
    names.map(lambda w: ast.Literal("name", w)),
    st.lists(st.one_of(word_literals, literals, lists, ranges), max_size=3).map(tuple),
)
action_seqs = st.lists(actions, min_size=1, max_size=2).map(tuple)
simple_conditionals = st.builds(ast.Conditional, conditions, action_seqs, st.one_of(st.just(()), action_seqs))
conditionals = st.builds(
    ast.Conditional,
    conditions,
    action_seqs,
    st.one_of(st.just(()), action_seqs, simple_conditionals.map(lambda c: (c,))),
)
steps = st.lists(st.one_of(actions, conditionals), min_size=1, max_size=3).map(tuple)
# A rule's or table's own dates: none, `effective D`, or `effective D until D`.
date_pairs = st.one_of(st.just((None, None)), st.tuples(dates, st.none() | dates))
rules = st.builds(
    lambda rule, when: replace(rule, effective_from=when[0], effective_until=when[1]),
    st.builds(ast.Rule, names, texts, names, st.one_of(st.none(), conditions), steps),
    date_pairs,
)
valuesets = st.builds(ast.ValueSet, names, st.one_of(lists, unions))
disables = st.builds(ast.Disable, names, texts)


@st.composite
def tables(draw):
    inputs = draw(st.lists(paths, min_size=1, max_size=2))
    outputs = draw(st.lists(names, min_size=1, max_size=1, unique=True))
    cells = st.one_of(
        st.just(ast.AnyValue()),
        st.builds(
            ast.CellTest,
            st.sampled_from(["=", "!=", ">", "<="]),
            simple_atoms.filter(
                lambda a: not isinstance(a, ast.CodeRange) and not (isinstance(a, ast.Literal) and "*" in a.text)
            ),
        ),
        st.builds(ast.CellTest, st.sampled_from(["in", "not in"]), lists),
    )
    rows = draw(
        st.lists(
            st.builds(
                ast.TableRow,
                st.tuples(*[cells] * len(inputs)),
                st.tuples(*[st.one_of(literals, st.just(ast.Literal("name", "-")))] * len(outputs)),
            ),
            min_size=1,
            max_size=3,
        )
    )
    policy = draw(st.sampled_from([("first", None), ("unique", None), ("collect", "max"), ("priority", None)]))
    effective_from, effective_until = draw(date_pairs)
    return ast.Table(
        draw(names),
        draw(texts),
        draw(names),
        policy[0],
        policy[1],
        draw(st.none() | conditions),
        tuple(inputs),
        tuple(outputs),
        tuple(rows),
        draw(st.just(()) | steps),
        effective_from=effective_from,
        effective_until=effective_until,
    )


expectations = st.builds(
    ast.Expectation, st.booleans(), st.lists(word_literals, min_size=1, max_size=3).map(tuple), st.none() | names
)
record_fields = st.builds(ast.RecordField, paths, st.one_of(literals, lists))
tests = st.builds(
    ast.Test,
    texts,
    st.lists(record_fields, max_size=2).map(tuple),
    st.lists(expectations, max_size=2).map(tuple),
    st.just(()),
)
headers = st.builds(
    ast.Header,
    texts,
    st.none() | upper_names,
    st.lists(texts, max_size=1).map(tuple),
    st.none() | dates,
    st.none(),
    st.none() | texts,
)
rulebooks = st.builds(
    ast.Rulebook,
    st.none() | headers,
    st.lists(st.one_of(rules, valuesets, disables, tables(), tests), max_size=4).map(tuple),
)

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(rulebooks)
def test_format_then_parse_gives_back_the_same_ast(rulebook: ast.Rulebook) -> None:
    text = format_rulebook(rulebook)
    parsed = parse(text)
    assert parsed.ok, (text, [d.message for d in parsed.diagnostics])
    assert parsed.rulebook == rulebook


@SETTINGS
@given(rulebooks)
def test_formatting_is_idempotent_and_hash_follows_the_canonical_text(rulebook: ast.Rulebook) -> None:
    once = format_rulebook(rulebook)
    reparsed = parse(once).rulebook
    assert format_rulebook(reparsed) == once
    assert content_hash(reparsed) == content_hash(rulebook)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_text_only_ever_gives_diagnostics(text: str) -> None:
    for vocabulary in (TOY, dermatology_vocabulary()):
        result = build(text, vocabulary)
        for diagnostic in result.diagnostics:
            assert diagnostic.span.line >= 1 and diagnostic.span.column >= 1
            assert 0 <= diagnostic.span.start <= diagnostic.span.end <= len(text) + 1


FRAGMENTS = [
    'rule r "r"\n',
    "  in policy\n",
    "  when ",
    "service.count > 10 lesions",
    " and ",
    "[L57.0, D22.*]",
    "  then\n",
    "    flag x\n",
    'table t "t"\n',
    "  hit first\n",
    "  effective 2027-01-01",
    " until 2026-12-31",
    "| payer | => x |\n",
    "| AETNA | 1 |\n",
    'test "t" {\n',
    "  given {payer: AETNA}\n",
    "}\n",
    "valueset v = ",
    "17000..17004",
    "any x in lines: ",
    "missing(",
    ")",
    "(",
    "\n",
    "not ",
    '"',
    "#",
    "if ",
    " else ",
    "=",
    ">",
]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=25).map("".join))
def test_near_miss_rulebooks_only_ever_give_diagnostics(text: str) -> None:
    build(text, dermatology_vocabulary())


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.text(max_size=200), st.lists(st.sampled_from(FRAGMENTS), max_size=25).map("".join)))
def test_diagnostics_lie_in_the_text_and_a_broken_block_has_one_per_line(text: str) -> None:
    """Recovery reports a later mistake only in a later statement, so never two on one line."""
    for diagnostic in build(text, dermatology_vocabulary()).diagnostics:
        assert 0 <= diagnostic.span.start <= diagnostic.span.end <= len(text)
    cuts = sorted({0, *(match.start() for match in TOP_LEVEL.finditer(text)), len(text)})
    for begin, end in pairwise(cuts):
        block = parse(text[begin:end])
        if block.rulebook.header is None and not block.rulebook.items:  # the block does not parse
            lines = [diagnostic.span.line for diagnostic in block.diagnostics]
            assert len(lines) == len(set(lines)), text[begin:end]


LIBRARY_TEXTS = [
    p.read_text(encoding="utf-8") for p in sorted((Path(__file__).parents[2] / "rulebooks" / "library").glob("*.rules"))
]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(LIBRARY_TEXTS), st.integers(0, 10_000), st.integers(0, 30), st.text(max_size=4))
def test_edited_library_books_give_diagnostics_and_stable_formatting(text: str, at: int, cut: int, insert: str) -> None:
    at %= len(text) + 1
    edited = text[:at] + insert + text[at + cut :]
    build(edited, dermatology_vocabulary())
    formatted = format_text(edited)
    if formatted.text is not None:
        assert format_text(formatted.text).text == formatted.text
