"""Adjacent tissue transfer 14000-14302 and skin grafts 15100-15261 (derm-coding.md 6).

Why a flap is sized by the whole defect: the code counts the primary defect plus the secondary
defect the flap creates (sq cm), and the flap includes the excision and repair of its lesion
(bundled before selection). Grafts are sized by the recipient area and do not include the
excision at the recipient site.
"""

from __future__ import annotations

import math

from rulebooks.dated_codesets import banded_code
from rulebooks.engine.context import CodingContext, WorkLine, for_kinds, step_reason
from rulebooks.engine.sites import ATT_GROUPS, FTSG_GROUPS, STSG_GROUPS, family_group, unknown_site_query
from rulebooks.engine.sizes import size_cm

STEP_ATT = "select_adjacent_tissue_transfers"
STEP_GRAFT = "select_grafts"
ATT_SMALL_MAX_SQ_CM = 30.0
ATT_LARGE_FIRST_SQ_CM = 60.0
ATT_LARGE_ADD_ON_SQ_CM = 30.0

# graft type -> (group -> (primary, add-on)), first-unit size and add-on size in sq cm
GRAFT_CODES: dict[str, tuple[dict[str, tuple[str, str]], float]] = {
    "full_thickness": (
        {
            "trunk": ("15200", "15201"),
            "scalp_arms_legs": ("15220", "15221"),
            "forehead_cheeks_chin_mouth_neck_axillae_genitalia_hands_feet": ("15240", "15241"),
            "eyelids_nose_ears_lips": ("15260", "15261"),
        },
        20.0,
    ),
    "split_thickness": (
        {
            "trunk_arms_legs": ("15100", "15101"),
            "face_scalp_eyelids_mouth_neck_ears_genitalia_hands_feet": ("15120", "15121"),
        },
        100.0,
    ),
}
GRAFT_TECHNIQUES = {
    "full_thickness": "full_thickness",
    "full thickness": "full_thickness",
    "ftsg": "full_thickness",
    "split_thickness": "split_thickness",
    "split thickness": "split_thickness",
    "stsg": "split_thickness",
}


def adjacent_tissue_transfer_lines(group: str, defect_sq_cm: float) -> list[tuple[str, int]]:
    """Site code up to 30 sq cm; any site 14301 for 30.1-60, +14302 per further 30 sq cm.

    >>> adjacent_tissue_transfer_lines("trunk", 8.0), adjacent_tissue_transfer_lines("trunk", 95.0)
    ([('14000', 1)], [('14301', 1), ('14302', 2)])
    """
    if defect_sq_cm <= ATT_SMALL_MAX_SQ_CM:
        band = banded_code("adjacent_tissue_transfer", group, defect_sq_cm)
        assert band is not None
        return [(band.code, 1)]
    lines = [("14301", 1)]
    if defect_sq_cm > ATT_LARGE_FIRST_SQ_CM:
        lines.append(("14302", math.ceil(round(defect_sq_cm - ATT_LARGE_FIRST_SQ_CM, 1) / ATT_LARGE_ADD_ON_SQ_CM)))
    return lines


@for_kinds("adjacent_tissue_transfer")
def select_adjacent_tissue_transfers(ctx: CodingContext) -> None:
    for service in ctx.services_of_kind("adjacent_tissue_transfer"):
        group = family_group(service, ATT_GROUPS)
        if group is None:
            ctx.hold(
                "14000",
                service,
                unknown_site_query(service, "adjacent tissue transfer"),
                step_reason(STEP_ATT, "site group unknown", site=service.site),
            )
            continue
        if service.area_sq_cm is None:
            ctx.hold(
                "14000",
                service,
                "Document the flap defect size in sq cm (primary defect plus the "
                "secondary defect created by the flap).",
                step_reason(STEP_ATT, "defect area not documented", area_sq_cm=None),
            )
            continue
        defect_sq_cm = size_cm(service.area_sq_cm)
        for code, units in adjacent_tissue_transfer_lines(group, defect_sq_cm):
            ctx.lines.append(
                WorkLine(
                    code=code,
                    units=units,
                    service_ids=[service.id],
                    reasons=[
                        step_reason(
                            STEP_ATT,
                            "adjacent tissue transfer by site and total defect (primary + secondary)",
                            site_group=group,
                            defect_sq_cm=defect_sq_cm,
                        )
                    ],
                )
            )


@for_kinds("graft")
def select_grafts(ctx: CodingContext) -> None:
    for service in ctx.services_of_kind("graft"):
        graft_type = GRAFT_TECHNIQUES.get((service.technique or "").strip().lower())
        if graft_type is None:
            ctx.hold(
                "15200",
                service,
                "Document the graft type (full-thickness or split-thickness autograft).",
                step_reason(STEP_GRAFT, "graft type not documented", technique=service.technique),
            )
            continue
        codes_by_group, unit_sq_cm = GRAFT_CODES[graft_type]
        group = family_group(service, FTSG_GROUPS if graft_type == "full_thickness" else STSG_GROUPS)
        if group is None or group not in codes_by_group:
            ctx.hold(
                "15200",
                service,
                unknown_site_query(service, "skin graft"),
                step_reason(STEP_GRAFT, "recipient site group unknown", site=service.site),
            )
            continue
        if service.area_sq_cm is None:
            ctx.hold(
                codes_by_group[group][0],
                service,
                "Document the recipient area of the graft in sq cm.",
                step_reason(STEP_GRAFT, "recipient area not documented", area_sq_cm=None),
            )
            continue
        recipient_sq_cm = size_cm(service.area_sq_cm)
        primary, add_on = codes_by_group[group]
        reason = step_reason(
            STEP_GRAFT,
            f"{graft_type.replace('_', '-')} graft by recipient site and area",
            site_group=group,
            recipient_sq_cm=recipient_sq_cm,
            unit_sq_cm=unit_sq_cm,
        )
        ctx.lines.append(WorkLine(code=primary, units=1, service_ids=[service.id], reasons=[reason]))
        if recipient_sq_cm > unit_sq_cm:
            units = math.ceil(round(recipient_sq_cm - unit_sq_cm, 1) / unit_sq_cm)
            ctx.lines.append(WorkLine(code=add_on, units=units, service_ids=[service.id], reasons=[reason]))
