"""Value sets of HCPCS Level II drug codes, CPT codes and modifiers, run on the coding engine."""

from __future__ import annotations

import datetime as dt

from rulebooks import authoring
from rulebooks.engine import code
from rulebooks.models import Coding, Encounter
from rulebooks.stack import stack_of

BOOK = """rulebook "Drug policy"
  effective 2026-01-01

valueset biologics = [J0517, J3357]
valueset injection_codes = [96372, 11900..11901, J3301] + biologics

rule biologic-needs-pa "Biologics need prior authorization"
  in policy
  when service.kind = injection
   and present(service.drug.hcpcs)
   and service.drug.hcpcs in biologics
  then
    require prior_auth for lines in biologics
    flag biologic_given

rule injection-lines-reviewed "Injection lines are reviewed"
  in policy
  when any line in lines: line.code in injection_codes
  then
    flag injection_line_reviewed

test "Dupilumab needs prior authorization" {
  given {
    diagnoses: [L20.9]
    service: {kind: injection, drug: {hcpcs: J0517, units: 1}, diagnoses: [L20.9]}
  }
  expect line J0517 units 1
  expect flag prior_auth_required because biologic-needs-pa
  expect flag biologic_given because biologic-needs-pa
  expect flag injection_line_reviewed because injection-lines-reviewed
}

test "Triamcinolone needs none" {
  given {
    diagnoses: [L40.0]
    service: {kind: injection, drug: {hcpcs: J3301, units: 2}, diagnoses: [L40.0]}
  }
  expect no flag biologic_given
  expect flag injection_line_reviewed because injection-lines-reviewed
}
"""


def injection(hcpcs: str) -> Encounter:
    return Encounter.model_validate(
        {
            "external_id": f"drug-{hcpcs}",
            "date_of_service": "2026-06-01",
            "place_of_service": "11",
            "provider": {"npi": "1234567893"},
            "patient": {"id": "P-1", "age": 50, "sex": "female"},
            "coverage": {"payer": "AETNA", "plan_type": "commercial"},
            "diagnoses": ["L20.9"],
            "services": [
                {"id": "i1", "kind": "injection", "diagnoses": ["L20.9"], "drug": {"hcpcs": hcpcs, "units": 1}}
            ],
        }
    )


def rule_flags(coding: Coding) -> list[tuple[str, str | None]]:
    return sorted((flag.code, flag.detail) for flag in coding.flags if any(reason.rule for reason in flag.reasons))


def test_a_set_of_hcpcs_codes_matches_the_drug_and_its_claim_line() -> None:
    coding = code(
        injection("J0517"), encounter_id="d", coded_at=dt.datetime(2026, 6, 2, tzinfo=dt.UTC), stack=stack_of([BOOK])
    )
    assert [line.code for line in coding.claim_lines] == ["J0517"]
    assert rule_flags(coding) == [
        ("biologic_given", "biologic-needs-pa"),
        ("injection_line_reviewed", "injection-lines-reviewed"),
        ("prior_auth_required", "J0517"),
    ]


def test_a_drug_outside_the_set_is_not_matched() -> None:
    coding = code(
        injection("J3301"), encounter_id="d", coded_at=dt.datetime(2026, 6, 2, tzinfo=dt.UTC), stack=stack_of([BOOK])
    )
    assert rule_flags(coding) == [("injection_line_reviewed", "injection-lines-reviewed")]


def test_the_rulebooks_own_tests_pass_and_the_editor_sees_no_error() -> None:
    assert [d for d in authoring.check(BOOK) if d["severity"] == "error"] == []
    report = authoring.run_tests(BOOK)
    assert [(r["name"], r["passed"]) for r in report["results"]] == [
        ("Dupilumab needs prior authorization", True),
        ("Triamcinolone needs none", True),
    ], report["results"]
