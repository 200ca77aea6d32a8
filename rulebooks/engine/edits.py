"""NCCI procedure-to-procedure (PTP) pairs and medically unlikely edits (MUE), from data files.

Why data: the pairs and limits change quarterly and the ones shipped are only the derm subset the
reference supports, each with its source tag (rulebooks/data/ncci_ptp.csv, mue.csv); newer CMS
files load through `rulebooks.dated_codesets.load_codeset`. The PTP pass bypasses a pair with modifier
indicator 1 only for services on different lesions (anatomic RT/LT when the sides tell the
distinction, else the payer's 59/XS), or when a family pass already gave an NCCI-associated
modifier for a reason it recorded; otherwise the column-2 line is dropped with an explanation
(derm-coding.md 10.1, 12).
"""

from __future__ import annotations

from rulebooks.engine.context import CodingContext, WorkLine, step_reason

STEP_PTP = "apply_ncci_ptp_edits"
STEP_MUE = "apply_mue_limits"
NCCI_ASSOCIATED_MODIFIERS = frozenset(
    {
        "E1",
        "E2",
        "E3",
        "E4",
        "FA",
        "F1",
        "F2",
        "F3",
        "F4",
        "F5",
        "F6",
        "F7",
        "F8",
        "F9",
        "LT",
        "RT",
        "TA",
        "T1",
        "T2",
        "T3",
        "T4",
        "T5",
        "T6",
        "T7",
        "T8",
        "T9",
        "24",
        "25",
        "57",
        "58",
        "59",
        "78",
        "79",
        "91",
        "XE",
        "XS",
        "XP",
        "XU",
    }
)
# Eyelid, finger and toe modifiers (families/anatomic.py) bypass a pair only when they tell its two lines apart.
SITE_MODIFIERS = frozenset(m for m in NCCI_ASSOCIATED_MODIFIERS if m[0] in "EFT")
BYPASS_MODIFIERS = NCCI_ASSOCIATED_MODIFIERS - SITE_MODIFIERS
PLANS_WITHOUT_EDITS = ("self_pay",)
SIDE_MODIFIERS = {"left": "LT", "right": "RT"}


def apply_ncci_ptp_edits(ctx: CodingContext) -> None:
    if ctx.encounter.coverage.plan_type in PLANS_WITHOUT_EDITS:
        return
    date_of_service = ctx.encounter.date_of_service
    lines = ctx.claim_lines()
    if len(lines) < 2:
        return  # a pair needs two lines
    present = {line.code for line in lines}
    column1_index = ctx.codesets.column1_index()
    pairs: list[tuple[WorkLine, WorkLine]] = []
    for column2 in lines:
        paired = column1_index.get(column2.code)
        if paired is None or paired.isdisjoint(present):
            continue  # most lines pair with nothing on this claim
        pairs.extend((column1, column2) for column1 in lines if column1.code in paired and column1 is not column2)
    for column1, column2 in pairs:
        if column1 not in ctx.lines or column2 not in ctx.lines:
            continue
        edit = ctx.codesets.ptp_edit(column1.code, column2.code, date_of_service)
        if edit is None:
            continue
        values = {
            "column1": column1.code,
            "column2": column2.code,
            "modifier_indicator": edit.modifier_indicator,
            "source": edit.source,
            "effective": edit.effective.isoformat(),
        }
        if edit.modifier_indicator == 0:
            ctx.remove_line(
                column2,
                step_reason(STEP_PTP, f"NCCI pair never reported together: {edit.note}", **values),
                detail=f"{column2.code} not billed with {column1.code} (NCCI PTP, modifier indicator 0)",
            )
            continue
        if not (BYPASS_MODIFIERS.isdisjoint(column1.modifiers) and BYPASS_MODIFIERS.isdisjoint(column2.modifiers)):
            continue  # a family pass already gave an NCCI-associated modifier
        lesions_2 = ctx.lesions_of(column2)
        if ctx.lesions_of(column1) & lesions_2:
            ctx.remove_line(
                column2,
                step_reason(
                    STEP_PTP,
                    f"NCCI pair on the same lesion: {edit.note}",
                    lesions=sorted(lesions_2),
                    **values,
                ),
                detail=f"{column2.code} bundled into {column1.code} (NCCI PTP, same lesion)",
            )
            continue
        sites_1 = SITE_MODIFIERS.intersection(column1.modifiers)
        sites_2 = SITE_MODIFIERS.intersection(column2.modifiers)
        if sites_1 and sites_2 and sites_1.isdisjoint(sites_2):
            reason = step_reason(
                STEP_PTP,
                f"NCCI pair on different eyelids, fingers or toes, told apart by the anatomic modifiers "
                f"(they take precedence over 59/XS): {edit.note}",
                anatomic=sorted(sites_1 | sites_2),
                **values,
            )
            column2.reasons.append(reason)
            ctx.flag(
                "edit_applied",
                reason,
                detail=f"{column2.code}-{min(sites_2)} with {column1.code}-{min(sites_1)}: anatomic modifiers",
                service_ids=column2.service_ids,
            )
            continue
        modifier = _distinction_modifier(ctx, column1, column2)
        reason = step_reason(
            STEP_PTP,
            f"NCCI pair on different lesions: {edit.note}",
            modifier=modifier,
            lesions=sorted(lesions_2),
            **values,
        )
        column2.add_modifier(
            modifier, reason, ctx.policy.distinct_decided_by if modifier == ctx.distinct_modifier else ()
        )
        ctx.flag(
            "edit_applied",
            reason,
            detail=f"{column2.code}-{modifier} with {column1.code}: separate lesion",
            service_ids=column2.service_ids,
        )


