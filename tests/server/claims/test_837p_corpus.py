"""Coding -> 837P -> pyx12 valid, for every encounter of the engine's snapshot corpus that has claim lines.

Each file is read back on its own: pyx12 finds no structural problem, the semantic checks none, the
claim total is the sum of the coding's claim lines and every 2400 line is its claim line (code,
modifiers, units, charge, the diagnoses its pointers reach). A coding that is not ready is refused
with the reason, and so is a self-pay visit.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from rulebooks.dated_codesets import default_codesets
from rulebooks.engine import code
from rulebooks.models import Coding
from server.claims.build import build_837p, patient_control_number
from server.claims.checks import check_837p
from server.claims.x12_read import read_segments
from server.errors import InputInvalid
from tests.rulebooks.engine.engine_corpus import CODED_AT, Case, load_cases
from tests.server.claims.factories import billing_setup, corpus_fees, header, subscriber

CASES = [case for case in load_cases()]
FEES = corpus_fees()
SETUP = billing_setup()


def _coding(case: Case):  # type: ignore[no-untyped-def]
    return code(
        case.encounter,
        encounter_id=case.encounter.external_id,
        coded_at=CODED_AT,
        classifications=case.classifications,
        stack=case.stack,
        fees=FEES,
    )


@pytest.mark.slow
@pytest.mark.parametrize("case", [pytest.param(case, id=case.id) for case in CASES])
def test_a_corpus_coding_becomes_a_valid_837p_or_is_refused_with_the_reason(case: Case) -> None:
    coding = _coding(case)
    claim_header = header(patient_control_number=patient_control_number(case.encounter.external_id))
    if not coding.claim_lines:  # only self-pay or held lines: nothing to bill, and said so
        with pytest.raises(InputInvalid) as refused:
            build_837p(coding, case.encounter, subscriber(), SETUP, claim_header)
        assert "coding.claim_lines" in {field.path for field in refused.value.fields}, refused.value
        return
    if coding.status != "ready" or case.encounter.coverage.plan_type == "self_pay" or _unbillable(case, coding):
        with pytest.raises(InputInvalid) as refused:
            build_837p(coding, case.encounter, subscriber(), SETUP, claim_header)
        paths = {field.path for field in refused.value.fields}
        assert paths & {"coding.status", "encounter.coverage.plan_type"} or any(
            path.startswith("encounter.diagnoses") for path in paths
        ), refused.value
        return
    claim = build_837p(coding, case.encounter, subscriber(), SETUP, claim_header)

    assert check_837p(claim.text, coding) == []
    segments = read_segments(claim.text)
    lines = [segment for segment in segments if segment.id == "SV1"]
    assert len(lines) == len(coding.claim_lines)
    hi = [s.components(n)[1] for s in segments if s.id == "HI" for n in range(1, len(s.elements))]
    for sv1, expected in zip(lines, coding.claim_lines, strict=True):
        assert sv1.components(1) == ["HC", expected.code, *expected.modifiers]
        assert Decimal(sv1.element(2)) == Decimal(expected.charge or "nan")
        assert int(sv1.element(4)) == expected.units
        pointed = [hi[int(pointer) - 1] for pointer in sv1.components(7)]
        assert pointed == [diagnosis.replace(".", "") for diagnosis in expected.diagnoses]
    clm = next(segment for segment in segments if segment.id == "CLM")
    assert Decimal(clm.element(2)) == sum(Decimal(line.charge or "nan") for line in coding.claim_lines)
    # Self-pay and held lines never reach the claim.
    claimed = {code for line in coding.claim_lines for code in [line.code]}
    for line in [*coding.self_pay_lines, *coding.held_lines]:
        if line.code not in claimed:
            assert f"HC:{line.code}" not in claim.text


def test_the_corpus_reaches_claims_of_every_kind() -> None:
    """The walk above is not vacuous: most cases bill, some are refused, some have self-pay or held lines beside."""
    codings = [_coding(case) for case in CASES]
    billed = [c for c in codings if c.claim_lines and c.status == "ready"]
    assert len(billed) >= 120
    assert any(c.claim_lines and c.status != "ready" for c in codings)
    assert any(c.self_pay_lines for c in billed)


def _unbillable(case: Case, coding: Coding) -> bool:
    release, _ = default_codesets().icd10cm_for(case.encounter.date_of_service)
    return any(not release.lookup(code) for line in coding.claim_lines for code in line.diagnoses)
