"""The facts a rule sees for one service: the encounter, the service, its findings and lines.

The shape mirrors `rulebooks.vocabulary.FIELDS`; a missing fact stays None (never a
default that looks like data), a missing list is empty. Codes are in upper case, as the
compiled code sets expect.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rulebooks.engine.context import CodingContext, WorkLine
from rulebooks.models import Encounter, Service


def service_facts(encounter: Encounter, service: Service, lines: Sequence[WorkLine] = (),
                  findings: Sequence[str] = (), extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    mohs = None
    if service.mohs is not None:
        mohs = {"stages": [{"blocks": stage.blocks} for stage in service.mohs.stages],
                "stage_count": len(service.mohs.stages)}
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
            "repair": None if service.repair is None else {"length_cm": service.repair.length_cm,
                                                            "complexity": service.repair.complexity},
            "mohs": mohs,
            "pathology": None if service.pathology is None else {"malignant": service.pathology.malignant},
            "drug": None if service.drug is None else {"hcpcs": service.drug.hcpcs, "units": service.drug.units},
            "prior_auth_number": service.prior_auth_number,
            "patient_requested_cosmetic": service.patient_requested_cosmetic,
            "diagnoses": [code.upper() for code in service.diagnoses],
            "staff_code": service.staff_code,
        },
        "lines": [{"code": line.code, "units": line.units, "modifiers": list(line.modifiers)} for line in lines],
        "scores": {}, "therapy": {},
    }
    if extra:
        facts.update(extra)
    return facts


def lines_of(ctx: CodingContext, service: Service) -> list[WorkLine]:
    """The claim lines a service contributes to (a line may cover several services)."""
    return [line for line in ctx.lines if service.id in line.service_ids and line.route == "claim"]
