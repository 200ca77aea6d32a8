"""The 837P (005010X222A1) built from a ready Coding, its Encounter, the subscriber and the billing setup.

Only the coding's claim lines reach the file: self-pay and held lines never do, and a coding
whose status is not `ready` is refused with the reason. What cannot make a valid claim (a line
without a charge, a payer the clearinghouse has no id for, a rendering provider the setup does
not know) is refused here with the path of the input at fault; `checks.check_837p` then reads
the built file back on its own before it leaves.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from rulebooks.dated_codesets import default_codesets
from rulebooks.engine.context import FeeSchedules
from rulebooks.engine.route import charge_of
from rulebooks.models import Coding, Encounter
from rulebooks.models.coding import ClaimLine, Reason
from server.claims.setup import Address, BillingSetup, Frozen, x12_text
from server.errors import FieldError, InputInvalid
from server.validation_paths import field_errors

IMPLEMENTATION = "005010X222A1"
SEGMENT_END = "~\n"
#: Claim frequency (CLM05-3): 1 original, 7 replacement of a prior claim, 8 void of a prior claim.
FrequencyCode = Literal["1", "7", "8"]
#: Claim filing indicator (SBR09) per plan type; a self-pay coverage has no claim.
FILING_INDICATOR = {"commercial": "CI", "medicare_ffs": "MB", "medicare_advantage": "16", "medicaid": "MC"}
SEX = {"female": "F", "male": "M"}


#: The patient's relationship to the subscriber (PAT01, 2000C) when the patient is not the subscriber.
RELATIONSHIPS = {
    "01": "spouse",
    "19": "child",
    "20": "employee",
    "21": "unknown",
    "39": "organ donor",
    "40": "cadaver donor",
    "53": "life partner",
    "G8": "other relationship",
}
Relationship = Literal["01", "19", "20", "21", "39", "40", "53", "G8"]


class ClaimPatient(Frozen):
    """The patient when not the subscriber (a spouse, a child...): loop 2000C/2010CA. PHI: never logged."""

    relationship: Relationship = Field(description="PAT01: " + ", ".join(f"{k} {v}" for k, v in RELATIONSHIPS.items()))
    last_name: str = Field(min_length=1, max_length=60)
    first_name: str = Field(min_length=1, max_length=35)
    birth_date: dt.date
    sex: Literal["F", "M", "U"]
    address: Address

    _names = field_validator("last_name", "first_name")(classmethod(lambda cls, v: x12_text(v)))


class Subscriber(Frozen):
    """The insured: the patient too (SBR02 18, self) unless `patient` names someone else. PHI: never logged."""

    last_name: str = Field(min_length=1, max_length=60)
    first_name: str = Field(min_length=1, max_length=35)
    birth_date: dt.date
    sex: Literal["F", "M", "U"]
    member_id: str | None = Field(default=None, max_length=80, description="Else the encounter's coverage.member_id.")
    group_number: str | None = Field(default=None, max_length=50)
    address: Address
    patient: ClaimPatient | None = Field(default=None, description="The patient when not the subscriber.")

    _names = field_validator("last_name", "first_name", "member_id", "group_number")(
        classmethod(lambda cls, v: v if v is None else x12_text(v))
    )


class ClaimHeader(Frozen):
    """How this claim is sent: its control number, which version of the claim it is, and where to."""

    patient_control_number: str = Field(
        min_length=1, max_length=20, pattern=r"^[A-Za-z0-9-]+$", description="CLM01 (letters, digits, dashes)."
    )
    frequency: FrequencyCode = "1"
    payer_claim_control_number: str | None = Field(
        default=None, pattern=r"^[A-Za-z0-9-]{1,50}$", description="The payer's number of the claim replaced or voided."
    )
    clearinghouse: str | None = None
    interchange_control_number: int = Field(default=1, ge=1, le=999_999_999)
    created_at: dt.datetime

    @model_validator(mode="after")
    def _replacement_names_the_original(self) -> ClaimHeader:
        if self.frequency in ("7", "8") and self.payer_claim_control_number is None:
            raise ValueError(
                f"frequency {self.frequency} (a {'replacement' if self.frequency == '7' else 'void'}) needs "
                "payer_claim_control_number, the payer's number of the original claim"
            )
        if self.frequency == "1" and self.payer_claim_control_number is not None:
            raise ValueError("an original claim (frequency 1) has no payer_claim_control_number")
        return self


@dataclass(frozen=True)
class BuiltLine:
    code: str
    modifiers: tuple[str, ...]
    units: int
    charge: Decimal
    pointers: tuple[int, ...]


@dataclass(frozen=True)
class BuiltClaim:
    text: str
    total: Decimal
    diagnoses: tuple[str, ...]
    lines: tuple[BuiltLine, ...]
    patient_control_number: str
    frequency: str


def parse_subscriber(payload: Any) -> Subscriber:
    try:
        return Subscriber.model_validate(payload)
    except ValidationError as error:
        raise InputInvalid("the subscriber is not valid", field_errors(error, root="subscriber")) from None


def parse_claim_header(payload: Any) -> ClaimHeader:
    try:
        return ClaimHeader.model_validate(payload)
    except ValidationError as error:
        raise InputInvalid("the claim's header is not valid", field_errors(error, root="claim")) from None


def refusals(coding: Coding, encounter: Encounter, setup: BillingSetup, header: ClaimHeader) -> list[FieldError]:
    """Why this coding cannot become a claim, each with the path of the input at fault (empty: it can)."""
    problems: list[FieldError] = []
    if coding.encounter_id != encounter.external_id:
        problems.append(FieldError("coding.encounter_id", "the coding is not of this encounter"))
    if coding.status != "ready":
        held = "; ".join(f"{line.code}: {line.query}" for line in coding.held_lines)
        queries = "; ".join(flag.detail or flag.code for flag in coding.flags if flag.code == "provider_query")
        why = held or queries or "resolve its flags and code it again"
        problems.append(FieldError("coding.status", f"the coding is {coding.status}, not ready: {why}"))
    if not coding.claim_lines:
        problems.append(FieldError("coding.claim_lines", "the coding has no claim lines (only self-pay or held)"))
    for index, line in enumerate(coding.claim_lines):
        if line.charge is None:
            problems.append(
                FieldError(
                    f"coding.claim_lines[{index}].charge", f"{line.code} has no charge: add it to the fee schedule"
                )
            )
        if not line.diagnoses:
            problems.append(FieldError(f"coding.claim_lines[{index}].diagnoses", f"{line.code} points at no diagnosis"))
    release, _ = default_codesets().icd10cm_for(encounter.date_of_service)
    for index, diagnosis in enumerate(encounter.diagnoses):
        if any(diagnosis in line.diagnoses for line in coding.claim_lines) and not release.lookup(diagnosis):
            problems.append(
                FieldError(
                    f"encounter.diagnoses[{index}]",
                    f"{diagnosis} is not a billable ICD-10-CM code in FY{release.fiscal_year}: code it to the "
                    "highest specificity",
                )
            )
    if encounter.coverage.plan_type == "self_pay":
        problems.append(FieldError("encounter.coverage.plan_type", "a self-pay visit has no insurance claim"))
    try:
        house = setup.clearinghouse(header.clearinghouse)
    except KeyError as error:
        problems.append(FieldError("claim.clearinghouse", str(error.args[0])))
    else:
        if house.payer(encounter.coverage.payer) is None:
            problems.append(
                FieldError(
                    "encounter.coverage.payer",
                    f"clearinghouse {house.code!r} has no payer id for payer {encounter.coverage.payer!r}: "
                    "add it to the billing setup's payer_ids",
                )
            )
    if setup.rendering_provider(encounter.provider.npi) is None:
        problems.append(
            FieldError(
                "encounter.provider.npi", "the rendering provider is not in the billing setup's rendering_providers"
            )
        )
    return problems


def build_837p(
    coding: Coding, encounter: Encounter, subscriber: Subscriber, setup: BillingSetup, header: ClaimHeader
) -> BuiltClaim:
    """The 837P text of one claim, or `InputInvalid` listing every reason it cannot be built."""
    problems = refusals(coding, encounter, setup, header)
    member_id = subscriber.member_id or encounter.coverage.member_id
    if not member_id:
        problems.append(FieldError("subscriber.member_id", "no member id: give it here or in the encounter's coverage"))
    if problems:
        raise InputInvalid("the claim cannot be built", problems)
    house = setup.clearinghouse(header.clearinghouse)
    payer = house.payer(encounter.coverage.payer)
    rendering = setup.rendering_provider(encounter.provider.npi)
    patient = subscriber.patient
    assert payer is not None and rendering is not None and member_id  # refusals() said so

    diagnoses = claim_diagnoses(coding, encounter)
    lines = tuple(
        BuiltLine(
            code=line.code,
            modifiers=tuple(line.modifiers),
            units=line.units,
            charge=Decimal(line.charge or "0"),
            pointers=tuple(diagnoses.index(code) + 1 for code in line.diagnoses),
        )
        for line in coding.claim_lines
    )
    total = sum((line.charge for line in lines), Decimal("0"))
    prior_auths = sorted({s.prior_auth_number for s in encounter.services if s.prior_auth_number})
    line_prior_auth = [_line_prior_auth(encounter, line.service_ids) for line in coding.claim_lines]

    stamp = header.created_at.astimezone(dt.UTC)
    control = f"{header.interchange_control_number:09d}"
    dos = encounter.date_of_service.strftime("%Y%m%d")
    filing_indicator = FILING_INDICATOR[encounter.coverage.plan_type]
    provider = setup.billing_provider
    body: list[list[str]] = [
        ["ST", "837", "0001", IMPLEMENTATION],
        ["BHT", "0019", "00", header.patient_control_number, stamp.strftime("%Y%m%d"), stamp.strftime("%H%M"), "CH"],
        ["NM1", "41", "2", _short(provider.name, 60), "", "", "", "", "46", house.submitter_id],
        ["PER", "IC", setup.submitter.name, "TE", setup.submitter.phone],
        ["NM1", "40", "2", house.name, "", "", "", "", "46", house.receiver_id],
        ["HL", "1", "", "20", "1"],
        *([["PRV", "BI", "PXC", provider.taxonomy]] if provider.taxonomy else []),
        ["NM1", "85", "2", provider.name, "", "", "", "", "XX", provider.npi],
        _n3(provider.address),
        _n4(provider.address),
        ["REF", "EI", provider.tax_id],
        ["HL", "2", "1", "22", "1" if patient else "0"],
        ["SBR", "P", "" if patient else "18", subscriber.group_number or "", "", "", "", "", "", filing_indicator],
        ["NM1", "IL", "1", subscriber.last_name, subscriber.first_name, "", "", "", "MI", member_id],
        _n3(subscriber.address),
        _n4(subscriber.address),
        # 2010BA DMG only when the subscriber is the patient (the guide: else do not send).
        *([] if patient else [["DMG", "D8", subscriber.birth_date.strftime("%Y%m%d"), subscriber.sex]]),
        ["NM1", "PR", "2", payer.name, "", "", "", "", "PI", payer.payer_id],
        *(
            [
                ["HL", "3", "2", "23", "0"],
                ["PAT", patient.relationship],
                ["NM1", "QC", "1", patient.last_name, patient.first_name],
                _n3(patient.address),
                _n4(patient.address),
                ["DMG", "D8", patient.birth_date.strftime("%Y%m%d"), patient.sex],
            ]
            if patient
            else []
        ),
        [
            "CLM",
            header.patient_control_number,
            amount(total),
            "",
            "",
            f"{encounter.place_of_service}:B:{header.frequency}",
            "Y",
            "A",
            "Y",
            "Y",
        ],
        *([["REF", "F8", header.payer_claim_control_number]] if header.payer_claim_control_number else []),
        *([["REF", "G1", prior_auths[0]]] if len(prior_auths) == 1 else []),
        ["HI", *(f"{'ABK' if index == 0 else 'ABF'}:{code.replace('.', '')}" for index, code in enumerate(diagnoses))],
    ]
    if rendering.npi != provider.npi:
        body.append(["NM1", "82", "1", rendering.last_name, rendering.first_name, "", "", "", "XX", rendering.npi])
        if rendering.taxonomy:
            body.append(["PRV", "PE", "PXC", rendering.taxonomy])
    for number, (line, pa) in enumerate(zip(lines, line_prior_auth, strict=True), start=1):
        body.append(["LX", str(number)])
        body.append(
            [
                "SV1",
                ":".join(["HC", line.code, *line.modifiers]),
                amount(line.charge),
                "UN",
                str(line.units),
                "",
                "",
                ":".join(str(pointer) for pointer in line.pointers),
            ]
        )
        body.append(["DTP", "472", "D8", dos])
        if pa and len(prior_auths) > 1:
            body.append(["REF", "G1", pa])
    body.append(["SE", str(len(body) + 1), "0001"])
    envelope_head = [
        [
            "ISA",
            "00",
            " " * 10,
            "00",
            " " * 10,
            "ZZ",
            house.submitter_id.ljust(15),
            "ZZ",
            house.receiver_id.ljust(15),
            stamp.strftime("%y%m%d"),
            stamp.strftime("%H%M"),
            "^",
            "00501",
            control,
            "0",
            house.usage,
            ":",
        ],
        [
            "GS",
            "HC",
            house.submitter_id,
            house.receiver_id,
            stamp.strftime("%Y%m%d"),
            stamp.strftime("%H%M"),
            str(header.interchange_control_number),
            "X",
            IMPLEMENTATION,
        ],
    ]
    envelope_tail = [["GE", "1", str(header.interchange_control_number)], ["IEA", "1", control]]
    text = "".join(_segment(elements) for elements in [*envelope_head, *body, *envelope_tail])
    return BuiltClaim(
        text=text,
        total=total,
        diagnoses=tuple(diagnoses),
        lines=lines,
        patient_control_number=header.patient_control_number,
        frequency=header.frequency,
    )


def as_approved(coding: Coding, overrides: list[dict[str, Any]], fees: FeeSchedules) -> tuple[Coding, list[str]]:
    """The coding as the biller approved it: each claim line a biller replaced (`overrides`, oldest first,
    each `{"id", "line_index", "replacement"}`; the latest of a line wins) put in its place, and the ids of
    the overrides that did so.

    A replacement that keeps the engine's code, units and modifiers keeps its charge; any other is priced
    from the clinic's fee schedule as the engine prices a claim line (no fee: no charge, which
    `refusals` names). The line keeps its services and says whose it is.
    """
    latest: dict[int, dict[str, Any]] = {}
    for override in overrides:
        latest[override["line_index"]] = override
    if not latest:
        return coding, []
    lines = list(coding.claim_lines)
    used: list[str] = []
    for index, override in sorted(latest.items()):
        if not 0 <= index < len(lines):  # refused when stored; kept out of the claim all the same
            continue
        original, new = lines[index], override["replacement"]
        code, units, modifiers = new["code"], new["units"], list(new.get("modifiers", []))
        same = (code, units, modifiers) == (original.code, original.units, original.modifiers)
        lines[index] = ClaimLine(
            code=code,
            units=units,
            modifiers=modifiers,
            diagnoses=list(new.get("diagnoses", [])) or original.diagnoses,
            charge=original.charge if same else charge_of(fees, "claim", code, units, modifiers),
            service_ids=original.service_ids,
            reasons=[
                Reason(step="biller_override", message="replaced by a biller", values={"override": override["id"]})
            ],
        )
        used.append(str(override["id"]))
    return coding.model_copy(update={"claim_lines": lines}), used


def claim_diagnoses(coding: Coding, encounter: Encounter) -> list[str]:
    """The diagnoses the claim lines point at, in the provider's order (HI), each once."""
    pointed = {code for line in coding.claim_lines for code in line.diagnoses}
    ordered = [code for code in encounter.diagnoses if code in pointed]
    return ordered + sorted(pointed - set(ordered))


