"""What documentation analysis returns: classifications with reasons, queries, and the whole result.

All frozen and JSON-serialisable through ``to_dict`` (the CLI, GraphQL and snapshots print the
same shape). Every reason carries the evidence spans it rests on, so a biller can see why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from rulebooks.notes.findings import Finding, Findings

Category = Literal["medical", "cosmetic", "borderline", "expected_denial"]


@dataclass(frozen=True)
class Evidence:
    """A stretch of the note a reason rests on: ``[start, end)`` in code points."""

    label: str
    start: int
    end: int
    text: str
    context: tuple[str, ...] = ()

    @classmethod
    def of(cls, finding: Finding) -> Evidence:
        return cls(finding.label, finding.start, finding.end, finding.text, tuple(sorted(finding.context)))

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "context": list(self.context),
        }


@dataclass(frozen=True)
class Reason:
    """One step of the argument: ``code`` for machines, ``message`` for people."""

    code: str
    message: str
    evidence: tuple[Evidence, ...] = ()
    values: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "evidence": [item.to_dict() for item in self.evidence],
            "values": dict(self.values),
        }


@dataclass(frozen=True)
class ProviderQuery:
    """A question to the provider that holds a line until it is answered."""

    service_id: str
    topic: str
    text: str
    missing: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"service_id": self.service_id, "topic": self.topic, "text": self.text, "missing": list(self.missing)}


@dataclass(frozen=True)
class Classification:
    """One service judged medical, cosmetic or borderline, with its reasons (and query if borderline)."""

    service_id: str
    category: Category
    reasons: tuple[Reason, ...]
    query: ProviderQuery | None = None
    criteria: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "service_id": self.service_id,
            "category": self.category,
            "criteria": self.criteria,
            "reasons": [reason.to_dict() for reason in self.reasons],
            "query": self.query.to_dict() if self.query else None,
        }


@dataclass(frozen=True)
class DocumentationResult:
    """Findings, per-service classifications and open queries for one encounter."""

    findings: Findings
    classifications: dict[str, Classification]
    queries: tuple[ProviderQuery, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "findings": [item.to_dict() for item in self.findings],
            "classifications": {key: value.to_dict() for key, value in self.classifications.items()},
            "queries": [query.to_dict() for query in self.queries],
        }
