"""What a rule stack's actions do to a coding: one handler per action of the rule language.

Each handler changes the `CodingContext` for one service and records the rule's `Reason` on what
it changed; `rulebooks.stack` keeps which handlers a rule's outcome calls, with their arguments.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dsl.runtime import FiredAction
from rulebooks.engine.context import CodingContext, CosmeticCriteria, Decided, WorkLine, new_flag
from rulebooks.engine.families.destruction import premalignant_destruction_lines
from rulebooks.models import Reason, Service
from rulebooks.rule_facts import lines_of

# Recoding after a lesion cap: the family function that turns a lesion count into lines,
# keyed by the codes it produces. The rule language says "cap lesions of service at 10";
# which codes that means is the code family's business, not the language's.
LesionRecoder = Callable[[int], list[tuple[str, int]]]
LESION_RECODERS: dict[frozenset[str], LesionRecoder] = {
    frozenset({"17000", "17003", "17004"}): premalignant_destruction_lines,
}


def apply_action(ctx: CodingContext, service: Service, action: FiredAction, reason: Reason) -> None:
    arguments = action.arguments
    handler = ACTION_HANDLERS[action.action]
    handler(ctx, service, arguments, reason)


def act_on_encounter(ctx: CodingContext, handler: ActionHandler, arguments: dict[str, Any], reason: Reason) -> None:
    """An action of a rule `for the encounter` (the checker lets such a rule take only the actions
    whose `ActionSpec.encounter` says so): a flag names every service; `limit ... per session`
    counts over the encounter already; an action on lines (picked by code set or modifier) acts on
    the lines of every service."""
    services = ctx.encounter.services
    if handler is _flag:
        rule = reason.rule
        ctx.flags.append(
            new_flag(arguments["code"], reason, rule.rule_id if rule else None, [service.id for service in services])
        )
    elif handler in _ON_THE_ENCOUNTER:
        handler(ctx, services[0], arguments, reason)
    else:
        for service in services:
            handler(ctx, service, arguments, reason)


def _classify(ctx: CodingContext, service: Service, arguments: dict[str, Any], reason: Reason) -> None:
    ctx.classifications[service.id] = arguments["class"]
    ctx.flag("rule_classification", reason, detail=arguments["class"], service_ids=[service.id])


def _query(ctx: CodingContext, service: Service, arguments: dict[str, Any], reason: Reason) -> None:
    message = arguments["message"]
    for line in lines_of(ctx, service):
        line.route = "held"
        line.query = message
        line.reasons.append(reason)
    ctx.flag("provider_query", reason, detail=message, service_ids=[service.id])


def _cap_lesions(ctx: CodingContext, service: Service, arguments: dict[str, Any], reason: Reason) -> None:
    """Recode the service's lesion-counted lines from the capped count, through the code family."""
    cap = int(arguments["count"])
    for codes, recode in LESION_RECODERS.items():
        family_lines = [line for line in lines_of(ctx, service) if line.code in codes]
        if not family_lines:
            continue
        service_ids = list(dict.fromkeys(sid for line in family_lines for sid in line.service_ids))
        lesions = sum(ctx.service(sid).count or 1 for sid in service_ids)
        if lesions <= cap:
            continue
        # The family's own reasons described the uncapped count (e.g. "15 or more: 17004 alone");
        # the new lines say what they are coded from instead.
        recoded = Reason(
            step="cap_lesions",
            message=f"{lesions} lesions documented; coded from {cap} under the payer's cap",
            values={"documented_lesions": lesions, "capped_at": cap, "replaced": [line.code for line in family_lines]},
        )
        for line in family_lines:
            ctx.lines.remove(line)
        for code, units in recode(cap):
            ctx.lines.append(WorkLine(code=code, units=units, service_ids=service_ids, reasons=[recoded, reason]))


