"""Findings: what the note says, each with its evidence span, context and values.

A finding is a fact the rule language can test (``finding bleeding on service``,
``not cosmetic_intent``). It carries the ``[start, end)`` span of its evidence in Unicode
code points from 0 (CONTRACTS.md, Positions) so the UI can highlight it, and the
ConText assertions that decide whether it counts at all ("no bleeding" must never count).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: Medical-necessity indicators: symptoms and signs that make a benign lesion medical.
INDICATOR_LABELS = frozenset(
    {
        "bleeding",
        "pain",
        "itching",
        "inflammation",
        "irritation",
        "growth_change",
        "abcde",
        "suspicious_for_malignancy",
        "obstruction",
        "infection",
        "recurrence",
        "functional_impairment",
        "atypia",
        "margins_involved",
        "vascular_malformation",
        "recurrent_infection",
    }
)
#: Cosmetic intent and its neighbours ("patient requests removal", "asymptomatic").
COSMETIC_LABELS = frozenset({"cosmetic_intent", "patient_request", "asymptomatic"})
QUANTITY_LABELS = frozenset({"lesion_count", "size", "margin", "repair_length", "mohs_stage", "mohs_blocks", "site"})
SEVERITY_LABELS = frozenset({"bsa", "pasi", "easi", "iga", "dlqi", "hurley", "ihs4"})
PRIOR_AUTH_LABELS = SEVERITY_LABELS | {"treatment", "tb_screening"}
#: What the note says about the patient's liability: a signed ABN (derm-coding.md 10.3).
LIABILITY_LABELS = frozenset({"abn_signed"})
#: Labels whose context ConText decides. Numbers, sites and test results are taken as written:
#: "QuantiFERON negative" is a result (in ``values``), not a negated finding.
CONTEXTUAL_LABELS = INDICATOR_LABELS | COSMETIC_LABELS | LIABILITY_LABELS | {"treatment"}
ALL_LABELS = INDICATOR_LABELS | COSMETIC_LABELS | QUANTITY_LABELS | PRIOR_AUTH_LABELS | LIABILITY_LABELS
#: Severity and frequency words on a finding ("slightly pruritic at times"), by what they mean.
WEAK_QUALIFIERS = frozenset({"mild", "slight", "occasional", "intermittent"})
STRONG_QUALIFIERS = frozenset({"severe", "intense", "constant"})
#: Indications the policies name with their intensity: "intense itching" (LCD [S25], Aetna mirror [S91]).
QUALIFIED_LABELS = frozenset({"itching"})

#: ConText assertions a finding may carry; an empty set means affirmed, current, the patient's.
CONTEXT_FLAGS = ("negated", "historical", "hypothetical", "family", "other_experiencer", "uncertain")


def kind_of(label: str) -> str:
    """The family of a label, as the UI groups them (indicator, cosmetic, quantity, prior_auth)."""
    if label in INDICATOR_LABELS:
        return "indicator"
    if label in COSMETIC_LABELS:
        return "cosmetic"
    if label in QUANTITY_LABELS:
        return "quantity"
    if label in LIABILITY_LABELS:
        return "liability"
    return "prior_auth"


@dataclass(frozen=True)
class Finding:
    """One fact read from the note, with the evidence that shows it.

    ``values`` holds what the rules compare (``{"value_cm": 0.6}``, ``{"cause": "clothing"}``,
    ``{"response": "failed", "duration": "3 months"}``); it is a plain dict of JSON scalars.
    """

    label: str
    start: int
    end: int
    text: str
    context: frozenset[str] = frozenset()
    values: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

    @property
    def kind(self) -> str:
        return kind_of(self.label)

    @property
    def affirmed(self) -> bool:
        """True when the note asserts this for the patient, now (no ConText modifier at all)."""
        return not self.context

    @property
    def understated(self) -> bool:
        """The note's own words put it below an indication (derm-coding.md 11.4): itching only mild, slight,
        occasional or intermittent ("slightly pruritic at times": the LCD covers *intense* itching), atypia
        only mild. Bleeding is bleeding however often; other qualifiers are reported, not judged."""
        if self.label == "atypia":
            return self.values.get("grade") == "mild"
        qualifiers = set(self.values.get("qualifiers", ()))
        weak = bool(qualifiers & WEAK_QUALIFIERS) and not qualifiers & STRONG_QUALIFIERS
        return self.label in QUALIFIED_LABELS and weak

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "kind": self.kind,
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "context": sorted(self.context),
            "values": dict(self.values),
        }


@dataclass(frozen=True)
class Findings:
    """Every finding of one note, in order of position."""

    text: str
    items: tuple[Finding, ...]

    def with_label(self, label: str) -> tuple[Finding, ...]:
        return tuple(item for item in self.items if item.label == label)

    def affirmed(self) -> tuple[Finding, ...]:
        return tuple(item for item in self.items if item.affirmed)

    def to_dict(self) -> dict[str, Any]:
        return {"findings": [item.to_dict() for item in self.items]}

    def __iter__(self):
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)
