"""Anatomic modifiers for eyelids (E1-E4), fingers (FA, F1-F9) and toes (TA, T1-T9) (derm-coding.md 10.1, 10.2).

Why only from unambiguous text: the modifier names one eyelid, finger or toe on one side, so the
site must say the side and exactly one of them ("left upper eyelid", "right ring finger", "left
great toe"); anything else (no side, two digits, "second finger", which some count from the thumb
and some from the index finger) gives no modifier rather than a guess. The side comes from the
site text, else from the documented laterality; the two must agree. These modifiers are
NCCI-associated: in the PTP pass, two lines they already tell apart need no 59/XS.
"""

from __future__ import annotations

import re
from functools import lru_cache

from rulebooks.engine.context import CodingContext, step_reason
from rulebooks.engine.families.global_period import is_procedure_with_global

STEP = "apply_anatomic_modifiers"

LEFT = re.compile(r"\b(left|lt|l)\b")
RIGHT = re.compile(r"\b(right|rt|r)\b")
SEVERAL = re.compile(r"\b(and|both|bilateral|fingers|toes|eyelids|lids)\b|[,&/+;]")
EYELID = re.compile(r"\b(eye ?lid|lid)\b")
UPPER = re.compile(r"\b(upper|superior)\b")
LOWER = re.compile(r"\b(lower|inferior)\b")
# digit number (1 = thumb / great toe) -> the phrases that name it and nothing else
FINGERS: dict[int, re.Pattern[str]] = {
    1: re.compile(r"\bthumb\b"),
    2: re.compile(r"\bindex finger\b"),
    3: re.compile(r"\b(middle|long) finger\b"),
    4: re.compile(r"\bring finger\b"),
    5: re.compile(r"\b((little|small|fifth|5th) finger|pinky|pinkie)\b"),
}
TOES: dict[int, re.Pattern[str]] = {
    1: re.compile(r"\b((great|big|first|1st) toe|hallux)\b"),
    2: re.compile(r"\b(second|2nd) toe\b"),
    3: re.compile(r"\b(third|3rd) toe\b"),
    4: re.compile(r"\b(fourth|4th) toe\b"),
    5: re.compile(r"\b(fifth|5th|little|small|pinky) toe\b"),
}
EYELID_MODIFIERS = {
    ("left", "upper"): "E1",
    ("left", "lower"): "E2",
    ("right", "upper"): "E3",
    ("right", "lower"): "E4",
}
FINGER_MODIFIERS = {"left": ("FA", "F1", "F2", "F3", "F4"), "right": ("F5", "F6", "F7", "F8", "F9")}
TOE_MODIFIERS = {"left": ("TA", "T1", "T2", "T3", "T4"), "right": ("T5", "T6", "T7", "T8", "T9")}
ANATOMIC_MODIFIERS = frozenset(
    {*EYELID_MODIFIERS.values(), *FINGER_MODIFIERS["left"], *FINGER_MODIFIERS["right"]}
    | {*TOE_MODIFIERS["left"], *TOE_MODIFIERS["right"]}
)


@lru_cache(maxsize=4096)
def anatomic_modifier(site: str | None, laterality: str | None = None) -> str | None:
    """The one eyelid/finger/toe modifier the site names, else None.

    >>> anatomic_modifier("left upper eyelid"), anatomic_modifier("R ring finger"), anatomic_modifier("hallux", "left")
    ('E1', 'F8', 'TA')
    >>> anatomic_modifier("left second finger"), anatomic_modifier("upper eyelid"), anatomic_modifier("left cheek")
    (None, None, None)
    >>> anatomic_modifier("left index and middle fingers"), anatomic_modifier("right upper eyelid", "left")
    (None, None)
    """
    if not site:
        return None
    text = site.lower()
    if SEVERAL.search(text):
        return None  # more than one eyelid, finger or toe (or more than one site)
    side = _side(text, laterality)
    fingers = [digit for digit, pattern in FINGERS.items() if pattern.search(text)]
    toes = [digit for digit, pattern in TOES.items() if pattern.search(text)]
    eyelid = EYELID.search(text) is not None
    if side is None or eyelid + bool(fingers) + bool(toes) != 1:
        return None
    if eyelid:
        upper, lower = UPPER.search(text) is not None, LOWER.search(text) is not None
        if upper == lower:
            return None
        return EYELID_MODIFIERS[(side, "upper" if upper else "lower")]
    digits, table = (fingers, FINGER_MODIFIERS) if fingers else (toes, TOE_MODIFIERS)
    return table[side][digits[0] - 1] if len(digits) == 1 else None


def _side(text: str, laterality: str | None) -> str | None:
    left, right = LEFT.search(text) is not None, RIGHT.search(text) is not None
    if left and right:
        return None
    written = "left" if left else "right" if right else None
    documented = laterality if laterality in ("left", "right") else None
    if written and documented and written != documented:
        return None
    return written or documented


def apply_anatomic_modifiers(ctx: CodingContext) -> None:
    """Each procedure line whose services all sit on the same one eyelid, finger or toe takes its modifier."""
    if not any(anatomic_modifier(service.site, service.laterality) for service in ctx.encounter.services):
        return  # most encounters: no site names one eyelid, finger or toe
    for line in ctx.claim_lines():
        if not is_procedure_with_global(line.code, ctx.encounter.date_of_service):
            continue  # E/M, drugs, pathology, add-on G-codes: no anatomic modifier
        found = {anatomic_modifier(ctx.service(sid).site, ctx.service(sid).laterality) for sid in line.service_ids}
        if len(found) != 1:
            continue
        modifier = found.pop()
        if modifier is None:
            continue
        line.add_modifier(
            modifier,
            step_reason(
                STEP,
                "anatomic modifier for the one eyelid, finger or toe the site names",
                modifier=modifier,
                sites=[ctx.service(sid).site for sid in line.service_ids],
            ),
        )
