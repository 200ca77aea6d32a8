"""``classify_services``: each service medical, cosmetic or borderline, with reasons and evidence.

A borderline service that a required ABN lists (Medicare FFS) is ``expected_denial`` instead: the
ABN is the provider's answer to the query (``abn_answers_the_query``).

A pure function of the encounter, its findings and the payer's criteria. The passes below
run in order, as a coder reasons; the first that decides wins:

1. ``cosmetic_service_kind``      a service documented as cosmetic is cosmetic.
2. ``patient_chose_cosmetic``     the patient elected cosmetic removal: cosmetic, unless a
                                  diagnosis or indication says medical (then borderline: ask).
3. ``medical_by_diagnosis``       malignant, in-situ, uncertain-behaviour neoplasm or AK.
4. ``cosmetic_diagnosis``         Z41.1: a cosmetic encounter.
5. ``diagnostic_biopsy``          a biopsy is diagnostic, hence medical.
6. ``not_a_benign_removal``       visits, injections, Mohs and removals of other conditions.
7. ``infectious_lesion``          warts and molluscum where the payer covers them outright.
8. ``documented_indication``      a benign lesion with an affirmed indication the payer lists.
9. ``documented_cosmetic_intent`` "for cosmetic reasons", or requested with symptoms denied.
10. ``needs_provider_query``      otherwise borderline, with a query saying what is missing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from rulebooks.models.encounter import Encounter, Service
from rulebooks.notes.criteria import SHORT_WORDS, CosmeticCriteria
from rulebooks.notes.diagnoses import MEDICAL_BY_CODE, diagnosis_category
from rulebooks.notes.findings import INDICATOR_LABELS, Findings
from rulebooks.notes.liability import with_note_abns
from rulebooks.notes.mapping import AppliedFinding, findings_by_service
from rulebooks.notes.queries import cosmetic_or_medical_query, medical_necessity_query
from rulebooks.notes.results import Classification, Evidence, Reason

REMOVAL_KINDS = frozenset(
    {"destruction", "shave", "excision", "skin_tag_removal", "repair", "adjacent_tissue_transfer", "graft"}
)
Pass = Callable[[Service, list[str], tuple[AppliedFinding, ...], CosmeticCriteria], Classification | None]


KIND_NAMES = {
    "em": "An E/M visit",
    "injection": "An injection",
    "mohs": "Mohs surgery",
    "repair": "A repair",
    "adjacent_tissue_transfer": "A flap",
    "graft": "A graft",
    "other": "This service",
}


def classify_services(
    encounter: Encounter, findings: Findings, criteria: CosmeticCriteria
) -> dict[str, Classification]:
    """Classification of every service of the encounter, by service id."""
    encounter = with_note_abns(encounter, findings)
    applied = findings_by_service(encounter, findings)
    if encounter.patient.age is not None and encounter.patient.age < CHILD_UNTIL:
        applied = {sid: tuple(in_a_child(item) for item in items) for sid, items in applied.items()}
    result = {}
    for service in encounter.services:
        diagnoses = list(service.diagnoses) or list(encounter.diagnoses)
        for classify_pass in PASSES:
            decision = classify_pass(service, diagnoses, applied[service.id], criteria)
            if decision is not None:
                result[service.id] = abn_answers_the_query(encounter, decision)
                break
    return result


#: A congenital vascular malformation treated before this age is treated to prevent its progression (11.4).
CHILD_UNTIL = 18


def in_a_child(item: AppliedFinding) -> AppliedFinding:
    """A vascular malformation of a child counts as if it had progressed: treating it prevents that [S127]."""
    if item.finding.label != "vascular_malformation":
        return item
    finding = replace(item.finding, values={**item.finding.values, "child": True})
    return AppliedFinding(finding, item.scope)


def abn_answers_the_query(encounter: Encounter, decision: Classification) -> Classification:
    """A borderline service a required ABN lists is expected to be denied: the provider, asked to
    document an indication or obtain an ABN, obtained one (derm-coding.md 10.3, 11.1)."""
    if decision.category != "borderline" or not encounter.denial_expected_by_abn(decision.service_id):
        return decision
    reason = Reason(
        "required_abn",
        "No covered indication is documented and a required ABN is signed for the service: the provider "
        "expects Medicare to deny it as not reasonable and necessary (GA).",
    )
    return Classification(decision.service_id, "expected_denial", (*decision.reasons, reason), None, decision.criteria)


def _decide(service: Service, category: str, criteria: CosmeticCriteria, *reasons: Reason) -> Classification:
    return Classification(service.id, category, tuple(reasons), None, criteria.name)  # type: ignore[arg-type]


def cosmetic_service_kind(
    service: Service, diagnoses: list[str], applied: tuple[AppliedFinding, ...], criteria: CosmeticCriteria
) -> Classification | None:
    if service.kind == "cosmetic":
        return _decide(
            service, "cosmetic", criteria, Reason("cosmetic_service", "The service is documented as cosmetic.")
        )
    return None


def patient_chose_cosmetic(
    service: Service, diagnoses: list[str], applied: tuple[AppliedFinding, ...], criteria: CosmeticCriteria
) -> Classification | None:
    """Cosmetic, unless the chart says the removal is medically necessary: then ask which it is."""
    if not service.patient_requested_cosmetic:
        return None
    medical_codes = [code for code in diagnoses if diagnosis_category(code)[0] in MEDICAL_BY_CODE]
    indications = qualifying_indications(applied, criteria)
    if not medical_codes and not indications:
        return _decide(
            service, "cosmetic", criteria,
            Reason("patient_requested_cosmetic", "The patient elected cosmetic removal (self-pay)."),
        )  # fmt: skip
    query, reasons = cosmetic_or_medical_query(service, diagnoses, medical_codes, [i.finding for i in indications])
    return Classification(service.id, "borderline", reasons, query, criteria.name)


def medical_by_diagnosis(
    service: Service, diagnoses: list[str], applied: tuple[AppliedFinding, ...], criteria: CosmeticCriteria
) -> Classification | None:
    medical = [(code, *diagnosis_category(code)) for code in diagnoses]
    medical = [row for row in medical if row[1] in MEDICAL_BY_CODE]
    if not medical:
        return None
    code, category, words = medical[0]
    wording = {"malignant": "a malignant or in-situ neoplasm", "uncertain": "a neoplasm of uncertain or unspecified "
               "behaviour", "premalignant": "a premalignant lesion"}[category]  # fmt: skip
    return _decide(
        service, "medical", criteria,
        Reason(f"diagnosis_{category}", f"{code} ({words}) is {wording}: the service is medically necessary.",
               values={"diagnosis": code}),
    )  # fmt: skip


def cosmetic_diagnosis(
    service: Service, diagnoses: list[str], applied: tuple[AppliedFinding, ...], criteria: CosmeticCriteria
) -> Classification | None:
    cosmetic = [code for code in diagnoses if diagnosis_category(code)[0] == "cosmetic"]
    if cosmetic:
        return _decide(
            service, "cosmetic", criteria,
            Reason(
                "diagnosis_cosmetic", f"{cosmetic[0]} codes a cosmetic encounter.", values={"diagnosis": cosmetic[0]}
            ),
        )  # fmt: skip
    return None


def diagnostic_biopsy(
    service: Service, diagnoses: list[str], applied: tuple[AppliedFinding, ...], criteria: CosmeticCriteria
) -> Classification | None:
    if service.kind == "biopsy":
        return _decide(service, "medical", criteria, Reason("diagnostic_biopsy", "A biopsy is diagnostic: medical."))
    return None


def not_a_benign_removal(
    service: Service, diagnoses: list[str], applied: tuple[AppliedFinding, ...], criteria: CosmeticCriteria
) -> Classification | None:
    lesion_codes = [code for code in diagnoses if diagnosis_category(code)[0] in {"benign", "infectious"}]
    if service.kind not in REMOVAL_KINDS:
        return _decide(
            service, "medical", criteria,
            Reason("not_a_lesion_removal",
                   f"{KIND_NAMES.get(service.kind, service.kind)} is not judged on cosmetic criteria."),
        )  # fmt: skip
    if diagnoses and not lesion_codes:
        return _decide(
            service, "medical", criteria,
            Reason("not_a_benign_lesion", f"{', '.join(diagnoses)} is not a benign lesion judged on cosmetic criteria.",
                   values={"diagnoses": list(diagnoses)}),
        )  # fmt: skip
    return None


def infectious_lesion(
    service: Service, diagnoses: list[str], applied: tuple[AppliedFinding, ...], criteria: CosmeticCriteria
) -> Classification | None:
    infectious = [code for code in diagnoses if diagnosis_category(code)[0] == "infectious"]
    if infectious and criteria.infectious_lesions_medical:
        return _decide(
            service, "medical", criteria,
            Reason("infectious_lesion", f"{infectious[0]} is an infectious lesion, covered by {criteria.name}.",
                   values={"diagnosis": infectious[0]}),
        )  # fmt: skip
    return None


def qualifying_indications(applied: tuple[AppliedFinding, ...], criteria: CosmeticCriteria) -> list[AppliedFinding]:
    """The findings that make a benign removal medical under ``criteria`` (affirmed, listed, enough)."""
    qualifying = []
    for item in applied:
        finding = item.finding
        if finding.label not in criteria.indications:
            continue
        if finding.context and not (finding.context == {"uncertain"} and finding.label in criteria.uncertain_counts):
            continue
        if finding.understated:  # "slightly pruritic at times", "mild atypia"
            continue
        if finding.label == "vascular_malformation" and not (
            finding.values.get("progression") or finding.values.get("child")
        ):
            continue  # a flat stain in an adult: cosmetic unless something else is written
        cause_enough = criteria.irritation_with_cause_suffices and finding.values.get("cause")
        if finding.label == "irritation" and not (criteria.irritation_alone_suffices or cause_enough):
            continue
        qualifying.append(item)
    return qualifying


def documented_indication(
    service: Service, diagnoses: list[str], applied: tuple[AppliedFinding, ...], criteria: CosmeticCriteria
) -> Classification | None:
    qualifying = qualifying_indications(applied, criteria)
    if not qualifying:
        return None
    labels = sorted({item.finding.label for item in qualifying})
    words = [SHORT_WORDS[label] for label in labels]
    scopes = {item.scope for item in qualifying}
    where = " and ".join(
        {"site": "at this site", "lesion": "for this lesion", "encounter": "in the note (nothing ties it elsewhere)"}[
            scope
        ]
        for scope in sorted(scopes, key=["site", "lesion", "encounter"].index)
    )
    reasons = [
        Reason(
            "indication_documented",
            f"Documented {', '.join(words)} {where} meets {criteria.name} criteria for a benign lesion.",
            tuple(Evidence.of(item.finding) for item in qualifying),
            {"indications": labels, "scope": sorted(scopes)},
        )
    ]
    cosmetic = [item for item in applied if item.finding.label == "cosmetic_intent" and item.finding.affirmed]
    if cosmetic:
        reasons.append(
            Reason("cosmetic_wish_noted", "A cosmetic wish is also noted; the documented indication decides.",
                   tuple(Evidence.of(item.finding) for item in cosmetic))
        )  # fmt: skip
    return _decide(service, "medical", criteria, *reasons)


def documented_cosmetic_intent(
    service: Service, diagnoses: list[str], applied: tuple[AppliedFinding, ...], criteria: CosmeticCriteria
) -> Classification | None:
    findings = [item.finding for item in applied]
    intent = [f for f in findings if f.label == "cosmetic_intent" and f.affirmed]
    requests = [f for f in findings if f.label == "patient_request" and f.affirmed]
    purpose = [f for f in requests if f.values.get("cosmetic_purpose")]
    denied = [f for f in findings if (f.label in INDICATOR_LABELS and "negated" in f.context)]
    denied += [f for f in findings if f.label == "asymptomatic" and f.affirmed]
    if intent or purpose:
        evidence = tuple(Evidence.of(f) for f in (*intent, *purpose))
        return _decide(service, "cosmetic", criteria, Reason("cosmetic_intent", "Removal is documented as cosmetic.",
                                                             evidence))  # fmt: skip
    if requests and denied:
        evidence = tuple(Evidence.of(f) for f in (*requests, *denied))
        return _decide(
            service, "cosmetic", criteria,
            Reason("requested_without_symptoms", "The patient requested removal and symptoms are documented as absent.",
                   evidence),
        )  # fmt: skip
    return None


def needs_provider_query(
    service: Service, diagnoses: list[str], applied: tuple[AppliedFinding, ...], criteria: CosmeticCriteria
) -> Classification | None:
    query, reasons = medical_necessity_query(service, diagnoses, applied, criteria)
    return Classification(service.id, "borderline", reasons, query, criteria.name)


PASSES: tuple[Pass, ...] = (
    cosmetic_service_kind,
    patient_chose_cosmetic,
    medical_by_diagnosis,
    cosmetic_diagnosis,
    diagnostic_biopsy,
    not_a_benign_removal,
    infectious_lesion,
    documented_indication,
    documented_cosmetic_intent,
    needs_provider_query,
)