def _require_prior_auth(ctx: CodingContext, service: Service, arguments: dict[str, Any], reason: Reason) -> None:
    codes = arguments["codes"]
    matching = [line.code for line in lines_of(ctx, service) if line.code in codes]
    if matching:
        ctx.flag("prior_auth_required", reason, detail=", ".join(sorted(set(matching))), service_ids=[service.id])


def _flag(ctx: CodingContext, service: Service, arguments: dict[str, Any], reason: Reason) -> None:
    """`ctx.flag` without its keyword call: most of what a stack applies to a coding is flags."""
    rule = reason.rule
    ctx.flags.append(new_flag(arguments["code"], reason, rule.rule_id if rule else None, [service.id]))


def _add_modifier(ctx: CodingContext, service: Service, arguments: dict[str, Any], reason: Reason) -> None:
    for line in lines_of(ctx, service):
        if line.code in arguments["codes"]:
            line.add_modifier(arguments["modifier"], reason)


def _remove_modifier(ctx: CodingContext, service: Service, arguments: dict[str, Any], reason: Reason) -> None:
    for line in lines_of(ctx, service):
        if line.code in arguments["codes"] and arguments["modifier"] in line.modifiers:
            line.modifiers.remove(arguments["modifier"])
            line.reasons.append(reason)


def _bundle(ctx: CodingContext, service: Service, arguments: dict[str, Any], reason: Reason) -> None:
    code, into = arguments["code"], arguments["into"]
    if not any(line.code == into for line in ctx.claim_lines()):
        return
    for line in [line for line in lines_of(ctx, service) if line.code == code]:
        ctx.remove_line(line, reason, detail=f"{code} bundled into {into}")


def _route(ctx: CodingContext, service: Service, arguments: dict[str, Any], reason: Reason) -> None:
    destination = arguments["destination"]
    for line in [line for line in ctx.lines if service.id in line.service_ids and line.route != "held"]:
        if line.route != destination:
            line.route = destination
            line.reasons.append(reason)


def _drop_lines(ctx: CodingContext, service: Service, arguments: dict[str, Any], reason: Reason) -> None:
    """Take the service's lines in the set off the claim; the rule's message is the flag's detail."""
    for line in [line for line in lines_of(ctx, service) if line.code in arguments["codes"]]:
        ctx.remove_line(line, reason, detail=arguments["message"])


def _limit_units(hold: bool) -> ActionHandler:
    """`limit CODES to N units per session ...`: the encounter's claim units of the codes, at most N.

    Counted over the whole encounter (the session), whichever service's rule fires: once the
    excess is held the count is N, so the same rule firing for the next service changes nothing.
    The excess comes off the last lines first (a line split in two when only part of it is over).
    """

    def limit_units(ctx: CodingContext, service: Service, arguments: dict[str, Any], reason: Reason) -> None:
        limit = int(arguments["units"])
        matching = [line for line in ctx.claim_lines() if line.code in arguments["codes"]]
        total = sum(line.units for line in matching)
        if total <= limit:
            return
        codes = ", ".join(sorted({line.code for line in matching}))
        detail = f"{total} units of {codes} in the session; the payer pays at most {limit}"
        service_ids = list(dict.fromkeys(sid for line in matching for sid in line.service_ids))
        if not hold:
            ctx.flag("units_over_limit", reason, detail=detail, service_ids=service_ids)
            return
        excess = total - limit
        for line in reversed(matching):
            if excess == 0:
                break
            over = min(line.units, excess)
            excess -= over
            if over == line.units:
                line.route, line.query = "held", detail
                line.reasons.append(reason)
                continue
            line.units -= over
            line.reasons.append(reason)
            ctx.lines.append(
                WorkLine(
                    code=line.code,
                    units=over,
                    service_ids=list(line.service_ids),
                    reasons=[reason],
                    modifiers=list(line.modifiers),
                    diagnoses=list(line.diagnoses),
                    route="held",
                    query=detail,
                )
            )
        ctx.flag("units_limited", reason, detail=detail, service_ids=service_ids)

    return limit_units


