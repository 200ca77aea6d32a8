"""Clinical documentation analysis: findings from the note, cosmetic vs medical, provider queries.

A pure library (no server, SQL, HTTP or Redis): ``analyze_note(text) -> Findings`` and
``check_documentation(encounter, criteria) -> DocumentationResult``, plus the pure
``classify_services(encounter, findings, criteria)`` the coding engine calls through its hook.
The medspaCy pipeline is built on first use, once per process.
"""

from rulebooks.notes.classify import classify_services
from rulebooks.notes.criteria import COMMERCIAL, MEDICARE, CosmeticCriteria, default_criteria
from rulebooks.notes.documentation import check_documentation
from rulebooks.notes.extract import analyze_note
from rulebooks.notes.facts import ServiceFindingFacts, encounter_prior_auth_facts, service_finding_facts
from rulebooks.notes.findings import Finding, Findings
from rulebooks.notes.results import Classification, DocumentationResult, Evidence, ProviderQuery, Reason

__all__ = [
    "COMMERCIAL",
    "MEDICARE",
    "Classification",
    "CosmeticCriteria",
    "DocumentationResult",
    "Evidence",
    "Finding",
    "Findings",
    "ProviderQuery",
    "Reason",
    "ServiceFindingFacts",
    "analyze_note",
    "check_documentation",
    "classify_services",
    "default_criteria",
    "encounter_prior_auth_facts",
    "service_finding_facts",
]
