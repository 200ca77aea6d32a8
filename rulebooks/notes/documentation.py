"""``check_documentation``: the chart-open call. Findings, classifications and queries at once.

Built for the moment the provider signs: one pure call, no I/O, under 50 ms for a 2,000
character note. The payer's criteria are an argument (a payer rulebook will supply them);
without them the defaults follow the plan type (Medicare LCD or commercial).
"""

from __future__ import annotations

from rulebooks.models.encounter import Encounter
from rulebooks.notes.classify import classify_services
from rulebooks.notes.criteria import CosmeticCriteria, default_criteria
from rulebooks.notes.extract import analyze_note
from rulebooks.notes.findings import Findings
from rulebooks.notes.results import DocumentationResult


def check_documentation(
    encounter: Encounter, criteria: CosmeticCriteria | None = None, findings: Findings | None = None
) -> DocumentationResult:
    """Analyse the encounter's note and classify its services; borderline ones get queries.

    ``findings`` may be passed when the note was already analysed (an addendum re-check).
    """
    criteria = criteria or default_criteria(encounter.coverage.plan_type)
    findings = findings if findings is not None else analyze_note(encounter.note or "")
    classifications = classify_services(encounter, findings, criteria)
    queries = tuple(c.query for c in classifications.values() if c.query is not None)
    return DocumentationResult(findings, classifications, queries)
