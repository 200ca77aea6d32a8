"""Laws that hold for any text: analysis never fails, spans point at their text, results serialise."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from rulebooks.notes import analyze_note
from rulebooks.notes.findings import ALL_LABELS, CONTEXT_FLAGS

WORDS = [
    "no", "not", "denies", "bleeding", "itchy", "pain", "if", "it", "bleeds", "mother", "history", "of", "SK", "on",
    "the", "left", "cheek", "x3", "#6", "6", "mm", "1.2", "x", "0.8", "cm", "BSA", "12%", "PASI", "failed",
    "methotrexate", "QuantiFERON", "negative", "cosmetic", "wants", "removed", "irritated", "by", "bra", "strap",
    "r/o", "melanoma", "Mohs", "2", "stages", "café", "😀", "–", ",", ".", ";", ":", "\n", "?", "/",
]  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(WORDS), max_size=40), st.text(max_size=20))
def test_any_text_gives_well_formed_findings(words: list[str], noise: str) -> None:
    text = " ".join(words) + noise
    findings = analyze_note(text)
    for finding in findings:
        assert 0 <= finding.start < finding.end <= len(text)
        assert text[finding.start : finding.end] == finding.text
        assert finding.label in ALL_LABELS
        assert finding.context <= set(CONTEXT_FLAGS)
    assert json.loads(json.dumps(findings.to_dict()))["findings"] == [f.to_dict() for f in findings]
