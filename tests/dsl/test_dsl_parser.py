"""The parser: the AST it builds, and errors that say where, what was expected, and a fix."""

from __future__ import annotations

import pytest

from dsl import ast
from dsl.parser import parse

RULE = """rule big-order "Big orders are marked"
  in decide
  when order.count > 10 lesions
   and customer.tier in [gold, silver]
  then
    mark big
"""


def test_a_rule_becomes_an_ast_with_spans() -> None:
    result = parse(RULE)
    assert result.ok
    (rule,) = result.rulebook.items
    assert isinstance(rule, ast.Rule)
    assert (rule.id, rule.label, rule.phase) == ("big-order", "Big orders are marked", "decide")
    assert isinstance(rule.condition, ast.BoolOp) and rule.condition.op == "and"
    compare = rule.condition.operands[0]
    assert isinstance(compare, ast.Compare)
    assert compare.right == ast.Literal("quantity", "10 lesions")
    assert (compare.span.line, compare.span.column) == (3, 8)
    assert RULE[compare.span.start : compare.span.end] == "order.count > 10 lesions"


def test_spans_do_not_count_in_equality() -> None:
    moved = parse("\n\n" + RULE).rulebook
    assert moved == parse(RULE).rulebook
    assert moved.items[0].span.line == 3


def test_header_with_dates_and_extends() -> None:
    header = parse(
        'rulebook "Aetna" for payer AETNA\n  extends "Base"\n  effective 2026-01-01 until 2026-12-31\n'
    ).rulebook.header
    assert header == ast.Header("Aetna", "AETNA", ("Base",), "2026-01-01", "2026-12-31")


def test_conditions_continue_on_lines_starting_with_and_or_else() -> None:
    text = (
        'rule r "r"\n  in decide\n  when customer.tier = gold\n    or customer.tier = silver\n  then\n'
        "    if customer.vip = true then mark a and mark b\n    else mark c\n"
    )
    (rule,) = parse(text).rulebook.items
    assert isinstance(rule.condition, ast.BoolOp) and rule.condition.op == "or"
    (step,) = rule.actions
    assert isinstance(step, ast.Conditional)
    assert len(step.then) == 2 and len(step.otherwise) == 1


def test_codes_ranges_patterns_and_quantifiers() -> None:
    text = (
        'rule r "r"\n  in decide\n  when order.codes any in [D22.*, C44.3*, L57.0]\n'
        "   and any item in items: item.code in 17000..17004\n  then\n    mark x\n"
    )
    (rule,) = parse(text).rulebook.items
    member, quantified = rule.condition.operands
    assert member.test == "any in"
    assert [i.text for i in member.collection.items] == ["D22.*", "C44.3*", "L57.0"]
    assert isinstance(quantified, ast.Quantified)
    assert quantified.condition.collection == ast.CodeRange(
        ast.Literal("number", "17000"), ast.Literal("number", "17004")
    )


def test_table_with_hit_policy_and_cells() -> None:
    text = (
        'table t "t"\n  in decide\n  hit collect max\n  | customer.tier | order.count | => cap |\n'
        "  | gold | > 10 lesions | 5 lesions |\n  | not [bronze] | - | 7 lesions |\n"
    )
    (table,) = parse(text).rulebook.items
    assert (table.hit_policy, table.aggregation, table.outputs) == ("collect", "max", ("cap",))
    first, second = table.rows
    assert first.inputs[1] == ast.CellTest(">", ast.Literal("quantity", "10 lesions"))
    assert second.inputs[0].op == "not in" and isinstance(second.inputs[1], ast.AnyValue)


def test_a_cell_holding_an_escaped_backslash_splits_at_the_right_bar() -> None:
    text = 'table t "t"\n  in decide\n  hit first\n  | note | => cap |\n  | "\\\\" | 5 lesions |\n'
    result = parse(text)
    assert result.ok, [d.message for d in result.diagnostics]
    (row,) = result.rulebook.items[0].rows
    assert row.inputs[0] == ast.CellTest("=", ast.Literal("string", "\\"))


@pytest.mark.parametrize(
    ("text", "line", "column", "words"),
    [
        pytest.param(
            'rule r "r"\n  in decide\n  wehn x = 1\n  then\n    mark a\n',
            3,
            3,
            "did you mean `when`?",
            id="a misspelt keyword gets a hint",
        ),
        pytest.param('rule r "r\n  in decide\n', 1, 8, "closing double quote", id="an unclosed text"),
        pytest.param("valueset v = [a, b\n", 1, 19, "`]`", id="an unclosed list says what closes it"),
        pytest.param(
            'test "t" {\n  expect mark a\n\nrule r "r"\n  in decide\n  then\n    mark a\n',
            1,
            10,
            "never closed",
            id="an unclosed block points at its brace",
        ),
    ],
)
def test_syntax_errors_point_at_the_mistake(text: str, line: int, column: int, words: str) -> None:
    (diagnostic,) = parse(text).diagnostics
    assert (diagnostic.span.line, diagnostic.span.column) == (line, column)
    assert words in diagnostic.message + (diagnostic.hint or "")


def test_every_broken_block_is_reported_and_good_blocks_still_parse() -> None:
    text = (
        'rule a "a"\n  in decide\n  when x >\n  then\n    mark a\n\n'
        'rule b "b"\n  in decide\n  then\n    mark b\n\n'
        'rule c "c"\n  in decide\n  then\n    mark c (\n'
    )
    result = parse(text)
    assert [(d.span.line, d.span.column) for d in result.diagnostics] == [(3, 11), (15, 13)]
    assert [item.id for item in result.rulebook.items] == ["b"]


def test_expected_tokens_are_words_not_token_names() -> None:
    (diagnostic,) = parse('rule r "r"\n  in decide\n  when x =\n  then\n    mark a\n').diagnostics
    assert "a value such as" in diagnostic.message
    assert "NAME" not in diagnostic.message and "_NL" not in diagnostic.message


def test_comments_survive_but_do_not_count() -> None:
    with_comment = parse("# why this rule exists\n" + RULE).rulebook
    assert with_comment.items[0].comments == ("# why this rule exists",)
    assert with_comment == parse(RULE).rulebook
