"""Excision of skin and subcutaneous tissue for hidradenitis 11450-11471 (derm-coding.md 4.1 note).

Why a family of its own: these codes are chosen by area and by the repair that closed the
wound, not by excised diameter or pathology like 11400-11646, and the code includes its repair.
So a service of kind `hidradenitis_excision` gives its area in `site` and its closure in
`repair` (or a repair service on the same lesion, which is then included, not billed).

The reference only says "hidradenitis excisions by area (axillary / inguinal / perianal), simple
vs complex repair (unverified)"; the code per area and the split (simple or intermediate repair
-> the first code, complex -> the second) are configuration below, taken from public code
summaries in the search corpus (genhealth.ai 11450; openpayer.com 11451, 11462, 11463, 11471):
unverified, check against the CPT data file. The diagnosis must be hidradenitis (L73.2, 14).
"""

from __future__ import annotations

from rulebooks.engine.context import CodingContext, WorkLine, for_kinds, step_reason
from rulebooks.engine.sites import PhraseTable
from rulebooks.models import Service

STEP = "select_hidradenitis_excisions"
STEP_BUNDLE = "bundle_repair_into_hidradenitis_excision"
KIND = "hidradenitis_excision"
HIDRADENITIS_DX = "L73.2"
UNVERIFIED = "derm-coding.md 4.1 note (unverified: configured in families/hidradenitis.py)"
# area -> (code with simple or intermediate repair, code with complex repair). Configuration.
HIDRADENITIS_CODES: dict[str, tuple[str, str]] = {
    "axillary": ("11450", "11451"),
    "inguinal": ("11462", "11463"),
    "perianal_perineal_umbilical": ("11470", "11471"),
}
AREA_PHRASES: dict[str, str] = {
    "axilla": "axillary",
    "axillae": "axillary",
    "axillary": "axillary",
    "armpit": "axillary",
    "underarm": "axillary",
    "groin": "inguinal",
    "inguinal": "inguinal",
    "perianal": "perianal_perineal_umbilical",
    "perineal": "perianal_perineal_umbilical",
    "perineum": "perianal_perineal_umbilical",
    "umbilical": "perianal_perineal_umbilical",
    "periumbilical": "perianal_perineal_umbilical",
    "umbilicus": "perianal_perineal_umbilical",
}
RANK = {"simple": 0, "intermediate": 1, "complex": 2}
AREAS = PhraseTable(AREA_PHRASES)


def hidradenitis_area(site: str | None) -> str | None:
    """The one hidradenitis code area the site text names, else None (none, or two areas).

    >>> hidradenitis_area("left axilla"), hidradenitis_area("R groin"), hidradenitis_area("perineum")
    ('axillary', 'inguinal', 'perianal_perineal_umbilical')
    >>> hidradenitis_area("buttock"), hidradenitis_area("left axilla and groin")
    (None, None)
    """
    return AREAS.named(site)


def _included_repairs_key(service: Service) -> tuple[str, str]:
    return (STEP_BUNDLE, service.id)


@for_kinds(KIND)
def bundle_repair_into_hidradenitis_excision(ctx: CodingContext) -> None:
    """A repair of the same lesion is part of the hidradenitis code (its classification picks the
    code), so it is not billed on its own. Dehiscence repairs are later, separate services."""
    for excision in ctx.services_of_kind(KIND):
        if excision.lesion_id is None:
            continue
        included: list[str] = []
        for repair in ctx.services_on_lesion(excision.lesion_id):
            if repair.kind != "repair" or repair.repair is None or repair.repair.dehiscence is not None:
                continue
            included.append(repair.repair.complexity)
            ctx.exclude(
                repair,
                step_reason(
                    STEP_BUNDLE,
                    "the hidradenitis excision code includes the repair of its wound",
                    lesion_id=excision.lesion_id,
                    owner_service=excision.id,
                    complexity=repair.repair.complexity,
                    length_cm=repair.repair.length_cm,
                ),
                detail=f"repair {repair.id} included in hidradenitis excision {excision.id}",
            )
        if included:
            ctx.memo[_included_repairs_key(excision)] = included


@for_kinds(KIND)
def select_hidradenitis_excisions(ctx: CodingContext) -> None:
    """One line per excised area: the area picks the pair of codes, the repair the one of the pair."""
    for service in ctx.services_of_kind(KIND):
        area = hidradenitis_area(service.site)
        if area is None:
            where = f"'{service.site}'" if service.site else "no site"
            ctx.hold(
                "11450",
                service,
                f"Document the area of the hidradenitis excision ({where} is not one of axillary, inguinal, "
                "or perianal/perineal/umbilical; other areas have no hidradenitis excision code).",
                step_reason(STEP, "hidradenitis excision area unknown", site=service.site, source=UNVERIFIED),
            )
            continue
        linked = service.diagnoses or ctx.encounter.diagnoses[:1]
        if HIDRADENITIS_DX not in linked:
            ctx.hold(
                HIDRADENITIS_CODES[area][0],
                service,
                "Confirm the diagnosis: the hidradenitis excision codes are for hidradenitis (L73.2), "
                "which the service does not link.",
                step_reason(STEP, "hidradenitis diagnosis not linked", diagnoses=list(linked)),
            )
            continue
        complexities = list(ctx.memo.get(_included_repairs_key(service), []))
        if service.repair is not None:
            complexities.append(service.repair.complexity)
        if not complexities:
            ctx.hold(
                HIDRADENITIS_CODES[area][0],
                service,
                "Document how the hidradenitis excision wound was repaired (simple, intermediate or complex): "
                "the code includes the repair and depends on it.",
                step_reason(STEP, "repair of the hidradenitis excision not documented", area=area),
            )
            continue
        complexity = max(complexities, key=RANK.__getitem__)
        code = HIDRADENITIS_CODES[area][1 if complexity == "complex" else 0]
        ctx.lines.append(
            WorkLine(
                code=code,
                units=1,
                service_ids=[service.id],
                reasons=[
                    step_reason(
                        STEP,
                        f"hidradenitis excision, {area.replace('_', '/')} area, with "
                        f"{'complex' if complexity == 'complex' else 'simple or intermediate'} repair "
                        "(the repair is included)",
                        area=area,
                        site=service.site,
                        repair_complexity=complexity,
                        source=UNVERIFIED,
                    )
                ],
            )
        )
