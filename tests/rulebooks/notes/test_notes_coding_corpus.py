"""The note-to-claim corpus: a note and its services, coded end to end (note analysis, classification,
the national base, the engine), against what a coder decides by hand.

Each case under coding_cases/ says why, with its source in derm-coding.md: the classification of
each service and the claim and held lines ("CODE-MOD x UNITS @DX" as in the engine corpus). Cases
were written before the code that makes them pass (issue 17); the first-run score is in the
changelog.
"""

from __future__ import annotations

import datetime as dt
import json
import pathlib

import pytest

from rulebooks.coding import code_encounter
from rulebooks.models import Encounter
from rulebooks.stack import library_stack
from tests.rulebooks.engine.engine_corpus import actual

#: The payer's library book the case is coded with: Medicare's LCD book, else Aetna's (a commercial payer).
BOOKS = {
    "medicare_ffs": "Medicare benign lesion removal (LCD)",
    "medicare_advantage": "Medicare benign lesion removal (LCD)",
    "commercial": "Aetna commercial (template)",
}
CASES_DIR = pathlib.Path(__file__).parent / "coding_cases"
CODED_AT = dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC)
BASE = {
    "external_id": "note-case",
    "date_of_service": "2026-03-10",
    "provider": {"npi": "1234567893", "specialty": "dermatology"},
}


def load() -> list[dict]:
    return [case for path in sorted(CASES_DIR.glob("*.json")) for case in json.loads(path.read_text("utf-8"))["cases"]]


CASES = load()


def coded(case: dict):
    services = case["encounter"]["services"]
    body = {**BASE, "diagnoses": sorted({d for s in services for d in s["diagnoses"]}), **case["encounter"]}
    return code_encounter(
        Encounter.model_validate(body),
        encounter_id=body["external_id"],
        coded_at=CODED_AT,
        stack=library_stack(BOOKS[body["coverage"]["plan_type"]]),
    )


@pytest.mark.parametrize("case", [pytest.param(case, id=case["id"]) for case in CASES])
def test_note_codes_as_hand_checked(case: dict) -> None:
    result = coded(case)
    expect = case["expect"]
    got = actual(result.coding)
    assert {sid: c.category for sid, c in result.documentation.classifications.items()} == expect["classifications"], (
        case["why"]
    )
    assert (got["claim"], got["held"]) == (sorted(expect["claim"]), sorted(expect["held"])), case["why"]


def test_every_case_has_a_rationale_with_its_source() -> None:
    assert len(CASES) >= 30
    assert len({case["id"] for case in CASES}) == len(CASES)
    assert all("[S" in case["why"] for case in CASES)


def score() -> tuple[int, int]:
    """(exact, total): the corpus's score, as reported in the changelog."""
    exact = 0
    for case in CASES:
        result = coded(case)
        got = actual(result.coding)
        categories = {sid: c.category for sid, c in result.documentation.classifications.items()}
        expect = case["expect"]
        exact += categories == expect["classifications"] and (got["claim"], got["held"]) == (
            sorted(expect["claim"]),
            sorted(expect["held"]),
        )
    return exact, len(CASES)


if __name__ == "__main__":  # pragma: no cover - python -m tests.rulebooks.notes.test_notes_coding_corpus
    exact, total = score()
    print(f"{exact}/{total} exact")
