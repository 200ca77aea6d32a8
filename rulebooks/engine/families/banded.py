"""Codes banded by site group and lesion diameter, one line per lesion (shaves, malignant destruction)."""

from __future__ import annotations

from rulebooks.dated_codesets import banded_code
from rulebooks.engine.context import CodingContext, WorkLine, step_reason
from rulebooks.engine.sites import lesion_site_group, unknown_site_query
from rulebooks.engine.sizes import size_cm
from rulebooks.models import Service


def code_by_site_and_diameter(
    ctx: CodingContext, service: Service, *, family: str, step: str, procedure: str, hold_code: str
) -> None:
    """One line per lesion from its site group and lesion diameter (shave removal, malignant
    destruction); an unknown site or a missing diameter holds the service with a query."""
    group = lesion_site_group(service)
    if group is None:
        ctx.hold(
            hold_code,
            service,
            unknown_site_query(service, procedure),
            step_reason(step, "site group unknown", site=service.site),
        )
        return
    if service.lesion_size_cm is None:
        ctx.hold(
            hold_code,
            service,
            f"Document the lesion diameter (cm) of the {procedure}.",
            step_reason(step, "lesion diameter not documented", site=service.site),
        )
        return
    diameter_cm = size_cm(service.lesion_size_cm)
    band = banded_code(family, group, diameter_cm)
    assert band is not None
    ctx.lines.append(
        WorkLine(
            code=band.code,
            units=service.count or 1,
            service_ids=[service.id],
            reasons=[
                step_reason(
                    step,
                    f"{procedure}: site group and lesion diameter",
                    site_group=group,
                    lesion_diameter_cm=diameter_cm,
                )
            ],
        )
    )
