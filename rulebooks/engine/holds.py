"""What waits with a held procedure: the services whose coding or payment depends on it.

Why: a provider query holds one procedure, but the claim must not go out with a repair whose
excision is still waiting, since the repair's very reason to be billed (and a summed repair's
length) changes with the answer. Which dependents are held, and which may be sent (README,
"Holds: what waits with a held procedure"):

- held: a closure (repair, adjacent tissue transfer, graft) on the lesion of a held procedure, or
  with no lesion link at all while a wound-making procedure is held (which wound it closes cannot
  be told); a biopsy on the lesion of a held definitive procedure (whether it is billed turns on
  that procedure, derm-coding.md 1.3, 7.3); an add-on code (global indicator ZZZ) of a held
  service; a line summed over several services of which one waits (a summed repair, 5.3). A line
  held only in part (units over a limit split off a line that goes out) holds nothing else.
- sent: services of other lesions; an E/M (apply_modifier_25 already decides 25 or inclusion
  with the held procedures counted as done); a definitive procedure whose same-lesion biopsy or
  closure is the one held (it does not depend on them); a drug whose administration is held, or
  the reverse (the drug given is known either way, as in 09_injection.json).
"""

from __future__ import annotations

from rulebooks.engine.context import CodingContext, WorkLine, step_reason
from rulebooks.models import Service

STEP = "hold_dependents_of_held_services"
CLOSURE_KINDS = frozenset({"repair", "adjacent_tissue_transfer", "graft"})
WOUND_KINDS = frozenset({"excision", "shave", "mohs", "biopsy", "hidradenitis_excision"})
DEFINITIVE_KINDS = frozenset({"excision", "shave", "destruction", "mohs", "adjacent_tissue_transfer"})
HELD_WITH_QUERY = "Held with {code} (service {service_id}), which waits for the provider: {query}"


def depends_on(ctx: CodingContext, dependent: Service, held: Service) -> bool:
    """Whether `dependent`'s coding or payment depends on the held service `held`."""
    if dependent.id == held.id:
        return False
    if dependent.kind in CLOSURE_KINDS:
        if dependent.lesion_id is None:
            return held.kind in WOUND_KINDS
        return held.kind in WOUND_KINDS | CLOSURE_KINDS and ctx.lesion_of(held.id) == dependent.lesion_id
    if dependent.kind == "biopsy" and dependent.lesion_id is not None:
        return held.kind in DEFINITIVE_KINDS and ctx.lesion_of(held.id) == dependent.lesion_id
    return False


def is_add_on(ctx: CodingContext, code: str) -> bool:
    """Whether the code is an add-on (global indicator ZZZ): it is billed only with its primary."""
    entry = ctx.codesets.global_days_for(code, ctx.encounter.date_of_service)
    return entry is not None and entry.indicator == "ZZZ"


def hold_dependents_of_held_services(ctx: CodingContext) -> None:
    """Hold every claim line of a service that depends on a held one, with the held line's query."""
    held_lines = [line for line in ctx.lines if line.route == "held"]
    if not held_lines or not any(line.route == "claim" for line in ctx.lines):
        return  # nothing held, or nothing left to hold (most encounters)
    held_by: dict[str, WorkLine] = {}  # service id -> the held line it waits with
    # A line held in part (the excess over a units limit, split off a line that goes out) holds
    # nothing else: the procedure itself is billed, only some of its units wait.
    claimed = {(line.code, sid) for line in ctx.lines if line.route == "claim" for sid in line.service_ids}
    for line in held_lines:
        if all((line.code, sid) in claimed for sid in line.service_ids):
            continue
        for service_id in line.service_ids:
            held_by.setdefault(service_id, line)
    waiting: dict[str, WorkLine] = {}  # service id -> the held line its other lines wait with
    for service in ctx.encounter.services:
        for held_id, held_line in held_by.items():
            if depends_on(ctx, service, ctx.service(held_id)):
                waiting[service.id] = held_line
                break
    for line in ctx.lines:
        if line.route != "claim":
            continue
        cause = next((waiting[sid] for sid in line.service_ids if sid in waiting), None)
        if cause is None and is_add_on(ctx, line.code):
            cause = next((held_by[sid] for sid in line.service_ids if sid in held_by), None)
        if cause is None:
            continue
        held_service = cause.service_ids[0]
        reason = step_reason(
            STEP,
            "depends on a held service: held with it so that the claim never goes out without it",
            held_code=cause.code,
            held_service=held_service,
            services=line.service_ids,
        )
        line.route = "held"
        line.query = HELD_WITH_QUERY.format(code=cause.code, service_id=held_service, query=cause.query or "")
        line.reasons.append(reason)
        ctx.flag(
            "held_with_procedure", reason, detail=f"{line.code} held with {cause.code}", service_ids=line.service_ids
        )
