"""The linear-time steps of note analysis give exactly what the plain versions they replaced gave.

Each ``plain_*`` function below is the earlier code, kept here as the reference: it reads the
text before each mention again, or compares each candidate with every kept one, which is easy
to check by eye and costs the square of a dense note. The whole analysis (findings, context,
values) and the per-service mapping are compared with the plain steps patched in, on seeded
adversarial notes and on generated word soups rich in the words the clause, sentence and
overlap rules turn on.
"""

from __future__ import annotations

import re
from contextlib import ExitStack
from typing import Any
from unittest.mock import patch

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from benchmarks.adversarial_notes import KINDS, adversarial_note
from rulebooks.models.encounter import Encounter
from rulebooks.notes import analyze_note, extract, mapping, prior_auth, quantities
from rulebooks.notes.findings import Findings
from rulebooks.notes.mapping import findings_by_service
from rulebooks.notes.pipeline import sentence_index, sentence_starts


def plain_keep_longest(candidates: list[extract.Candidate]) -> list[extract.Candidate]:
    kept: list[extract.Candidate] = []
    by_length = sorted(candidates, key=lambda c: (-(c[2] - c[1]), c[1]))
    measurement_labels = {"size", "margin", "repair_length"}
    for candidate in by_length:
        label, start, end = candidate[0], candidate[1], candidate[2]
        clash = False
        for other in kept:
            same_family = other[0] == label or (label in measurement_labels and other[0] in measurement_labels)
            if same_family and start < other[2] and other[1] < end:
                clash = True
                break
        if not clash:
            kept.append(candidate)
    return kept


_SENTENCE_START = re.compile(r"[.;!?\n](?=[^.;!?\n]*$)")


def plain_nearest_is_repair(text: str, start: int) -> bool:
    before = text[:start]
    boundary = _SENTENCE_START.search(before)
    before = before[boundary.end() :] if boundary else before
    repair = [m.end() for m in quantities._REPAIR_WORDS.finditer(before)]
    lesion = [m.end() for m in quantities._LESION_WORDS.finditer(before)]
    if not repair:
        return False
    return not lesion or max(repair) > max(lesion)


class PlainRepairWords:
    def __init__(self, text: str) -> None:
        self.text = text

    def nearest_is_repair(self, start: int) -> bool:
        return plain_nearest_is_repair(self.text, start)


def plain_clause(text: str, start: int, end: int) -> tuple[int, int]:
    left = max((m.end() for m in re.finditer(r"[.;\n]", text[:start])), default=0)
    right_match = prior_auth._CLAUSE_END.search(text, end)
    right = right_match.start() if right_match else len(text)
    return left, right


def plain_find_treatments(text: str) -> list[Any]:
    found = []
    for match in prior_auth._DRUG_PATTERN.finditer(text):
        name = match.group(0)
        drug_class = next((cls for pattern, cls in prior_auth._DRUG_LOOKUP if pattern.match(name)), "other")
        left, right = plain_clause(text, match.start(), match.end())
        clause = text[left:right]
        values: dict[str, Any] = {"drug": name.lower(), "drug_class": drug_class}
        response = next((label for label, pattern in prior_auth._RESPONSES if pattern.search(clause)), None)
        if response:
            values["response"] = response
        duration = prior_auth._DURATION.search(clause)
        if duration:
            values["duration"] = f"{duration.group('n')} {duration.group('unit')}"
        dates = [m.group(0) for m in prior_auth.DATE.finditer(clause)]
        if dates:
            values["dates"] = dates
        found.append(("treatment", match.start(), match.end(), values))
    return found


def plain_find_tb_screening(text: str) -> list[Any]:
    found = []
    for match in prior_auth._TB_TEST.finditer(text):
        left, right = plain_clause(text, match.start(), match.end())
        clause = text[match.end() : right] or text[left:right]
        values: dict[str, Any] = {"test": match.group(0)}
        result = next((label for label, pattern in prior_auth._TB_RESULT if pattern.search(clause)), None)
        if result:
            values["result"] = result
        date = prior_auth.DATE.search(clause)
        if date:
            values["date"] = date.group(0)
        found.append(("tb_screening", match.start(), match.end(), values))
    return found


def plain_drop_procedural_bleeding(text: str, findings: list[Any], starts: list[int]) -> list[Any]:
    bounds = [*starts, len(text)]
    kept = []
    for finding in findings:
        if finding.label == "bleeding":
            sentence = sentence_index(starts, finding.start)
            before = text[max(bounds[sentence], finding.start - 30) : finding.start]
            if extract._PROCEDURAL_BLEEDING.search(before) or extract._PROCEDURE_SENTENCE.search(
                text[bounds[sentence] : bounds[sentence + 1]]
            ):
                continue
        kept.append(finding)
    return kept


def plain_add_irritation_causes(text: str, findings: list[Any], starts: list[int]) -> list[Any]:
    bounds = [*starts, len(text)]
    result = []
    for finding in findings:
        if finding.label == "irritation":
            cause = extract.irritant_kind(finding.text)
            if cause is None:
                sentence = sentence_index(starts, finding.start)
                cause = extract.irritant_kind(
                    extract._without_procedure_words(text[bounds[sentence] : bounds[sentence + 1]])
                )
            if cause is not None:
                finding = extract.Finding(
                    finding.label, finding.start, finding.end, finding.text, finding.context,
                    {**finding.values, "cause": cause},
                )  # fmt: skip
        result.append(finding)
    return result


