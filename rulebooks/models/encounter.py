"""The canonical Encounter: the one input shape every adapter produces.

FHIR, HL7 v2, GraphQL and the CLI all build this model; nothing downstream knows where
an encounter came from. A missing fact is ``None``, never a default that looks like data
(CONTRACTS.md), so optional fields default to ``None`` and lists to empty.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

ICD10_FORMAT = re.compile(r"^[A-TV-Z][0-9][0-9AB](\.[0-9A-Z]{1,4})?$")
PROCEDURE_CODE_FORMAT = re.compile(r"^([0-9]{4}[0-9A-Z]|[A-V][0-9]{4})$")
#: A clinic's own code for a cosmetic menu item (no CPT/HCPCS code), as its cosmetic fee schedule names it.
COSMETIC_ITEM_CODE_FORMAT = re.compile(r"^[A-Z0-9]{2,8}$")
NPI_FORMAT = re.compile(r"^[0-9]{10}$")
MAX_NOTE_CHARS = 100_000
MAX_SERVICES = 50
MAX_DIAGNOSES = 50

ServiceKind = Literal[
    "em",
    "biopsy",
    "destruction",
    "shave",
    "excision",
    "hidradenitis_excision",
    "repair",
    "adjacent_tissue_transfer",
    "graft",
    "mohs",
    "skin_tag_removal",
    "injection",
    "cosmetic",
    "other",
]
PlanType = Literal["commercial", "medicare_ffs", "medicare_advantage", "medicaid", "self_pay"]
SiteGroup = Literal["trunk_arms_legs", "scalp_neck_hands_feet_genitalia", "face_ears_eyelids_nose_lips"]


class Frozen(BaseModel):
    """Base for contract models: immutable, unknown fields rejected (a typo is an error)."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Patient(Frozen):
    id: str = Field(min_length=1, max_length=64, description="Tenant-local patient id (never a name).")
    age: int | None = Field(default=None, ge=0, le=130, description="Age in years on the date of service.")
    sex: Literal["female", "male", "other", "unknown"] | None = None


class Provider(Frozen):
    npi: str = Field(description="Rendering provider NPI (10 digits, Luhn check digit).")
    specialty: str | None = None

    @field_validator("npi")
    @classmethod
    def _npi_valid(cls, value: str) -> str:
        return valid_npi(value)


class Coverage(Frozen):
    payer: str = Field(min_length=1, max_length=32, description="The tenant's payer code, e.g. AETNA.")
    plan_type: PlanType
    member_id: str | None = None
    abn_on_file: bool | None = Field(
        default=None,
        description="Legacy: an ABN on file for every service of the visit, kind not recorded. Record ABNs per "
        "service in the encounter's `abns` instead (an ABN belongs to the services it lists).",
    )


class AbnFacts(Frozen):
    """An Advance Beneficiary Notice the patient signed, for the services it lists (derm-coding.md 10.3).

    Why per service: an ABN names the items it expects Medicare to deny, so GA (a required notice) or GX
    (a voluntary one) belongs on those lines only, never on every line of the visit.
    """

    service_ids: list[str] = Field(min_length=1, max_length=50, description="The services the notice lists.")
    kind: Literal["required", "voluntary"] = Field(
        description="required: the provider expects Medicare to deny the service as not reasonable and necessary "
        "(GA); voluntary: the service is excluded by statute, the notice is a courtesy (GX beside GY)."
    )
    signed_on: dt.date = Field(description="The day the patient signed it (on or before the date of service).")


class RepairFacts(Frozen):
    length_cm: float = Field(gt=0, le=500)
    complexity: Literal["simple", "intermediate", "complex"]
    dehiscence: Literal["superficial", "superficial_packed", "extensive"] | None = Field(
        default=None,
        description="Set when the repair treats a dehiscence (a wound that came apart) rather than closing a "
        "new wound: superficial (simple closure, 12020), superficial_packed (with packing, 12021), extensive "
        "(secondary closure, extensive or complicated, 13160); coded per wound and never summed with "
        "layered-closure repairs (derm-coding.md 5.2, unverified).",
    )


class MohsStage(Frozen):
    blocks: int = Field(ge=1, le=100)


