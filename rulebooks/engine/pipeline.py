"""The coding pipeline: classify, select, policy, route, in an order that reads like the guideline.

`code()` touches no database, network or clock: the caller passes the time of coding.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from rulebooks.engine.context import CodingContext, FeeSchedules, WorkLine
from rulebooks.engine.families.biopsy import select_biopsies
from rulebooks.engine.families.em import apply_modifier_25, select_em
from rulebooks.engine.route import link_diagnoses, price_line
from rulebooks.models import ClaimLine, Coding, Encounter, HeldLine, RulebookRef

Pass = Callable[[CodingContext], None]

# The order is the guideline: procedures first, then E/M (whose modifier 25 depends on them).
SELECT_PASSES: tuple[Pass, ...] = (
    select_biopsies,
    select_em,
)
POLICY_PASSES: tuple[Pass, ...] = (
    apply_modifier_25,
)
ROUTE_PASSES: tuple[Pass, ...] = (
    link_diagnoses,
)


def code(
    encounter: Encounter,
    *,
    encounter_id: str,
    coded_at: dt.datetime,
    fees: FeeSchedules | None = None,
    rulebooks: Sequence[RulebookRef] = (),
) -> Coding:
    """Code one encounter: the proposed lines, their modifiers and pointers, and every reason."""
    ctx = CodingContext(encounter=encounter, fees=fees or FeeSchedules())
    for phase in (SELECT_PASSES, POLICY_PASSES, ROUTE_PASSES):
        for run_pass in phase:
            run_pass(ctx)
    return freeze(ctx, encounter_id=encounter_id, coded_at=coded_at, rulebooks=rulebooks)


def freeze(ctx: CodingContext, *, encounter_id: str, coded_at: dt.datetime,
           rulebooks: Sequence[RulebookRef]) -> Coding:
    claim = [_claim_line(ctx, line) for line in ctx.lines if line.route == "claim"]
    self_pay = [_claim_line(ctx, line) for line in ctx.lines if line.route == "self_pay"]
    held = [
        HeldLine(code=line.code, units=line.units, service_ids=line.service_ids, query=line.query or "",
                 reasons=line.reasons)
        for line in ctx.lines
        if line.route == "held"
    ]
    flag_codes = {flag.code for flag in ctx.flags}
    if held:
        status = "held"
    elif "prior_auth_missing" in flag_codes:
        status = "needs_prior_auth"
    else:
        status = "ready"
    return Coding(
        encounter_id=encounter_id,
        coded_at=coded_at,
        rulebooks=list(rulebooks),
        status=status,
        claim_lines=claim,
        self_pay_lines=self_pay,
        held_lines=held,
        flags=ctx.flags,
    )


def _claim_line(ctx: CodingContext, line: WorkLine) -> ClaimLine:
    return ClaimLine(
        code=line.code,
        units=line.units,
        modifiers=line.modifiers,
        diagnoses=line.diagnoses,
        charge=price_line(ctx, line),
        service_ids=line.service_ids,
        reasons=line.reasons,
    )
