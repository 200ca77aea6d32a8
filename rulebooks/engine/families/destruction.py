"""Destruction: premalignant 17000/+17003/17004, benign 17110/17111, vascular 17106-17108, malignant 17260-17286.

Why the class comes from the diagnosis: the four destruction families differ by what was
destroyed, not by the method (cryo, laser, curettage are all "destruction"), and the linked
ICD-10-CM code is the documented statement of what it was (derm-coding.md 3, 14).
"""

from __future__ import annotations

import functools

from rulebooks.dated_codesets import banded_code
from rulebooks.engine.context import CodingContext, WorkLine, for_kinds, shared_step_reason, step_reason
from rulebooks.engine.families.banded import code_by_site_and_diameter
from rulebooks.models import Service

STEP_PREMALIGNANT = "select_premalignant_destruction"
STEP_BENIGN = "select_benign_destruction"
STEP_VASCULAR = "select_vascular_destruction"
STEP_MALIGNANT = "select_malignant_destruction"

PREMALIGNANT_PREFIXES = ("L57.0",)
MALIGNANT_PREFIXES = ("C43", "C44", "D03", "D04")
VASCULAR_PREFIXES = ("Q82.5", "D18.0", "I78.0", "I78.1")
SKIN_TAG_PREFIXES = ("L91.8",)
AK_ALL_AT_ONCE_COUNT = 15
# A service linking diagnoses of two classes takes the first of them in this order.
DESTRUCTION_CLASS_PRECEDENCE = ("malignant", "premalignant", "vascular")


def destruction_class(service: Service) -> str | None:
    """premalignant | malignant | vascular | benign from pathology and linked diagnoses; None if none linked."""
    if service.pathology is not None and service.pathology.malignant:
        return "malignant"
    codes = service.diagnoses
    if not codes:
        return None
    if len(codes) == 1:  # most destructions link one diagnosis
        return _diagnosis_class(codes[0])
    classes = {_diagnosis_class(code) for code in codes}
    return next((cls for cls in DESTRUCTION_CLASS_PRECEDENCE if cls in classes), "benign")


@functools.lru_cache(maxsize=4096)
def _diagnosis_class(code: str) -> str:
    """The destruction class one linked diagnosis indicates (read once per code, not per service)."""
    if code.startswith(MALIGNANT_PREFIXES):
        return "malignant"
    if code.startswith(PREMALIGNANT_PREFIXES):
        return "premalignant"
    if code.startswith(VASCULAR_PREFIXES):
        return "vascular"
    return "benign"


def premalignant_destruction_lines(count: int) -> list[tuple[str, int]]:
    """Codes and units for `count` premalignant lesions destroyed in one session.

    The rule language's "cap lesions of service at N" action calls this with the capped count.
    17004 replaces the 17000 + 17003 construct at 15 lesions; they are never combined (3.1).

    >>> premalignant_destruction_lines(1), premalignant_destruction_lines(14), premalignant_destruction_lines(15)
    ([('17000', 1)], [('17000', 1), ('17003', 13)], [('17004', 1)])
    """
    if count < 1:
        return []
    if count >= AK_ALL_AT_ONCE_COUNT:
        return [("17004", 1)]
    lines = [("17000", 1)]
    if count > 1:
        lines.append(("17003", count - 1))
    return lines


def _of_class(ctx: CodingContext, wanted: str | None) -> list[Service]:
    """The destructions of one class; classified once per coding run."""
    key = ("destruction_classes", "")
    partition = ctx.memo.get(key)
    if partition is None:
        partition = {}
        for service in ctx.services_of_kind("destruction"):
            partition.setdefault(destruction_class(service), []).append(service)
        ctx.memo[key] = partition
    return partition.get(wanted, [])