class MohsFacts(Frozen):
    tumor_id: str = Field(min_length=1)
    stages: list[MohsStage] = Field(min_length=1)
    involves_deep_structures: bool | None = None


class PathologyFacts(Frozen):
    result: str | None = None
    processing: Literal["frozen", "permanent"] | None = None
    prior_confirmed: bool | None = None
    malignant: bool | None = None


class EmFacts(Frozen):
    patient_status: Literal["new", "established"]
    level: int | None = Field(default=None, ge=1, le=5, description="Documented level 1-5 (2-5 for new).")
    problems: Literal["minimal", "low", "moderate", "high"] | None = None
    data: Literal["minimal", "limited", "moderate", "extensive"] | None = None
    risk: Literal["minimal", "low", "moderate", "high"] | None = None
    separately_identifiable: bool | None = None
    longitudinal_care: bool | None = Field(
        default=None,
        description="The visit is part of the continuing, longitudinal care of a single serious or complex "
        "condition (Medicare visit-complexity add-on G2211, derm-coding.md 9.3).",
    )


class GlobalPeriodFacts(Frozen):
    """An earlier procedure by the same physician (or same group and specialty) whose postoperative
    (global) period this encounter may fall in (derm-coding.md 10.2, 13)."""

    procedure_code: str = Field(description="The earlier procedure's CPT/HCPCS code (its primary code, not an add-on).")
    date_of_service: dt.date = Field(description="The earlier procedure's date (before this encounter's).")
    global_days: Literal[0, 10, 90] | None = Field(
        default=None,
        description="Its global days when known; else from the code sets (built-in subset or a loaded MPFS file).",
    )

    @field_validator("procedure_code")
    @classmethod
    def _procedure_code_format(cls, value: str) -> str:
        value = value.strip().upper()
        if not PROCEDURE_CODE_FORMAT.match(value):
            raise ValueError("a procedure code is 5 characters, e.g. 17000 or G0168")
        return value


RelationToPrior = Literal["unrelated", "staged", "same_problem"]


class DrugFacts(Frozen):
    hcpcs: str
    units: float = Field(ge=0)
    wasted_units: float | None = Field(default=None, ge=0)
    name: str | None = None


class Service(Frozen):
    id: str = Field(min_length=1, max_length=64)
    kind: ServiceKind
    lesion_id: str | None = None
    technique: str | None = None
    site: str | None = None
    site_group: SiteGroup | None = None
    laterality: Literal["left", "right", "bilateral", "midline"] | None = None
    count: int | None = Field(default=None, ge=1, le=1000)
    lesion_size_cm: float | None = Field(default=None, gt=0, le=100)
    margin_cm: float | None = Field(default=None, ge=0, le=20)
    area_sq_cm: float | None = Field(default=None, gt=0, le=10000)
    repair: RepairFacts | None = None
    mohs: MohsFacts | None = None
    pathology: PathologyFacts | None = None
    em: EmFacts | None = None
    drug: DrugFacts | None = None
    prior_auth_number: str | None = None
    patient_requested_cosmetic: bool | None = None
    patient_requested_filing: bool | None = Field(
        default=None,
        description="The patient asked that this service be submitted to the insurer even if it is excluded "
        "(e.g. to obtain a denial for a secondary insurance). For Medicare FFS a cosmetic service so asked is "
        "filed with GY (GX with a voluntary ABN); otherwise it stays self-pay. Distinct from "
        "`patient_requested_cosmetic`, which says why the service was done.",
    )
    diagnoses: list[str] = Field(default_factory=list, description="ICD-10-CM codes from the encounter's list.")
    staff_code: str | None = None
    related_to_prior: RelationToPrior | None = Field(
        default=None,
        description="How this service relates to the procedure in the encounter's `global_period`: "
        "unrelated (procedure 79, E/M 24), staged or more extensive (procedure 58), "
        "same_problem (post-operative care, included in the global).",
    )

    @model_validator(mode="after")
    def _facts_match_kind(self) -> Service:
        if self.kind == "em" and self.em is None:
            raise ValueError("an E/M service needs its `em` facts (patient_status and level or MDM)")
        if self.kind == "mohs" and self.mohs is None:
            raise ValueError("a Mohs service needs its `mohs` facts (tumor_id and stages)")
        if self.kind == "repair" and self.repair is None:
            raise ValueError("a repair service needs its `repair` facts (length_cm and complexity)")
        if self.kind == "em" and self.related_to_prior == "staged":
            raise ValueError("an E/M is not a staged procedure: related_to_prior is unrelated or same_problem")
        return self


