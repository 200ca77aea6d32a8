"""GraphQL input types for the canonical Encounter (validated once, by the pydantic model)."""

from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import Any

import strawberry


@strawberry.enum
class ServiceKind(Enum):
    em = "em"
    biopsy = "biopsy"
    destruction = "destruction"
    shave = "shave"
    excision = "excision"
    hidradenitis_excision = "hidradenitis_excision"
    repair = "repair"
    adjacent_tissue_transfer = "adjacent_tissue_transfer"
    graft = "graft"
    mohs = "mohs"
    skin_tag_removal = "skin_tag_removal"
    injection = "injection"
    cosmetic = "cosmetic"
    other = "other"


@strawberry.enum
class PlanType(Enum):
    commercial = "commercial"
    medicare_ffs = "medicare_ffs"
    medicare_advantage = "medicare_advantage"
    medicaid = "medicaid"
    self_pay = "self_pay"


@strawberry.input
class PatientInput:
    id: str
    age: int | None = None
    sex: str | None = None


@strawberry.input
class ProviderInput:
    npi: str
    specialty: str | None = None


@strawberry.enum(description="Why an ABN was issued: required (GA) or voluntary (GX beside GY).")
class AbnKind(Enum):
    required = "required"
    voluntary = "voluntary"


@strawberry.input(description="An ABN the patient signed, for the services it lists (per service, not per visit).")
class AbnInput:
    service_ids: list[str]
    kind: AbnKind
    signed_on: dt.date


@strawberry.input
class CoverageInput:
    payer: str
    plan_type: PlanType
    member_id: str | None = None
    abn_on_file: bool | None = None


@strawberry.input
class RepairInput:
    length_cm: float
    complexity: str
    dehiscence: str | None = None


@strawberry.input
class MohsStageInput:
    blocks: int


@strawberry.input
class MohsInput:
    tumor_id: str
    stages: list[MohsStageInput]
    involves_deep_structures: bool | None = None


@strawberry.input
class PathologyInput:
    result: str | None = None
    processing: str | None = None
    prior_confirmed: bool | None = None
    malignant: bool | None = None


@strawberry.input
class EmInput:
    patient_status: str
    level: int | None = None
    problems: str | None = None
    data: str | None = None
    risk: str | None = None
    separately_identifiable: bool | None = None
    longitudinal_care: bool | None = None


@strawberry.input
class GlobalPeriodInput:
    procedure_code: str
    date_of_service: dt.date
    global_days: int | None = None


@strawberry.input
class DrugInput:
    hcpcs: str
    units: float
    wasted_units: float | None = None
    name: str | None = None


@strawberry.input
class ServiceInput:
    id: str
    kind: ServiceKind
    lesion_id: str | None = None
    technique: str | None = None
    site: str | None = None
    site_group: str | None = None
    laterality: str | None = None
    count: int | None = None
    lesion_size_cm: float | None = None
    margin_cm: float | None = None
    area_sq_cm: float | None = None
    repair: RepairInput | None = None
    mohs: MohsInput | None = None
    pathology: PathologyInput | None = None
    em: EmInput | None = None
    drug: DrugInput | None = None
    prior_auth_number: str | None = None
    patient_requested_cosmetic: bool | None = None
    patient_requested_filing: bool | None = None
    diagnoses: list[str] = strawberry.field(default_factory=list)
    staff_code: str | None = None
    related_to_prior: str | None = None


@strawberry.input(description="The canonical Encounter (see docs/encounter.schema.json).")
class EncounterInput:
    external_id: str
    date_of_service: dt.date
    provider: ProviderInput
    patient: PatientInput
    coverage: CoverageInput
    services: list[ServiceInput]
    place_of_service: str = "11"
    diagnoses: list[str] = strawberry.field(default_factory=list)
    note: str | None = None
    staff_codes: list[str] = strawberry.field(default_factory=list)
    global_period: GlobalPeriodInput | None = None
    abns: list[AbnInput] = strawberry.field(default_factory=list)


def to_payload(value: Any) -> Any:
    """Plain JSON-like data from input objects, leaving absent facts out (a missing fact is absent)."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, list):
        return [to_payload(item) for item in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    if hasattr(value, "__strawberry_definition__"):
        return {
            name: to_payload(item)
            for name, item in vars(value).items()
            if item is not None and item is not strawberry.UNSET
        }
    return value
