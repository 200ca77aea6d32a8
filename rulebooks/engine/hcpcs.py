"""HCPCS Level II codes (drugs such as J0585, G-codes) against the release for the date of service.

Why only with a loaded release: no package ships HCPCS Level II, so the built-in sets cannot
say a J-code is invalid; once a clinic loads CMS's file (`cutis codesets load hcpcs`), a line
whose code is not in the release in effect is flagged for review, never silently billed.
"""

from __future__ import annotations

from rulebooks.dated_codesets import HCPCS_LEVEL_II
from rulebooks.engine.context import CodingContext, step_reason

STEP = "check_hcpcs_codes"


def check_hcpcs_codes(ctx: CodingContext) -> None:
    if not ctx.codesets.hcpcs:
        return  # no release loaded (the built-in sets have none)
    release = ctx.codesets.hcpcs_for(ctx.encounter.date_of_service)
    if release is None:
        return
    for line in ctx.lines:
        if line.route == "held" or not HCPCS_LEVEL_II.match(line.code) or line.code in release.codes:
            continue
        ctx.flag(
            "provider_query",
            step_reason(
                STEP,
                "not a HCPCS Level II code in the release for the date of service",
                code=line.code,
                release_effective=release.effective.isoformat(),
                source=release.source,
            ),
            detail=f"{line.code} is not in the HCPCS Level II release effective {release.effective.isoformat()}",
            service_ids=line.service_ids,
        )