class Encounter(Frozen):
    external_id: str = Field(min_length=1, max_length=128, description="The EHR's id of the visit.")
    date_of_service: dt.date
    place_of_service: str = Field(default="11", pattern=r"^[0-9]{2}$")
    provider: Provider
    patient: Patient
    coverage: Coverage
    diagnoses: list[str] = Field(default_factory=list, max_length=MAX_DIAGNOSES)
    note: str | None = Field(default=None, max_length=MAX_NOTE_CHARS)
    services: list[Service] = Field(min_length=1, max_length=MAX_SERVICES)
    staff_codes: list[str] = Field(default_factory=list)
    global_period: GlobalPeriodFacts | None = Field(
        default=None, description="An earlier procedure whose postoperative (global) period may include this visit."
    )
    abns: list[AbnFacts] = Field(
        default_factory=list, max_length=MAX_SERVICES, description="The ABNs signed for services of this visit."
    )

    def abn_kind(self, service_id: str) -> Literal["required", "voluntary"] | None:
        """The ABN the patient signed for this service (required wins over voluntary), None without one."""
        kinds = {notice.kind for notice in self.abns if service_id in notice.service_ids}
        return "required" if "required" in kinds else "voluntary" if kinds else None

    def denial_expected_by_abn(self, service_id: str) -> bool:
        """Whether a required ABN says the provider expects Medicare FFS to deny this service as not
        reasonable and necessary (the provider's own answer to "document an indication or obtain an ABN")."""
        return self.coverage.plan_type == "medicare_ffs" and self.abn_kind(service_id) == "required"

    @field_validator("diagnoses")
    @classmethod
    def _icd10_format(cls, codes: list[str]) -> list[str]:
        normalised = [code.strip().upper() for code in codes]
        for index, code in enumerate(normalised):
            if not ICD10_FORMAT.match(code):
                raise ValueError(f"diagnosis {index + 1} ({code!r}) is not an ICD-10-CM code such as L57.0")
        return normalised

    @model_validator(mode="after")
    def _services_consistent(self) -> Encounter:
        seen: set[str] = set()
        known = set(self.diagnoses)
        for service in self.services:
            if service.id in seen:
                raise ValueError(f"service id {service.id!r} is used twice")
            seen.add(service.id)
            for code in service.diagnoses:
                if code.upper() not in known:
                    raise ValueError(
                        f"service {service.id!r} links diagnosis {code!r}, which is not in the encounter's diagnoses"
                    )
            if service.related_to_prior is not None and self.global_period is None:
                raise ValueError(
                    f"service {service.id!r} gives related_to_prior but the encounter has no global_period"
                )
        for index, notice in enumerate(self.abns):
            for service_id in notice.service_ids:
                if service_id not in seen:
                    raise ValueError(f"abns[{index}] lists service {service_id!r}, which is not in the encounter")
            if notice.signed_on > self.date_of_service:
                raise ValueError(
                    f"abns[{index}] is signed on {notice.signed_on}, after the date of service: an ABN is signed "
                    "before the service it covers"
                )
        if self.global_period is not None and self.global_period.date_of_service >= self.date_of_service:
            raise ValueError("the global_period procedure must be dated before the encounter's date_of_service")
        return self


def valid_npi(value: str) -> str:
    """The NPI as given, or ValueError saying why it is not one (10 digits, the tenth a check digit)."""
    if not NPI_FORMAT.match(value):
        raise ValueError("an NPI is 10 digits")
    if not npi_check_digit_ok(value):
        raise ValueError("the NPI check digit is wrong")
    return value


def npi_check_digit_ok(npi: str) -> bool:
    """Luhn check over '80840' + the first nine digits, as CMS defines the NPI check digit.

    >>> npi_check_digit_ok("1234567893")
    True
    >>> npi_check_digit_ok("1234567890")
    False
    """
    digits = [int(c) for c in "80840" + npi[:9]]
    total = 0
    for position, digit in enumerate(reversed(digits)):
        if position % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return (10 - total % 10) % 10 == int(npi[9])
