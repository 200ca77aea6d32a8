"""Mohs micrographic surgery 17311-17315 and its same-day diagnostic biopsy (derm-coding.md 7).

Why per tumor: each tumor has its own first stage (by site, or 17311 whenever surgery directly
involves muscle, cartilage, bone, tendon, major nerves or vessels), its own additional stages,
and 17315 for every block beyond five in any stage. A second first-stage code of the same
number is distinguished with 59/XS, or 76 where the payer prefers it (7.2).
"""

from __future__ import annotations

from rulebooks.engine.context import CodingContext, WorkLine, for_kinds, step_reason
from rulebooks.engine.sites import MOHS_GROUPS, family_group, unknown_site_query
from rulebooks.models import Reason

STEP = "select_mohs"
STEP_BIOPSY = "mark_same_day_diagnostic_biopsies"
BLOCKS_PER_STAGE = 5
MOHS_CODES = {  # group -> (first stage, each additional stage)
    "head_neck_hands_feet_genitalia": ("17311", "17312"),
    "trunk_arms_legs": ("17313", "17314"),
}
PATHOLOGY_CODES = {"frozen": "88331", "permanent": "88305"}
DIAGNOSTIC_BIOPSY_MODIFIER = "59"  # A56836 / [S50]: the biopsy and its frozen section, not the Mohs


def mohs_lines(group: str, blocks_per_stage: list[int]) -> list[tuple[str, int]]:
    """Lines for one tumor.

    >>> mohs_lines("head_neck_hands_feet_genitalia", [7, 3])
    [('17311', 1), ('17312', 1), ('17315', 2)]
    """
    first, additional = MOHS_CODES[group]
    lines = [(first, 1)]
    if len(blocks_per_stage) > 1:
        lines.append((additional, len(blocks_per_stage) - 1))
    extra_blocks = sum(max(0, blocks - BLOCKS_PER_STAGE) for blocks in blocks_per_stage)
    if extra_blocks:
        lines.append(("17315", extra_blocks))
    return lines


@for_kinds("mohs")
def select_mohs(ctx: CodingContext) -> None:
    first_stage_codes_used: set[str] = set()
    for service in ctx.services_of_kind("mohs"):
        mohs = service.mohs
        assert mohs is not None  # guaranteed by the Encounter model
        group: str | None
        if mohs.involves_deep_structures:
            group = "head_neck_hands_feet_genitalia"
        else:
            group = family_group(service, MOHS_GROUPS)
        if group is None:
            ctx.hold(
                "17311",
                service,
                unknown_site_query(service, "Mohs surgery") + " Or document involvement "
                "of muscle, cartilage, bone, tendon, major nerves or vessels.",
                step_reason(STEP, "Mohs site group unknown", site=service.site),
            )
            continue
        blocks = [stage.blocks for stage in mohs.stages]
        reason = step_reason(
            STEP,
            "Mohs per tumor: first stage by site, additional stages, blocks beyond 5",
            tumor_id=mohs.tumor_id,
            site_group=group,
            blocks_per_stage=blocks,
            deep_structures=mohs.involves_deep_structures,
        )
        for code, units in mohs_lines(group, blocks):
            line = WorkLine(code=code, units=units, service_ids=[service.id], reasons=[reason])
            if code in MOHS_CODES[group][:1]:
                if code in first_stage_codes_used:
                    _mark_second_tumor(ctx, line)
                first_stage_codes_used.add(code)
            ctx.lines.append(line)


def _mark_second_tumor(ctx: CodingContext, line: WorkLine) -> None:
    chosen = ctx.policy.repeat_mohs
    modifier = ctx.distinct_modifier if chosen is None else chosen.value
    line.add_modifier(
        modifier,
        step_reason(
            STEP,
            "another tumor's first stage of the same code is a distinct lesion",
            modifier=modifier,
            payer_preference="distinct" if chosen is None else chosen.value,
        ),
        ctx.policy.distinct_decided_by if chosen is None else (chosen.reason,),
    )


@for_kinds("biopsy")
def mark_same_day_diagnostic_biopsies(ctx: CodingContext) -> None:
    """Biopsies kept with their definitive procedure: before Mohs, the biopsy and its frozen
    section 88331 take 59 and the Mohs none (7.3); before an excision or destruction decided on
    the immediate pathology, the definitive procedure takes 58 (staged after a diagnostic
    procedure, 10.2) so the NCCI pair is not applied."""
    for biopsy_id, definitive_id in ctx.diagnostic_biopsies.items():
        definitive = ctx.service(definitive_id)
        biopsy_lines = [line for line in ctx.lines if biopsy_id in line.service_ids and line.route == "claim"]
        if definitive.kind == "mohs":
            reason = step_reason(
                STEP_BIOPSY,
                "same-day diagnostic biopsy without prior pathologic confirmation of the Mohs'd tumor",
                biopsy=biopsy_id,
                mohs_service=definitive_id,
                prior_confirmed=False,
            )
            for line in biopsy_lines:
                line.add_modifier(DIAGNOSTIC_BIOPSY_MODIFIER, reason)
            _diagnostic_pathology_line(ctx, biopsy_id, reason)
            continue
        reason = step_reason(
            STEP_BIOPSY,
            "the immediate (frozen) pathology of the biopsy drove the decision to treat the same lesion",
            biopsy=biopsy_id,
            definitive_service=definitive_id,
        )
        for line in ctx.lines:
            if definitive_id in line.service_ids and line.route == "claim":
                line.add_modifier("58", reason)


def _diagnostic_pathology_line(ctx: CodingContext, biopsy_id: str, reason: Reason) -> None:
    """Frozen section 88331-59; permanent sections 88305-59 (7.3, unverified); unknown -> ask."""
    pathology = ctx.service(biopsy_id).pathology
    processing = pathology.processing if pathology else None
    if processing is None:
        ctx.flag(
            "provider_query",
            step_reason(STEP_BIOPSY, "diagnostic biopsy processing not documented"),
            detail="Document whether the same-day diagnostic biopsy was read on frozen or permanent sections.",
            service_ids=[biopsy_id],
        )
        return
    code = PATHOLOGY_CODES[processing]
    ctx.lines.append(
        WorkLine(
            code=code,
            units=1,
            service_ids=[biopsy_id],
            modifiers=[DIAGNOSTIC_BIOPSY_MODIFIER],
            reasons=[
                reason,
                step_reason(
                    STEP_BIOPSY,
                    f"{processing} sections of the diagnostic "
                    "biopsy"
                    + (" (88305 for permanent sections is unverified in the reference)" if code == "88305" else ""),
                    processing=processing,
                ),
            ],
        )
    )
