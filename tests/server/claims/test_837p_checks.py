"""The 837P is read back on its own: the shared fixtures, planted defects, and refusals with the input's path.

Expected problems are hand-checked against the fixtures' planted defects (domain/interop.md: six
structural in 837p_derm_broken.x12, of which pyx12 finds five and our NPI check the sixth; six
semantic in 837p_derm_semantic_errors.x12 that pyx12 passes).
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest

from rulebooks.models import ClaimLine, Coding, Encounter
from server.claims.build import amount, build_837p, claim_diagnoses, parse_subscriber
from server.claims.checks import ClaimInvalid, build_checked_837p, check_837p
from server.claims.pyx12_check import structural_problems
from server.errors import InputInvalid
from tests.server.claims.factories import EXAMPLE_SUBSCRIBER, SAMPLES, billing_setup, header, subscriber


def _where(problems) -> set[tuple[str, str, str, int, str | None]]:  # type: ignore[no-untyped-def]
    return {(p.check, p.loop, p.segment, p.position, p.element) for p in problems}


def test_the_valid_fixture_has_no_problem() -> None:
    assert check_837p((SAMPLES / "837p_derm_valid.x12").read_text()) == []


def test_every_planted_structural_defect_is_located() -> None:
    problems = check_837p((SAMPLES / "837p_derm_broken.x12").read_text())
    assert _where(problems) >= {
        ("structure", "2010AA", "N3", 11, None),  # billing provider address dropped
        ("structure", "2000B", "SBR", 14, None),  # SBR01 = X, not a payer responsibility code
        ("structure", "2400", "SV1", 25, "SV101-03"),  # modifier 255
        ("structure", "2400", "DTP", 26, "DTP03"),  # 2025-13-10
        ("structure", "ST", "SE", 30, None),  # SE01 = 99 segments
        ("meaning", "2010AA", "NM1", 10, "NM109"),  # NPI check digit: pyx12 passes it
    }
    messages = {(p.segment, p.element): p.message for p in problems}
    assert messages[("NM1", "NM109")] == "the NPI check digit is wrong"
    assert messages[("DTP", "DTP03")] == "Service Date is not a valid date"


def test_every_planted_semantic_defect_is_located_though_pyx12_passes_most() -> None:
    text = (SAMPLES / "837p_derm_semantic_errors.x12").read_text()
    assert _where(structural_problems(text)) == {("structure", "2300", "CLM", 21, "CLM05-01")}  # POS 00
    problems = check_837p(text)
    meaning = {(p.loop, p.segment, p.element): p.message for p in problems if p.check == "meaning"}
    assert meaning == {
        ("2010AA", "NM1", "NM109"): "the NPI check digit is wrong",
        ("2300", "CLM", "CLM05-01"): "not a CMS place of service code",
        ("2300", "CLM", "CLM02"): "the claim total is 999 but its lines add up to 250",
        ("2300", "HI", "HI01-02"): "an ICD-10-CM category, not billable in FY2026 (FY2025 is not loaded)",
        ("2300", "HI", "HI02-02"): "not an ICD-10-CM code in FY2026 (FY2025 is not loaded)",
        ("2400", "SV1", "SV101-02"): "a CPT or HCPCS code is 5 characters, e.g. 11102 or J3301",
    }


def test_problems_never_echo_a_value_from_the_file() -> None:
    text = (SAMPLES / "837p_derm_valid.x12").read_text().replace("NM1*IL*1*DOE*JANE", "NM1*IL*1*" + "Q" * 70 + "*JANE")
    problems = check_837p(text)
    assert ("structure", "2010BA", "NM1", 16, "NM103") in _where(problems)
    assert not any("QQQ" in str(problem) for problem in problems)


def test_a_file_that_is_not_x12_is_refused_at_the_start() -> None:
    with pytest.raises(InputInvalid, match="ISA"):
        check_837p("hello")


# --- built claims ------------------------------------------------------------------------------

DOS = dt.date(2026, 3, 10)


def _encounter(**changes) -> Encounter:  # type: ignore[no-untyped-def]
    body = {
        "external_id": "ENC-1",
        "date_of_service": DOS.isoformat(),
        "provider": {"npi": "9876543213"},
        "patient": {"id": "p-1", "age": 60, "sex": "female"},
        "coverage": {"payer": "AETNA", "plan_type": "commercial", "member_id": "W1"},
        "diagnoses": ["D48.5", "L57.0", "L82.1"],
        "services": [
            {"id": "bx1", "kind": "biopsy", "technique": "punch", "diagnoses": ["D48.5"], "prior_auth_number": "PA77"},
            {"id": "bx2", "kind": "biopsy", "technique": "tangential", "diagnoses": ["L57.0"]},
            {"id": "c1", "kind": "cosmetic", "diagnoses": ["L82.1"]},
        ],
        **changes,
    }
    return Encounter.model_validate(body)


def _coding(**changes) -> Coding:  # type: ignore[no-untyped-def]
    body = {
        "encounter_id": "ENC-1",
        "coded_at": "2026-03-10T12:00:00Z",
        "status": "ready",
        "claim_lines": [
            ClaimLine(code="11104", units=1, diagnoses=["D48.5"], charge="130.00", service_ids=["bx1"]),
            ClaimLine(
                code="11103", units=1, modifiers=["59"], diagnoses=["L57.0"], charge="60.50", service_ids=["bx2"]
            ),
        ],
        "self_pay_lines": [ClaimLine(code="17110", units=1, diagnoses=["L82.1"], charge="150.00", service_ids=["c1"])],
        **changes,
    }
    return Coding.model_validate(body)


def test_a_built_claim_carries_exactly_the_claim_lines() -> None:
    claim = build_checked_837p(_coding(), _encounter(), subscriber(), billing_setup(), header())
    assert claim.total == Decimal("190.50")
    assert claim.diagnoses == ("D48.5", "L57.0")  # the self-pay line's L82.1 is not on the claim
    segments = claim.text.splitlines()
    assert "CLM*ENC-1-1*190.5***11:B:1*Y*A*Y*Y~" in segments
    assert "SV1*HC:11104*130*UN*1***1~" in segments
    assert "SV1*HC:11103:59*60.5*UN*1***2~" in segments
    assert "REF*G1*PA77~" in segments  # one prior authorization: claim level
    assert "NM1*82*1*JONES*MARIA****XX*9876543213~" in segments  # rendering differs from billing
    assert "17110" not in claim.text


def test_a_replacement_names_the_original_claim() -> None:
    claim = build_checked_837p(
        _coding(), _encounter(), subscriber(), billing_setup(), header(frequency="7", payer_claim_control_number="X9")
    )
    assert "CLM*ENC-1-1*190.5***11:B:7*Y*A*Y*Y~\nREF*F8*X9~" in claim.text


@pytest.mark.parametrize(
    ("changes", "path", "words"),
    [
        pytest.param(
            {"frequency": "7"}, "claim", "needs payer_claim_control_number", id="a replacement without the original"
        ),
        pytest.param(
            {"frequency": "1", "payer_claim_control_number": "X"},
            "claim",
            "has no payer_claim",
            id="an original naming one",
        ),
        pytest.param({"patient_control_number": "A" * 21}, "patient_control_number", "at most 20", id="CLM01 too long"),
    ],
)
def test_a_bad_header_is_refused_with_its_path(changes, path, words) -> None:  # type: ignore[no-untyped-def]
    from server.claims.build import parse_claim_header

    with pytest.raises(InputInvalid) as refused:
        parse_claim_header({"patient_control_number": "C-1", "created_at": "2026-03-11T09:00:00Z", **changes})
    assert [(f.path, words in f.message) for f in refused.value.fields] == [(path, True)]


@pytest.mark.parametrize(
    ("coding", "encounter", "path", "words"),
    [
        pytest.param(
            {
                "status": "held",
                "held_lines": [{"code": "17000", "units": 1, "service_ids": ["x"], "query": "Which lesion?"}],
            },
            {},
            "coding.status",
            "the coding is held, not ready: 17000: Which lesion?",
            id="a held coding",
        ),
        pytest.param({"claim_lines": []}, {}, "coding.claim_lines", "no claim lines", id="only self-pay lines"),
        pytest.param(
            {"claim_lines": [ClaimLine(code="11104", units=1, diagnoses=["D48.5"], service_ids=["bx1"])]},
            {},
            "coding.claim_lines[0].charge",
            "11104 has no charge",
            id="a line without a charge",
        ),
        pytest.param(
            {},
            {"coverage": {"payer": "ACME", "plan_type": "commercial", "member_id": "W1"}},
            "encounter.coverage.payer",
            "no payer id for payer 'ACME'",
            id="a payer the clearinghouse cannot route",
        ),
        pytest.param(
            {},
            {"coverage": {"payer": "SELF", "plan_type": "self_pay"}},
            "encounter.coverage.plan_type",
            "self-pay",
            id="a self-pay visit",
        ),
        pytest.param(
            {},
            {"provider": {"npi": "1245319599"}},
            "encounter.provider.npi",
            "not in the billing setup",
            id="an unknown rendering provider",
        ),
        pytest.param(
            {"encounter_id": "OTHER"},
            {},
            "coding.encounter_id",
            "not of this encounter",
            id="another encounter's coding",
        ),
        pytest.param(
            {"claim_lines": [ClaimLine(code="11104", units=1, diagnoses=["L57"], charge="1.00", service_ids=["bx1"])]},
            {"diagnoses": ["L57", "D48.5", "L57.0", "L82.1"]},
            "encounter.diagnoses[0]",
            "L57 is not a billable ICD-10-CM code",
            id="a category, not a billable code",
        ),
    ],
)
def test_a_coding_that_cannot_be_billed_is_refused_with_the_reason(coding, encounter, path, words) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputInvalid) as refused:
        build_837p(_coding(**coding), _encounter(**encounter), subscriber(), billing_setup(), header())
    found = {f.path: f.message for f in refused.value.fields}
    assert path in found and words in found[path], found


@pytest.mark.parametrize(
    ("tamper", "where", "words"),
    [
        pytest.param(
            ("CLM*ENC-1-1*190.5*", "CLM*ENC-1-1*191*"),
            ("2300", "CLM", "CLM02"),
            "lines add up to 190.5",
            id="the total",
        ),
        pytest.param(
            ("***1~\nDTP", "***3~\nDTP"), ("2400", "SV1", "SV107-01"), "points at no diagnosis", id="a pointer"
        ),
        pytest.param(
            ("60.5*UN*1***2~", "60.5*UN*1***1~"),
            ("2400", "SV1", "SV107"),
            "the pointers differ from the coding's diagnoses",
            id="a pointer at another diagnosis",
        ),
        pytest.param(("***2~", "***1:2:1:2:1~"), ("2400", "SV1", "SV107"), "at most 4", id="five pointers"),
        pytest.param(
            ("XX*9876543213", "XX*9876543210"), ("2310B", "NM1", "NM109"), "check digit", id="the rendering NPI"
        ),
        pytest.param(("HC:11103:59", "HC:11103:5X9"), ("2400", "SV1", "SV101-03"), "a modifier is 2", id="a modifier"),
        pytest.param(("11:B:1", "11:B:7"), ("2300", "CLM", "CLM05-03"), "REF*F8", id="a replacement without REF*F8"),
        pytest.param(
            ("HC:11103:59*60.5", "HC:17110*60.5"),
            ("2400", "SV1", "SV101"),
            "not the coding's claim line 2",
            id="a self-pay code",
        ),
    ],
)
def test_a_tampered_file_is_caught_where_it_was_changed(tamper, where, words) -> None:  # type: ignore[no-untyped-def]
    claim = build_837p(_coding(), _encounter(), subscriber(), billing_setup(), header())
    text = claim.text.replace(*tamper)
    assert text != claim.text
    problems = [p for p in check_837p(text, _coding()) if (p.loop, p.segment, p.element) == where]
    assert any(words in p.message for p in problems), check_837p(text, _coding())


def test_thirteen_diagnoses_are_more_than_a_claim_carries() -> None:
    text = (SAMPLES / "837p_derm_valid.x12").read_text()
    text = text.replace("HI*ABK:L400*ABF:D492", "HI*ABK:L400" + "*ABF:D492" * 12)
    problems = [p for p in check_837p(text) if p.check == "meaning"]
    assert [(p.segment, p.element, p.message) for p in problems] == [
        ("HI", "HI", "13 diagnoses; a claim carries at most 12")
    ]


def test_a_line_dropped_from_the_file_is_missed_against_the_coding() -> None:
    claim = build_837p(_coding(), _encounter(), subscriber(), billing_setup(), header())
    text = claim.text.replace("LX*2~\nSV1*HC:11103:59*60.5*UN*1***2~\nDTP*472*D8*20260310~\n", "")
    text = text.replace("CLM*ENC-1-1*190.5*", "CLM*ENC-1-1*130*").replace("SE*30*", "SE*27*")
    problems = check_837p(text, _coding())
    assert [str(p) for p in problems] == [
        "loop 2300, segment CLM (#21): 1 of the coding's claim lines are missing",
        "loop 2300, segment CLM (#21), element CLM02: the claim total differs from the coding's (190.5)",
    ]


def test_a_built_file_that_fails_its_checks_does_not_leave() -> None:
    bad_modifier = ClaimLine(code="11104", units=1, modifiers=["255"], diagnoses=["D48.5"], charge="9", service_ids=[])
    with pytest.raises(ClaimInvalid) as refused:
        build_checked_837p(_coding(claim_lines=[bad_modifier]), _encounter(), subscriber(), billing_setup(), header())
    assert {(p.check, p.element) for p in refused.value.problems} == {
        ("structure", "SV101-03"),
        ("meaning", "SV101-03"),
    }


@pytest.mark.parametrize(
    ("value", "text"), [("125.00", "125"), ("125.50", "125.5"), ("0.05", "0.05"), ("1000", "1000")]
)
def test_amounts_are_written_without_trailing_zeros(value: str, text: str) -> None:
    assert amount(Decimal(value)) == text


def test_claim_diagnoses_keep_the_providers_order() -> None:
    coding = _coding(
        claim_lines=[
            ClaimLine(code="11103", units=1, diagnoses=["L57.0"], charge="1", service_ids=["bx2"]),
            ClaimLine(code="11104", units=1, diagnoses=["D48.5"], charge="1", service_ids=["bx1"]),
        ]
    )
    assert claim_diagnoses(coding, _encounter()) == ["D48.5", "L57.0"]


@pytest.mark.parametrize("fixture", ["837p_derm_valid", "837p_derm_broken", "837p_derm_semantic_errors"])
def test_the_kept_maps_walk_finds_what_pyx12s_own_entry_point_finds(fixture: str) -> None:
    """`structural_problems` keeps pyx12's maps between files; pyx12's `x12n_document` loads them each time."""
    import io
    import json

    import pyx12.params
    import pyx12.x12n_document

    text = (SAMPLES / f"{fixture}.x12").read_text()
    report = io.StringIO()
    valid = pyx12.x12n_document.x12n_document(pyx12.params.params(), io.StringIO(text), None, None, None, report)
    theirs = json.loads(report.getvalue())["interchanges"][0]["groups"][0]["transactions"][0]["segments"]
    ours = structural_problems(text)
    assert valid == (ours == [])
    assert {(s["seg_id"], s["cur_line"]) for s in theirs} == {
        (p.segment, p.position) for p in ours if p.segment != "SE"
    }


def test_pyx12_logs_no_value_from_the_file() -> None:
    """pyx12 logs each error with the offending value (a name, a member id): nothing of it reaches the
    root logger, where the app's handlers are. (pytest's own capture hooks onto the pyx12 logger
    itself, so a handler of ours on the root is what tells.)"""
    import logging

    reached: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            reached.append(record.getMessage())

    root = logging.getLogger()
    handler, level = Collect(logging.DEBUG), root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        text = (SAMPLES / "837p_derm_valid.x12").read_text()
        assert check_837p(text.replace("NM1*IL*1*DOE*JANE", "NM1*IL*1*" + "Q" * 70 + "*JANE"))
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    assert not [message for message in reached if "QQQ" in message]


CHILD = {
    "relationship": "19",
    "last_name": "Doe",
    "first_name": "Lily",
    "birth_date": "2014-06-01",
    "sex": "F",
    "address": {"line1": "456 Oak Ave", "city": "Austin", "state": "TX", "postal_code": "78702"},
}


def test_a_patient_who_is_not_the_subscriber_has_the_2000c_loop_and_passes_pyx12() -> None:
    claim = build_checked_837p(_coding(), _encounter(), subscriber(patient=CHILD), billing_setup(), header())
    segments = claim.text.splitlines()
    start = segments.index("HL*2*1*22*1~")
    assert segments[start : start + 13] == [
        "HL*2*1*22*1~",
        "SBR*P**GRP12345******CI~",
        "NM1*IL*1*DOE*JANE****MI*W123456789~",
        "N3*456 OAK AVE~",
        "N4*AUSTIN*TX*78702~",
        "NM1*PR*2*AETNA*****PI*60054~",
        "HL*3*2*23*0~",
        "PAT*19~",
        "NM1*QC*1*DOE*LILY~",
        "N3*456 OAK AVE~",
        "N4*AUSTIN*TX*78702~",
        "DMG*D8*20140601*F~",
        "CLM*ENC-1-1*190.5***11:B:1*Y*A*Y*Y~",
    ]
    assert check_837p(claim.text, _coding()) == []
    assert "SBR*P*18*" in build_837p(_coding(), _encounter(), subscriber(), billing_setup(), header()).text


@pytest.mark.parametrize(
    ("patient", "tamper", "where", "words"),
    [
        pytest.param(CHILD, ("SBR*P**", "SBR*P*18*"), ("2000B", "SBR", "SBR02"), "stays empty", id="self with a 2000C"),
        pytest.param(CHILD, ("PAT*19~", "PAT*18~"), ("2000C", "PAT", "PAT01"), "PAT01 code", id="PAT01 self"),
        pytest.param(CHILD, ("HL*2*1*22*1~", "HL*2*1*22*0~"), ("2000B", "HL", "HL04"), "HL04 is 1", id="no child"),
        pytest.param(None, ("SBR*P*18*", "SBR*P*01*"), ("2000B", "SBR", "SBR02"), "SBR02 is 18", id="spouse, no 2000C"),
        pytest.param(None, ("HL*2*1*22*0~", "HL*2*1*22*1~"), ("2000B", "HL", "HL04"), "no 2000C", id="a missing child"),
    ],
)
def test_subscriber_and_patient_that_disagree_are_located(patient, tamper, where, words) -> None:  # type: ignore[no-untyped-def]
    claim = build_837p(_coding(), _encounter(), subscriber(patient=patient), billing_setup(), header())
    text = claim.text.replace(*tamper)
    assert text != claim.text
    problems = [
        p for p in check_837p(text, _coding()) if (p.loop, p.segment, p.element) == where and p.check == "meaning"
    ]
    assert any(words in p.message for p in problems), check_837p(text, _coding())


def test_a_patients_relationship_must_be_a_pat01_code() -> None:
    with pytest.raises(InputInvalid) as refused:
        parse_subscriber({**json.loads(EXAMPLE_SUBSCRIBER.read_text()), "patient": {**CHILD, "relationship": "18"}})
    assert [field.path for field in refused.value.fields] == ["patient.relationship"]