def amount(value: Decimal) -> str:
    """A monetary amount as X12 writes it: no trailing zeros, no exponent (125.50 -> 125.5, 100.00 -> 100)."""
    text = f"{value.quantize(Decimal('0.01')):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _line_prior_auth(encounter: Encounter, service_ids: list[str]) -> str | None:
    numbers = [s.prior_auth_number for s in encounter.services if s.id in service_ids and s.prior_auth_number]
    return numbers[0] if numbers else None


def _n3(address: Address) -> list[str]:
    return ["N3", address.line1, *([address.line2] if address.line2 else [])]


def _n4(address: Address) -> list[str]:
    return ["N4", address.city, address.state, address.postal_code]


def _short(text: str, length: int) -> str:
    return text[:length]


def _segment(elements: list[str]) -> str:
    while len(elements) > 1 and elements[-1] == "":
        elements = elements[:-1]
    return "*".join(elements) + SEGMENT_END


PATIENT_CONTROL_NUMBER = re.compile(r"[^A-Za-z0-9-]")


def patient_control_number(encounter_id: str, version: int = 1) -> str:
    """A CLM01 from the encounter's id: letters, digits and dashes, at most 20 characters with the version.

    >>> patient_control_number("DEMO-0001", 2)
    'DEMO-0001-2'
    """
    suffix = f"-{version}"
    return PATIENT_CONTROL_NUMBER.sub("", encounter_id)[: 20 - len(suffix)] + suffix
