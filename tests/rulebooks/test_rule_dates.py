"""Rule dates in a stack: a rule runs only on the dates of service it is in effect, and a dated
override out of effect leaves the earlier book's rule of the same id in force (so a payer can
change a preference from a date on, and back)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from rulebooks import authoring
from rulebooks.engine import code
from rulebooks.models import Coding, Encounter
from rulebooks.stack import Stack, applicable_rules, stack_of

CODED_AT = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)

BASE = """rulebook "Dated base"
  effective 2026-01-01

rule destruction-modifier "Destruction lines carry the usual distinct-procedure modifier"
  in policy
  when service.kind = destruction
  then
    add modifier 59 to lines in 17000..17004
    flag modifier_59_preferred

rule destruction-reviewed "Destructions are reviewed"
  in policy
  when service.kind = destruction
  then
    flag destruction_reviewed
"""

PAYER = """rulebook "Dated payer" for payer AETNA
  effective 2026-01-01

rule destruction-modifier "Aetna wants XS instead of 59 in 2027"
  in policy
  effective 2027-01-01 until 2027-12-31
  when service.kind = destruction
  then
    add modifier XS to lines in 17000..17004
    flag modifier_xs_preferred

rule destruction-count-reviewed "From 2027-07-01, more than 5 lesions are reviewed"
  in policy
  effective 2027-07-01
  when service.kind = destruction
   and present(service.count)
   and service.count > 5 lesions
  then
    flag many_lesions_reviewed
"""


def encounter(date_of_service: str, count: int = 8) -> Encounter:
    return Encounter.model_validate(
        {
            "external_id": f"dated-{date_of_service}-{count}",
            "date_of_service": date_of_service,
            "place_of_service": "11",
            "provider": {"npi": "1234567893"},
            "patient": {"id": "P-1", "age": 70, "sex": "male"},
            "coverage": {"payer": "AETNA", "plan_type": "commercial"},
            "diagnoses": ["L57.0"],
            "services": [{"id": "d1", "kind": "destruction", "count": count, "site": "face", "diagnoses": ["L57.0"]}],
        }
    )


def coded(stack: Stack, date_of_service: str, count: int = 8) -> Coding:
    return code(encounter(date_of_service, count), encounter_id="dated", coded_at=CODED_AT, stack=stack)


def outcome(coding: Coding) -> tuple[list[tuple[str, list[str]]], list[str]]:
    """The claim lines with their modifiers, and the flags rules raised."""
    lines = [(line.code, list(line.modifiers)) for line in coding.claim_lines]
    return lines, sorted(flag.code for flag in coding.flags if any(reason.rule for reason in flag.reasons))


def by_rule(coding: Coding, flag_code: str) -> list[tuple[str, str]]:
    return [
        (reason.rule.rulebook, reason.rule.rule_id)
        for flag in coding.flags
        if flag.code == flag_code
        for reason in flag.reasons
        if reason.rule
    ]


@pytest.mark.parametrize(
    ("date_of_service", "modifier", "flags"),
    [
        pytest.param(
            "2026-12-31",
            "59",
            ["destruction_reviewed", "modifier_59_preferred"],
            id="before the override's dates the base rule is in force",
        ),
        pytest.param(
            "2027-01-01",
            "XS",
            ["destruction_reviewed", "modifier_xs_preferred"],
            id="on its first day the payer's override replaces the base rule",
        ),
        pytest.param(
            "2027-07-01",
            "XS",
            ["destruction_reviewed", "many_lesions_reviewed", "modifier_xs_preferred"],
            id="a rule with only a start date runs from that day",
        ),
        pytest.param(
            "2027-12-31",
            "XS",
            ["destruction_reviewed", "many_lesions_reviewed", "modifier_xs_preferred"],
            id="on its last day the override still holds",
        ),
        pytest.param(
            "2028-01-01",
            "59",
            ["destruction_reviewed", "many_lesions_reviewed", "modifier_59_preferred"],
            id="after the override's dates the base rule is in force again",
        ),
    ],
)
def test_the_rule_in_force_depends_on_the_date_of_service(date_of_service: str, modifier: str, flags: list[str]):
    lines, found = outcome(coded(stack_of([BASE, PAYER]), date_of_service))
    assert found == flags
    assert lines and all(modifiers == [modifier] for _, modifiers in lines), lines


def test_the_reasons_name_the_book_whose_rule_was_in_force() -> None:
    stack = stack_of([BASE, PAYER])
    assert by_rule(coded(stack, "2026-06-01"), "modifier_59_preferred") == [("Dated base", "destruction-modifier")]
    assert by_rule(coded(stack, "2027-06-01"), "modifier_xs_preferred") == [("Dated payer", "destruction-modifier")]


def test_one_stack_codes_dates_in_any_order_alike() -> None:
    """The stack caches rules by the books and dated rules in effect: a date must never lend its
    choice of rules to another."""
    fresh = {day: outcome(coded(stack_of([BASE, PAYER]), day)) for day in ("2026-06-01", "2027-03-01", "2027-09-01")}
    shared = stack_of([BASE, PAYER])
    for day in ("2027-09-01", "2026-06-01", "2027-03-01", "2026-06-01", "2027-09-01", "2027-03-01"):
        assert outcome(coded(shared, day)) == fresh[day], day


def test_rules_of_a_phase_are_listed_by_date() -> None:
    stack = stack_of([BASE, PAYER])

    def listed(day: dt.date) -> list[tuple[str, str]]:
        return [(book.name, rule.id) for book, rule in applicable_rules(stack.books, "policy", day, "AETNA")]

    assert listed(dt.date(2026, 6, 1)) == [
        ("Dated base", "destruction-modifier"),
        ("Dated base", "destruction-reviewed"),
    ]
    assert listed(dt.date(2027, 8, 1)) == [
        ("Dated base", "destruction-reviewed"),
        ("Dated payer", "destruction-modifier"),
        ("Dated payer", "destruction-count-reviewed"),
    ]


def test_an_explained_run_sees_the_same_rules_as_the_fast_path() -> None:
    stack = stack_of([BASE, PAYER])
    for day in ("2026-06-01", "2027-03-01", "2028-03-01"):
        observed = stack.observed(findings={})
        explained = code(encounter(day), encounter_id="dated", coded_at=CODED_AT, stack=observed)
        assert outcome(explained) == outcome(coded(stack, day)), day
        assert observed.journal is not None
        fired = {(o.rule_id, o.status) for o in observed.journal}
        assert ("destruction-modifier", "fired") in fired


def test_a_disable_applies_whatever_the_date() -> None:
    clinic = 'rulebook "Clinic"\n\ndisable destruction-modifier "we add modifiers by hand"\n'
    stack = stack_of([BASE, PAYER, clinic])
    for day in ("2026-06-01", "2027-06-01"):
        lines, flags = outcome(coded(stack, day))
        assert "modifier_59_preferred" not in flags and "modifier_xs_preferred" not in flags, day
        assert all(modifiers == [] for _, modifiers in lines), day


# ---- the rulebook's own tests, on the coding engine ----------------------------------------------

AUTHORED = """rulebook "Aetna dated (draft)" for payer AETNA
  extends "National base"
  effective 2026-01-01