_LIMIT_HOLD, _LIMIT_FLAG = _limit_units(hold=True), _limit_units(hold=False)


def _replace_modifier(ctx: CodingContext, service: Service, arguments: dict[str, Any], reason: Reason) -> None:
    old, new = arguments["modifier"], arguments["replacement"]
    for line in lines_of(ctx, service):
        if line.code in arguments["codes"] and old in line.modifiers:
            if new in line.modifiers:
                line.modifiers.remove(old)
            else:
                line.modifiers[line.modifiers.index(old)] = new
            line.reasons.append(reason)


def _add_modifier_carried(ctx: CodingContext, service: Service, arguments: dict[str, Any], reason: Reason) -> None:
    for line in lines_of(ctx, service):
        if arguments["carried"] in line.modifiers:
            line.add_modifier(arguments["modifier"], reason)


def _remove_modifier_all(ctx: CodingContext, service: Service, arguments: dict[str, Any], reason: Reason) -> None:
    for line in lines_of(ctx, service):
        if arguments["modifier"] in line.modifiers:
            line.modifiers.remove(arguments["modifier"])
            line.reasons.append(reason)


def _self_pay_lines(ctx: CodingContext, service: Service, arguments: dict[str, Any], reason: Reason) -> None:
    for line in lines_of(ctx, service):
        if line.code in arguments["codes"]:
            line.route = "self_pay"
            line.reasons.append(reason)


def _distinct_modifier(ctx: CodingContext, service: Service, arguments: dict[str, Any], reason: Reason) -> None:
    ctx.policy.distinct = Decided(arguments["modifier"], reason)


def _repeat_mohs_modifier(ctx: CodingContext, service: Service, arguments: dict[str, Any], reason: Reason) -> None:
    ctx.policy.repeat_mohs = Decided(arguments["modifier"], reason)


def _visit_complexity_addon(ctx: CodingContext, service: Service, arguments: dict[str, Any], reason: Reason) -> None:
    ctx.policy.visit_complexity = Decided(arguments["code"], reason)


def _separate_visit_modifier(ctx: CodingContext, service: Service, arguments: dict[str, Any], reason: Reason) -> None:
    ctx.policy.separate_visit = Decided(arguments["modifier"], reason)


def _cosmetic_requests(ctx: CodingContext, service: Service, arguments: dict[str, Any], reason: Reason) -> None:
    ctx.policy.cosmetic_requests = CosmeticCriteria(arguments["diagnoses"], reason)


def _liability_modifiers(ctx: CodingContext, service: Service, arguments: dict[str, Any], reason: Reason) -> None:
    ctx.policy.liability = reason


ActionHandler = Callable[[CodingContext, Service, dict[str, Any], Reason], None]
ACTION_HANDLERS: dict[str, ActionHandler] = {
    "classify": _classify,
    "query_provider": _query,
    "cap_lesions": _cap_lesions,
    "require_prior_auth": _require_prior_auth,
    "flag": _flag,
    "add_modifier": _add_modifier,
    "remove_modifier": _remove_modifier,
    "bundle": _bundle,
    "route": _route,
    "drop_lines": _drop_lines,
    "limit_units_hold": _LIMIT_HOLD,
    "limit_units_flag": _LIMIT_FLAG,
    "replace_modifier": _replace_modifier,
    "add_modifier_carried": _add_modifier_carried,
    "remove_modifier_all": _remove_modifier_all,
    "self_pay_lines": _self_pay_lines,
    "distinct_modifier": _distinct_modifier,
    "repeat_mohs_modifier": _repeat_mohs_modifier,
    "visit_complexity_addon": _visit_complexity_addon,
    "separate_visit_modifier": _separate_visit_modifier,
    "liability_modifiers": _liability_modifiers,
    "cosmetic_requests": _cosmetic_requests,
}
#: The handlers that act on the whole encounter whichever service they are given.
_ON_THE_ENCOUNTER = frozenset({_LIMIT_HOLD, _LIMIT_FLAG})
