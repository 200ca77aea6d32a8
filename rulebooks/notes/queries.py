"""Provider queries: say precisely what is missing for one lesion, in the provider's words.

"Document a symptom such as bleeding, pain, itching, inflammation or recent change for the
seborrheic keratosis on the left cheek, or mark it cosmetic." The query names the lesion
(from its diagnosis) and its site, lists what the payer accepts, and explains why what *is*
written does not count ("irritated" without a cause; "if it bleeds" is hypothetical).
"""

from __future__ import annotations

from rulebooks.models.encounter import Service
from rulebooks.notes.criteria import INDICATION_WORDS, CosmeticCriteria
from rulebooks.notes.diagnoses import diagnosis_category
from rulebooks.notes.findings import Finding
from rulebooks.notes.mapping import AppliedFinding
from rulebooks.notes.results import Evidence, ProviderQuery, Reason
from rulebooks.notes.sites import laterality_of

_CONTEXT_WORDS = {
    "negated": "denied",
    "historical": "in the past",
    "hypothetical": "hypothetical",
    "family": "about a family member",
    "other_experiencer": "about someone else",
    "uncertain": "uncertain",
}


def lesion_phrase(service: Service, diagnoses: list[str]) -> str:
    """ "the seborrheic keratosis on the left cheek" from the diagnosis and the service's site."""
    words = next((diagnosis_category(code)[1] for code in diagnoses if diagnosis_category(code)[0] != "other"), "")
    phrase = f"the {words or 'lesion'}"
    if service.site:
        site = service.site.strip()
        side = service.laterality
        if side and side != "midline" and laterality_of(site) is None:
            site = f"{side} {site}"
        phrase += f" on the {site}"
    return phrase


def medical_necessity_query(
    service: Service, diagnoses: list[str], applied: tuple[AppliedFinding, ...], criteria: CosmeticCriteria
) -> tuple[ProviderQuery, tuple[Reason, ...]]:
    """The query for a borderline benign removal, and the reasons that explain it."""
    lesion = lesion_phrase(service, diagnoses)
    examples = criteria.example_words()
    missing = tuple(label for label in criteria.query_examples if label in criteria.indications)
    reasons: list[Reason] = []
    listed = [item.finding for item in applied if item.finding.label in criteria.indications]
    bare_irritation = [f for f in listed if f.label == "irritation" and f.affirmed and not f.values.get("cause")]
    not_current = [
        f for f in listed if (f.context and f.label != "irritation") or (f.label == "irritation" and f.context)
    ]
    requests = [item.finding for item in applied if item.finding.label == "patient_request" and item.finding.affirmed]

    if bare_irritation:
        text = (
            f"Irritation alone does not meet {criteria.name} criteria for {lesion}. Document what irritates it "
            f"(such as clothing, jewelry or shaving) or a symptom such as {examples}, or mark it cosmetic."
        )
        reasons.append(Reason("irritation_without_cause", "Irritation is documented without its cause.",
                              tuple(Evidence.of(f) for f in bare_irritation)))  # fmt: skip
        missing = ("irritation_cause", *missing)
    else:
        text = f"Document a symptom such as {examples} for {lesion}, or mark it cosmetic."
    if not_current:
        described = "; ".join(
            f"'{f.text}' is {' and '.join(_CONTEXT_WORDS[c] for c in sorted(f.context))}" for f in not_current
        )
        reasons.append(Reason("indication_not_current", f"Written but not affirmed for the patient now: {described}.",
                              tuple(Evidence.of(f) for f in not_current)))  # fmt: skip
    if requests:
        reasons.append(Reason("patient_request_alone", "A patient's request without an indication is not enough.",
                              tuple(Evidence.of(f) for f in requests)))  # fmt: skip
    reasons.insert(
        0,
        Reason(
            "no_indication",
            f"No indication that {criteria.name} accepts is documented for {lesion} "
            f"({'; '.join(words for label, words in INDICATION_WORDS.items() if label in criteria.indications)}).",
            values={"criteria": criteria.name},
        ),
    )
    return ProviderQuery(service.id, "medical_necessity", text, missing), tuple(reasons)


def cosmetic_or_medical_query(
    service: Service, diagnoses: list[str], medical_codes: list[str], indications: list[Finding]
) -> tuple[ProviderQuery, tuple[Reason, ...]]:
    """The query when the patient elected cosmetic removal but the chart supports medical necessity."""
    lesion = lesion_phrase(service, diagnoses)
    grounds = [f"{code} is coded" for code in medical_codes] + [f"'{f.text}' is documented" for f in indications]
    text = (
        f"The patient elected cosmetic removal of {lesion}, but {' and '.join(grounds)}. "
        "Confirm whether the removal is medically necessary or cosmetic."
    )
    reason = Reason(
        "cosmetic_election_conflicts",
        "The patient's cosmetic election conflicts with documented medical necessity.",
        tuple(Evidence.of(f) for f in indications),
        {"diagnoses": list(medical_codes)},
    )
    return ProviderQuery(service.id, "cosmetic_or_medical", text, ("confirmation",)), (reason,)
