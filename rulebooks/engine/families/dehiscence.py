"""Treatment of wound dehiscence 12020/12021 and secondary closure 13160 (derm-coding.md 5.2).

Why a family of its own: a dehiscence repair reopens and closes a wound that came apart, so
it is coded per wound from the kind of dehiscence, never by length and never summed with the
layered-closure repairs of its anatomic group (families/repair.py skips these services). The
codes are configuration, unverified in the reference (5.2: "12020/12021 are treatment of
superficial wound dehiscence ... 13160 is secondary closure of surgical wound/dehiscence,
extensive or complicated (unverified)"); check them against the CPT data file.
"""

from __future__ import annotations

from rulebooks.engine.context import CodingContext, WorkLine, for_kinds, step_reason

STEP = "select_dehiscence_repairs"
# RepairFacts.dehiscence -> (code, what it is). Configuration: unverified in derm-coding.md 5.2.
# Listed most complicated first: the order of the lines on the claim.
DEHISCENCE_CODES: dict[str, tuple[str, str]] = {
    "extensive": ("13160", "secondary closure of a dehiscence, extensive or complicated"),
    "superficial_packed": ("12021", "superficial dehiscence, with packing"),
    "superficial": ("12020", "superficial dehiscence, simple closure"),
}
UNVERIFIED = "derm-coding.md 5.2 (unverified: configured in families/dehiscence.py)"


@for_kinds("repair")
def select_dehiscence_repairs(ctx: CodingContext) -> None:
    """One unit per dehisced wound, one line per code, the most complicated first."""
    lines: dict[str, WorkLine] = {}
    for service in ctx.services_of_kind("repair"):
        assert service.repair is not None  # guaranteed by the Encounter model
        dehiscence = service.repair.dehiscence
        if dehiscence is None:
            continue  # a layered closure: families/repair.py
        code, meaning = DEHISCENCE_CODES[dehiscence]
        reason = step_reason(
            STEP,
            f"{meaning}: one unit per wound, not summed with other repairs",
            dehiscence=dehiscence,
            site=service.site,
            length_cm=service.repair.length_cm,
            source=UNVERIFIED,
        )
        line = lines.get(code)
        if line is None:
            lines[code] = WorkLine(code=code, units=1, service_ids=[service.id], reasons=[reason])
        else:
            line.units += 1
            line.service_ids.append(service.id)
            line.reasons.append(reason)
    order = [code for code, _ in DEHISCENCE_CODES.values()]
    ctx.lines.extend(sorted(lines.values(), key=lambda line: order.index(line.code)))