rule aetna-xs-from-2027 "Aetna wants XS on destruction lines from 2027"
  in policy
  effective 2027-01-01 until 2027-12-31
  when service.kind = destruction
  then
    add modifier XS to lines in 17000..17004

test "XS only in 2027" {
  given {
    diagnoses: [L57.0]
    service: {kind: destruction, count: 2 lesions, site: "face", diagnoses: [L57.0]}
  }
  examples
    | date_of_service | expect                                            |
    | 2026-12-31      | line 17000 units 1; no add modifier XS            |
    | 2027-01-01      | line 17000 units 1 modifier XS                    |
    | 2027-12-31      | add modifier XS to lines in 17000..17004 because aetna-xs-from-2027 |
    | 2028-01-01      | no line 17000 units 1 modifier XS                 |
}
"""


def test_the_rulebook_test_runner_codes_each_example_on_its_date_of_service() -> None:
    report: dict[str, Any] = authoring.run_tests(AUTHORED)
    assert report["diagnostics"] == [] or all(d["severity"] == "warning" for d in report["diagnostics"])
    assert [r["passed"] for r in report["results"]] == [True, True, True, True], report["results"]
    assert report["coverage"]["rules"] == {"aetna-xs-from-2027": True}


def test_a_failing_dated_expectation_says_what_came_out_instead() -> None:
    wrong = AUTHORED.replace(
        "| 2026-12-31      | line 17000 units 1; no add modifier XS     ",
        "| 2026-12-31      | line 17000 units 1 modifier XS              ",
    )
    assert wrong != AUTHORED
    first = authoring.run_tests(wrong)["results"][0]
    assert not first["passed"]
    assert first["expectations"][0]["message"] == (
        "expected `line 17000 units 1 modifier XS`, got line 17000 units 1; line 17003 units 1"
    )
