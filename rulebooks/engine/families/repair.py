"""Repairs 12001-13153: lengths summed per classification AND anatomic group (derm-coding.md 5).

Why the groups come from `sites`: simple, intermediate and complex repairs group the body
differently (5.2), so a neck wound sums with the scalp when simple, with the hands when
intermediate and with the cheeks when complex. Repairs are never summed across groups or
classifications; when more than one classification is reported, the more complicated is listed
first and the others take the distinct-procedure modifier (5.3).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from rulebooks.dated_codesets import banded_code
from rulebooks.engine.context import CodingContext, WorkLine, for_kinds, step_reason
from rulebooks.engine.sites import REPAIR_GROUPS, family_group, unknown_site_query
from rulebooks.engine.sizes import size_cm

STEP = "select_repairs"
COMPLEX_MIN_LENGTH_CM = 1.1
COMPLEX_BASE_LENGTH_CM = 7.5
COMPLEX_ADD_ON_CM = 5.0
COMPLEX_ADD_ONS = {"13101": "13102", "13121": "13122", "13132": "13133", "13152": "13153"}
RANK = {"complex": 0, "intermediate": 1, "simple": 2}


@dataclass
class RepairSum:
    complexity: str
    group: str
    lengths_cm: list[float] = field(default_factory=list)
    service_ids: list[str] = field(default_factory=list)

    @property
    def total_cm(self) -> float:
        return size_cm(sum(self.lengths_cm))


def complex_repair_lines(group: str, total_cm: float) -> list[tuple[str, int]]:
    """Complex codes for a summed length of at least 1.1 cm: base code, then +5 cm add-ons past 7.5.

    >>> complex_repair_lines("trunk", 14.0)
    [('13101', 1), ('13102', 2)]
    >>> complex_repair_lines("eyelids_nose_ears_lips", 2.0)
    [('13151', 1)]
    """
    band = banded_code("repair_complex", group, min(total_cm, COMPLEX_BASE_LENGTH_CM))
    assert band is not None
    lines = [(band.code, 1)]
    if total_cm > COMPLEX_BASE_LENGTH_CM:
        lines.append(
            (COMPLEX_ADD_ONS[band.code], math.ceil(round(total_cm - COMPLEX_BASE_LENGTH_CM, 1) / COMPLEX_ADD_ON_CM))
        )
    return lines


@for_kinds("repair")
def select_repairs(ctx: CodingContext) -> None:
    sums: dict[tuple[str, str], RepairSum] = {}
    for service in ctx.services_of_kind("repair"):
        assert service.repair is not None  # guaranteed by the Encounter model
        if service.repair.dehiscence is not None:
            continue  # coded per wound by families/dehiscence.py, never summed
        complexity = service.repair.complexity
        group = family_group(service, REPAIR_GROUPS[complexity])
        if group is None:
            ctx.hold(
                "12001",
                service,
                unknown_site_query(service, f"{complexity} repair"),
                step_reason(STEP, "repair anatomic group unknown", site=service.site, complexity=complexity),
            )
            continue
        entry = sums.setdefault((complexity, group), RepairSum(complexity, group))
        entry.lengths_cm.append(service.repair.length_cm)
        entry.service_ids.append(service.id)
    _reclassify_short_complex(ctx, sums)
    new_lines: list[tuple[int, WorkLine]] = []
    for entry in sums.values():
        total_cm = entry.total_cm
        reason = step_reason(
            STEP,
            f"{entry.complexity} repairs summed within one anatomic group",
            complexity=entry.complexity,
            anatomic_group=entry.group,
            lengths_cm=entry.lengths_cm,
            total_length_cm=total_cm,
        )
        for code, units in _codes_for(entry, total_cm):
            line = WorkLine(code=code, units=units, service_ids=list(entry.service_ids), reasons=[reason])
            new_lines.append((RANK[entry.complexity], line))
    new_lines.sort(key=lambda ranked: ranked[0])
    ranks = {rank for rank, _ in new_lines}
    for rank, line in new_lines:
        if len(ranks) > 1 and rank > min(ranks):
            line.add_modifier(
                ctx.distinct_modifier,
                step_reason(
                    STEP,
                    "a less complicated repair reported with a more complicated one takes the "
                    "distinct-procedure modifier",
                    modifier=ctx.distinct_modifier,
                ),
                ctx.policy.distinct_decided_by,
            )
        ctx.lines.append(line)


def _reclassify_short_complex(ctx: CodingContext, sums: dict[tuple[str, str], RepairSum]) -> None:
    """A complex repair totalling 1.0 cm or less is reported with the intermediate code (5.2,
    CPT 2020 guideline, unverified): complex work includes the layered closure."""
    for key in [k for k, entry in sums.items() if k[0] == "complex" and entry.total_cm < COMPLEX_MIN_LENGTH_CM]:
        entry = sums.pop(key)
        services = [ctx.service(service_id) for service_id in entry.service_ids]
        group = family_group(services[0], REPAIR_GROUPS["intermediate"])
        if group is None:
            for service in services:
                ctx.hold(
                    "12031",
                    service,
                    unknown_site_query(service, "intermediate repair"),
                    step_reason(STEP, "repair anatomic group unknown", site=service.site),
                )
            continue
        target = sums.setdefault(("intermediate", group), RepairSum("intermediate", group))
        target.lengths_cm.extend(entry.lengths_cm)
        target.service_ids.extend(entry.service_ids)
        ctx.flag(
            "edit_applied",
            step_reason(
                STEP, "complex repair of 1.0 cm or less is reported as intermediate", total_length_cm=entry.total_cm
            ),
            detail="complex repair <= 1.0 cm coded as intermediate",
            service_ids=entry.service_ids,
        )


def _codes_for(entry: RepairSum, total_cm: float) -> list[tuple[str, int]]:
    if entry.complexity == "complex":
        return complex_repair_lines(entry.group, total_cm)
    band = banded_code(f"repair_{entry.complexity}", entry.group, total_cm)
    assert band is not None
    return [(band.code, 1)]
