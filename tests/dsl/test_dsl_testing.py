"""The in-language test runner: expected vs actual, fired rules, and coverage on the AST."""

from __future__ import annotations

from dsl.api import test_text as run_book_tests
from dsl.content_hash import content_hash
from dsl.parser import parse
from tests.dsl.dsl_helpers import TOY

BOOK = """rule cap "Cap large orders"
  in adjust
  when customer.tier = gold
   and present(order.count)
   and order.count > 10 lesions
  then
    limit to 10 lesions
    mark capped

table label "Label by tier"
  in decide
  hit first
  | customer.tier | => label |
  | gold          | shiny    |
  | -             | plain    |
  then
    mark label

test "gold orders over 10 are capped" {
  given {
    customer: {tier: gold}
    order: {count: 12 lesions, codes: []}
  }
  expect limit to 10 lesions because cap
  expect mark shiny because label
  expect no mark plain
}

test "by tier" {
  given {order: {count: 3 lesions, codes: []}}
  examples
    | customer.tier | expect                         |
    | silver        | mark plain; no mark capped     |
    | gold          | mark shiny because label       |
}
"""


def test_passing_tests_report_fired_rules_and_coverage() -> None:
    report = run_book_tests(BOOK, TOY)
    assert report["passed"], report
    first = report["results"][0]
    assert first["fired"] == ["cap", "label"]
    assert [r["example"] for r in report["results"]] == [None, 1, 2]
    coverage = report["coverage"]
    assert coverage["rules"] == {"cap": True, "label": True}
    assert coverage["rows"] == {"label row 1 (line 14)": True, "label row 2 (line 15)": True}
    # `customer.tier = gold` was seen true and false; `present(order.count)` only true.
    assert coverage["conditions"]["cap line 3:8"] == {"true": True, "false": True}
    assert coverage["conditions"]["cap line 4:8"] == {"true": True, "false": False}
    assert 0 < coverage["percent"] < 100


def test_a_failing_expectation_says_expected_and_actual() -> None:
    report = run_book_tests(BOOK.replace("expect limit to 10 lesions because cap", "expect limit to 9 lesions"), TOY)
    assert not report["passed"]
    failure = next(e for r in report["results"] for e in r["expectations"] if not e["passed"])
    assert failure["message"] == "expected `limit to 9 lesions`, got limit to 10 lesions"
    assert failure["line"] == 24


def test_because_checks_which_rule_fired() -> None:
    report = run_book_tests(BOOK.replace("expect mark shiny because label", "expect mark shiny because cap"), TOY)
    failure = next(e for r in report["results"] for e in r["expectations"] if not e["passed"])
    assert failure["message"] == "`mark shiny` came from label, not from cap"


def test_a_rulebook_with_errors_runs_no_test() -> None:
    report = run_book_tests(BOOK.replace("customer.tier = gold", "customer.tierr = gold"), TOY)
    assert report["passed"] is False and report["results"] == []
    assert report["diagnostics"][0]["code"] == "name.unknown"


def test_content_hash_ignores_layout_and_comments_but_not_meaning() -> None:
    messy = BOOK.replace("  when customer.tier = gold\n   and", "  when customer.tier = gold and") + "# note\n"
    assert content_hash(parse(messy).rulebook) == content_hash(parse(BOOK).rulebook)
    changed = BOOK.replace("> 10 lesions", "> 11 lesions")
    assert content_hash(parse(changed).rulebook) != content_hash(parse(BOOK).rulebook)
