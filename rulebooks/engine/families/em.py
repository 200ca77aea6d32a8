"""Office E/M 99202-99205 / 99211-99215 and modifier 25.

The level comes from the documented level, else from MDM: the level met by at least two of
the three elements (problems, data, risk). Modifier 25 goes on the E/M only when it is
significant and separately identifiable from a procedure billed (or held) the same day; otherwise
the E/M is dropped with a reason (derm-coding.md 9.1, 9.2).
"""

from __future__ import annotations

from rulebooks.engine.context import CodingContext, WorkLine, for_kinds, shared_step_reason, step_reason
from rulebooks.models import Service
from rulebooks.models.encounter import EmFacts

STEP_SELECT = "select_em"
STEP_MODIFIER_25 = "apply_modifier_25"
EM_PREFIX = "992"

PROBLEMS_LEVEL = {"minimal": 2, "low": 3, "moderate": 4, "high": 5}
DATA_LEVEL = {"minimal": 2, "limited": 3, "moderate": 4, "extensive": 5}
RISK_LEVEL = {"minimal": 2, "low": 3, "moderate": 4, "high": 5}
EM_CODES = {
    "new": {2: "99202", 3: "99203", 4: "99204", 5: "99205"},
    "established": {1: "99211", 2: "99212", 3: "99213", 4: "99214", 5: "99215"},
}


def mdm_level(em: EmFacts) -> int | None:
    """The MDM level met by two of three elements, or None when fewer than two are documented.

    >>> mdm_level(EmFacts(patient_status="established", problems="moderate", data="limited", risk="moderate"))
    4
    >>> mdm_level(EmFacts(patient_status="new", problems="high", data="minimal", risk="low"))
    3
    """
    levels = [
        table[value]
        for table, value in ((PROBLEMS_LEVEL, em.problems), (DATA_LEVEL, em.data), (RISK_LEVEL, em.risk))
        if value is not None
    ]
    if len(levels) < 2:
        return None
    return sorted(levels, reverse=True)[1]


@for_kinds("em")
def select_em(ctx: CodingContext) -> None:
    for service in ctx.services_of_kind("em"):
        _select_one(ctx, service)


def _select_one(ctx: CodingContext, service: Service) -> None:
    em = service.em
    assert em is not None  # guaranteed by the Encounter model
    codes = EM_CODES[em.patient_status]
    if em.level is not None:
        level, how = em.level, "documented level"
    else:
        level, how = mdm_level(em) or 0, "medical decision making (2 of 3 elements)"
    if level not in codes:
        ctx.hold(
            "99212" if em.patient_status == "established" else "99202",
            service,
            "Document the E/M level or at least two MDM elements (problems, data, risk) for this visit.",
            step_reason(
                STEP_SELECT,
                "E/M level cannot be determined",
                level=em.level,
                problems=em.problems,
                data=em.data,
                risk=em.risk,
            ),
        )
        return
    ctx.lines.append(
        WorkLine(
            code=codes[level],
            units=1,
            service_ids=[service.id],
            reasons=[
                shared_step_reason(
                    STEP_SELECT,
                    f"{em.patient_status} patient, level {level} by {how}",
                    patient_status=em.patient_status,
                    level=level,
                    problems=em.problems,
                    data=em.data,
                    risk=em.risk,
                )
            ],
        )
    )


def apply_modifier_25(ctx: CodingContext) -> None:
    """E/M beside a procedure billed to the payer (or held for a query): 25 when separately
    identifiable, else dropped."""
    for line in ctx.lines:
        if line.code.startswith(EM_PREFIX):
            break
    else:
        return  # no E/M line: nothing to add 25 to or drop (most encounters)
    # A held procedure was done all the same: the E/M beside it takes 25 or is included in it now,
    # as it will be when the procedure's answer comes (rulebooks/engine/holds.py).
    procedures = [line for line in ctx.lines if line.route != "self_pay" and not _is_em(line.code)]
    if not procedures:
        return
    procedure_codes = sorted({line.code for line in procedures})
    for line in list(ctx.claim_lines()):
        if not _is_em(line.code):
            continue
        em = ctx.service(line.service_ids[0]).em
        separately_identifiable = em.separately_identifiable if em else None
        billed = ctx.policy.separate_visit
        if separately_identifiable and billed is not None:
            line.add_modifier(
                billed.value,
                step_reason(
                    STEP_MODIFIER_25,
                    "significant, separately identifiable E/M on the day of a minor procedure",
                    separately_identifiable=True,
                    procedures=procedure_codes,
                ),
                (billed.reason,),
            )
            continue
        ctx.lines.remove(line)
        if separately_identifiable:
            message = (
                "E/M dropped: separately identifiable E/M work is documented, but no rule of the payer's or "
                "the clinic's rulebooks bills it beside a procedure (the national base's `em-modifier-25` does)"
            )
        else:
            message = (
                "E/M dropped: the decision to perform the procedure is included in the procedure, and no "
                "separately identifiable E/M work is documented"
            )
        reason = step_reason(
            STEP_MODIFIER_25,
            message,
            separately_identifiable=separately_identifiable,
            procedures=procedure_codes,
            dropped=line.code,
        )
        ctx.flag(
            "edit_applied",
            reason,
            detail=f"{line.code} bundled into {', '.join(procedure_codes)}",
            service_ids=line.service_ids,
        )


def _is_em(code: str) -> bool:
    return code.startswith(EM_PREFIX)
