"""`context_scopes` gives every target the ConText categories medspaCy's own component gives it.

The whole analysis is run twice, once with each, on sentences built to be hard: long runs
without a full stop, where forward, backward and bidirectional modifiers of every category,
terminators and pseudo-triggers interleave, sit next to each other, and start or end lists.
"""

from __future__ import annotations

from unittest.mock import patch

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.adversarial_notes import KINDS, adversarial_note
from rulebooks.notes import analyze_note, pipeline

TRIGGERS = [
    "no", "denies", "not", "without", "negative for", ": none", "- no", "free", "resolved", "is absent", "possible",
    "r/o", "vs", "versus", "history of", "h/o", "years ago", "if", "risks", "call if", "plan to start", "consider",
    "mother", "family history", "husband", "husband noticed", "has", "is", "currently", "no increase", "but",
    "however", "which", "now", "and is", ", with", "she", "patient", "pt", "cosmetic", "appearance", "looks",
    "no longer", "never", "w/o", "?", "status post", "in case of", "as needed", "due to", ": the",
]  # fmt: skip
TARGETS = [
    "bleeding", "itching", "pain", "tender", "erythema", "irritated", "growing", "changing", "asymptomatic",
    "wants it removed", "requests removal", "methotrexate", "dupilumab", "melanoma", "non-tender", "pruritic",
    "infected", "recurred", "bothered by its appearance", "for cosmetic reasons", "painful",
]  # fmt: skip
FILLER = ["lesion", "the", "on", "left", "cheek", "and", "it", "was", "of", "with", ","]


def analysed_by_medspacy(text: str) -> dict:
    with patch.object(pipeline, "sentence_categories", pipeline.medspacy_categories):
        return analyze_note(text).to_dict()


def assert_same_context(text: str) -> None:
    assert analyze_note(text).to_dict() == analysed_by_medspacy(text)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(TRIGGERS + TARGETS + FILLER), max_size=60), st.sampled_from([" ", ", ", " and "]))
def test_generated_sentences_get_medspacys_context(words: list[str], joint: str) -> None:
    assert_same_context(joint.join(words))


@pytest.mark.parametrize("kind", KINDS)
def test_adversarial_notes_get_medspacys_context(kind: str) -> None:
    assert_same_context(adversarial_note(kind, 4_000, seed=11))


DIRECTIONS = ["FORWARD", "BACKWARD", "BIDIRECTIONAL", "TERMINATE", "PSEUDO"]


@st.composite
def sentences(draw: st.DrawFn) -> tuple[int, list[tuple[int, int, dict]], list[tuple[int, int, str]]]:
    """A sentence length, sorted non-overlapping modifiers (often adjacent) with random rules, and targets."""
    modifiers, position = [], 0
    for _ in range(draw(st.integers(0, 14))):
        position += draw(st.integers(0, 3))
        length = draw(st.integers(1, 3))
        rule = {
            "category": draw(st.sampled_from(["NEG", "HYP", "HIST", "TERMINATE"])),
            "direction": draw(st.sampled_from(DIRECTIONS)),
            "max_scope": draw(st.sampled_from([None, None, 1, 2, 3, 6])),
            "allowed_types": draw(st.sampled_from([None, None, {"A"}, {"A", "B"}])),
            "terminated_by": draw(st.sampled_from([None, {"HYP"}, {"NEG", "HIST"}])),
        }
        modifiers.append((position, position + length, rule))
        position += length
    doc_length = position + draw(st.integers(1, 4))
    targets = [
        (start, min(doc_length, start + draw(st.integers(1, 3))), draw(st.sampled_from(["A", "B", "C"])))
        for start in draw(st.lists(st.integers(0, doc_length - 1), max_size=12))
    ]
    return doc_length, modifiers, targets


@settings(max_examples=1_500, deadline=None)
@given(sentences())
def test_scopes_and_categories_are_medspacys(sentence: tuple[int, list, list]) -> None:
    from medspacy.context import ConTextGraph, ConTextModifier, ConTextRule

    from rulebooks.notes.context_scopes import Modifier, ScopeGraph, target_categories

    doc_length, matched, targets = sentence
    doc = pipeline.build_pipeline().make_doc(" ".join(["w"] * doc_length))
    doc[len(doc) - 1 if len(doc) > 1 else 0].is_sent_start = len(doc) == 1
    rules = [ConTextRule(f"m{i}", **rule) for i, (_start, _end, rule) in enumerate(matched)]
    theirs = [ConTextModifier(rule, start, end, doc) for rule, (start, end, _) in zip(rules, matched, strict=True)]
    ours = [Modifier.of(rule, start, end, doc_length) for rule, (start, end, _) in zip(rules, matched, strict=True)]
    assert [(m.scope_start, m.scope_end) for m in ours] == [m.scope_span for m in theirs], "first scopes"

    spans = [doc[start:end] for start, end, _ in targets]
    for span, (_start, _end, label) in zip(spans, targets, strict=True):
        span.label_ = label
    graph = ConTextGraph(targets=spans, modifiers=theirs)
    graph.update_scopes()
    ScopeGraph(ours).update_scopes()
    assert [(m.scope_start, m.scope_end) for m in ours] == [m.scope_span for m in theirs], "limited scopes"

    graph.apply_modifiers()
    expected: list[set[str]] = [set() for _ in targets]
    for target, modifier in graph.edges:
        expected[next(i for i, span in enumerate(spans) if span is target)].add(modifier.category)
    assert target_categories(ours, targets) == expected


def test_spans_with_the_same_characters_share_their_modifiers_as_in_medspacy() -> None:
    """spaCy keys a span's extension values by its characters: a TREATMENT-only modifier reaches both."""

    def categories(by: object) -> list[set[str]]:
        doc = pipeline.build_pipeline().make_doc("plan to start methotrexate")
        doc[len(doc) - 1].is_sent_start = False
        spans = [doc.char_span(14, 26, label="TREATMENT"), doc.char_span(14, 26, label="PAIN")]
        return by(doc, spans)  # type: ignore[operator]

    assert categories(pipeline.medspacy_categories) == [{"HYPOTHETICAL"}, {"HYPOTHETICAL"}]
    assert categories(pipeline.sentence_categories) == [{"HYPOTHETICAL"}, {"HYPOTHETICAL"}]
