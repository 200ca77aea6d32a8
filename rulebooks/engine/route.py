"""The route phase: diagnosis pointers, fees, and the claim / self-pay / held split."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from rulebooks.engine.context import CodingContext, FeeSchedules, WorkLine, step_reason

STEP_POINTERS = "link_diagnoses"
STEP_SELF_PAY = "drop_claim_modifiers_from_self_pay"
MAX_POINTERS_PER_LINE = 4
MAX_DIAGNOSES_PER_CLAIM = 12


def link_diagnoses(ctx: CodingContext) -> None:
    """Each line points at its services' linked diagnoses (at most 4), in the provider's order.

    A service with no linked diagnosis points at the encounter's first diagnosis. Only the
    first 12 distinct diagnoses fit on a claim; a line whose diagnoses fall outside them is
    flagged rather than silently re-pointed.
    """
    encounter_diagnoses = ctx.encounter.diagnoses
    order: dict[str, int] = {}  # filled for the first line with two diagnoses (most have one)
    claim_diagnoses: set[str] = set()
    for line in ctx.lines:
        # The services' diagnoses in order, each once; most lines have one service and one diagnosis.
        service_ids = line.service_ids
        if len(service_ids) == 1:
            diagnoses = ctx.service(service_ids[0]).diagnoses
            linked = list(diagnoses) if len(diagnoses) < 2 else list(dict.fromkeys(diagnoses))
        else:
            linked = list(dict.fromkeys(code for sid in service_ids for code in ctx.service(sid).diagnoses))
        if not linked and encounter_diagnoses:
            linked = [encounter_diagnoses[0]]
        if len(linked) > 1:  # one diagnosis is already in order
            if not order:
                order = {code: index for index, code in enumerate(encounter_diagnoses)}
            unlisted = len(order)
            linked.sort(key=lambda code: order.get(code, unlisted))
            if len(linked) > MAX_POINTERS_PER_LINE:
                ctx.flag(
                    "edit_applied",
                    step_reason(
                        STEP_POINTERS,
                        "a claim line points at no more than 4 diagnoses",
                        linked=linked,
                        kept=linked[:MAX_POINTERS_PER_LINE],
                    ),
                    detail=f"{line.code}: diagnoses beyond the fourth not pointed",
                    service_ids=line.service_ids,
                )
                linked = linked[:MAX_POINTERS_PER_LINE]
        line.diagnoses = linked  # a new list, never the service's own
        if line.route == "claim":
            claim_diagnoses.update(linked)
    if len(claim_diagnoses) > MAX_DIAGNOSES_PER_CLAIM:
        ctx.flag(
            "provider_query",
            step_reason(
                STEP_POINTERS, "a professional claim carries at most 12 diagnoses", diagnoses=len(claim_diagnoses)
            ),
            detail="More than 12 diagnoses are pointed to; split the claim or review the diagnosis links.",
        )


def drop_claim_modifiers_from_self_pay(ctx: CodingContext) -> None:
    """A self-pay line is not a claim: the modifiers a claim needs (59/XS, anatomic, 25, GY) are
    dropped from it, with a reason, whichever pass added them while it was coded on its own."""
    for line in ctx.lines:
        if line.route == "self_pay" and line.modifiers:
            line.reasons.append(
                step_reason(
                    STEP_SELF_PAY,
                    "a self-pay line never reaches a claim, so it carries no claim modifier",
                    dropped=line.modifiers,
                )
            )
            line.modifiers = []


def price_line(ctx: CodingContext, line: WorkLine) -> str | None:
    """The clinic's fee for one of the engine's lines (see `charge_of`)."""
    return charge_of(ctx.fees, line.route, line.code, line.units, line.modifiers)


def charge_of(fees: FeeSchedules, route: str, code: str, units: int, modifiers: Sequence[str]) -> str | None:
    """The clinic's fee times the units: self-pay lines from the cosmetic schedule, claim lines from
    the medical one. A statutorily excluded service filed at the patient's request (GY) is billed at
    the clinic's cosmetic fee when the medical schedule has none: the patient owes it, and a claim
    line needs a charge. The claim builder prices a biller's replacement line with it too."""
    schedule = fees.cosmetic if route == "self_pay" else fees.medical
    fee = schedule.get(code)
    if fee is None and route == "claim" and "GY" in modifiers:
        fee = fees.cosmetic.get(code)
    if fee is None:
        return None
    return str((fee * Decimal(units)).quantize(Decimal("0.01")))
