"""Skin biopsies 11102-11107: one primary code per date, add-ons by each lesion's own technique.

CPT 2019 (derm-coding.md 1.2): the primary is chosen by the hierarchy incisional > punch >
tangential; every other biopsied lesion takes the add-on of its own technique.
"""

from __future__ import annotations

from collections import Counter

from rulebooks.engine.context import CodingContext, WorkLine, for_kinds, step_reason
from rulebooks.models import Service

STEP = "select_biopsies"

TECHNIQUE_ALIASES = {
    "tangential": "tangential",
    "shave": "tangential",
    "scoop": "tangential",
    "saucerize": "tangential",
    "saucerization": "tangential",
    "curette": "tangential",
    "curettage": "tangential",
    "punch": "punch",
    "incisional": "incisional",
    "wedge": "incisional",
}
# technique -> (primary code, add-on code); the order of this dict is the hierarchy.
BIOPSY_CODES = {
    "incisional": ("11106", "11107"),
    "punch": ("11104", "11105"),
    "tangential": ("11102", "11103"),
}


def biopsy_technique(service: Service) -> str | None:
    if service.technique is None:
        return None
    return TECHNIQUE_ALIASES.get(service.technique.strip().lower())


@for_kinds("biopsy")
def select_biopsies(ctx: CodingContext) -> None:
    lesions: Counter[str] = Counter()
    services_by_technique: dict[str, list[str]] = {}
    for service in ctx.services_of_kind("biopsy"):
        technique = biopsy_technique(service)
        if technique is None:
            ctx.hold(
                "11102",
                service,
                f"Document the biopsy technique (tangential, punch or incisional) for the lesion on "
                f"{service.site or 'the documented site'}.",
                step_reason(STEP, "biopsy technique not documented", technique=service.technique),
            )
            continue
        lesions[technique] += service.count or 1
        services_by_technique.setdefault(technique, []).append(service.id)
    if not lesions:
        return
    primary_technique = next(t for t in BIOPSY_CODES if lesions[t])
    primary_code = BIOPSY_CODES[primary_technique][0]
    ctx.lines.append(
        WorkLine(
            code=primary_code,
            units=1,
            service_ids=services_by_technique[primary_technique][:1],
            reasons=[
                step_reason(
                    STEP,
                    f"one primary biopsy per date; {primary_technique} ranks highest of the techniques used",
                    techniques=dict(lesions),
                )
            ],
        )
    )
    lesions[primary_technique] -= 1
    for technique, (_, add_on) in BIOPSY_CODES.items():
        if lesions[technique] <= 0:
            continue
        service_ids = services_by_technique[technique]
        if technique == primary_technique:
            service_ids = service_ids[1:] if len(service_ids) > 1 else service_ids
        ctx.lines.append(
            WorkLine(
                code=add_on,
                units=lesions[technique],
                service_ids=service_ids,
                reasons=[
                    step_reason(
                        STEP,
                        f"each additional {technique} lesion takes the {technique} add-on under the primary "
                        f"{primary_code}",
                        additional_lesions=lesions[technique],
                    )
                ],
            )
        )
