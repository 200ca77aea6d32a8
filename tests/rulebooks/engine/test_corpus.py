"""The hand-checked corpus: every case's claim, self-pay and held lines and flags, as a coder reads them."""

from __future__ import annotations

import pytest

from rulebooks.dated_codesets import cpt_labels
from rulebooks.engine import code
from rulebooks.engine.pipeline import FAMILY_PASSES
from tests.rulebooks.engine.engine_corpus import CODED_AT, Case, actual, load_cases

CASES = load_cases()


def coded(case: Case):
    return code(
        case.encounter,
        encounter_id=case.encounter.external_id,
        coded_at=CODED_AT,
        classifications=case.classifications,
        stack=case.stack,
    )


@pytest.mark.parametrize("case", [pytest.param(case, id=case.id) for case in CASES])
def test_case_codes_as_hand_checked(case: Case) -> None:
    coding = coded(case)
    expected = {
        "claim": sorted(case.claim),
        "self_pay": sorted(case.self_pay),
        "held": sorted(case.held),
        "flags": sorted(case.flags),
    }
    assert actual(coding) == expected, case.why
    if case.status is not None:
        assert coding.status == case.status


def test_corpus_is_large_enough_and_ids_read_as_sentences() -> None:
    assert len(CASES) >= 80
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids))
    assert all(" " in case_id and case.why for case_id, case in zip(ids, CASES, strict=True))


def test_every_family_pass_is_exercised_by_the_corpus() -> None:
    steps = set()
    for case in CASES:
        coding = coded(case)
        for line in [*coding.claim_lines, *coding.self_pay_lines, *coding.held_lines]:
            steps.update(reason.step for reason in line.reasons)
    exercised = {family_pass.__name__ for family_pass in FAMILY_PASSES} - steps
    # hold_unclassified_destructions reasons under its own step name
    assert exercised <= {"hold_unclassified_destructions"}


def test_every_code_the_corpus_emits_has_our_own_label() -> None:
    labels = cpt_labels()
    emitted = set()
    for case in CASES:
        coding = coded(case)
        emitted.update(line.code for line in [*coding.claim_lines, *coding.self_pay_lines])
    documented_as_given = {"15788"}  # codes passed through from the chart, not chosen by the engine
    # the clinics' own cosmetic item codes are theirs to label (their cosmetic fee schedule names them)
    item_codes = {"HYDRAFAC", "TOX20", "PEEL2", "COSMETIC"}
    assert sorted(emitted - set(labels) - documented_as_given - item_codes) == []


@pytest.mark.parametrize("case", [pytest.param(case, id=case.id) for case in CASES])
def test_laws_hold_for_every_coding(case: Case) -> None:
    """Never 17004 with 17000/17003, never 17110 with 17111, one liability modifier at most,
    never 59 with an X modifier, cosmetic services on the claim only when the patient asked to file
    them (with GY), self-pay lines without claim modifiers, every line explained."""
    coding = coded(case)
    claim_codes = {line.code for line in coding.claim_lines}
    assert not ({"17004"} & claim_codes and {"17000", "17003"} & claim_codes)
    assert not {"17110", "17111"} <= claim_codes
    for line in [*coding.claim_lines, *coding.self_pay_lines]:
        assert len({"GA", "GY", "GZ"} & set(line.modifiers)) <= 1
        assert not ("59" in line.modifiers and {"XE", "XS", "XP", "XU"} & set(line.modifiers))
        assert line.reasons, f"{line.code} has no reason"
        assert 1 <= len(line.diagnoses) <= 4
    cosmetic = {sid for sid, kind in case.classifications.items() if kind == "cosmetic"}
    cosmetic |= {s.id for s in case.encounter.services if s.kind == "cosmetic"}
    for line in coding.claim_lines:
        if cosmetic & set(line.service_ids):  # only a cosmetic service the patient asked to file, with GY
            assert "GY" in line.modifiers
            assert all(case.encounter_service(sid).patient_requested_filing for sid in line.service_ids)
    for line in coding.self_pay_lines:
        assert line.modifiers == [], f"self-pay {line.code} carries claim modifiers"
    for flag in coding.flags:
        assert flag.reasons
