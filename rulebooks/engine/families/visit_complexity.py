"""G2211, the Medicare visit-complexity add-on to an office/outpatient E/M (derm-coding.md 9.3).

Why only on a documented fact: G2211 pays for the continuing, longitudinal care of a single serious
or complex condition, which only the provider can attest (`em.longitudinal_care`); the engine never
infers it from diagnoses. It is a Medicare code (FFS and Advantage) payable from 2024; since 2025
it may go with an E/M carrying modifier 25 only when the other service is an annual wellness visit,
a vaccine administration or a Part B preventive service, none of which this engine codes, so an
E/M-25 beside a derm procedure never takes it (CMS's definition of the code: it stays here).
Which plans pay it, and from when, is the rulebooks' decision (`PayerPolicy.visit_complexity`,
the national base's `g2211-medicare` rule); without one it is not added, and said so. Every
G2211 added or refused carries its reason.
"""

from __future__ import annotations

from rulebooks.engine.context import CodingContext, WorkLine, for_kinds, step_reason

STEP = "add_visit_complexity_addon"
G2211 = "G2211"
OFFICE_EM_CODES = frozenset({"99202", "99203", "99204", "99205", "99211", "99212", "99213", "99214", "99215"})


@for_kinds("em")
def add_visit_complexity_addon(ctx: CodingContext) -> None:
    """After modifier 25 and the global period are settled: G2211 beside each office E/M whose
    provider documented longitudinal care, when the plan and the day's services allow it."""
    for line in list(ctx.lines):
        if line.route != "claim" or line.code not in OFFICE_EM_CODES:
            continue
        em = ctx.service(line.service_ids[0]).em
        if em is None or not em.longitudinal_care:
            continue  # not documented: nothing to add or refuse (most visits)
        plan_type = ctx.encounter.coverage.plan_type
        values: dict[str, object] = {"em_code": line.code, "longitudinal_care": True, "plan_type": plan_type}
        billed = ctx.policy.visit_complexity
        if billed is None:
            _refuse(
                ctx,
                line,
                "no rule of the payer's or the clinic's rulebooks bills the visit-complexity add-on for this "
                "plan and date (the national base's `g2211-medicare` does for Medicare from 2024)",
                **values,
            )
            continue
        if "25" in line.modifiers:
            procedures = sorted({other.code for other in ctx.claim_lines() if other.code not in OFFICE_EM_CODES})
            _refuse(
                ctx,
                line,
                "G2211 with an E/M carrying modifier 25 only when the other service is an annual wellness visit, "
                "a vaccine administration or a Part B preventive service; here it is a procedure",
                modifiers=list(line.modifiers),
                procedures=procedures,
                **values,
            )
            continue
        addon = WorkLine(
            code=billed.value,
            units=1,
            service_ids=list(line.service_ids),
            reasons=[
                step_reason(
                    STEP,
                    "visit-complexity add-on: longitudinal care of a single serious or complex condition "
                    "documented, E/M without modifier 25",
                    **values,
                ),
                billed.reason,
            ],
        )
        ctx.lines.insert(ctx.lines.index(line) + 1, addon)


def _refuse(ctx: CodingContext, line: WorkLine, message: str, **values: object) -> None:
    ctx.flag(
        "edit_applied",
        step_reason(STEP, f"G2211 not added: {message}", **values),
        detail=f"G2211 not added to {line.code}",
        service_ids=line.service_ids,
    )
