"""Skin tags 11200/+11201 and shave removal 11300-11313 (derm-coding.md 2).

Why together: both are removals of whole lesions without excision to fat: skin tags are counted
per session in blocks, shaves are coded one per lesion by site group and lesion diameter.
"""

from __future__ import annotations

import math

from rulebooks.engine.context import CodingContext, WorkLine, for_kinds, shared_step_reason
from rulebooks.engine.families.banded import code_by_site_and_diameter

STEP_SKIN_TAGS = "select_skin_tags"
STEP_SHAVE = "select_shave_removals"
SKIN_TAGS_IN_FIRST_UNIT = 15
SKIN_TAGS_PER_ADD_ON = 10


def skin_tag_lines(tag_count: int) -> list[tuple[str, int]]:
    """11200 for up to 15 tags, +11201 per further 10 or part thereof (2.2).

    >>> skin_tag_lines(15), skin_tag_lines(18), skin_tag_lines(26)
    ([('11200', 1)], [('11200', 1), ('11201', 1)], [('11200', 1), ('11201', 2)])
    """
    if tag_count < 1:
        return []
    lines = [("11200", 1)]
    beyond = tag_count - SKIN_TAGS_IN_FIRST_UNIT
    if beyond > 0:
        lines.append(("11201", math.ceil(beyond / SKIN_TAGS_PER_ADD_ON)))
    return lines


@for_kinds("skin_tag_removal")
def select_skin_tags(ctx: CodingContext) -> None:
    services = ctx.services_of_kind("skin_tag_removal")
    if not services:
        return
    tag_count = sum(service.count or 1 for service in services)
    for code, units in skin_tag_lines(tag_count):
        why = "skin tags, up to 15, one unit" if code == "11200" else "each further 10 skin tags or part thereof"
        ctx.lines.append(
            WorkLine(
                code=code,
                units=units,
                service_ids=[s.id for s in services],
                reasons=[shared_step_reason(STEP_SKIN_TAGS, why, tag_count=tag_count)],
            )
        )


@for_kinds("shave")
def select_shave_removals(ctx: CodingContext) -> None:
    """One code per lesion, by site group and lesion diameter; hemostasis included, no closure."""
    for service in ctx.services_of_kind("shave"):
        code_by_site_and_diameter(
            ctx, service, family="shave", step=STEP_SHAVE, procedure="shave removal", hold_code="11300"
        )
