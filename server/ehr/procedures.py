"""A service from a procedure code an EHR sent: the kind of service, and the facts the code itself
states (an E/M's patient status, a biopsy's technique). The code is kept as the staff's code.

What the code states only by the staff's choice (an E/M level, a lesion's size, a repair's length)
stays absent: cutis codes from the documentation, and the staff's code is what shadow mode
compares cutis's coding with. A Mohs or repair charge without its facts (stages, length) is an
`other` service carrying the staff's code: the EHR's procedure form or the note has to say more.
"""

from __future__ import annotations

from typing import Any

# (first code, last code, kind): CPT ranges of the dermatology families (derm-coding.md)
KIND_RANGES: tuple[tuple[str, str, str], ...] = (
    ("10040", "10180", "other"),
    ("11000", "11047", "other"),
    ("11102", "11107", "biopsy"),
    ("11200", "11201", "skin_tag_removal"),
    ("11300", "11313", "shave"),
    ("11400", "11646", "excision"),
    ("11900", "11901", "injection"),
    ("11450", "11471", "hidradenitis_excision"),
    ("12001", "13160", "repair"),
    ("14000", "14350", "adjacent_tissue_transfer"),
    ("15040", "15770", "graft"),
    ("17000", "17286", "destruction"),
    ("17311", "17315", "mohs"),
    ("96372", "96372", "injection"),
    ("99202", "99215", "em"),
)
BIOPSY_TECHNIQUES = {"11102": "tangential", "11103": "tangential", "11104": "punch", "11105": "punch"}
BIOPSY_TECHNIQUES |= {"11106": "incisional", "11107": "incisional"}


def kind_of(code: str) -> str:
    """The service kind a CPT/HCPCS code belongs to (`other` when no dermatology family has it).

    >>> kind_of("11102"), kind_of("99213"), kind_of("11451"), kind_of("J0135")
    ('biopsy', 'em', 'hidradenitis_excision', 'other')
    """
    found = "other"
    for first, last, kind in KIND_RANGES:
        if first <= code <= last and len(code) == len(first) and code[:1].isdigit():
            found = kind  # later (narrower) ranges win: hidradenitis sits inside the excision range
    return found


def service_from_code(service_id: str, code: str) -> dict[str, Any]:
    """The canonical service for one charged or documented procedure."""
    kind = kind_of(code)
    service: dict[str, Any] = {"id": service_id, "kind": kind}
    if kind == "em":
        service["em"] = {"patient_status": "new" if code < "99211" else "established"}
    elif kind == "biopsy":
        service["technique"] = BIOPSY_TECHNIQUES[code]
    elif kind in ("mohs", "repair"):
        service["kind"] = "other"
    service["staff_code"] = code
    return service


def staff_code(code: str, modifiers: list[str]) -> str:
    """What the staff charged, with its modifiers, as shadow mode compares it.

    >>> staff_code("99213", ["25"])
    '99213-25'
    """
    return "-".join([code, *modifiers])
