"""A rule's or table's own dates: `effective DATE [until DATE]` after its `in` line, by date of service.

Through every layer: both parsers, the AST, the canonical text, the content hash (unchanged for a
rulebook without rule dates), the checker's precise errors, the compiled rule's `in_effect`, and
the in-language test runner, which runs only the rules in effect on a test's `date_of_service`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from dsl import ast
from dsl.api import build, format_text
from dsl.api import test_text as run_rulebook_tests
from dsl.content_hash import content_hash
from dsl.formatter import format_rulebook
from dsl.parser import parse
from dsl.vocabulary import DATE, Field
from tests.dsl.dsl_helpers import TOY
from tests.dsl.test_dsl_fast_parse import assert_agrees_on_rulebook, assert_declines_or_agrees

DATED = dataclasses.replace(TOY, fields=(*TOY.fields, Field("date_of_service", DATE, required=True)))

RULES = """rule gold-from-2027 "Gold customers are marked from 2027"
  in decide
  effective 2027-01-01 until 2027-12-31
  when customer.tier = gold
  then
    mark golden

table tiers "Tier marks, for 2027 only"
  in decide
  effective 2027-01-01
  hit first
  | customer.tier | => label |
  | gold          | shiny    |
  | -             | plain    |
  then
    mark label

rule always "Always marked"
  in decide
  then
    mark seen
