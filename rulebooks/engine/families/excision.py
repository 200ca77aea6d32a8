"""Excision of benign 11400-11446 and malignant 11600-11646 lesions (derm-coding.md 4).

Why pathology decides: the benign and malignant families are chosen from the pathology report,
not the clinical impression, so an excision without a result waits for it. The size is the
excised diameter (lesion + 2 x narrowest margin), never the ellipse length; without lesion size
or margin the provider is asked (4.2).
"""

from __future__ import annotations

from rulebooks.dated_codesets import banded_code
from rulebooks.engine.context import CodingContext, WorkLine, for_kinds, step_reason
from rulebooks.engine.sites import lesion_site_group, unknown_site_query
from rulebooks.engine.sizes import excised_diameter_cm

STEP = "select_excisions"


@for_kinds("excision")
def select_excisions(ctx: CodingContext) -> None:
    for service in ctx.services_of_kind("excision"):
        group = lesion_site_group(service)
        if group is None:
            ctx.hold(
                "11400",
                service,
                unknown_site_query(service, "excision"),
                step_reason(STEP, "site group unknown", site=service.site),
            )
            continue
        missing = [name for name in ("lesion_size_cm", "margin_cm") if getattr(service, name) is None]
        if missing:
            ctx.hold(
                "11400",
                service,
                "Document the greatest lesion diameter and the narrowest margin (cm) "
                "measured before excision; the ellipse length does not size an excision.",
                step_reason(STEP, "excised diameter cannot be computed", missing=missing),
            )
            continue
        malignant = service.pathology.malignant if service.pathology else None
        if malignant is None:
            ctx.hold(
                "11400",
                service,
                "Pathology pending: benign or malignant excision codes are chosen from "
                "the pathology report; code after the result.",
                step_reason(STEP, "pathology result not documented", pathology=None),
            )
            continue
        assert service.lesion_size_cm is not None and service.margin_cm is not None
        diameter_cm = excised_diameter_cm(service.lesion_size_cm, service.margin_cm)
        family = "excision_malignant" if malignant else "excision_benign"
        band = banded_code(family, group, diameter_cm)
        assert band is not None
        ctx.lines.append(
            WorkLine(
                code=band.code,
                units=service.count or 1,
                service_ids=[service.id],
                reasons=[
                    step_reason(
                        STEP,
                        f"{'malignant' if malignant else 'benign'} by pathology; excised diameter = lesion "
                        "+ 2 x margin",
                        site_group=group,
                        lesion_size_cm=service.lesion_size_cm,
                        margin_cm=service.margin_cm,
                        excised_diameter_cm=diameter_cm,
                    )
                ],
            )
        )
