"""Services no family codes (kind `other`, and `cosmetic` services): the documented code as given.

Why pass them through: a chemical peel, a cosmetic toxin or a pathology code is real work with
a code the clinic documents; the engine routes, prices and edits it like any other line, and
asks when no code was documented rather than inventing one. A cosmetic service is never a reason
to hold the visit: one without a CPT/HCPCS code is a menu item, charged from the clinic's cosmetic
fee schedule under the clinic's own item code (2-8 capitals or digits); one with no code at all
is self-pay under COSMETIC and flagged for the front desk to price.
"""

from __future__ import annotations

from rulebooks.engine.context import CodingContext, WorkLine, for_kinds, step_reason
from rulebooks.models import Service
from rulebooks.models.encounter import COSMETIC_ITEM_CODE_FORMAT, PROCEDURE_CODE_FORMAT

STEP = "select_documented_codes"
UNCODED_COSMETIC = "COSMETIC"


@for_kinds("other", "cosmetic")
def select_documented_codes(ctx: CodingContext) -> None:
    for service in ctx.services_of_kind("other", "cosmetic"):
        code = (service.staff_code or "").strip().upper()
        if service.kind == "cosmetic" and not PROCEDURE_CODE_FORMAT.match(code):
            _select_menu_item(ctx, service, code)
            continue
        if not PROCEDURE_CODE_FORMAT.match(code):
            ctx.hold(
                "99499" if service.kind == "other" else "COSMETIC",
                service,
                f"Document the CPT/HCPCS code of the {service.kind} service"
                f"{' on ' + service.site if service.site else ''}.",
                step_reason(STEP, "no valid procedure code documented", staff_code=service.staff_code),
            )
            continue
        ctx.lines.append(
            WorkLine(
                code=code,
                units=service.count or 1,
                service_ids=[service.id],
                reasons=[step_reason(STEP, f"{service.kind} service coded as documented", staff_code=code)],
            )
        )


def _select_menu_item(ctx: CodingContext, service: Service, code: str) -> None:
    """A cosmetic service under the clinic's item code, or under COSMETIC (flagged) without one."""
    if COSMETIC_ITEM_CODE_FORMAT.match(code):
        reason = step_reason(STEP, "cosmetic menu item under the clinic's own item code", item_code=code)
    else:
        code = UNCODED_COSMETIC
        reason = step_reason(
            STEP,
            "cosmetic service without a CPT/HCPCS or item code: self-pay, priced by hand",
            staff_code=service.staff_code,
        )
        ctx.flag(
            "cosmetic_item_code_missing",
            reason,
            detail="Give the clinic's item code of the cosmetic service so that it is charged from the cosmetic "
            "fee schedule.",
            service_ids=[service.id],
        )
    ctx.lines.append(WorkLine(code=code, units=service.count or 1, service_ids=[service.id], reasons=[reason]))