@for_kinds("destruction")
def hold_unclassified_destructions(ctx: CodingContext) -> None:
    """A destruction with no linked diagnosis cannot be put in a family: ask, do not guess."""
    for service in _of_class(ctx, None):
        ctx.hold(
            "17110",
            service,
            "Link the diagnosis of the destroyed lesion(s) (e.g. L57.0 actinic "
            "keratosis, B07.8 wart, C44.x carcinoma) so the destruction family can be chosen.",
            shared_step_reason("classify_destruction", "destruction without a linked diagnosis"),
        )
    for service in _of_class(ctx, "benign"):
        if any(code.startswith(SKIN_TAG_PREFIXES) for code in service.diagnoses):
            ctx.flag(
                "provider_query",
                step_reason(
                    "classify_destruction",
                    "skin tags are removed with 11200/11201, not 17110",
                    diagnoses=service.diagnoses,
                ),
                detail="Skin tags destroyed: document them as skin tag removal (11200/11201).",
                service_ids=[service.id],
            )


@for_kinds("destruction")
def select_premalignant_destruction(ctx: CodingContext) -> None:
    services = _of_class(ctx, "premalignant")
    if not services:
        return
    lesion_count = sum(service.count or 1 for service in services)
    service_ids = [service.id for service in services]
    for code, units in premalignant_destruction_lines(lesion_count):
        why = (
            "15 or more premalignant lesions: 17004 alone, never with 17000/17003"
            if code == "17004"
            else "first premalignant lesion"
            if code == "17000"
            else "each premalignant lesion 2 to 14"
        )
        ctx.lines.append(
            WorkLine(
                code=code,
                units=units,
                service_ids=list(service_ids),
                reasons=[shared_step_reason(STEP_PREMALIGNANT, why, lesion_count=lesion_count)],
            )
        )


@for_kinds("destruction")
def select_benign_destruction(ctx: CodingContext) -> None:
    """17110 covers up to 14 lesions in one unit, 17111 15 or more; never per lesion, never both."""
    services = _of_class(ctx, "benign")
    if not services:
        return
    lesion_count = sum(service.count or 1 for service in services)
    code = "17111" if lesion_count >= 15 else "17110"
    ctx.lines.append(
        WorkLine(
            code=code,
            units=1,
            service_ids=[s.id for s in services],
            reasons=[
                shared_step_reason(
                    STEP_BENIGN,
                    f"benign lesions destroyed: {'15 or more' if code == '17111' else 'up to 14'}, "
                    "one unit for the session",
                    lesion_count=lesion_count,
                )
            ],
        )
    )


@for_kinds("destruction")
def select_vascular_destruction(ctx: CodingContext) -> None:
    """One code for the total area treated in the session, not one per body area (3.3)."""
    services = _of_class(ctx, "vascular")
    if not services:
        return
    missing = [s for s in services if s.area_sq_cm is None]
    for service in missing:
        ctx.hold(
            "17106",
            service,
            "Document the area treated (sq cm) for the vascular lesion destruction.",
            step_reason(STEP_VASCULAR, "treated area not documented", area_sq_cm=None),
        )
    measured = [s for s in services if s.area_sq_cm is not None]
    if not measured:
        return
    total_area_sq_cm = round(sum(s.area_sq_cm or 0.0 for s in measured), 1)
    band = banded_code("destruction_vascular", "any", total_area_sq_cm)
    assert band is not None
    ctx.lines.append(
        WorkLine(
            code=band.code,
            units=1,
            service_ids=[s.id for s in measured],
            reasons=[
                step_reason(
                    STEP_VASCULAR,
                    "one vascular destruction code for the total area treated",
                    total_area_sq_cm=total_area_sq_cm,
                    areas_sq_cm=[s.area_sq_cm for s in measured],
                )
            ],
        )
    )


@for_kinds("destruction")
def select_malignant_destruction(ctx: CodingContext) -> None:
    """One code per lesion by site group and lesion diameter (not lesion + margins) (3.4)."""
    for service in _of_class(ctx, "malignant"):
        code_by_site_and_diameter(
            ctx,
            service,
            family="destruction_malignant",
            step=STEP_MALIGNANT,
            procedure="malignant destruction",
            hold_code="17260",
        )
