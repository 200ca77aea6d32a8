"""The coding pipeline: classify, select, policy, route, in an order that reads like the guideline.

`code()` touches no database, network or clock: the caller passes the time of coding.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from rulebooks.engine.classify import classify_services, code_set_aside_services, explain_medical_classifications
from rulebooks.engine.context import (
    Classification,
    ClassificationNote,
    CodingContext,
    FeeSchedules,
    ModifierPreferences,
    WorkLine,
)
from rulebooks.engine.diagnoses import check_diagnosis_codes
from rulebooks.engine.edits import apply_mue_limits, apply_ncci_ptp_edits
from rulebooks.engine.families.biopsy import select_biopsies
from rulebooks.engine.families.bundling import (
    bundle_into_adjacent_tissue_transfer,
    bundle_into_mohs,
    bundle_same_lesion_biopsies,
    bundle_simple_repair_into_excision,
)
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
from rulebooks.engine.families.injection import select_injections
from rulebooks.engine.families.mohs import mark_same_day_diagnostic_biopsies, select_mohs
from rulebooks.engine.families.other import select_documented_codes
from rulebooks.engine.families.removal import select_shave_removals, select_skin_tags
from rulebooks.engine.families.repair import select_repairs
from rulebooks.engine.liability import apply_medicare_liability_modifiers
from rulebooks.engine.route import link_diagnoses, price_line
from rulebooks.models import ClaimLine, Coding, Encounter, HeldLine, RulebookRef

if TYPE_CHECKING:
    from rulebooks.stack import Stack

Pass = Callable[[CodingContext], None]

# What one procedure on a lesion includes, decided before anything is counted.
BUNDLING_PASSES: tuple[Pass, ...] = (
    bundle_into_adjacent_tissue_transfer,
    bundle_into_mohs,
    bundle_same_lesion_biopsies,
    bundle_simple_repair_into_excision,
)
# The procedure families, in the order of the guideline (derm-coding.md 1-8).
FAMILY_PASSES: tuple[Pass, ...] = (
    select_biopsies,
    select_skin_tags,
    select_shave_removals,
    select_excisions,
    hold_unclassified_destructions,
    select_premalignant_destruction,
    select_benign_destruction,
    select_vascular_destruction,
    select_malignant_destruction,
    select_mohs,
    select_repairs,
    select_adjacent_tissue_transfers,
    select_grafts,
    select_injections,
    select_documented_codes,
)


def code_cosmetic_and_borderline_services(ctx: CodingContext) -> None:
    """Cosmetic services to self-pay, borderline ones held: each set coded on its own."""
    code_set_aside_services(ctx, BUNDLING_PASSES + FAMILY_PASSES)


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
    apply_ncci_ptp_edits,
    apply_mue_limits,
    apply_medicare_liability_modifiers,
    check_diagnosis_codes,
)
ROUTE_PASSES: tuple[Pass, ...] = (explain_medical_classifications, link_diagnoses)


def code(
    encounter: Encounter,
    *,
    encounter_id: str,
    coded_at: dt.datetime,
    fees: FeeSchedules | None = None,
    rulebooks: Sequence[RulebookRef] = (),
    classifications: Mapping[str, Classification] | None = None,
    classification_notes: Mapping[str, ClassificationNote] | None = None,
    preferences: ModifierPreferences | None = None,
    stack: Stack | None = None,
) -> Coding:
    """Code one encounter: the proposed lines, their modifiers and pointers, and every reason.

    `classifications` (service id -> medical | cosmetic | borderline | expected_denial) come from
    the note classifier; `preferences` are the payer's modifier habits (default by plan type).
    """
    ctx = CodingContext(
        encounter=encounter,
        fees=fees or FeeSchedules(),
        classifications=dict(classifications or {}),
        classification_notes=dict(classification_notes or {}),
        preferences=preferences,
    )
    # A rule stack (rulebooks.stack) runs its classify rules first, its select and policy rules
    # after the built-in passes of that phase (policy rules see the proposed lines), and its
    # route rules before pointers and fees.
    if stack is not None:
        stack.run_phase("classify", ctx)
        rulebooks = rulebooks or stack.refs
    for name, phase in (("select", SELECT_PASSES), ("policy", POLICY_PASSES), ("route", ROUTE_PASSES)):
        if stack is not None and name == "route":
            stack.run_phase(name, ctx)
        for run_pass in phase:
            run_pass(ctx)
        if stack is not None and name != "route":
            stack.run_phase(name, ctx)
    return freeze(ctx, encounter_id=encounter_id, coded_at=coded_at, rulebooks=rulebooks)


def freeze(ctx: CodingContext, *, encounter_id: str, coded_at: dt.datetime, rulebooks: Sequence[RulebookRef]) -> Coding:
    claim = [_claim_line(ctx, line) for line in ctx.lines if line.route == "claim"]
    self_pay = [_claim_line(ctx, line) for line in ctx.lines if line.route == "self_pay"]
    held = [
        HeldLine(
            code=line.code, units=line.units, service_ids=line.service_ids, query=line.query or "", reasons=line.reasons
        )
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
