"""The labelled corpus: precision and recall overall, and zero errors on negations.

``dev.jsonl`` was written alongside the rules; ``heldout.jsonl`` to ``heldout4.jsonl`` were each
written before the rules saw them, scored once (first-run scores in benchmarks/notes_bench.py),
then used to improve the rules, so they now count as development data and must be perfect on
negations. ``heldout5.jsonl`` was never used to change a rule: it is the honest estimate, held
to the F1 target and to its first-run negation result (2 known errors, listed below) so that a
regression shows without the file being tuned to. A finding counts when label and context
match and the spans overlap (rulebooks.notes.evaluation).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rulebooks.notes import analyze_note
from rulebooks.notes.evaluation import load_corpus, score_corpus

CORPUS = Path(__file__).parent / "corpus"
FILES = sorted(CORPUS.glob("*.jsonl"))
FINAL_HELD_OUT = CORPUS / "heldout5.jsonl"
DEVELOPMENT = [path for path in FILES if path != FINAL_HELD_OUT]
#: heldout5's first-run misses, kept as found: "no longer itchy after topical steroid" also negates the
#: steroid (z041), and "cyclosporine declined by pt" is not read as a negation (z038).
FINAL_KNOWN_NEGATION_ERRORS = 2


def test_corpus_has_at_least_200_fragments_with_unique_ids() -> None:
    fragments = [fragment for path in FILES for fragment in load_corpus(path)]
    assert len(fragments) >= 200
    assert len({fragment.id for fragment in fragments}) == len(fragments)
    assert sum("negation" in fragment.tags for fragment in fragments) >= 40


@pytest.mark.parametrize("path", FILES, ids=lambda path: path.stem)
def test_precision_and_recall(path: Path) -> None:
    score = score_corpus(load_corpus(path), analyze_note)
    assert score.precision() >= 0.95, score.errors
    assert score.recall() >= 0.95, score.errors
    assert score.f1() >= 0.95, score.errors


@pytest.mark.parametrize("path", DEVELOPMENT, ids=lambda path: path.stem)
def test_zero_errors_on_the_negation_subset(path: Path) -> None:
    score = score_corpus([f for f in load_corpus(path) if "negation" in f.tags], analyze_note)
    assert score.negation_subset_errors == 0, score.errors
    assert score.negated_finding_errors == 0, score.errors


def test_final_held_out_negations_do_not_regress() -> None:
    score = score_corpus(load_corpus(FINAL_HELD_OUT), analyze_note)
    assert score.negated_finding_errors <= FINAL_KNOWN_NEGATION_ERRORS, score.errors


def test_no_negated_finding_is_ever_missed_or_invented_in_development_files() -> None:
    for path in DEVELOPMENT:
        score = score_corpus(load_corpus(path), analyze_note)
        assert score.negated_finding_errors == 0, (path.name, score.errors)


def test_corpus_spans_are_resolved_from_substrings() -> None:
    fragment = load_corpus(CORPUS / "dev.jsonl")[0]
    label, start, end, context = fragment.expected[0]
    assert (label, fragment.text[start:end], context) == ("bleeding", "bleeding", frozenset())


def test_a_substring_not_in_the_text_is_a_precise_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x1", "text": "No bleeding.", "findings": [["pain", "pain", []]]}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad.jsonl line 1 \(x1\): 'pain' is not in the text"):
        load_corpus(bad)
