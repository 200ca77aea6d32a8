"""The route phase: diagnosis pointers, fees, and the claim / self-pay / held split."""

from __future__ import annotations

from decimal import Decimal

from rulebooks.engine.context import CodingContext, WorkLine, step_reason

STEP_POINTERS = "link_diagnoses"
MAX_POINTERS_PER_LINE = 4
MAX_DIAGNOSES_PER_CLAIM = 12


def link_diagnoses(ctx: CodingContext) -> None:
    """Each line points at its services' linked diagnoses (at most 4), in the provider's order.

    A service with no linked diagnosis points at the encounter's first diagnosis. Only the
    first 12 distinct diagnoses fit on a claim; a line whose diagnoses fall outside them is
    flagged rather than silently re-pointed.
    """
    order = {code: index for index, code in enumerate(ctx.encounter.diagnoses)}
    unlisted = len(order)
    claim_diagnoses: list[str] = []
    for line in ctx.lines:
        linked = _linked_diagnoses(ctx, line.service_ids)
        if not linked and ctx.encounter.diagnoses:
            linked = [ctx.encounter.diagnoses[0]]
        if len(linked) > 1:  # one diagnosis is already in order
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
        line.diagnoses = linked[:MAX_POINTERS_PER_LINE]
        if line.route == "claim":
            for code in line.diagnoses:
                if code not in claim_diagnoses:
                    claim_diagnoses.append(code)
    if len(claim_diagnoses) > MAX_DIAGNOSES_PER_CLAIM:
        ctx.flag(
            "provider_query",
            step_reason(
                STEP_POINTERS, "a professional claim carries at most 12 diagnoses", diagnoses=len(claim_diagnoses)
            ),
            detail="More than 12 diagnoses are pointed to; split the claim or review the diagnosis links.",
        )


def _linked_diagnoses(ctx: CodingContext, service_ids: list[str]) -> list[str]:
    """The services' diagnoses in order, each once (most lines have one service and one diagnosis)."""
    if len(service_ids) == 1:
        diagnoses = ctx.service(service_ids[0]).diagnoses
        return list(diagnoses) if len(diagnoses) < 2 else list(dict.fromkeys(diagnoses))
    return list(dict.fromkeys(code for service_id in service_ids for code in ctx.service(service_id).diagnoses))


def price_line(ctx: CodingContext, line: WorkLine) -> str | None:
    schedule = ctx.fees.cosmetic if line.route == "self_pay" else ctx.fees.medical
    fee = schedule.get(line.code)
    if fee is None:
        return None
    return str((fee * Decimal(line.units)).quantize(Decimal("0.01")))
