"""A signed ABN written in the note is an ABN on record (derm-coding.md 10.3, issue 17).

Providers write "Medicare expected to deny as not medically necessary; patient signed the ABN" in the
note as often as they record the notice in the EHR. The note's words are normalised here into the
same `AbnFacts` a recorded notice is, for the services the statement applies to: when its sentence
names a site, the services there (by the mapping rule the classifier uses); otherwise every service
of the visit (GA lands only on lines expected to be denied, so a medical line it lists is unchanged;
record the notice per service when the visit mixes services it does and does not cover). The classifier, the rules
(`service.abn`) and the liability modifiers (GA) never tell the two apart. "Voluntary ABN" makes a
voluntary notice; a denied or hypothetical one ("ABN not signed", "if an ABN is signed") makes none.
A service the encounter already lists in a recorded notice keeps that notice.
"""

from __future__ import annotations

from rulebooks.models.encounter import AbnFacts, Encounter
from rulebooks.notes.findings import Finding, Findings
from rulebooks.notes.mapping import findings_by_service
from rulebooks.notes.pipeline import sentence_index, sentence_starts


def note_abns(encounter: Encounter, findings: Findings) -> list[AbnFacts]:
    """The notices the note says were signed, one per kind, for the services they apply to."""
    if encounter.coverage.plan_type != "medicare_ffs":
        return []  # ABN modifiers are Medicare fee-for-service instruments [S86]
    if not any(finding.label == "abn_signed" and finding.affirmed for finding in findings):
        return []
    recorded = {service_id for notice in encounter.abns for service_id in notice.service_ids}
    starts = sentence_starts(findings.text)
    site_sentences = {sentence_index(starts, f.start) for f in findings if f.label == "site"}
    visit_wide = {
        _kind(f)
        for f in findings
        if f.label == "abn_signed" and f.affirmed and sentence_index(starts, f.start) not in site_sentences
    }
    listed: dict[str, list[str]] = {}
    for service_id, applied in findings_by_service(encounter, findings).items():
        kinds = visit_wide | {
            _kind(item.finding)
            for item in applied
            if item.finding.label == "abn_signed"
            and item.finding.affirmed
            and sentence_index(starts, item.finding.start) in site_sentences
        }
        if kinds and service_id not in recorded:
            listed.setdefault("required" if "required" in kinds else "voluntary", []).append(service_id)
    return [
        AbnFacts(service_ids=service_ids, kind=kind, signed_on=encounter.date_of_service)
        for kind, service_ids in sorted(listed.items())
    ]


def _kind(finding: Finding) -> str:
    return "voluntary" if "voluntary" in finding.text.lower() else "required"


def with_note_abns(encounter: Encounter, findings: Findings) -> Encounter:
    """The encounter with the note's signed notices beside the recorded ones (itself when there are none)."""
    notices = note_abns(encounter, findings)
    return encounter.model_copy(update={"abns": [*encounter.abns, *notices]}) if notices else encounter
