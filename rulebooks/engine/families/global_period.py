"""Services inside the postoperative (global) period of an earlier procedure: 79, 58, 24 (derm-coding.md 10.2, 13).

Why a policy pass after the NCCI pairs: 24/58/79 are NCCI-associated modifiers, and given before
the pair check they would wrongly bypass a pair of today's lines; their subject is the earlier
procedure, not today's pairs. The encounter says which earlier procedure (`global_period`) and
each service how it relates to it (`related_to_prior`); the global days come from the encounter
or the code sets (rulebooks/data/global_days.csv, mostly unverified, until an MPFS relative value
file is loaded with `cutis codesets load global_days`; the release in effect on the earlier
procedure's date decides its global period). A missing relation is asked for, never guessed:
the line is held.
"""

from __future__ import annotations

import datetime as dt

from rulebooks.dated_codesets import GlobalDays, default_codesets
from rulebooks.engine.context import CodingContext, WorkLine, step_reason
from rulebooks.models import Reason
from rulebooks.models.encounter import GlobalPeriodFacts

STEP = "apply_global_period_modifiers"
POSTOPERATIVE_DAYS = {"010": 10, "090": 90}
EM_PREFIX = "992"
PROCEDURE_MODIFIERS = {"unrelated": "79", "staged": "58"}
PROCEDURE_INDICATORS = frozenset({"000", "010", "090", "ZZZ"})


def global_days(code: str, date_of_service: dt.date) -> GlobalDays | None:
    """The code's global indicator in the release in effect on the date (built-in subset or a loaded MPFS)."""
    return default_codesets().global_days_for(code, date_of_service)


def postoperative_days(prior: GlobalPeriodFacts) -> tuple[int | None, str]:
    """The earlier procedure's postoperative days and where they came from.

    >>> import datetime as dt
    >>> day = dt.date(2026, 1, 5)
    >>> postoperative_days(GlobalPeriodFacts(procedure_code="17000", date_of_service=day))
    (10, 'S13')
    >>> postoperative_days(GlobalPeriodFacts(procedure_code="17000", date_of_service=day, global_days=0))
    (0, 'encounter')
    """
    if prior.global_days is not None:
        return prior.global_days, "encounter"
    entry = global_days(prior.procedure_code, prior.date_of_service)
    if entry is None or entry.indicator == "ZZZ":
        return None, "unknown"
    return POSTOPERATIVE_DAYS.get(entry.indicator, 0), entry.source


def is_procedure_with_global(code: str, date_of_service: dt.date) -> bool:
    """A procedure the global-surgery rules apply to (000/010/090 and add-ons), not E/M, drugs or pathology."""
    entry = global_days(code, date_of_service)
    return entry is not None and entry.indicator in PROCEDURE_INDICATORS


def apply_global_period_modifiers(ctx: CodingContext) -> None:
    prior = ctx.encounter.global_period
    if prior is None:
        return  # most encounters
    days, source = postoperative_days(prior)
    days_after = (ctx.encounter.date_of_service - prior.date_of_service).days
    values: dict[str, object] = {
        "prior_code": prior.procedure_code,
        "prior_date": prior.date_of_service.isoformat(),
        "global_days": days,
        "global_days_source": source,
        "days_after": days_after,
    }
    if days is None:
        ctx.flag(
            "provider_query",
            step_reason(STEP, "the earlier procedure's global days are not known", **values),
            detail=f"Document the global days (0, 10 or 90) of {prior.procedure_code}, or give its primary "
            "procedure code, to decide whether this visit falls in its postoperative period.",
        )
        return
    if days_after > days:
        return  # the global period has ended: today's services are billed as usual
    for line in list(ctx.claim_lines()):
        if line.code.startswith(EM_PREFIX):
            _em_in_global(ctx, line, values)
        elif is_procedure_with_global(line.code, ctx.encounter.date_of_service):
            _procedure_in_global(ctx, line, values)


def _relation(ctx: CodingContext, line: WorkLine) -> str | None:
    relations = {ctx.service(service_id).related_to_prior for service_id in line.service_ids}
    return relations.pop() if len(relations) == 1 else None


def _em_in_global(ctx: CodingContext, line: WorkLine, values: dict[str, object]) -> None:
    relation = _relation(ctx, line)
    prior = f"{values['prior_code']} of {values['prior_date']}"
    if relation == "unrelated":
        line.add_modifier(
            "24",
            step_reason(STEP, "E/M unrelated to the earlier procedure, within its postoperative period", **values),
        )
        return
    if relation == "same_problem":
        ctx.remove_line(
            line,
            step_reason(
                STEP,
                "E/M for the problem treated by the earlier procedure, within its postoperative period: included "
                "in that procedure's global (a post-operative visit may be recorded as 99024, not billed)",
                dropped=line.code,
                **values,
            ),
            detail=f"{line.code} included in the global period of {prior}",
        )
        return
    _hold(
        ctx,
        line,
        f"This visit falls within the {values['global_days']}-day global period of {prior}: document whether the "
        "E/M addresses a problem unrelated to that procedure (billed with 24) or is post-operative care "
        "(included, not billed).",
        step_reason(STEP, "E/M within a global period, relation to the earlier procedure not documented", **values),
    )


def _procedure_in_global(ctx: CodingContext, line: WorkLine, values: dict[str, object]) -> None:
    relation = _relation(ctx, line)
    prior = f"{values['prior_code']} of {values['prior_date']}"
    if relation in PROCEDURE_MODIFIERS:
        modifier = PROCEDURE_MODIFIERS[relation]
        message = (
            "procedure unrelated to the earlier one, within its postoperative period"
            if modifier == "79"
            else "staged or related, more extensive procedure within the earlier procedure's postoperative period "
            "(a new global period starts; unverified, Medicare global surgery rules)"
        )
        line.add_modifier(modifier, step_reason(STEP, message, modifier=modifier, relation=relation, **values))
        return
    if relation == "same_problem":
        question = (
            f"This {line.code} is for the problem treated by {prior}, within its {values['global_days']}-day global "
            "period: document whether it was planned/staged or more extensive (billed with 58); treatment of a "
            "complication without a return to the operating room is included in the global and not billed."
        )
        reason = step_reason(STEP, "procedure for the same problem within the global period", **values)
    else:
        question = (
            f"This {line.code} falls within the {values['global_days']}-day global period of {prior}: document "
            "whether it is unrelated to that procedure (79) or staged/more extensive (58)."
        )
        reason = step_reason(
            STEP, "procedure within a global period, relation to the earlier procedure not documented", **values
        )
    _hold(ctx, line, question, reason)


def _hold(ctx: CodingContext, line: WorkLine, question: str, reason: Reason) -> None:
    """Move a proposed claim line to held with the question that decides it."""
    line.route = "held"
    line.query = question
    line.reasons.append(reason)
    ctx.flag("provider_query", reason, detail=question, service_ids=line.service_ids)
