"""Same-lesion bundling decided before selection: what one procedure on a lesion includes.

Why before selection: a bundled service must not be counted at all (a biopsy dropped from a
set of three changes the primary and the add-on units), so these passes take services out of
selection with a reason instead of deleting lines afterwards. Services on different lesions are
left alone; the NCCI pass gives them their distinct-procedure modifier.
"""

from __future__ import annotations

from rulebooks.engine.context import CodingContext, for_kinds, step_reason
from rulebooks.models import Service

STEP_BIOPSY = "bundle_same_lesion_biopsies"
STEP_ATT = "bundle_into_adjacent_tissue_transfer"
STEP_SIMPLE_REPAIR = "bundle_simple_repair_into_excision"
STEP_MOHS = "bundle_into_mohs"

DEFINITIVE_KINDS = ("excision", "shave", "destruction", "mohs", "adjacent_tissue_transfer")
CLOSURE_INCLUDED_BIOPSY_TECHNIQUES = ("punch", "incisional", "wedge")
MOHS_LAYER_PATHOLOGY_CODES = ("88302", "88304", "88305", "88307", "88309", "88331", "88332")


def _same_lesion(ctx: CodingContext, service: Service, kinds: tuple[str, ...]) -> list[Service]:
    """The other coded services of `kinds` on the service's lesion, in encounter order."""
    if service.lesion_id is None:
        return []
    return [
        other for other in ctx.services_on_lesion(service.lesion_id) if other.kind in kinds and other.id != service.id
    ]


@for_kinds("biopsy")
def bundle_same_lesion_biopsies(ctx: CodingContext) -> None:
    """A biopsy of the lesion then removed at the same session is included in the definitive
    procedure, unless its immediate (frozen) pathology drove the decision (1.3) or it is the
    diagnostic biopsy of a tumor without prior pathologic confirmation before Mohs (7.3)."""
    for biopsy in ctx.services_of_kind("biopsy"):
        definitive = _same_lesion(ctx, biopsy, DEFINITIVE_KINDS)
        if not definitive:
            continue
        target = definitive[0]
        pathology = biopsy.pathology
        frozen = pathology is not None and pathology.processing == "frozen"
        if target.kind == "mohs":
            prior = _prior_confirmation(biopsy, target)
            if prior is None:
                ctx.exclude(
                    biopsy,
                    step_reason(
                        STEP_BIOPSY, "same-day biopsy before Mohs: prior pathologic confirmation not documented"
                    ),
                    detail="biopsy awaiting documentation",
                    flag=False,
                )
                ctx.hold(
                    "11102",
                    biopsy,
                    "Document whether the tumor had prior pathologic confirmation (or "
                    "prior results were unobtainable) before the same-day biopsy and Mohs.",
                    step_reason(STEP_BIOPSY, "prior pathologic confirmation unknown", prior_confirmed=None),
                )
                continue
            if not prior:
                ctx.diagnostic_biopsies[biopsy.id] = target.id
                continue
            ctx.exclude(
                biopsy,
                step_reason(
                    STEP_BIOPSY,
                    "the tumor was confirmed by prior pathology: no biopsy or pathology is billed with the Mohs",
                    mohs_service=target.id,
                    prior_confirmed=True,
                ),
                detail=f"biopsy {biopsy.id} not billed with Mohs of the same tumor",
            )
            continue
        if frozen:
            ctx.diagnostic_biopsies[biopsy.id] = target.id
            continue
        ctx.exclude(
            biopsy,
            step_reason(
                STEP_BIOPSY,
                f"biopsy of the same lesion then treated by {target.kind}: "
                "only the definitive procedure is billed (no immediate pathology drove the decision)",
                lesion_id=biopsy.lesion_id,
                definitive_service=target.id,
                processing=pathology.processing if pathology else None,
            ),
            detail=f"biopsy {biopsy.id} bundled into {target.kind} {target.id}",
        )


def _prior_confirmation(biopsy: Service, mohs: Service) -> bool | None:
    for service in (biopsy, mohs):
        if service.pathology is not None and service.pathology.prior_confirmed is not None:
            return service.pathology.prior_confirmed
    return None


@for_kinds("adjacent_tissue_transfer")
def bundle_into_adjacent_tissue_transfer(ctx: CodingContext) -> None:
    """An adjacent tissue transfer includes the excision and the repair of its defect (6.1)."""
    for flap in ctx.services_of_kind("adjacent_tissue_transfer"):
        for included in _same_lesion(ctx, flap, ("excision", "repair")):
            ctx.exclude(
                included,
                step_reason(
                    STEP_ATT,
                    f"adjacent tissue transfer includes the {included.kind} of the same lesion",
                    lesion_id=flap.lesion_id,
                    flap_service=flap.id,
                ),
                detail=f"{included.kind} {included.id} included in adjacent tissue transfer {flap.id}",
            )


@for_kinds("repair")
def bundle_simple_repair_into_excision(ctx: CodingContext) -> None:
    """Excisions and punch/incisional biopsies include simple closure of their own wound (4.3, 1.1)."""
    for repair in ctx.services_of_kind("repair"):
        if repair.repair is None or repair.repair.complexity != "simple":
            continue
        for owner in _same_lesion(ctx, repair, ("excision", "biopsy", "shave")):
            if owner.kind == "biopsy" and (owner.technique or "").lower() not in CLOSURE_INCLUDED_BIOPSY_TECHNIQUES:
                continue
            ctx.exclude(
                repair,
                step_reason(
                    STEP_SIMPLE_REPAIR,
                    f"simple closure is included in the {owner.kind}",
                    lesion_id=repair.lesion_id,
                    owner_service=owner.id,
                    length_cm=repair.repair.length_cm,
                ),
                detail=f"simple repair {repair.id} included in {owner.kind} {owner.id}",
            )
            break


@for_kinds("mohs")
def bundle_into_mohs(ctx: CodingContext) -> None:
    """Mohs is the excision and includes the pathology of its layers: no excision code and no
    88305/88331 for the Mohs'd tumor, except the diagnostic biopsy frozen section (7.3)."""
    for mohs in ctx.services_of_kind("mohs"):
        for included in _same_lesion(ctx, mohs, ("excision",)):
            ctx.exclude(
                included,
                step_reason(
                    STEP_MOHS,
                    "the Mohs surgery is the excision of the tumor",
                    lesion_id=mohs.lesion_id,
                    mohs_service=mohs.id,
                ),
                detail=f"excision {included.id} of the Mohs'd tumor not billed",
            )
        for other in _same_lesion(ctx, mohs, ("other",)):
            if other.staff_code in MOHS_LAYER_PATHOLOGY_CODES:
                ctx.exclude(
                    other,
                    step_reason(
                        STEP_MOHS,
                        "pathology of Mohs layers is included in 17311-17315",
                        staff_code=other.staff_code,
                        mohs_service=mohs.id,
                    ),
                    detail=f"{other.staff_code} for Mohs layers not billed",
                )
