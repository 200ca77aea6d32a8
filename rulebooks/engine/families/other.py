"""Services no family codes (kind `other`, and `cosmetic` services): the documented code as given.

Why pass them through: a chemical peel, a cosmetic toxin or a pathology code is real work with
a code the clinic documents; the engine routes, prices and edits it like any other line, and
asks when no code was documented rather than inventing one.
"""

from __future__ import annotations

from rulebooks.engine.context import CodingContext, WorkLine, for_kinds, step_reason
from rulebooks.models.encounter import PROCEDURE_CODE_FORMAT

STEP = "select_documented_codes"


@for_kinds("other", "cosmetic")
def select_documented_codes(ctx: CodingContext) -> None:
    for service in ctx.services_of_kind("other", "cosmetic"):
        code = (service.staff_code or "").strip().upper()
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
