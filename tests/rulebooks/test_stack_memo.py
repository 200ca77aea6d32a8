"""The rule stack's outcome memo: a reused outcome gives exactly the coding a fresh run gives."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from rulebooks.coding import code_encounter
from rulebooks.models import Encounter
from rulebooks.stack import library_stack

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "encounters"
CODED_AT = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def _encounters() -> list[Encounter]:
    base = json.loads((FIXTURES / "biopsy_em.json").read_text())
    many = []
    for count in (3, 12, 20):
        payload = json.loads(json.dumps(base))
        payload["external_id"] = f"memo-{count}"
        payload["services"].append(
            {"id": "d1", "kind": "destruction", "count": count, "site": "face", "diagnoses": ["L57.0"]}
        )
        many.append(Encounter.model_validate(payload))
    many.append(Encounter.model_validate(json.loads((FIXTURES / "borderline_sk.json").read_text())))
    return many


def _coded(stack, encounter: Encounter) -> str:  # type: ignore[no-untyped-def]
    coding = code_encounter(encounter, encounter_id=encounter.external_id, coded_at=CODED_AT, stack=stack).coding
    return coding.model_dump_json()


def test_a_warm_stack_codes_exactly_like_a_fresh_one() -> None:
    warm = library_stack("Aetna commercial (template)")
    encounters = _encounters()
    for encounter in encounters * 2:  # the second pass is served from the memo
        _coded(warm, encounter)
    for encounter in encounters:
        fresh = library_stack("Aetna commercial (template)")
        assert _coded(warm, encounter) == _coded(fresh, encounter)


def test_the_cap_fires_on_a_warm_stack_too() -> None:
    warm = library_stack("Aetna commercial (template)")
    twelve, twenty = _encounters()[1:3]
    for _ in range(3):
        for encounter in (twelve, twenty):
            coding = json.loads(_coded(warm, encounter))
            units = {line["code"]: line["units"] for line in coding["claim_lines"]}
            assert units.get("17003") == 9 and "17004" not in units
            assert any(flag["code"] == "payer_lesion_cap_applied" for flag in coding["flags"])
