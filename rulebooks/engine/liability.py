"""Medicare FFS liability modifiers GA / GX / GY / GZ (derm-coding.md 10.3).

Which payers take them is the rulebooks' decision (`PayerPolicy.liability`): the national base's
`medicare-liability-modifiers` rule sets it for Medicare FFS only, because ABN modifiers are
Medicare fee-for-service instruments and CMS says not to use them for Medicare Advantage.
GA, GY and GZ are mutually exclusive on a line: one reason decides which applies. An ABN does
not shift liability for NCCI/MUE denials, so these modifiers are never used to bill past an edit.

What drives them is recorded per service: an ABN lists the services it covers (`Encounter.abns`,
required or voluntary); a required ABN makes its services `expected_denial` (GA; GZ when a
service is expected to be denied without one); a statutorily excluded (cosmetic) service reaches
the claim only when the patient asked to file it (`Service.patient_requested_filing`), with GY,
and GX beside it when a voluntary ABN lists it. Any other cosmetic service is self-pay, and a
self-pay line carries no claim modifier.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from rulebooks.engine.context import CodingContext, WorkLine, step_reason
from rulebooks.models import Encounter, Reason

STEP = "apply_medicare_liability_modifiers"
LIABILITY_MODIFIERS = ("GA", "GY", "GZ")
LIABLE_CLASSIFICATIONS = frozenset({"cosmetic", "expected_denial"})  # the only ones a modifier here is for


def abn_lists(encounter: Encounter, service_ids: Sequence[str], kind: Literal["required", "voluntary"]) -> bool:
    """Whether an ABN of `kind` lists every one of the services (the legacy `coverage.abn_on_file`,
    an ABN for the whole visit whose kind was not recorded, lists them all)."""
    if encounter.coverage.abn_on_file:
        return True
    return bool(service_ids) and all(
        any(notice.kind == kind and service_id in notice.service_ids for notice in encounter.abns)
        for service_id in service_ids
    )


def filed_at_patient_request(ctx: CodingContext, service_ids: Sequence[str]) -> bool:
    """Whether excluded services go on the claim: the payer takes liability modifiers (Medicare FFS)
    and the patient asked that every one of them be filed."""
    return ctx.policy.liability is not None and all(
        ctx.service(service_id).patient_requested_filing for service_id in service_ids
    )


def apply_medicare_liability_modifiers(ctx: CodingContext) -> None:
    """A cosmetic (statutorily excluded) service filed at the patient's request -> GY, plus GX when
    a voluntary ABN lists it; ordered but expected to be denied as not reasonable and necessary ->
    GA when a required ABN lists it, GZ without. Self-pay and held lines take none."""
    decided_by = ctx.policy.liability
    if decided_by is None or LIABLE_CLASSIFICATIONS.isdisjoint(ctx.classifications.values()):
        return  # the payer takes no liability modifiers, or nothing is excluded or expected to be denied
    encounter = ctx.encounter
    for line in ctx.lines:
        if line.route != "claim":
            continue
        classes = {ctx.classifications.get(sid, "medical") for sid in line.service_ids}
        if "cosmetic" in classes:  # on the claim only because the patient asked to file it
            voluntary = abn_lists(encounter, line.service_ids, "voluntary")
            reason = _set(
                ctx,
                line,
                "GY",
                "statutorily excluded (cosmetic), filed at the patient's request; patient liable",
                "patient_liable",
                decided_by,
                abn_on_file=voluntary,
            )
            ctx.flag("filed_at_patient_request", reason, detail=line.code, service_ids=line.service_ids)
            if voluntary:
                line.add_modifier(
                    "GX",
                    step_reason(STEP, "voluntary ABN issued for an excluded service", abn_on_file=True),
                    (decided_by,),
                )
        elif "expected_denial" in classes:
            if abn_lists(encounter, line.service_ids, "required"):
                reason = _set(
                    ctx,
                    line,
                    "GA",
                    "expected to be denied as not reasonable and necessary; ABN on file, patient liable if denied",
                    "patient_liable",
                    decided_by,
                    abn_on_file=True,
                )
                ctx.flag("abn_on_file", reason, detail=f"{line.code}-GA", service_ids=line.service_ids)
            else:
                _set(
                    ctx,
                    line,
                    "GZ",
                    "expected to be denied as not reasonable and necessary; no required ABN lists it, provider liable",
                    "provider_liable",
                    decided_by,
                    abn_on_file=False,
                )


def _set(
    ctx: CodingContext, line: WorkLine, modifier: str, message: str, flag: str, decided_by: Reason, **values: object
) -> Reason:
    present = [m for m in line.modifiers if m in LIABILITY_MODIFIERS and m != modifier]
    assert not present, f"{line.code} already carries {present}; GA, GY and GZ are exclusive"
    reason = step_reason(STEP, message, modifier=modifier, **values)
    line.add_modifier(modifier, reason, (decided_by,))
    ctx.flag(flag, reason, detail=f"{line.code}-{modifier}", service_ids=line.service_ids)
    return reason
