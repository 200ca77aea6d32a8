"""Which books and rules apply to an encounter: by date of service and by payer, decided in one
place (`applicable_rules`) for the plain loop and the stack's caches alike."""

from __future__ import annotations

import datetime as dt

from rulebooks.engine import code
from rulebooks.models import Encounter
from rulebooks.stack import Stack, applicable_rules, library_stack, stack_of

CODED_AT = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)

BCBS_CLINIC = """rulebook "Clinic BCBS habits" for payer BCBS

rule bcbs-destruction-review "BCBS reviews every destruction"
  in policy
  when service.kind = destruction
  then
    flag bcbs_destruction_reviewed
"""

BCBS_DISABLES_THE_AETNA_CAP = """rulebook "Clinic BCBS overrides" for payer bcbs

disable aetna-ak-cap-10 "only for our BCBS encounters"
"""


def _destruction(payer: str, *, count: int = 20, date: str = "2026-03-02") -> Encounter:
    return Encounter.model_validate(
        {
            "external_id": f"{payer}-{count}",
            "date_of_service": date,
            "provider": {"npi": "1234567893"},
            "patient": {"id": "p1", "age": 70},
            "coverage": {"payer": payer, "plan_type": "commercial"},
            "diagnoses": ["L57.0"],
            "services": [{"id": "s1", "kind": "destruction", "count": count, "site": "face", "diagnoses": ["L57.0"]}],
        }
    )


def _flags(stack: Stack, encounter: Encounter) -> list[str]:
    coding = code(encounter, encounter_id=encounter.external_id, coded_at=CODED_AT, stack=stack)
    return [flag.code for flag in coding.flags]


def test_a_payer_book_applies_to_its_payer_only() -> None:
    stack = stack_of([BCBS_CLINIC])
    for _ in range(2):  # the second pass comes from the stack's caches, which must key by payer
        assert "bcbs_destruction_reviewed" in _flags(stack, _destruction("BCBS"))
        assert "bcbs_destruction_reviewed" not in _flags(stack, _destruction("AETNA"))
        assert "bcbs_destruction_reviewed" in _flags(stack, _destruction("bcbs"))  # payer codes compare upper-cased


def test_a_payer_book_disables_a_rule_for_its_payer_only() -> None:
    stack = library_stack("Aetna commercial (template)", extra=[BCBS_DISABLES_THE_AETNA_CAP])
    books = stack.books
    date = dt.date(2026, 3, 2)
    assert "aetna-ak-cap-10" in [rule.id for _, rule in applicable_rules(books, "policy", date, "AETNA")]
    assert "aetna-ak-cap-10" not in [rule.id for _, rule in applicable_rules(books, "policy", date, "BCBS")]
    assert "payer_lesion_cap_applied" in _flags(stack, _destruction("AETNA"))


def test_books_apply_by_the_date_of_service() -> None:
    dated = BCBS_CLINIC.replace("for payer BCBS\n", "for payer BCBS\n  effective 2026-06-01 until 2026-12-31\n")
    books = stack_of([dated]).books
    assert not applicable_rules(books, "policy", dt.date(2026, 5, 31), "BCBS")
    assert applicable_rules(books, "policy", dt.date(2026, 6, 1), "BCBS")
    assert not applicable_rules(books, "policy", dt.date(2027, 1, 1), "BCBS")
