"""The facts a rule sees for one service: the encounter, the service, its findings and lines.

The shape mirrors `rulebooks.vocabulary.FIELDS`; a missing fact stays None (never a
default that looks like data), a missing list is empty. Codes are in upper case, as the
compiled code sets expect.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from rulebooks.engine.context import CodingContext, WorkLine
from rulebooks.models import Encounter, Service


def service_facts(
    encounter: Encounter,
    service: Service,
    lines: Sequence[WorkLine] = (),
    findings: Sequence[str] = (),
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    mohs = None
    if service.mohs is not None:
        mohs = {
            "stages": [{"blocks": stage.blocks} for stage in service.mohs.stages],
            "stage_count": len(service.mohs.stages),
        }
    em = service.em
    prior = encounter.global_period
    facts: dict[str, Any] = {
        "payer": encounter.coverage.payer,
        "plan_type": encounter.coverage.plan_type,
        "date_of_service": encounter.date_of_service,
        "place_of_service": encounter.place_of_service,
        "patient": {"age": encounter.patient.age, "sex": encounter.patient.sex},
        "diagnoses": [code.upper() for code in encounter.diagnoses],
        "findings": list(findings),
        "service": {
            "kind": service.kind,
            "technique": service.technique,
            "site": service.site,
            "site_group": service.site_group,
            "laterality": service.laterality,
            "count": service.count,
            "lesion_size_cm": service.lesion_size_cm,
            "margin_cm": service.margin_cm,
            "area_sq_cm": service.area_sq_cm,
            "repair": None
            if service.repair is None
            else {
                "length_cm": service.repair.length_cm,
                "complexity": service.repair.complexity,
                "dehiscence": service.repair.dehiscence,
            },
            "mohs": mohs,
            "pathology": None if service.pathology is None else {"malignant": service.pathology.malignant},
            "drug": None if service.drug is None else {"hcpcs": service.drug.hcpcs, "units": service.drug.units},
            "prior_auth_number": service.prior_auth_number,
            "patient_requested_cosmetic": service.patient_requested_cosmetic,
            "diagnoses": [code.upper() for code in service.diagnoses],
            "staff_code": service.staff_code,
            "related_to_prior": service.related_to_prior,
            "em": None
            if em is None
            else {
                "patient_status": em.patient_status,
                "level": em.level,
                "separately_identifiable": em.separately_identifiable,
                "longitudinal_care": em.longitudinal_care,
            },
        },
        "global_period": None
        if prior is None
        else {
            "procedure_code": prior.procedure_code.upper(),
            "date_of_service": prior.date_of_service,
            "days_after": (encounter.date_of_service - prior.date_of_service).days,
        },
        "lines": line_facts(lines),
        "scores": {},
        "therapy": {},
    }
    if extra:
        facts.update(extra)
    return facts


def line_facts(lines: Sequence[WorkLine]) -> list[dict[str, Any]]:
    """The `lines` fact: what a rule sees of the claim lines a service contributes to."""
    return [{"code": line.code, "units": line.units, "modifiers": list(line.modifiers)} for line in lines]


def lines_of(ctx: CodingContext, service: Service) -> list[WorkLine]:
    """The claim lines a service contributes to (a line may cover several services)."""
    return [line for line in ctx.lines if service.id in line.service_ids and line.route == "claim"]


FactPath = tuple[str, ...]
#: Reads one fact that does not depend on the lines: (encounter, service, findings) -> value.
FactReader = Callable[[Encounter, Service, Sequence[str]], Any]


def fact_at(facts: Mapping[str, Any], path: FactPath) -> Any:
    """The fact at a dotted path split in parts, as compiled rules read it: None from the first
    part that is missing or not a record on."""
    value: Any = facts
    for part in path:
        value = value.get(part) if isinstance(value, dict) else None
        if value is None:
            break
    return value


@functools.cache
def fact_reader(path: FactPath) -> FactReader:
    """How to read the fact at `path` of `service_facts` without building them (never `lines`).

    Why: the rule stack keys what a rule recorded on the values of the facts the rule reads, for
    every service and phase; building every fact of a service for that costs more than the lookup
    saves. A path without a direct reader is read from `service_facts` itself, so both agree by
    construction there; tests/rulebooks/test_stack_caches.py checks the direct readers field by field.
    """
    return _DIRECT_READERS.get(path) or functools.partial(_read_through_facts, path)


def _read_through_facts(path: FactPath, encounter: Encounter, service: Service, findings: Sequence[str]) -> Any:
    return fact_at(service_facts(encounter, service, (), findings), path)


def _service_attribute(name: str) -> FactReader:
    return lambda encounter, service, findings: getattr(service, name)


def _part_of_service(record: str, name: str) -> FactReader:
    """A field of an optional record of the service (repair, pathology, drug): None without it."""

    def read(encounter: Encounter, service: Service, findings: Sequence[str]) -> Any:
        value = getattr(service, record)
        return None if value is None else getattr(value, name)

    return read


def _days_after_prior(encounter: Encounter, service: Service, findings: Sequence[str]) -> Any:
    prior = encounter.global_period
    return None if prior is None else (encounter.date_of_service - prior.date_of_service).days


_DIRECT_READERS: dict[FactPath, FactReader] = {
    ("global_period", "procedure_code"): lambda encounter, service, findings: (
        None if encounter.global_period is None else encounter.global_period.procedure_code.upper()
    ),
    ("global_period", "date_of_service"): lambda encounter, service, findings: (
        None if encounter.global_period is None else encounter.global_period.date_of_service
    ),
    ("global_period", "days_after"): _days_after_prior,
    ("payer",): lambda encounter, service, findings: encounter.coverage.payer,
    ("plan_type",): lambda encounter, service, findings: encounter.coverage.plan_type,
    ("date_of_service",): lambda encounter, service, findings: encounter.date_of_service,
    ("place_of_service",): lambda encounter, service, findings: encounter.place_of_service,
    ("patient", "age"): lambda encounter, service, findings: encounter.patient.age,
    ("patient", "sex"): lambda encounter, service, findings: encounter.patient.sex,
    ("diagnoses",): lambda encounter, service, findings: [code.upper() for code in encounter.diagnoses],
    ("findings",): lambda encounter, service, findings: list(findings),
    ("service", "diagnoses"): lambda encounter, service, findings: [code.upper() for code in service.diagnoses],
    ("service", "mohs", "stage_count"): lambda encounter, service, findings: (
        None if service.mohs is None else len(service.mohs.stages)
    ),
    **{
        ("service", name): _service_attribute(name)
        for name in (
            "kind",
            "technique",
            "site",
            "site_group",
            "laterality",
            "count",
            "lesion_size_cm",
            "margin_cm",
            "area_sq_cm",
            "prior_auth_number",
            "patient_requested_cosmetic",
            "staff_code",
        )
    },
    **{
        ("service", record, name): _part_of_service(record, name)
        for record, name in (
            ("repair", "length_cm"),
            ("repair", "complexity"),
            ("pathology", "malignant"),
            ("drug", "hcpcs"),
            ("drug", "units"),
            ("em", "patient_status"),
            ("em", "level"),
            ("em", "separately_identifiable"),
            ("em", "longitudinal_care"),
        )
    },
}
