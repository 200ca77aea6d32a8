"""Injections: intralesional 11900/11901, chemodenervation 64650/64653, and the drug lines (derm-coding.md 8).

Why the drug is its own line: the administration code says what was done, the HCPCS drug code
how much was given. Medicare Part B single-dose drugs report the discarded amount on a separate
JW line, or JZ when nothing was discarded (required from 2023-07-01), so a missing wasted
amount is asked, not assumed zero.
"""

from __future__ import annotations

import math

from rulebooks.engine.context import CodingContext, WorkLine, for_kinds, shared_step_reason, step_reason
from rulebooks.engine.sites import anatomic_region
from rulebooks.models import Service

STEP_ADMIN = "select_injections"
STEP_DRUG = "select_drug_lines"
INTRALESIONAL_MAX_LESIONS_FIRST_CODE = 7
JW_JZ_PLAN_TYPES = ("medicare_ffs",)
INTRALESIONAL = ("intralesional", "intralesional injection", "ilk")
CHEMODENERVATION = ("chemodenervation", "botulinum", "botox")


@for_kinds("injection")
def select_injections(ctx: CodingContext) -> None:
    for service in ctx.services_of_kind("injection"):
        technique = (service.technique or "").strip().lower()
        if technique in INTRALESIONAL:
            lesion_count = service.count or 1
            code = "11901" if lesion_count > INTRALESIONAL_MAX_LESIONS_FIRST_CODE else "11900"
            why = f"intralesional injection of {lesion_count} lesion(s): 11900 up to 7, 11901 more than 7"
            ctx.lines.append(
                WorkLine(
                    code=code,
                    units=1,
                    service_ids=[service.id],
                    reasons=[shared_step_reason(STEP_ADMIN, why, lesion_count=lesion_count)],
                )
            )
        elif technique in CHEMODENERVATION:
            axillae = anatomic_region(service.site) == "axilla"
            code = "64650" if axillae else "64653"
            ctx.lines.append(
                WorkLine(
                    code=code,
                    units=1,
                    service_ids=[service.id],
                    reasons=[
                        step_reason(
                            STEP_ADMIN,
                            "chemodenervation of eccrine glands: both axillae 64650, other areas 64653, once per day",
                            site=service.site,
                        )
                    ],
                )
            )
        else:
            ctx.hold(
                "11900",
                service,
                "Document the injection technique (intralesional or chemodenervation) "
                "and the number of lesions injected.",
                step_reason(STEP_ADMIN, "injection technique not documented", technique=service.technique),
            )
        if service.drug is not None:
            _drug_lines(ctx, service)


def _drug_lines(ctx: CodingContext, service: Service) -> None:
    drug = service.drug
    assert drug is not None
    if drug.units <= 0:
        return
    billed_units = math.ceil(drug.units)
    reason = step_reason(
        STEP_DRUG,
        "drug administered, in HCPCS billing units (a partial unit rounds up)",
        hcpcs=drug.hcpcs,
        administered_units=drug.units,
        billed_units=billed_units,
    )
    if ctx.encounter.coverage.plan_type not in JW_JZ_PLAN_TYPES:
        ctx.lines.append(WorkLine(code=drug.hcpcs, units=billed_units, service_ids=[service.id], reasons=[reason]))
        return
    if drug.wasted_units is None:
        ctx.hold(
            drug.hcpcs,
            service,
            "Document the discarded amount of the single-dose drug (0 if none): "
            "Medicare requires JW for the wasted units or JZ when nothing is wasted.",
            step_reason(STEP_DRUG, "wasted units not documented", hcpcs=drug.hcpcs, wasted_units=None),
        )
        return
    line = WorkLine(code=drug.hcpcs, units=billed_units, service_ids=[service.id], reasons=[reason])
    ctx.lines.append(line)
    if drug.wasted_units == 0:
        line.add_modifier(
            "JZ", shared_step_reason(STEP_DRUG, "no amount discarded from the single-dose container", wasted_units=0)
        )
        return
    wasted_units = math.ceil(drug.wasted_units)
    ctx.lines.append(
        WorkLine(
            code=drug.hcpcs,
            units=wasted_units,
            service_ids=[service.id],
            modifiers=["JW"],
            reasons=[
                step_reason(
                    STEP_DRUG,
                    "discarded amount on its own line with JW",
                    wasted_units=drug.wasted_units,
                    billed_units=wasted_units,
                )
            ],
        )
    )
