"""`code_encounter`: the whole path for one encounter, with no database, network or clock.

Documentation analysis classifies each service (medical, cosmetic, borderline) from the note and
the payer's cosmetic criteria; the classifications, their evidence and their provider queries
go into the engine; the rule stack sees the note's findings per service.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rulebooks.engine.context import ClassificationNote, FeeSchedules
from rulebooks.engine.pipeline import code
from rulebooks.models import Coding, Encounter, Reason
from rulebooks.timings import phase

if TYPE_CHECKING:
    from rulebooks.notes import CosmeticCriteria, DocumentationResult
    from rulebooks.stack import Stack

STEP_DOCUMENTATION = "classify_documentation"


@dataclass(frozen=True)
class CodedEncounter:
    coding: Coding
    documentation: DocumentationResult
    stack: Stack | None = None  # as run: its journal holds every rule outcome (for explanations)


def code_encounter(
    encounter: Encounter,
    *,
    encounter_id: str,
    coded_at: dt.datetime,
    fees: FeeSchedules | None = None,
    stack: Stack | None = None,
    criteria: CosmeticCriteria | None = None,
) -> CodedEncounter:
    """Analyse the note, classify, and code; the documentation result comes back for queries."""
    from rulebooks.notes import check_documentation, service_finding_facts
    from rulebooks.notes.liability import with_note_abns

    with phase("notes"):
        documentation = check_documentation(encounter, criteria)
    encounter = with_note_abns(encounter, documentation.findings)  # the note's signed ABN is an ABN on record
    classifications = {sid: c.category for sid, c in documentation.classifications.items()}
    notes = {
        sid: ClassificationNote(reason=documentation_reason(c), query=c.query.text if c.query else None)
        for sid, c in documentation.classifications.items()
    }
    if stack is not None:
        facts = service_finding_facts(encounter, documentation.findings)
        stack = stack.observed(findings={sid: sorted(f.affirmed) for sid, f in facts.items()})
    coding = code(
        encounter,
        encounter_id=encounter_id,
        coded_at=coded_at,
        fees=fees,
        stack=stack,
        classifications=classifications,
        classification_notes=notes,
    )
    return CodedEncounter(coding=coding, documentation=documentation, stack=stack)


def documentation_reason(classification: Any) -> Reason:
    """One reason per service: the classifier's argument, with the note's evidence spans."""
    evidence = [item.to_dict() for reason in classification.reasons for item in reason.evidence]
    return Reason(
        step=STEP_DOCUMENTATION,
        message=f"documentation: {classification.category}: "
        + "; ".join(reason.message for reason in classification.reasons),
        values={
            "category": classification.category,
            "criteria": classification.criteria,
            "reasons": [reason.code for reason in classification.reasons],
            "evidence": evidence,
        },
    )


NATIONAL_BASE = "National base"


def payer_stack(payer_code: str) -> Stack:
    """The shipped library stack for a payer: its rulebook (and what it extends), else the national base.

    Compiled once per process and payer (rulebooks are immutable files; compiling is the costly part).
    """
    return _payer_stack(payer_code.upper())


def _payer_stack(payer_code: str) -> Stack:
    from rulebooks.stack import library_stack, library_texts, load_rulebook

    cached = _STACKS.get(payer_code)
    if cached is not None:
        return cached
    chosen = NATIONAL_BASE
    for name, text in library_texts().items():
        header = load_rulebook(text).header
        if header is not None and header.payer and header.payer.upper() == payer_code:
            chosen = name
            break
    stack = library_stack(chosen)
    _STACKS[payer_code] = stack
    return stack


_STACKS: dict[str, Stack] = {}
