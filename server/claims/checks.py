"""Every 837P is read back and checked before it leaves: pyx12 for the structure, ours for the meaning.

pyx12 (005010X222A1 maps) finds missing and misplaced segments, element lengths, codes and dates,
and segment counts; it does not look at what the values mean. The semantic checks add what a
payer rejects a structurally valid file for: an NPI whose check digit is wrong, a claim total
that is not the sum of its lines, an ICD-10-CM code that is not valid and billable on the date
of service, a pointer to no diagnosis, more than 12 diagnoses or 4 pointers, a malformed
procedure code or modifier, a frequency code that names no original. Given the Coding, each
line is compared with its claim line, so a self-pay or held line cannot slip onto the claim.

Every problem says where it is: the loop, the segment (id and ordinal in the file) and the element
(e.g. SV101-02), and why in words; values from the file are never echoed (they may be PHI).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Literal

from rulebooks.dated_codesets import default_codesets, fiscal_year
from rulebooks.models import Coding, Encounter
from rulebooks.models.encounter import NPI_FORMAT, npi_check_digit_ok
from server.claims.build import RELATIONSHIPS, BuiltClaim, ClaimHeader, Subscriber, amount, build_837p
from server.claims.pyx12_check import structural_problems
from server.claims.setup import BillingSetup
from server.claims.x12_read import Segment, read_segments
from server.errors import CutisError

MAX_DIAGNOSES = 12
MAX_POINTERS = 4
#: CMS place of service codes in use (www.cms.gov place-of-service code set, 2025).
PLACES_OF_SERVICE = frozenset(
    f"{number:02d}"
    for number in [*range(1, 28), *range(31, 35), 41, 42, *range(49, 59), 60, 61, 62, 65, 66, 71, 72, 81, 99]
)
#: CPT category I (5 digits), II (4 digits and F), III (T), PLA (U), MAAA (M); HCPCS Level II (a letter, 4 digits).
PROCEDURE_CODE = re.compile(r"^([0-9]{5}|[0-9]{4}[FMTU]|[A-V][0-9]{4})$")
FREQUENCIES = {"1": "original", "7": "replacement", "8": "void"}


@dataclass(frozen=True)
class ClaimProblem:
    """Where a problem is (loop, segment and its ordinal, element) and why; `check` says who found it."""

    check: Literal["structure", "meaning"]
    loop: str
    segment: str
    position: int
    element: str | None
    message: str

    @property
    def where(self) -> str:
        where = f"loop {self.loop}, segment {self.segment} (#{self.position})"
        return f"{where}, element {self.element}" if self.element else where

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


class ClaimInvalid(CutisError):
    """A built or given 837P that must not leave: every problem, located."""

    code = "claim_invalid"

    def __init__(self, problems: list[ClaimProblem]) -> None:
        super().__init__(f"the 837P has {len(problems)} problem(s): " + "; ".join(str(p) for p in problems[:5]))
        self.problems = problems


def check_837p(text: str, coding: Coding | None = None) -> list[ClaimProblem]:
    """Every problem of the file, structure first; empty when it may leave."""
    return structural_problems(text) + semantic_problems(read_segments(text), coding)


def semantic_problems(segments: list[Segment], coding: Coding | None = None) -> list[ClaimProblem]:
    problems: list[ClaimProblem] = []
    problems += npi_check_digits(segments)
    problems += subscriber_and_patient(segments)
    for claim in _claims(segments):
        problems += claim_frequency(claim)
        problems += claim_total(claim)
        problems += diagnoses_and_pointers(claim)
        problems += procedure_codes(claim)
        if coding is not None:
            problems += lines_match_coding(claim, coding)
    return problems


def npi_check_digits(segments: Iterable[Segment]) -> list[ClaimProblem]:
    problems = []
    for segment in segments:
        if segment.id == "NM1" and segment.element(8) == "XX":
            npi = segment.element(9)
            if not NPI_FORMAT.match(npi):
                problems.append(_problem(segment, "NM109", "an NPI is 10 digits"))
            elif not npi_check_digit_ok(npi):
                problems.append(_problem(segment, "NM109", "the NPI check digit is wrong"))
    return problems


def subscriber_and_patient(segments: list[Segment]) -> list[ClaimProblem]:
    """The subscriber is the patient (SBR02 18, no 2000C under it), or the patient is someone else: then
    SBR02 is empty, the subscriber's HL says it has a child (HL04 1), and that 2000C says how the patient
    is related (PAT01 a relationship code, never 18)."""
    problems = []
    for index, hl in enumerate(segments):
        if hl.id != "HL" or hl.element(3) != "22" or index + 1 >= len(segments) or segments[index + 1].id != "SBR":
            continue  # pyx12 names a subscriber level without its SBR
        sbr = segments[index + 1]
        child = next((i for i in range(index + 2, len(segments)) if segments[i].id == "HL"), None)
        patient = (
            child is not None and segments[child].element(3) == "23" and segments[child].element(2) == hl.element(1)
        )
        if not patient:
            if hl.element(4) == "1":
                problems.append(_problem(hl, "HL04", "the subscriber has a child level but no 2000C patient follows"))
            if sbr.element(2) != "18":
                problems.append(_problem(sbr, "SBR02", "the subscriber is the patient (no 2000C loop): SBR02 is 18"))
            continue
        assert child is not None
        if hl.element(4) != "1":
            problems.append(_problem(hl, "HL04", "a 2000C patient follows: HL04 is 1"))
        if sbr.element(2):
            problems.append(_problem(sbr, "SBR02", "the patient is not the subscriber: SBR02 stays empty"))
        pat = segments[child + 1] if child + 1 < len(segments) else segments[child]
        if pat.id != "PAT" or pat.element(1) not in RELATIONSHIPS:
            problems.append(_problem(pat, "PAT01", "the patient's relationship to the subscriber is not a PAT01 code"))
    return problems


def claim_frequency(claim: list[Segment]) -> list[ClaimProblem]:
    clm = claim[0]
    place, _, frequency = [*clm.components(5), "", "", ""][:3]
    problems = []
    if place not in PLACES_OF_SERVICE:
        problems.append(_problem(clm, "CLM05-01", "not a CMS place of service code"))
    if frequency not in FREQUENCIES:
        problems.append(_problem(clm, "CLM05-03", "a claim frequency is 1 (original), 7 (replacement) or 8 (void)"))
    original = [s for s in claim if s.id == "REF" and s.element(1) == "F8"]
    if frequency in ("7", "8") and not original:
        problems.append(
            _problem(clm, "CLM05-03", f"a {FREQUENCIES[frequency]} needs REF*F8, the payer's number of the original")
        )
    return problems


def claim_total(claim: list[Segment]) -> list[ClaimProblem]:
    clm = claim[0]
    problems = []
    lines_sum = Decimal("0")
    for segment in claim:
        if segment.id == "SV1":
            charge = _decimal(segment.element(2))
            if charge is None:
                problems.append(_problem(segment, "SV102", "the line charge is not an amount"))
            else:
                lines_sum += charge
    total = _decimal(clm.element(2))
    if total is None:
        problems.append(_problem(clm, "CLM02", "the claim total is not an amount"))
    elif total != lines_sum:
        problems.append(
            _problem(clm, "CLM02", f"the claim total is {amount(total)} but its lines add up to {amount(lines_sum)}")
        )
    return problems


def diagnoses_and_pointers(claim: list[Segment]) -> list[ClaimProblem]:
    problems = []
    diagnoses: list[str] = []
    date_of_service = _date_of_service(claim)
    release, exact = default_codesets().icd10cm_for(date_of_service or dt.date.today())
    year = (
        f"FY{release.fiscal_year}"
        if exact or date_of_service is None
        else (f"FY{release.fiscal_year} (FY{fiscal_year(date_of_service)} is not loaded)")
    )
    for hi in (s for s in claim if s.id == "HI"):
        for number in range(1, len(hi.elements)):
            qualifier, code = [*hi.components(number), "", ""][:2]
            element = f"HI{number:02d}-02"
            diagnoses.append(code)
            billable = release.lookup(code)
            if billable is None:
                problems.append(_problem(hi, element, f"not an ICD-10-CM code in {year}"))
            elif not billable:
                problems.append(_problem(hi, element, f"an ICD-10-CM category, not billable in {year}"))
            if qualifier not in (("ABK", "BK") if number == 1 else ("ABF", "BF")):
                problems.append(_problem(hi, f"HI{number:02d}-01", "principal ABK first, then ABF"))
    if len(diagnoses) > MAX_DIAGNOSES:
        hi = next(s for s in claim if s.id == "HI")
        problems.append(_problem(hi, "HI", f"{len(diagnoses)} diagnoses; a claim carries at most {MAX_DIAGNOSES}"))
    for sv1 in (s for s in claim if s.id == "SV1"):
        pointers = [p for p in sv1.components(7) if p]
        if not pointers:
            problems.append(_problem(sv1, "SV107-01", "the line points at no diagnosis"))
        if len(pointers) > MAX_POINTERS:
            problems.append(_problem(sv1, "SV107", f"{len(pointers)} pointers; a line has at most {MAX_POINTERS}"))
        for index, pointer in enumerate(pointers, start=1):
            if not pointer.isdigit() or not 1 <= int(pointer) <= len(diagnoses):
                problems.append(
                    _problem(sv1, f"SV107-{index:02d}", f"points at no diagnosis (the claim has {len(diagnoses)})")
                )
    return problems


def procedure_codes(claim: list[Segment]) -> list[ClaimProblem]:
    problems = []
    for sv1 in (s for s in claim if s.id == "SV1"):
        parts = sv1.components(1)
        if len(parts) < 2 or not PROCEDURE_CODE.match(parts[1]):
            problems.append(_problem(sv1, "SV101-02", "a CPT or HCPCS code is 5 characters, e.g. 11102 or J3301"))
        for index, modifier in enumerate(parts[2:], start=3):
            if len(modifier) != 2 or not modifier.isalnum() or modifier != modifier.upper():
                problems.append(_problem(sv1, f"SV101-{index:02d}", "a modifier is 2 letters or digits, e.g. 25"))
        units = _decimal(sv1.element(4))
        if units is None or units <= 0:
            problems.append(_problem(sv1, "SV104", "units must be a positive number"))
    return problems


def lines_match_coding(claim: list[Segment], coding: Coding) -> list[ClaimProblem]:
    """Each 2400 line is the coding's claim line of the same number; nothing else reaches the claim."""
    problems: list[ClaimProblem] = []
    clm = claim[0]
    if coding.status != "ready":
        problems.append(_problem(clm, None, f"the coding is {coding.status}, not ready"))
    diagnoses = [[*hi.components(n), ""][1] for hi in claim if hi.id == "HI" for n in range(1, len(hi.elements))]
    file_lines = [s for s in claim if s.id == "SV1"]
    for number, sv1 in enumerate(file_lines, start=1):
        if number > len(coding.claim_lines):
            problems.append(_problem(sv1, None, f"line {number} is not one of the coding's claim lines"))
            continue
        expected = coding.claim_lines[number - 1]
        parts = sv1.components(1)
        if parts[1:2] != [expected.code] or parts[2:] != list(expected.modifiers):
            problems.append(_problem(sv1, "SV101", f"line {number} is not the coding's claim line {number}"))
        if _decimal(sv1.element(4)) != Decimal(expected.units):
            problems.append(_problem(sv1, "SV104", f"line {number}: the units differ from the coding's"))
        if expected.charge is None or _decimal(sv1.element(2)) != Decimal(expected.charge):
            problems.append(_problem(sv1, "SV102", f"line {number}: the charge differs from the coding's"))
        pointed = [
            diagnoses[int(p) - 1] if p.isdigit() and 0 < int(p) <= len(diagnoses) else None
            for p in sv1.components(7)
            if p
        ]
        if pointed != [code.replace(".", "") for code in expected.diagnoses]:
            problems.append(_problem(sv1, "SV107", f"line {number}: the pointers differ from the coding's diagnoses"))
    if len(file_lines) < len(coding.claim_lines):
        problems.append(
            _problem(clm, None, f"{len(coding.claim_lines) - len(file_lines)} of the coding's claim lines are missing")
        )
    total = sum((Decimal(line.charge) for line in coding.claim_lines if line.charge), Decimal("0"))
    if _decimal(clm.element(2)) != total:
        problems.append(_problem(clm, "CLM02", f"the claim total differs from the coding's ({amount(total)})"))
    return problems


