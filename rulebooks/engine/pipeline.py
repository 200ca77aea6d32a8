"""The coding pipeline: classify, select, policy, route, in an order that reads like the guideline.

`code()` touches no database, network or clock: the caller passes the time of coding.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from rulebooks.engine.classify import (
    SET_ASIDE,
    classify_services,
    code_set_aside_services,
    explain_medical_classifications,
)
from rulebooks.engine.context import (
    Classification,
    ClassificationNote,
    CodingContext,
    FeeSchedules,
    shared_step_reason,
)
from rulebooks.engine.diagnoses import check_diagnosis_codes
from rulebooks.engine.edits import apply_mue_limits, apply_ncci_ptp_edits
from rulebooks.engine.families.anatomic import apply_anatomic_modifiers
from rulebooks.engine.families.biopsy import select_biopsies
from rulebooks.engine.families.bundling import (
    bundle_into_adjacent_tissue_transfer,
    bundle_into_mohs,
    bundle_same_lesion_biopsies,
    bundle_simple_repair_into_excision,
)
from rulebooks.engine.families.dehiscence import select_dehiscence_repairs
from rulebooks.engine.families.destruction import (
    hold_unclassified_destructions,
    select_benign_destruction,
    select_malignant_destruction,
    select_premalignant_destruction,
    select_vascular_destruction,
)
from rulebooks.engine.families.em import apply_modifier_25, select_em
from rulebooks.engine.families.excision import select_excisions
from rulebooks.engine.families.flaps import select_adjacent_tissue_transfers, select_grafts
from rulebooks.engine.families.global_period import apply_global_period_modifiers
from rulebooks.engine.families.hidradenitis import (
    bundle_repair_into_hidradenitis_excision,
    select_hidradenitis_excisions,
)
from rulebooks.engine.families.injection import select_injections
from rulebooks.engine.families.mohs import mark_same_day_diagnostic_biopsies, select_mohs
from rulebooks.engine.families.other import select_documented_codes
from rulebooks.engine.families.removal import select_shave_removals, select_skin_tags
from rulebooks.engine.families.repair import select_repairs
from rulebooks.engine.families.visit_complexity import add_visit_complexity_addon
from rulebooks.engine.hcpcs import check_hcpcs_codes
from rulebooks.engine.holds import hold_dependents_of_held_services
from rulebooks.engine.liability import apply_medicare_liability_modifiers
from rulebooks.engine.release import releases_for
from rulebooks.engine.route import drop_claim_modifiers_from_self_pay, link_diagnoses, price_line
from rulebooks.models import Coding, Encounter, RulebookRef
from rulebooks.models.coding import CodingStatus
from rulebooks.timings import phase

if TYPE_CHECKING:
    from rulebooks.stack import Stack

Pass = Callable[[CodingContext], None]
_validate_coding = Coding.__pydantic_validator__.validate_python

# What one procedure on a lesion includes, decided before anything is counted.
BUNDLING_PASSES: tuple[Pass, ...] = (
    bundle_into_adjacent_tissue_transfer,
    bundle_into_mohs,
    bundle_same_lesion_biopsies,
    bundle_simple_repair_into_excision,
    bundle_repair_into_hidradenitis_excision,
)
# The procedure families, in the order of the guideline (derm-coding.md 1-8).
FAMILY_PASSES: tuple[Pass, ...] = (
    select_biopsies,
    select_skin_tags,
    select_shave_removals,
    select_excisions,
    select_hidradenitis_excisions,
    hold_unclassified_destructions,
    select_premalignant_destruction,
    select_benign_destruction,
    select_vascular_destruction,
    select_malignant_destruction,
    select_mohs,
    select_repairs,
    select_dehiscence_repairs,
    select_adjacent_tissue_transfers,
    select_grafts,
    select_injections,
    select_documented_codes,
)


def code_cosmetic_and_borderline_services(ctx: CodingContext) -> None:
    """Cosmetic services to self-pay, borderline ones held: each set coded on its own.

    Only the passes for the kinds of the set-aside services are handed on (each still guards
    itself): the sub-codings would otherwise call every family pass to find it has nothing to do.
    """
    if not ctx.excluded_service_ids:
        return  # nothing set aside (most encounters)
    set_aside_kinds = frozenset(
        service.kind for service in ctx.encounter.services if ctx.classifications.get(service.id) in SET_ASIDE
    )
    code_set_aside_services(ctx, set_aside_passes(set_aside_kinds))


@functools.cache  # bounded like `phase_passes`
def set_aside_passes(kinds: frozenset[str]) -> tuple[Pass, ...]:
    """The bundling and family passes that could code a service of one of `kinds`, still guarded."""
    return tuple(run_pass for run_pass in BUNDLING_PASSES + FAMILY_PASSES if _applies(run_pass, kinds))


# The order is the guideline: classify, bundle, procedures, then E/M (whose modifier 25 depends on them).
SELECT_PASSES: tuple[Pass, ...] = (
    classify_services,
    *BUNDLING_PASSES,
    *FAMILY_PASSES,
    select_em,
)
POLICY_PASSES: tuple[Pass, ...] = (
    code_cosmetic_and_borderline_services,
    mark_same_day_diagnostic_biopsies,
    apply_modifier_25,
    apply_anatomic_modifiers,
    apply_ncci_ptp_edits,
    apply_global_period_modifiers,
    add_visit_complexity_addon,
    apply_mue_limits,
    apply_medicare_liability_modifiers,
    check_diagnosis_codes,
    check_hcpcs_codes,
)
ROUTE_PASSES: tuple[Pass, ...] = (
    explain_medical_classifications,
    hold_dependents_of_held_services,
    drop_claim_modifiers_from_self_pay,
    link_diagnoses,
)
PHASES: tuple[tuple[str, tuple[Pass, ...]], ...] = (
    ("select", SELECT_PASSES),
    ("policy", POLICY_PASSES),
    ("route", ROUTE_PASSES),
)


def _applies(run_pass: Pass, kinds: frozenset[str]) -> bool:
    """Whether a pass could do anything for services of `kinds` (passes without `for_kinds` always could)."""
    wanted = getattr(run_pass, "kinds", None)
    return wanted is None or not wanted.isdisjoint(kinds)


@functools.cache  # bounded: one entry per set of service kinds the encounter model allows
def phase_passes(kinds: frozenset[str]) -> tuple[tuple[str, tuple[Pass, ...]], ...]:
    """Each phase's passes for an encounter whose services are of `kinds`, chosen once per set of kinds.

    Why: a `for_kinds` pass tests the encounter's kinds on every run, and most encounters have
    2 or 3 kinds out of 15; choosing here (and calling the unguarded pass, whose guard would
    pass) leaves a run only the calls that code something. The order of each phase is kept.
    Mixes of 1 to 6 kinds out of 15 are many, so a new set is chosen from `_GUARDED_PHASES`.
    """
    return tuple(
        (name, tuple(run_pass for wanted, run_pass in passes if wanted is None or not wanted.isdisjoint(kinds)))
        for name, passes in _GUARDED_PHASES
    )


def _unguarded(run_pass: Pass) -> Pass:
    """The pass inside a `for_kinds` guard (the caller has already made the guard's test)."""
    return run_pass.__wrapped__ if hasattr(run_pass, "kinds") else run_pass  # type: ignore[attr-defined]


#: Each phase's passes as (the kinds of a `for_kinds` guard or None, the pass without its guard).
_GUARDED_PHASES: tuple[tuple[str, tuple[tuple[frozenset[str] | None, Pass], ...]], ...] = tuple(
    (name, tuple((getattr(run_pass, "kinds", None), _unguarded(run_pass)) for run_pass in passes))
    for name, passes in PHASES
)


def code(
    encounter: Encounter,
    *,
    encounter_id: str,
    coded_at: dt.datetime,
    fees: FeeSchedules | None = None,
    rulebooks: Sequence[RulebookRef] = (),
    classifications: Mapping[str, Classification] | None = None,
    classification_notes: Mapping[str, ClassificationNote] | None = None,
    stack: Stack | None = None,
) -> Coding:
    """Code one encounter: the proposed lines, their modifiers and pointers, and every reason.

    `classifications` (service id -> medical | cosmetic | borderline | expected_denial) come from
    the note classifier; The payer's decisions
    (modifier preferences, add-ons, liability) come from the stack's classify rules (`PayerPolicy`).
    """
    ctx = CodingContext(
        encounter=encounter,
        fees=fees or FeeSchedules(),
        classifications=dict(classifications or {}),
        classification_notes=dict(classification_notes or {}),
    )
    # A rule stack (rulebooks.stack) runs its classify rules first, its select and policy rules
    # after the built-in passes of that phase (policy rules see the proposed lines), and its
    # route rules before pointers and fees.
    if stack is not None:
        with phase("rules.classify"):
            stack.run_phase("classify", ctx)
        rulebooks = rulebooks or stack.refs
        payer = encounter.coverage.payer
        if stack.payer_book(encounter.date_of_service, payer) is None:
            ctx.flag(
                "no_payer_rulebook",
                shared_step_reason(
                    "resolve_rulebooks",
                    "no rulebook of this payer is in effect on the date of service: coded with the "
                    "national base and the clinic-wide rules alone",
                ),
                detail=payer,
            )
    for name, passes in phase_passes(frozenset([service.kind for service in encounter.services])):
        with phase(f"rules.{name}"):
            if stack is not None and name == "route":
                stack.run_phase(name, ctx)
            for run_pass in passes:
                run_pass(ctx)
            if stack is not None and name != "route":
                stack.run_phase(name, ctx)
    return freeze(ctx, encounter_id=encounter_id, coded_at=coded_at, rulebooks=rulebooks)


def freeze(ctx: CodingContext, *, encounter_id: str, coded_at: dt.datetime, rulebooks: Sequence[RulebookRef]) -> Coding:
    """The immutable Coding, validated in one call.

    Why one call: the lines go in as plain dicts (their reasons and the flags are already
    models, taken as they are), so pydantic builds every line in its core instead of one
    Python-level `__init__` per line; the result and its checks (units >= 1) are the same.
    The lines are sorted into their routes in one walk, keeping their order within each route.
    """
    priced = bool(ctx.fees.medical or ctx.fees.cosmetic)  # without fee schedules every charge is None
    claim: list[dict[str, Any]] = []
    self_pay: list[dict[str, Any]] = []
    held: list[dict[str, Any]] = []
    for line in ctx.lines:
        if line.route == "held":
            held.append(
                {
                    "code": line.code,
                    "units": line.units,
                    "service_ids": line.service_ids,
                    "query": line.query or "",
                    "reasons": line.reasons,
                }
            )
            continue
        (claim if line.route == "claim" else self_pay).append(
            {
                "code": line.code,
                "units": line.units,
                "modifiers": line.modifiers,
                "diagnoses": line.diagnoses,
                "charge": price_line(ctx, line) if priced else None,
                "service_ids": line.service_ids,
                "reasons": line.reasons,
            }
        )
    status: CodingStatus = "ready"
    if held:
        status = "held"
    else:
        for flag in ctx.flags:
            if flag.code == "prior_auth_missing":
                status = "needs_prior_auth"
                break
    return _validate_coding(
        {
            "encounter_id": encounter_id,
            "coded_at": coded_at,
            "rulebooks": list(rulebooks),
            "status": status,
            "claim_lines": claim,
            "self_pay_lines": self_pay,
            "held_lines": held,
            "flags": ctx.flags,
            "releases": releases_for(ctx.codesets, ctx.encounter.date_of_service),
        }
    )