def plain_anchors(findings: Findings) -> dict[int, mapping.Anchor]:
    text = findings.text
    starts = sentence_starts(text)
    bounds = [*starts, len(text) + 1]
    sites_by_sentence: dict[int, list[Any]] = {}
    for finding in findings.items:
        if finding.label == "site":
            sites_by_sentence.setdefault(sentence_index(starts, finding.start), []).append(finding)
    anchors = {}
    for index, finding in enumerate(findings.items):
        if finding.label == "site":
            continue
        current = sentence_index(starts, finding.start)
        nearby = [current]
        while len(nearby) < mapping.LOOK_BACK_SENTENCES and nearby[-1] > 0:
            previous = nearby[-1] - 1
            if "\n" in text[bounds[previous] : bounds[previous + 1]].rstrip(" \t"):
                break
            nearby.append(previous)
        site = next(
            (
                min(sites_by_sentence[s], key=lambda site: abs(site.start - finding.start))
                for s in nearby
                if s in sites_by_sentence
            ),
            None,
        )
        prefixes = next(
            (
                found
                for s in nearby
                if (
                    found := tuple(
                        p
                        for pattern, group in mapping._LESION_TYPES
                        if pattern.search(text[bounds[s] : bounds[s + 1]])
                        for p in group
                    )
                )
            ),
            (),
        )
        anchors[index] = mapping.Anchor(site, prefixes)
    return anchors


PLAIN_STEPS = (
    (extract, "keep_longest", plain_keep_longest),
    (extract, "find_treatments", plain_find_treatments),
    (extract, "find_tb_screening", plain_find_tb_screening),
    (extract, "drop_procedural_bleeding", plain_drop_procedural_bleeding),
    (extract, "add_irritation_causes", plain_add_irritation_causes),
    (quantities, "RepairWords", PlainRepairWords),
    (mapping, "_anchors", plain_anchors),
)


def analysed_plainly(text: str) -> Findings:
    with ExitStack() as stack:
        for module, name, plain in PLAIN_STEPS:
            stack.enter_context(patch.object(module, name, plain))
        return analyze_note(text)


ENCOUNTER = {
    "external_id": "e", "date_of_service": "2026-05-04", "provider": {"npi": "1234567893"}, "patient": {"id": "p"},
    "coverage": {"payer": "X", "plan_type": "commercial"}, "diagnoses": ["L82.1", "D22.5"],
    "services": [
        {"id": "s1", "kind": "shave", "site": "left cheek", "diagnoses": ["L82.1"]},
        {"id": "s2", "kind": "shave", "site": "back", "diagnoses": ["D22.5"]},
        {"id": "s3", "kind": "destruction", "diagnoses": ["L82.1"]},
    ],
}  # fmt: skip


def assert_same_analysis(text: str) -> None:
    fast, plain = analyze_note(text), analysed_plainly(text)
    assert fast.to_dict() == plain.to_dict()
    encounter = Encounter.model_validate({**ENCOUNTER, "note": text})
    with patch.object(mapping, "_anchors", plain_anchors):
        plain_mapping = findings_by_service(encounter, fast)
    assert findings_by_service(encounter, fast) == plain_mapping


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_adversarial_notes_analyse_as_before(kind: str, seed: int) -> None:
    assert_same_analysis(adversarial_note(kind, 3_000, seed=seed))


WORDS = [
    "tried", "methotrexate", "MTX", "cyclosporine", "dupilumab", "failed", "then", "after", "for", "3", "months",
    "x", "12", "weeks", "2023", "03/2024", "jan", "2022", "intolerant", "side", "effects", "good", "response",
    "PPD", "QuantiFERON", "T-SPOT.TB", "negative", "positive", "0", "mm", "indeterminate", "repair", "layered",
    "closure", "linear", "lesion", "excision", "of", "margin", "margins", "1.2", "0.8", "cm", "by", "4", "6",
    "bleeding", "minimal", "hemostasis", "irritated", "by", "bra", "strap", "shave", "removal", "SK", "on", "left",
    "cheek", "back", "came", "L", "forearm", "no", "pruritus", "denies", "pain", "it", "bleeds", "catches", "clothing",
    ",", ".", ";", "\n", ":", "-", "?", "!", "(", "/",
]  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(WORDS), max_size=80), st.sampled_from([" ", "", ", "]))
def test_generated_notes_analyse_as_before(words: list[str], joint: str) -> None:
    assert_same_analysis(joint.join(words) if joint else " ".join(words).replace(" ,", ","))


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["size", "margin", "repair_length", "site", "pain"]), st.integers(0, 40), st.integers(0, 8)
        ),
        max_size=40,
    )
)
@example([("size", 0, 4), ("size", 4, 4), ("margin", 4, 0)])  # an empty span where two kept ones meet
@example([("site", 0, 8), ("site", 4, 0), ("site", 2, 0), ("site", 8, 0)])  # inside, and at the edges
def test_keep_longest_keeps_what_the_pairwise_check_kept(spans: list[tuple[str, int, int]]) -> None:
    """Empty spans included: the one shape the covered-characters test treats apart."""
    candidates = [(label, start, start + length, {}, False) for label, start, length in spans]
    assert extract.keep_longest(list(candidates)) == plain_keep_longest(list(candidates))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 30), min_size=1, max_size=12), st.integers(0, 30))
def test_nearest_site_is_the_first_nearest(starts: list[int], offset: int) -> None:
    """Ties (equally near on both sides, or several sites at one start) go to the first in the list."""
    sites = [extract.Finding("site", start, start + 1, "x") for start in sorted(starts)]
    expected = min(sites, key=lambda site: abs(site.start - offset))
    assert mapping.nearest_site(sites, [site.start for site in sites], offset) is expected