"""


# ---- syntax, AST, canonical text ---------------------------------------------------------------


def test_a_rule_and_a_table_carry_their_dates_with_the_spans_of_each_date() -> None:
    items = parse(RULES).rulebook.items
    rule, table, plain = items
    assert isinstance(rule, ast.Rule) and isinstance(table, ast.Table) and isinstance(plain, ast.Rule)
    assert (rule.effective_from, rule.effective_until) == ("2027-01-01", "2027-12-31")
    assert (rule.from_span.line, rule.from_span.column, rule.until_span.column) == (3, 13, 30)
    assert (table.effective_from, table.effective_until) == ("2027-01-01", None)
    assert (table.from_span.line, table.from_span.column) == (10, 13)
    assert (plain.effective_from, plain.effective_until) == (None, None)


def test_both_parsers_make_the_same_dated_rules() -> None:
    assert assert_declines_or_agrees(RULES, "start")
    assert_agrees_on_rulebook(RULES)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(
            'rule r "r"\n  in decide\n    effective   2027-01-01   until 2027-02-01  \n  then\n    mark x\n',
            id="spaces",
        ),
        pytest.param('rule r "r"\n  in decide\n  effective 2027-01-01\n  then\n    mark x', id="no newline at the end"),
        pytest.param(
            'table t "t"\n  in decide\n  # from 2027\n  effective 2027-01-01  # inclusive\n  hit first\n'
            "  | region | => x |\n  | -      | 1    |\n",
            id="comments around a table's dates",
        ),
    ],
)
def test_dates_read_alike_by_both_parsers_however_laid_out(text: str) -> None:
    assert assert_declines_or_agrees(text, "start")
    assert_agrees_on_rulebook(text)


def test_the_canonical_text_puts_the_dates_after_the_in_line_and_round_trips() -> None:
    messy = (
        'rule r "r"\n  in decide\n      effective    2027-01-01 until    2027-12-31\n  then\n    mark x\n\n'
        'table t "t"\n  in decide\n  effective 2027-01-01 # from 2027\n  hit first\n  | region | => x |\n  | - | 1 |\n'
    )
    formatted = format_text(messy).text
    assert formatted == (
        'rule r "r"\n  in decide\n  effective 2027-01-01 until 2027-12-31\n  then\n    mark x\n\n'
        'table t "t"\n  in decide\n  effective 2027-01-01  # from 2027\n  hit first\n'
        "  | region | => x |\n  | -      | 1    |\n"
    )
    assert parse(formatted).rulebook == parse(messy).rulebook
    assert format_text(formatted).text == formatted


def test_dates_are_part_of_what_a_rule_says() -> None:
    undated = 'rule r "r"\n  in decide\n  then\n    mark x\n'
    dated = 'rule r "r"\n  in decide\n  effective 2027-01-01\n  then\n    mark x\n'
    later = 'rule r "r"\n  in decide\n  effective 2027-01-02\n  then\n    mark x\n'
    hashes = {content_hash(parse(text).rulebook) for text in (undated, dated, later)}
    assert len(hashes) == 3
    assert parse(dated).rulebook != parse(undated).rulebook


def test_a_rulebook_without_rule_dates_keeps_the_version_id_it_was_published_with() -> None:
    # Hashed before rule dates existed (commit 23aa952): adding the fields must not change it.
    text = 'rule r "r"\n  in decide\n  when region = north\n  then\n    mark x\n\ntable t "t"\n  in decide\n'
    text += "  hit first\n  | region | => x |\n  | -      | 1    |\n"
    assert content_hash(parse(text).rulebook) == "sha256:903421ff54ec228d"


def test_the_formatter_prints_what_the_ast_holds() -> None:
    rule = parse(RULES).rulebook.items[0]
    assert isinstance(rule, ast.Rule)
    undated = dataclasses.replace(rule, effective_from=None, effective_until=None)
    assert "effective" not in format_rulebook(ast.Rulebook(None, (undated,)))


# ---- checker -------------------------------------------------------------------------------------


def diagnostics(text: str) -> list[tuple[int, int, str, str]]:
    return [(d.span.line, d.span.column, d.code, d.message) for d in build(text, DATED).diagnostics]


@pytest.mark.parametrize(
    ("dates", "expected"),
    [
        pytest.param(
            "effective 2027-02-30",
            [(3, 13, "value.bad_date", "2027-02-30 is not a date on the calendar")],
            id="no such day",
        ),
        pytest.param(
            "effective 2027-01-01 until 2027-13-01",
            [(3, 30, "value.bad_date", "2027-13-01 is not a date on the calendar")],
            id="no such month in until",
        ),
        pytest.param(
            "effective 2027-12-31 until 2027-01-01",
            [(3, 30, "rule.dates", "rule `r` ends before it starts")],
            id="until before effective, at until",
        ),
        pytest.param("effective 2027-01-01 until 2027-01-01", [], id="a single day is fine"),
    ],
)
def test_the_checker_says_which_date_is_wrong(dates: str, expected: list[tuple[int, int, str, str]]) -> None:
    assert diagnostics(f'rule r "r"\n  in decide\n  {dates}\n  then\n    mark x\n') == expected


def test_a_table_that_ends_before_it_starts_is_told_at_its_until() -> None:
    text = 'table t "t"\n  in decide\n  effective 2027-06-01 until 2027-05-31\n  hit first\n'
    text += "  | region | => x |\n  | -      | 1    |\n"
    assert diagnostics(text) == [(3, 30, "rule.dates", "table `t` ends before it starts")]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(
            "  effective 2027-1-1\n",
            (3, 13, "syntax.unexpected_token", "expected a date such as 2026-01-01, found `2027`", None),
            id="a date without its zeros",
        ),
        pytest.param(
            "  efective 2027-01-01\n",
            (
                3,
                3,
                "syntax.unexpected_token",
                "expected `then` or `when`, found `efective`",
                "did you mean `effective`?",
            ),
            id="misspelt effective",
        ),
        pytest.param(
            "  effective 2027-01-01 until\n",
            (
                3,
                29,
                "syntax.unexpected_token",
                "expected a date such as 2026-01-01, found the end of the line",
                None,
            ),
            id="until without a date",
        ),
        pytest.param(
            "  when region = north\n  effective 2027-01-01\n",
            (
                4,
                3,
                "syntax.unexpected_token",
                "expected `then`, found `effective`",
                "`effective` goes in the rulebook's header, or on the line after a rule's or table's `in` line",
            ),
            id="dates after the condition",
        ),
    ],
)
def test_malformed_dates_are_syntax_errors_at_their_place(body: str, expected: tuple) -> None:
    text = 'rule r "r"\n  in decide\n' + body + "  then\n    mark x\n"
    found = [(d.span.line, d.span.column, d.code, d.message, d.hint) for d in build(text, DATED).diagnostics]
    assert found == [expected]


# ---- compiled rules and the test runner ------------------------------------------------------------


def test_a_compiled_rule_knows_its_dates_and_a_rule_without_is_always_in_effect() -> None:
    program = build(RULES, DATED).program
    assert program is not None
    by_id = {rule.id: rule for rule in program.rules}
    assert (by_id["gold-from-2027"].effective_from, by_id["gold-from-2027"].effective_until) == (
        dt.date(2027, 1, 1),
        dt.date(2027, 12, 31),
    )
    days = [dt.date(2026, 12, 31), dt.date(2027, 1, 1), dt.date(2027, 12, 31), dt.date(2028, 1, 1)]
    assert [by_id["gold-from-2027"].in_effect(day) for day in days] == [False, True, True, False]
    assert [by_id["tiers"].in_effect(day) for day in days] == [False, True, True, True]
    assert all(by_id["always"].in_effect(day) for day in (dt.date(1900, 1, 1), dt.date(2999, 1, 1)))


def test_the_test_runner_runs_only_the_rules_in_effect_on_the_tests_date_of_service() -> None:
    text = RULES + (
        '\ntest "2026: only the undated rule" {\n  given {\n    date_of_service: 2026-12-31\n'
        "    customer.tier: gold\n  }\n  expect mark seen\n  expect no mark golden\n  expect no mark shiny\n}\n"
        '\ntest "2027: all three" {\n  given {\n    date_of_service: 2027-12-31\n    customer.tier: gold\n  }\n'
        "  expect mark golden because gold-from-2027\n  expect mark shiny because tiers\n  expect mark seen\n}\n"
        '\ntest "2028: the table still, the rule no more" {\n  given {\n    date_of_service: 2028-01-01\n'
        "    customer.tier: gold\n  }\n  expect no mark golden\n  expect mark shiny\n}\n"
        '\ntest "by example" {\n  given {\n    customer.tier: gold\n  }\n  examples\n'
        "    | date_of_service | expect                          |\n"
        "    | 2026-06-01      | no mark golden; no mark shiny   |\n"
        "    | 2027-06-01      | mark golden; mark shiny         |\n}\n"
    )
    report = run_rulebook_tests(text, DATED)
    assert report["diagnostics"] == []
    assert [(r["name"], r["passed"]) for r in report["results"]] == [
        ("2026: only the undated rule", True),
        ("2027: all three", True),
        ("2028: the table still, the rule no more", True),
        ("by example", True),
        ("by example", True),
    ]


def test_without_a_date_of_service_a_test_runs_every_rule() -> None:
    text = RULES + '\ntest "undated" {\n  given {\n    customer.tier: gold\n  }\n  expect mark golden\n}\n'
    report = run_rulebook_tests(text, DATED)
    assert report["passed"], report["results"]
