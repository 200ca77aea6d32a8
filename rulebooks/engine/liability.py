"""Medicare FFS liability modifiers GA / GX / GY / GZ (derm-coding.md 10.3).

Which payers take them is the rulebooks' decision (`PayerPolicy.liability`): the national base's
`medicare-liability-modifiers` rule sets it for Medicare FFS only, because ABN modifiers are
Medicare fee-for-service instruments and CMS says not to use them for Medicare Advantage.
GA, GY and GZ are mutually exclusive on a line: one reason
decides which applies. An ABN does not shift liability for NCCI/MUE denials, so these
modifiers are never used to bill past an edit.
"""

from __future__ import annotations

from rulebooks.engine.context import CodingContext, WorkLine, step_reason
from rulebooks.models import Reason

STEP = "apply_medicare_liability_modifiers"
LIABILITY_MODIFIERS = ("GA", "GY", "GZ")
LIABLE_CLASSIFICATIONS = frozenset({"cosmetic", "expected_denial"})  # the only ones a modifier here is for


def apply_medicare_liability_modifiers(ctx: CodingContext) -> None:
    """Cosmetic (statutorily excluded) -> GY, plus GX when a voluntary ABN is on file; ordered
    but expected to be denied as not reasonable and necessary -> GA with an ABN, GZ without."""
    coverage = ctx.encounter.coverage
    decided_by = ctx.policy.liability
    if decided_by is None or LIABLE_CLASSIFICATIONS.isdisjoint(ctx.classifications.values()):
        return  # the payer takes no liability modifiers, or nothing is excluded or expected to be denied
    abn_on_file = bool(coverage.abn_on_file)
    for line in ctx.lines:
        classes = {ctx.classifications.get(sid, "medical") for sid in line.service_ids}
        if line.route == "self_pay" and "cosmetic" in classes:
            _set(
                ctx,
                line,
                "GY",
                "cosmetic surgery is statutorily excluded from Medicare; patient liable",
                "patient_liable",
                decided_by,
                abn_on_file=abn_on_file,
            )
            if abn_on_file:
                line.add_modifier(
                    "GX",
                    step_reason(STEP, "voluntary ABN issued for an excluded service", abn_on_file=True),
                    (decided_by,),
                )
        elif line.route == "claim" and "expected_denial" in classes:
            if abn_on_file:
                _set(
                    ctx,
                    line,
                    "GA",
                    "expected to be denied as not reasonable and necessary; ABN on file, patient liable if denied",
                    "patient_liable",
                    decided_by,
                    abn_on_file=True,
                )
            else:
                _set(
                    ctx,
                    line,
                    "GZ",
                    "expected to be denied as not reasonable and necessary; no ABN on file, provider liable",
                    "provider_liable",
                    decided_by,
                    abn_on_file=False,
                )


def _set(
    ctx: CodingContext, line: WorkLine, modifier: str, message: str, flag: str, decided_by: Reason, **values: object
) -> None:
    present = [m for m in line.modifiers if m in LIABILITY_MODIFIERS and m != modifier]
    assert not present, f"{line.code} already carries {present}; GA, GY and GZ are exclusive"
    reason = step_reason(STEP, message, modifier=modifier, **values)
    line.add_modifier(modifier, reason, (decided_by,))
    ctx.flag(flag, reason, detail=f"{line.code}-{modifier}", service_ids=line.service_ids)
