"""A signed ABN written in the note becomes the same `AbnFacts` a recorded notice is (issue 17)."""

from __future__ import annotations

import datetime as dt

import pytest

from rulebooks.models.encounter import Encounter
from rulebooks.notes import analyze_note
from rulebooks.notes.liability import note_abns


def encounter(note: str, plan: str = "medicare_ffs", abns: list | None = None) -> Encounter:
    return Encounter(
        external_id="e",
        date_of_service=dt.date(2026, 3, 10),
        provider={"npi": "1234567893"},
        patient={"id": "p"},
        coverage={"payer": "MEDICARE", "plan_type": plan},
        diagnoses=["L82.1"],
        note=note,
        services=[
            {"id": "s1", "kind": "shave", "site": "back", "diagnoses": ["L82.1"]},
            {"id": "s2", "kind": "shave", "site": "left cheek", "diagnoses": ["L82.1"]},
        ],
        abns=abns or [],
    )


def abns(enc: Encounter) -> list[tuple[list[str], str, dt.date]]:
    return [(a.service_ids, a.kind, a.signed_on) for a in note_abns(enc, analyze_note(enc.note or ""))]


@pytest.mark.parametrize(
    ("note", "expected"),
    [
        ("SKs of the back and left cheek. Patient signed the ABN.", [(["s1", "s2"], "required")]),
        ("SKs of the back and left cheek. ABN signed.", [(["s1", "s2"], "required")]),
        ("SK of the back, ABN signed for it. SK of the left cheek, itchy.", [(["s1"], "required")]),
        ("SKs of the back and left cheek. Patient signed a voluntary ABN.", [(["s1", "s2"], "voluntary")]),
        ("SKs of the back and left cheek. ABN not signed.", []),
        ("SKs of the back and left cheek. No ABN signed.", []),
        ("SKs of the back and left cheek. Bill Medicare if an ABN is signed.", []),
    ],
)
def test_the_note_says_which_notice_was_signed_for_which_services(note: str, expected: list) -> None:
    assert abns(encounter(note)) == [(ids, kind, dt.date(2026, 3, 10)) for ids, kind in expected]


def test_only_medicare_fee_for_service_takes_the_note_s_notice() -> None:
    assert abns(encounter("SK of the back. ABN signed.", plan="medicare_advantage")) == []


def test_a_recorded_notice_wins_over_the_note() -> None:
    recorded = [{"service_ids": ["s1"], "kind": "voluntary", "signed_on": "2026-03-09"}]
    assert abns(encounter("SKs of the back and left cheek. ABN signed.", abns=recorded)) == [
        (["s2"], "required", dt.date(2026, 3, 10))
    ]