def _claims(segments: list[Segment]) -> list[list[Segment]]:
    """Each claim: its CLM and every segment up to the next CLM, HL or SE."""
    claims: list[list[Segment]] = []
    current: list[Segment] | None = None
    for segment in segments:
        if segment.id == "CLM":
            current = [segment]
            claims.append(current)
        elif segment.id in ("HL", "SE"):
            current = None
        elif current is not None:
            current.append(segment)
    return claims


def _date_of_service(claim: list[Segment]) -> dt.date | None:
    for segment in claim:
        if segment.id == "DTP" and segment.element(1) == "472" and segment.element(2) == "D8":
            try:
                return dt.datetime.strptime(segment.element(3), "%Y%m%d").date()
            except ValueError:
                return None
    return None


def _decimal(text: str) -> Decimal | None:
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def _problem(segment: Segment, element: str | None, message: str) -> ClaimProblem:
    return ClaimProblem("meaning", segment.loop, segment.id, segment.position, element, message)


def build_checked_837p(
    coding: Coding, encounter: Encounter, subscriber: Subscriber, setup: BillingSetup, header: ClaimHeader
) -> BuiltClaim:
    """The 837P, built and then read back on its own; `ClaimInvalid` with every located problem if it must not leave."""
    claim = build_837p(coding, encounter, subscriber, setup, header)
    problems = check_837p(claim.text, coding)
    if problems:
        raise ClaimInvalid(problems)
    return claim