def _distinction_modifier(ctx: CodingContext, column1: WorkLine, column2: WorkLine) -> str:
    """RT/LT when column 2 is all on one side and column 1 all on the other (anatomic modifiers
    take precedence over 59/XS when they tell the distinction), else the payer's 59/XS."""
    sides_2 = {ctx.service(sid).laterality for sid in column2.service_ids}
    sides_1 = {ctx.service(sid).laterality for sid in column1.service_ids}
    if len(sides_2) == 1 and len(sides_1) == 1:
        side_2, side_1 = next(iter(sides_2)), next(iter(sides_1))
        if side_2 in SIDE_MODIFIERS and side_1 in SIDE_MODIFIERS and side_1 != side_2:
            return SIDE_MODIFIERS[side_2]
    return ctx.distinct_modifier


def apply_mue_limits(ctx: CodingContext) -> None:
    """Units above the MUE for a code on the date are cut back: per line for MAI 1, per date for MAI 2/3."""
    if ctx.encounter.coverage.plan_type in PLANS_WITHOUT_EDITS:
        return
    date_of_service = ctx.encounter.date_of_service
    limited_codes = ctx.codesets.mue  # most lines' codes have no MUE at all: skip them before grouping
    by_code: dict[str, list[WorkLine]] = {}
    for line in ctx.lines:
        if line.route == "claim" and line.code in limited_codes:
            by_code.setdefault(line.code, []).append(line)
    for code, lines in by_code.items():
        limit = ctx.codesets.mue_for(code, date_of_service)
        if limit is None:
            continue
        groups = [[line] for line in lines] if limit.mai == 1 else [lines]
        for group in groups:
            total_units = sum(line.units for line in group)
            excess = total_units - limit.max_units
            if excess <= 0:
                continue
            reason = step_reason(
                STEP_MUE,
                f"units above the MUE are not payable: {limit.note}",
                code=code,
                units=total_units,
                mue=limit.max_units,
                mai=limit.mai,
                source=limit.source,
            )
            for line in reversed(group):
                cut = min(excess, line.units - (0 if line is not group[0] else 1))
                if cut <= 0:
                    continue
                if cut == line.units:
                    ctx.lines.remove(line)
                else:
                    line.units -= cut
                    line.reasons.append(reason)
                excess -= cut
                if excess == 0:
                    break
            ctx.flag(
                "edit_applied",
                reason,
                detail=f"{code}: {total_units} units cut to MUE {limit.max_units}",
                service_ids=[sid for line in group for sid in line.service_ids],
            )
