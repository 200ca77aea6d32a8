"""The payer decisions the passes act on are rules of the national base: a later book disables or
replaces each by id, and the lines they shape name the rule that decided."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from dsl.runtime import Trace
from rulebooks import authoring
from rulebooks.engine import code
from rulebooks.models import Coding, Encounter
from rulebooks.stack import library_stack
from tests.rulebooks.engine.engine_corpus import CORPUS_BOOK, corpus_stack

CODED_AT = dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC)
EM = {
    "id": "v1",
    "kind": "em",
    "em": {"patient_status": "established", "level": 4, "separately_identifiable": True},
    "diagnoses": ["L40.0"],
}
BIOPSY = {"id": "b1", "kind": "biopsy", "technique": "punch", "site": "back", "diagnoses": ["D48.5"]}


def encounter(services: list[dict[str, Any]], plan_type: str = "commercial", **overrides: Any) -> Encounter:
    return Encounter.model_validate(
        {
            "external_id": "e-1",
            "date_of_service": "2026-03-10",
            "provider": {"npi": "1234567893"},
            "patient": {"id": "p-1"},
            "coverage": {"payer": "ACME", "plan_type": plan_type, **overrides.pop("coverage", {})},
            "diagnoses": ["L40.0", "D48.5", "L82.1", "D22.5"],
            "services": services,
            **overrides,
        }
    )


def coded(enc: Encounter, clinic: str | None = None) -> Coding:
    return code(enc, encounter_id="e-1", coded_at=CODED_AT, stack=corpus_stack(clinic))


def clinic(*items: str) -> str:
    return 'rulebook "Clinic"\n\n' + "\n\n".join(items) + "\n"


def rule_ids(reasons: Any) -> list[str]:
    return [reason.rule.rule_id for reason in reasons if reason.rule is not None]


class TestSeparatelyIdentifiableVisit:
    def test_the_base_bills_it_with_25_and_names_its_rule(self):
        lines = {line.code: line for line in coded(encounter([EM, BIOPSY])).claim_lines}
        assert lines["99214"].modifiers == ["25"]
        assert rule_ids(lines["99214"].reasons) == ["em-modifier-25"]

    def test_a_clinic_that_never_bills_it_disables_the_rule(self):
        book = clinic('disable em-modifier-25 "we do not bill a visit on a procedure day"')
        coding = coded(encounter([EM, BIOPSY]), book)
        assert [line.code for line in coding.claim_lines] == ["11104"]
        (dropped,) = [flag for flag in coding.flags if flag.detail and flag.detail.startswith("99214 bundled")]
        assert "no rule of the payer's or the clinic's rulebooks bills it" in dropped.reasons[0].message


TWO_REPAIRS = [
    {"id": "r1", "kind": "repair", "site": "forehead", "repair": {"length_cm": 3.0, "complexity": "complex"}},
    {"id": "r2", "kind": "repair", "site": "arm", "repair": {"length_cm": 2.0, "complexity": "intermediate"}},
]


class TestDistinctModifier:
    def test_commercial_plans_take_xs_from_the_base(self):
        lines = {line.code: line for line in coded(encounter(TWO_REPAIRS)).claim_lines}
        assert lines["12031"].modifiers == ["XS"]
        assert rule_ids(lines["12031"].reasons) == ["distinct-modifier-xs"]

    def test_disabled_the_universal_59_is_left(self):
        book = clinic('disable distinct-modifier-xs "this payer rejects X modifiers"')
        lines = {line.code: line for line in coded(encounter(TWO_REPAIRS), book).claim_lines}
        assert lines["12031"].modifiers == ["59"] and rule_ids(lines["12031"].reasons) == []

    def test_a_later_book_replaces_the_rule_by_id(self):
        book = clinic(
            'rule distinct-modifier-xs "Medicaid too takes XS here"\n  in classify\n'
            "  when plan_type in [medicare_ffs, commercial, medicaid]\n  then\n"
            "    use modifier XS for distinct procedures"
        )
        assert [line.modifiers for line in coded(encounter(TWO_REPAIRS, "medicaid")).claim_lines][1] == ["59"]
        lines = {line.code: line for line in coded(encounter(TWO_REPAIRS, "medicaid"), book).claim_lines}
        assert lines["12031"].modifiers == ["XS"]
        assert [reason.rule.rulebook for reason in lines["12031"].reasons if reason.rule] == ["Clinic"]


VISIT = {**EM, "em": {"patient_status": "established", "level": 4, "longitudinal_care": True}}


class TestVisitComplexity:
    def test_a_commercial_payer_that_pays_it_gets_it_from_a_clinic_rule(self):
        assert [line.code for line in coded(encounter([VISIT])).claim_lines] == ["99214"]
        book = clinic(
            'rule acme-pays-g2211 "ACME pays G2211"\n  in classify\n'
            "  when payer = ACME\n  then\n    bill G2211 for longitudinal care"
        )
        lines = coded(encounter([VISIT]), book).claim_lines
        assert [line.code for line in lines] == ["99214", "G2211"]
        assert rule_ids(lines[1].reasons) == ["acme-pays-g2211"]

    def test_disabled_for_medicare_it_is_refused_with_the_reason(self):
        book = clinic('disable g2211-medicare "our MAC audit: hold G2211 until attestations are on file"')
        coding = coded(encounter([VISIT], "medicare_ffs"), book)
        assert [line.code for line in coding.claim_lines] == ["99214"]
        assert any(flag.detail == "G2211 not added to 99214" for flag in coding.flags)


COSMETIC = {
    "id": "s1",
    "kind": "shave",
    "site": "back",
    "lesion_size_cm": 0.8,
    "patient_requested_cosmetic": True,
    "diagnoses": ["L82.1"],
}


class TestLiability:
    @pytest.mark.parametrize(
        ("clinic_book", "claim", "self_pay"),
        [
            pytest.param(None, [("11301", ["GY"])], [], id="filed with GY"),
            pytest.param("disable", [], [("11301", [])], id="disabled: self-pay, no modifier"),
        ],
    )
    def test_a_medicare_ffs_filing_request_takes_gy_unless_disabled(self, clinic_book, claim, self_pay):
        book = clinic('disable medicare-liability-modifiers "billed by our clearinghouse"') if clinic_book else None
        filed = {**COSMETIC, "patient_requested_filing": True}
        coding = coded(encounter([filed], "medicare_ffs"), book)
        assert [(line.code, line.modifiers) for line in coding.claim_lines] == claim
        assert [(line.code, line.modifiers) for line in coding.self_pay_lines] == self_pay
        for line in coding.claim_lines:
            assert "medicare-liability-modifiers" in rule_ids(line.reasons)

    def test_a_cosmetic_removal_not_filed_is_self_pay_without_gy(self):
        (line,) = coded(encounter([COSMETIC], "medicare_ffs")).self_pay_lines
        assert line.modifiers == []


class TestCosmeticCriteria:
    def test_the_base_criteria_make_a_requested_seborrheic_keratosis_cosmetic(self):
        coding = coded(encounter([COSMETIC]))
        (line,) = coding.self_pay_lines
        assert rule_ids(line.reasons) == ["cosmetic-request-criteria"]

    def test_without_criteria_the_provider_is_asked(self):
        book = clinic('disable cosmetic-request-criteria "our providers decide every requested removal"')
        coding = coded(encounter([COSMETIC]), book)
        assert coding.self_pay_lines == [] and [line.code for line in coding.held_lines] == ["11301"]

    def test_a_clinic_narrows_the_criteria_by_id(self):
        book = clinic(
            'rule cosmetic-request-criteria "Only nevi are cosmetic on request here"\n  in classify\n'
            "  then\n    count requested removals as cosmetic with diagnoses all in [D22.*]"
        )
        assert [line.code for line in coded(encounter([COSMETIC]), book).held_lines] == ["11301"]
        nevus = {**COSMETIC, "diagnoses": ["D22.5"]}
        assert [line.code for line in coded(encounter([nevus]), book).self_pay_lines] == ["11301"]

    def test_the_note_classifier_still_decides_first(self):
        coding = code(
            encounter([COSMETIC]),
            encounter_id="e-1",
            coded_at=CODED_AT,
            stack=corpus_stack(),
            classifications={"s1": "medical"},
        )
        assert [line.code for line in coding.claim_lines] == ["11301"]


class TestPayerBook:
    BCBS = (
        'rulebook "Blue Cross" for payer BCBS\n\n'
        'rule bcbs-flag "BCBS wants a flag on every service"\n  in policy\n  then\n    flag bcbs_rules_ran\n'
    )

    def test_a_payer_without_a_book_in_effect_is_coded_with_the_base_and_says_so(self):
        coding = coded(encounter([EM]))
        (flag,) = [flag for flag in coding.flags if flag.code == "no_payer_rulebook"]
        assert flag.detail == "ACME" and "national base" in flag.reasons[0].message

    def test_a_payer_book_in_effect_is_used_and_nothing_is_said(self):
        stack = library_stack("National base", extra=[CORPUS_BOOK, self.BCBS])
        bcbs = encounter([EM], coverage={"payer": "BCBS"})
        coding = code(bcbs, encounter_id="e-1", coded_at=CODED_AT, stack=stack)
        assert "no_payer_rulebook" not in [flag.code for flag in coding.flags]

    @pytest.mark.parametrize("explained", [False, True])
    def test_a_payer_book_runs_only_for_its_payer(self, explained):
        stack = library_stack("National base", extra=[CORPUS_BOOK, self.BCBS])
        if explained:
            stack = stack.observed(trace=Trace())
        for payer, fired in (("BCBS", True), ("AETNA", False), ("bcbs", True)):
            coding = code(
                encounter([EM], coverage={"payer": payer}), encounter_id="e-1", coded_at=CODED_AT, stack=stack
            )
            assert ("bcbs_rules_ran" in [flag.code for flag in coding.flags]) is fired, payer


@pytest.mark.parametrize(
    ("action", "message"),
    [
        ("use modifier 25 for distinct procedures", "`25` is not a distinct-procedure modifier"),
        ("use modifier 25 for repeated mohs", "`25` is not a repeated Mohs modifier"),
        ("bill 17000 for longitudinal care", "`17000` is not a visit-complexity add-on"),
        ("bill separately identifiable visits with modifier 59", "`59` is not a separate-visit modifier"),
    ],
)
def test_a_payer_decision_naming_the_wrong_code_is_an_error_where_it_is_written(action, message):
    text = clinic(f'rule r "r"\n  in classify\n  then\n    {action}')
    (diagnostic,) = [d for d in authoring.check(text) if d["severity"] == "error"]
    assert message in diagnostic["message"] and diagnostic["line"] == 6
