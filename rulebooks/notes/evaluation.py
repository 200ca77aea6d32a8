"""Scoring findings against a labelled corpus: precision, recall, F1 per label, negation errors.

A predicted finding counts as found when its label and context equal the expected one and
its span overlaps the expected span (issue 5). Expected spans are written in the corpus as
the exact substring (with an occurrence number when it repeats), so a corpus line reads as
the note reads and offsets are computed, never typed by hand.

Corpus line (JSON): ``{"id": "d001", "text": "...", "tags": ["negation"],
"findings": [["bleeding", "bleeding", []], ["pain", "pain", ["negated"], 2]]}``, a finding
being ``[label, exact substring, context flags, occurrence (1-based, optional)]``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from rulebooks.notes.findings import Findings

Key = tuple[str, int, int, frozenset[str]]


@dataclass(frozen=True)
class Fragment:
    id: str
    text: str
    tags: frozenset[str]
    expected: tuple[Key, ...]


def load_corpus(path: Path) -> list[Fragment]:
    """Read a JSONL corpus, resolving each expected substring to its ``[start, end)`` span."""
    fragments = []
    for line_number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        record = json.loads(line)
        text = record["text"]
        expected = []
        for item in record["findings"]:
            label, substring, context = item[0], item[1], item[2]
            occurrence = item[3] if len(item) > 3 else 1
            start = -1
            for _ in range(occurrence):
                start = text.find(substring, start + 1)
            if start < 0:
                raise ValueError(f"{path.name} line {line_number} ({record['id']}): {substring!r} is not in the text")
            expected.append((label, start, start + len(substring), frozenset(context)))
        fragments.append(Fragment(record["id"], text, frozenset(record.get("tags", ())), tuple(expected)))
    return fragments


@dataclass
class Score:
    """Counts per label; ``errors`` lists every miss and false alarm in words, for a failing test."""

    true_positive: Counter[str] = field(default_factory=Counter)
    false_positive: Counter[str] = field(default_factory=Counter)
    false_negative: Counter[str] = field(default_factory=Counter)
    negation_subset_errors: int = 0
    negated_finding_errors: int = 0
    errors: list[str] = field(default_factory=list)

    def precision(self, label: str | None = None) -> float:
        tp, fp = self._counts(label)[:2]
        return tp / (tp + fp) if tp + fp else 1.0

    def recall(self, label: str | None = None) -> float:
        tp, _, fn = self._counts(label)
        return tp / (tp + fn) if tp + fn else 1.0

    def f1(self, label: str | None = None) -> float:
        p, r = self.precision(label), self.recall(label)
        return 2 * p * r / (p + r) if p + r else 0.0

    def labels(self) -> list[str]:
        return sorted(set(self.true_positive) | set(self.false_positive) | set(self.false_negative))

    def _counts(self, label: str | None) -> tuple[int, int, int]:
        if label is None:
            return (
                sum(self.true_positive.values()),
                sum(self.false_positive.values()),
                sum(self.false_negative.values()),
            )
        return self.true_positive[label], self.false_positive[label], self.false_negative[label]


def _describe(key: Key, text: str) -> str:
    label, start, end, context = key
    return f"{label} {text[start:end]!r} [{','.join(sorted(context)) or 'affirmed'}]"


def score_corpus(fragments: Iterable[Fragment], analyse: Callable[[str], Findings]) -> Score:
    """Run ``analyse`` on every fragment and count matches by the overlap rule."""
    score = Score()
    for fragment in fragments:
        predicted: list[Key] = [(f.label, f.start, f.end, f.context) for f in analyse(fragment.text)]
        unmatched = list(predicted)
        fragment_errors = 0
        for key in fragment.expected:
            match = next(
                (p for p in unmatched if p[0] == key[0] and p[3] == key[3] and p[1] < key[2] and key[1] < p[2]), None
            )
            if match is None:
                score.false_negative[key[0]] += 1
                score.errors.append(f"{fragment.id}: missed {_describe(key, fragment.text)}")
                fragment_errors += 1
                score.negated_finding_errors += "negated" in key[3]
            else:
                unmatched.remove(match)
                score.true_positive[key[0]] += 1
        for key in unmatched:
            score.false_positive[key[0]] += 1
            score.errors.append(f"{fragment.id}: unexpected {_describe(key, fragment.text)}")
            fragment_errors += 1
            score.negated_finding_errors += "negated" in key[3]
        if "negation" in fragment.tags:
            score.negation_subset_errors += fragment_errors
    return score
