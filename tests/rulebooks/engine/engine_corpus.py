"""The hand-checked corpus: JSON cases under cases/, each an encounter and its expected coding.

A case gives only what differs from the file's defaults. Expected lines are written the way a
coder reads them: "CODE-MOD-MOD xUNITS @DX,DX" (e.g. "11102-XS x1 @D48.5").
"""

from __future__ import annotations

import datetime as dt
import json
import pathlib
import re
from dataclasses import dataclass, field
from typing import Any

from rulebooks.models import ClaimLine, Coding, Encounter, Service
from rulebooks.stack import Stack, library_stack

CASES_DIR = pathlib.Path(__file__).parent / "cases"
CODED_AT = dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC)
LINE_FORMAT = re.compile(r"^(?P<code>[0-9A-Z]{5})(?P<mods>(-[0-9A-Z]{2})*) x(?P<units>\d+)(?: @(?P<dx>\S+))?$")
BASE_ENCOUNTER: dict[str, Any] = {
    "date_of_service": "2026-03-10",
    "provider": {"npi": "1234567893", "specialty": "dermatology"},
    "patient": {"id": "p-1", "age": 64, "sex": "female"},
    "coverage": {"payer": "AETNA", "plan_type": "commercial"},
}


@dataclass
class Case:
    id: str
    why: str
    encounter: Encounter
    claim: list[str]
    self_pay: list[str] = field(default_factory=list)
    held: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    status: str | None = None
    classifications: dict[str, str] = field(default_factory=dict)
    #: A clinic book of the case's own (e.g. a payer that prefers 76), on top of `CORPUS_BOOK`.
    rulebook: str | None = None

    def encounter_service(self, service_id: str) -> Service:
        return next(service for service in self.encounter.services if service.id == service_id)

    @property
    def stack(self) -> Stack:
        return corpus_stack(self.rulebook)


def load_cases() -> list[Case]:
    cases: list[Case] = []
    for path in sorted(CASES_DIR.glob("*.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        defaults = document.get("defaults", {})
        for index, raw in enumerate(document["cases"]):
            body = {**BASE_ENCOUNTER, **defaults, **raw["encounter"]}
            body.setdefault("external_id", f"{path.stem}-{index + 1}")
            expect = raw["expect"]
            rulebook = raw.get("rulebook")
            cases.append(
                Case(
                    id=raw["id"],
                    why=raw["why"],
                    encounter=Encounter.model_validate(body),
                    claim=expect.get("claim", []),
                    self_pay=expect.get("self_pay", []),
                    held=expect.get("held", []),
                    flags=expect.get("flags", []),
                    status=expect.get("status"),
                    classifications=raw.get("classifications", {}),
                    rulebook="\n".join(rulebook) + "\n" if rulebook else None,
                )
            )
    return cases


#: The corpus checks what CPT and NCCI define, with the payer decisions of the national base
#: (modifier preferences, 25, G2211, liability); whether the note documents a symptom is the note
#: analysis's corpus, so the base's documentation rules are switched off here.
CORPUS_BOOK = """rulebook "Engine corpus"

disable benign-removal-needs-symptom "the corpus has no notes: symptoms are the note analysis's corpus"

disable inflamed-sk-is-medical "the corpus states the classification it tests"

disable mohs-documentation "documentation flags are not part of the coding corpus"
"""


def corpus_stack(rulebook: str | None = None) -> Stack:
    """The national base with the corpus's book, and a case's own book on top when it has one."""
    return library_stack("National base", extra=[CORPUS_BOOK] + ([rulebook] if rulebook else []))


def line_text(code: str, modifiers: list[str], units: int, diagnoses: list[str] | None) -> str:
    text = code + "".join(f"-{m}" for m in modifiers) + f" x{units}"
    return text + (f" @{','.join(diagnoses)}" if diagnoses else "")


def _text(line: ClaimLine) -> str:
    return line_text(line.code, line.modifiers, line.units, line.diagnoses)


def actual(coding: Coding) -> dict[str, Any]:
    """The coding in the corpus's own notation, for comparison with the hand-checked expectation."""
    return {
        "claim": sorted(_text(line) for line in coding.claim_lines),
        "self_pay": sorted(_text(line) for line in coding.self_pay_lines),
        "held": sorted(line.code for line in coding.held_lines),
        # The corpus codes without a payer book (CORPUS_BOOK is clinic-wide), which every case's
        # coding says; tests/rulebooks/engine/test_payer_policy.py checks that flag.
        "flags": sorted(flag.code for flag in coding.flags if flag.code != "no_payer_rulebook"),
    }
