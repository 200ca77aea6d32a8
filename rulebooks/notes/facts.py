"""Findings as facts the rule language can test: ``finding bleeding on service``, ``not cosmetic_intent``.

The rule language's fact schema belongs to its engineer; this module gives it the plain data to
bind, per service, with the same mapping rule the classifier uses (mapping.py), so a rule and
the classifier never disagree about which symptom belongs to which lesion. Prior-authorization
facts (scores, treatments, TB tests) are encounter-wide: they describe the patient.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rulebooks.models.encounter import Encounter
from rulebooks.notes.findings import PRIOR_AUTH_LABELS, Findings
from rulebooks.notes.mapping import findings_by_service


@dataclass(frozen=True)
class ServiceFindingFacts:
    """What the note says about one service: labels affirmed, labels denied, values by label."""

    service_id: str
    affirmed: frozenset[str]
    negated: frozenset[str]
    values: dict[str, list[dict[str, Any]]] = field(default_factory=dict, hash=False, compare=False)

    def has(self, label: str) -> bool:
        """``finding LABEL on service``: affirmed for the patient, now."""
        return label in self.affirmed

    def to_dict(self) -> dict[str, Any]:
        return {
            "service_id": self.service_id,
            "affirmed": sorted(self.affirmed),
            "negated": sorted(self.negated),
            "values": {label: list(items) for label, items in self.values.items()},
        }


def service_finding_facts(encounter: Encounter, findings: Findings) -> dict[str, ServiceFindingFacts]:
    """Per-service finding facts, by service id.

    >>> from rulebooks.notes.extract import analyze_note
    >>> enc = Encounter.model_validate({"external_id": "e", "date_of_service": "2026-05-04",
    ...     "provider": {"npi": "1234567893"}, "patient": {"id": "p"},
    ...     "coverage": {"payer": "X", "plan_type": "commercial"}, "diagnoses": ["L82.1"],
    ...     "note": "SK on the back, no itching, bleeds.",
    ...     "services": [{"id": "s1", "kind": "shave", "site": "back", "diagnoses": ["L82.1"]}]})
    >>> facts = service_finding_facts(enc, analyze_note(enc.note))["s1"]
    >>> sorted(facts.affirmed), sorted(facts.negated)
    (['bleeding'], ['itching'])
    """
    result = {}
    for service_id, applied in findings_by_service(encounter, findings).items():
        affirmed: set[str] = set()
        negated: set[str] = set()
        values: dict[str, list[dict[str, Any]]] = {}
        for item in applied:
            finding = item.finding
            if finding.affirmed and not finding.understated:
                affirmed.add(finding.label)
                values.setdefault(finding.label, []).append(dict(finding.values))
            elif finding.context == {"negated"}:
                negated.add(finding.label)
        result[service_id] = ServiceFindingFacts(service_id, frozenset(affirmed), frozenset(negated), values)
    return result


def encounter_prior_auth_facts(findings: Findings) -> dict[str, list[dict[str, Any]]]:
    """Severity scores, treatment history and TB tests of the patient, by label, with their spans."""
    facts: dict[str, list[dict[str, Any]]] = {}
    for finding in findings:
        if finding.label in PRIOR_AUTH_LABELS and "hypothetical" not in finding.context:
            facts.setdefault(finding.label, []).append(
                {**finding.values, "start": finding.start, "end": finding.end, "context": sorted(finding.context)}
            )
    return facts
