"""A payer's cosmetic criteria for benign-lesion removal, as a small frozen object.

The rule language will carry these per payer (issue 5 says payer cosmetic criteria are
rules); until it does, the classifier takes this object so the engine can be wired now and
a payer rulebook can later build the same object. The two defaults follow the policies in
derm-coding.md section 11: MEDICARE the MAC LCDs "Removal of Benign Skin Lesions"
(bleeding, pain, intense itching, physical inflammation, obstruction of vision or an orifice,
recent change, concern for malignancy; "bothersome" is not enough) and COMMERCIAL an
Aetna CPB 0633-like policy (adds infectious lesions such as warts, and irritation due to
location such as a bra line or waistband).
"""

from __future__ import annotations

from dataclasses import dataclass

#: Display words for each indication, in the order a provider query lists them.
INDICATION_WORDS: dict[str, str] = {
    "bleeding": "bleeding",
    "pain": "pain",
    "itching": "itching",
    "inflammation": "inflammation (erythema, edema)",
    "growth_change": "recent change",
    "suspicious_for_malignancy": "suspicion of malignancy",
    "abcde": "atypical features (asymmetry, irregular border, colour variation)",
    "obstruction": "obstruction of vision or an orifice",
    "infection": "infection",
    "irritation": "irritation from clothing, jewelry or shaving",
    "recurrence": "recurrence",
    "functional_impairment": "functional impairment",
    "atypia": "moderate or severe atypia on a biopsy",
    "margins_involved": "positive or close margins on a prior biopsy",
    "vascular_malformation": "a congenital vascular malformation with hypertrophy or nodularity, or in a child",
    "recurrent_infection": "recurrent infection",
}

#: The same in a few words, for reasons that list what was documented.
SHORT_WORDS: dict[str, str] = {
    **{label: label for label in INDICATION_WORDS},
    "itching": "itching",
    "growth_change": "recent change",
    "suspicious_for_malignancy": "suspicion of malignancy",
    "abcde": "atypical features",
    "irritation": "irritation with its cause",
    "functional_impairment": "functional impairment",
    "atypia": "histologic atypia",
    "margins_involved": "involved margins",
    "vascular_malformation": "a progressive vascular malformation",
    "recurrent_infection": "recurrent infection",
}


@dataclass(frozen=True)
class CosmeticCriteria:
    """What makes the removal of a benign lesion medical for one payer.

    ``indications``: finding labels that make it medical when affirmed for the lesion.
    ``irritation_alone_suffices``: "irritated" with no cause is enough (most payers: no).
    ``irritation_with_cause_suffices``: irritation by clothing, jewelry or shaving is enough
    (recurrent trauma at the site, LCD; irritation due to location, Aetna).
    ``uncertain_counts``: labels that count even when only possible ("rule out infection").
    ``infectious_lesions_medical``: warts and molluscum are medical without a symptom.
    """

    name: str
    indications: frozenset[str]
    irritation_alone_suffices: bool = False
    irritation_with_cause_suffices: bool = True
    uncertain_counts: frozenset[str] = frozenset({"suspicious_for_malignancy"})
    infectious_lesions_medical: bool = False
    query_examples: tuple[str, ...] = ("bleeding", "pain", "itching", "inflammation", "growth_change")

    def example_words(self) -> str:
        """ "bleeding, pain, itching, inflammation or recent change" for a provider query."""
        words = [INDICATION_WORDS[label].split(" (")[0] for label in self.query_examples if label in self.indications]
        return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


_LCD_INDICATIONS = frozenset(
    {"bleeding", "pain", "itching", "inflammation", "growth_change", "suspicious_for_malignancy", "abcde",
     "obstruction", "infection", "irritation",
     # beyond symptoms (derm-coding.md 11.4)
     "atypia", "margins_involved", "vascular_malformation", "recurrent_infection"}
)  # fmt: skip

#: Medicare's LCD book lists functional impairment beside obstruction (rulebooks/library/medicare-benign-lesions.rules).
MEDICARE = CosmeticCriteria(
    name="MEDICARE", indications=_LCD_INDICATIONS | {"functional_impairment"}, infectious_lesions_medical=False
)
COMMERCIAL = CosmeticCriteria(name="COMMERCIAL", indications=_LCD_INDICATIONS, infectious_lesions_medical=True)


def default_criteria(plan_type: str | None) -> CosmeticCriteria:
    """MEDICARE for Medicare fee-for-service and Advantage plans, else COMMERCIAL (Medicaid included, for now)."""
    return MEDICARE if plan_type in {"medicare_ffs", "medicare_advantage"} else COMMERCIAL
