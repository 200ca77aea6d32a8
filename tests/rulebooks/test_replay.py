"""A replay codes from the stored note analysis what the full path coded from the note, exactly;
and the coding comparison a replay sums up says what moved."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from benchmarks.engine_bench import generate
from rulebooks.clinic_stack import StackSources, library_base
from rulebooks.coding import code_encounter
from rulebooks.coding_diff import Impact, coding_diff, family_of
from rulebooks.models import Encounter
from rulebooks.replay import Replayed, analysis_of, code_again, replay_batch
from rulebooks.stack import library_stack
from server.demo import demo_fee_schedules

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "encounters"
CODED_AT = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


def encounters() -> list[Encounter]:
    stored = [Encounter.model_validate(json.loads(path.read_text())) for path in sorted(FIXTURES.glob("*.json"))]
    return stored + list(generate(60, 11))


@pytest.mark.parametrize("payer", ["AETNA", "MEDICARE", "CIGNA"])
def test_coding_again_from_the_analysis_is_the_coding_from_the_note(payer: str) -> None:
    stack = library_stack("Aetna commercial (template)") if payer == "AETNA" else library_stack("National base")
    fees = demo_fee_schedules()
    compared = 0
    for encounter in encounters():
        encounter = encounter.model_copy(update={"coverage": encounter.coverage.model_copy(update={"payer": payer})})
        coded = code_encounter(encounter, encounter_id="e1", coded_at=CODED_AT, fees=fees, stack=stack)
        analysis = json.loads(json.dumps(analysis_of(coded)))  # as stored: JSON
        again = code_again(encounter, analysis, stack, encounter_id="e1", coded_at=CODED_AT, fees=fees)
        assert again.model_dump(mode="json") == coded.coding.model_dump(mode="json"), encounter.external_id
        compared += 1
    assert compared > 60


def test_a_replay_counts_what_a_raised_cap_changes() -> None:
    aetna = (Path(__file__).resolve().parents[2] / "rulebooks" / "library" / "aetna-commercial.rules").read_text()
    raised = aetna.replace("service.count > 10 lesions", "service.count > 14 lesions").replace(
        "at 10 lesions", "at 14 lesions"
    )
    from rulebooks.clinic_stack import BookSource
    from rulebooks.stack import load_rulebook

    def payer_book(text: str) -> BookSource:
        return BookSource(layer="payer", name="Aetna", content_hash=load_rulebook(text).version, text=text)

    base = library_base()
    stacks = {("old",): StackSources((base, payer_book(aetna))), ("new",): StackSources((base, payer_book(raised)))}
    items = []
    for lesions in (5, 12, 20):
        encounter = Encounter.model_validate(
            {
                "external_id": f"ak-{lesions}",
                "date_of_service": "2026-03-02",
                "provider": {"npi": "1234567893"},
                "patient": {"id": "p1", "age": 70, "sex": "female"},
                "coverage": {"payer": "AETNA", "plan_type": "commercial"},
                "diagnoses": ["L57.0"],
                "note": "Actinic keratoses treated with cryotherapy.",
                "services": [
                    {"id": "d1", "kind": "destruction", "count": lesions, "site": "face", "diagnoses": ["L57.0"]}
                ],
            }
        )
        coded = code_encounter(encounter, encounter_id=encounter.external_id, coded_at=CODED_AT)
        items.append(
            Replayed(
                encounter.external_id, encounter.model_dump_json(), json.dumps(analysis_of(coded)), ("old",), ("new",)
            )
        )
    impact = Impact.from_dict(replay_batch(items, stacks, CODED_AT, demo_fee_schedules()))
    assert impact.total.counts["encounters"] == 3 and impact.total.counts["changed"] == 2  # 12 and 20 lesions
    assert impact.total.counts["lines_changed"] == 2 and impact.total.charges_up > 0 and impact.total.charges_down == 0
    assert set(impact.families) == {"destruction"} and set(impact.payers) == {"AETNA"}
    twelve = next(example for example in impact.examples if example["encounter_id"] == "ak-12")
    assert twelve["summary"].startswith("17003: units 9 -> 11")
    merged = Impact.from_dict(impact.to_dict())
    merged.merge(impact)
    assert merged.total.counts["changed"] == 4 and merged.total.charges_up == 2 * impact.total.charges_up


def test_lines_are_matched_by_code_and_services() -> None:
    encounter = next(iter(generate(1, 3)))
    coded = code_encounter(encounter, encounter_id="e", coded_at=CODED_AT, fees=demo_fee_schedules()).coding
    assert not coding_diff(coded, coded).changed
    fewer = coded.model_copy(update={"claim_lines": coded.claim_lines[1:]})
    diff = coding_diff(coded, fewer)
    assert [line.kind for line in diff.lines] == ["removed"] and diff.charge_delta <= 0
    assert [line.kind for line in coding_diff(fewer, coded).lines] == ["added"]
    assert (
        family_of("17003") == "destruction" and family_of("J7321") == "drugs" and family_of("99213").startswith("eval")
    )
