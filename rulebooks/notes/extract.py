"""``analyze_note``: text in, findings out, in one pass of small named steps.

1. ``match_terms``: the derm lexicons, numbers, sites, scores, drugs and TB tests.
2. ``keep_longest``: one finding per label per stretch of text ("rapidly growing", not also "growing").
3. ``assign_context``: medspaCy ConText over the findings whose truth depends on wording.
4. ``normalise_context``: the suspicion of malignancy is uncertain by nature, a hypothetical
   need not also be uncertain, and "non-tender" negates itself.
5. ``add_irritation_causes``: "catches on her necklace and becomes irritated" gives the cause.
6. ``drop_procedural_bleeding``: the procedure's own bleeding ("minimal bleeding, hemostasis
   with aluminum chloride") is not the lesion's symptom.
7. ``add_qualifiers``: "slightly pruritic at times" carries its qualifiers (slight, occasional).
8. ``add_vascular_progression``: a port-wine stain "with hypertrophy and nodularity" has progressed.
"""

from __future__ import annotations

import re
from bisect import bisect_right, insort
from functools import cache
from typing import Any

from rulebooks.notes.context_rules import CATEGORY_FLAGS, COSMETIC_PURPOSE
from rulebooks.notes.fastscan import could_match, literal_anchors, scan_text
from rulebooks.notes.findings import CONTEXTUAL_LABELS, INDICATOR_LABELS, Finding, Findings
from rulebooks.notes.lexicon import TERMS, irritant_kind
from rulebooks.notes.pipeline import run_context, sentence_index, sentence_starts
from rulebooks.notes.prior_auth import find_scores, find_tb_screening, find_treatments
from rulebooks.notes.quantities import find_counts, find_measurements, find_mohs
from rulebooks.notes.sites import find_sites

Candidate = tuple[str, int, int, dict[str, Any], bool]  # label, start, end, values, negated by its own wording


def analyze_note(text: str) -> Findings:
    """Every finding in a clinical note, with spans, context and values.

    >>> [(f.label, f.text, sorted(f.context)) for f in analyze_note("No bleeding, itchy.")]
    [('bleeding', 'bleeding', ['negated']), ('itching', 'itchy', ['negated'])]
    """
    if not text or not text.strip():
        return Findings(text or "", ())
    starts = sentence_starts(text)
    candidates = keep_longest(match_terms(text))
    findings = assign_context(text, candidates, starts)
    findings = normalise_context(text, findings)
    findings = add_irritation_causes(text, findings, starts)
    findings = drop_procedural_bleeding(text, findings, starts)
    findings = add_qualifiers(text, findings, starts)
    findings = add_vascular_progression(text, findings, starts)
    return Findings(text, tuple(sorted(findings, key=lambda f: (f.start, f.end, f.label))))


def match_terms(text: str) -> list[Candidate]:
    """Step 1: every pattern of every lexicon, as candidates.

    A term none of whose literal anchors is in the note cannot match, and is not scanned.
    """
    candidates: list[Candidate] = []
    scanned = scan_text(text)
    for term, anchors in zip(TERMS, term_anchors(), strict=True):
        if not could_match(anchors, scanned):
            continue
        for match in term.pattern.finditer(text):
            if match.end() > match.start():
                candidates.append((term.label, match.start(), match.end(), dict(term.values), term.negated))
    for finder in (find_measurements, find_counts, find_mohs, find_scores, find_treatments, find_tb_screening):
        for label, start, end, values in finder(text):
            candidates.append((label, start, end, values, False))
    for start, end, values in find_sites(text):
        candidates.append(("site", start, end, dict(values), False))
    return candidates


@cache
def term_anchors() -> tuple[frozenset[str] | None, ...]:
    """Each lexicon term's literal anchors (`fastscan.literal_anchors`), worked out on first use."""
    return tuple(literal_anchors(term.pattern) for term in TERMS)


def keep_longest(candidates: list[Candidate]) -> list[Candidate]:
    """Step 2: among overlapping candidates of one label keep the longest (then the earliest).

    Measurements claim their text first: "4 mm margins" is a margin, so no size overlaps it.
    Whether a candidate overlaps one already kept is read from the characters the kept ones
    cover (`KeptSpans`), so the cost grows with the candidates' lengths, not with their number
    squared.
    """
    kept: list[Candidate] = []
    length = max((c[2] for c in candidates), default=0)
    spans_by_family: dict[str, KeptSpans] = {}
    for candidate in sorted(candidates, key=lambda c: (-(c[2] - c[1]), c[1])):
        label, start, end = candidate[0], candidate[1], candidate[2]
        spans = spans_by_family.get(family_of(label))
        if spans is None:
            spans = spans_by_family[family_of(label)] = KeptSpans(length)
        if not spans.clashes(start, end):
            spans.add(start, end)
            kept.append(candidate)
    return kept


MEASUREMENT_LABELS = frozenset({"size", "margin", "repair_length"})


def family_of(label: str) -> str:
    """Labels that may not overlap one another: the measurements together, any other label alone."""
    return "measurement" if label in MEASUREMENT_LABELS else label


class KeptSpans:
    """The ``[start, end)`` spans kept so far in one family, as the characters they cover.

    Two spans clash when ``start < other_end and other_start < end``. Kept spans never clash
    with one another, so a non-empty span clashes with a kept one exactly when it covers a
    covered character; an empty span ``[p, p)`` when ``p`` lies strictly inside a kept span
    (the characters on both sides of ``p`` covered, and no kept span starting at ``p``). Kept
    empty spans (which no pattern yields, but the rule is general) are listed apart.

    >>> spans = KeptSpans(12); spans.add(4, 9)
    >>> spans.clashes(0, 4), spans.clashes(8, 12), spans.clashes(9, 9), spans.clashes(5, 5)
    (False, True, False, True)
    """

    def __init__(self, length: int) -> None:
        self.covered = bytearray(length + 1)
        self.starts = bytearray(length + 1)
        self.empty: list[int] = []  # positions of kept empty spans, sorted

    def clashes(self, start: int, end: int) -> bool:
        if start < end and self.covered.find(1, start, end) != -1:
            return True
        if start == end and start > 0 and self.covered[start - 1] and self.covered[start] and not self.starts[start]:
            return True
        index = bisect_right(self.empty, start)  # a kept empty span [p, p) clashes when start < p < end
        return index < len(self.empty) and self.empty[index] < end

    def add(self, start: int, end: int) -> None:
        if start == end:
            insort(self.empty, start)
            return
        self.covered[start:end] = b"\x01" * (end - start)
        self.starts[start] = 1


def assign_context(text: str, candidates: list[Candidate], starts: list[int]) -> list[Finding]:
    """Step 3: ConText flags for contextual labels; numbers, sites and results are taken as written."""
    contextual = [c for c in candidates if c[0] in CONTEXTUAL_LABELS]
    categories = run_context(text, [(c[1], c[2], c[0].upper()) for c in contextual], starts) if contextual else []
    by_candidate = {id(c): cats for c, cats in zip(contextual, categories, strict=True)}
    findings = []
    for candidate in candidates:
        label, start, end, values, negated = candidate
        cats = by_candidate.get(id(candidate), set())
        flags = {CATEGORY_FLAGS[cat] for cat in cats if cat in CATEGORY_FLAGS}
        if negated:
            flags.add("negated")
        if COSMETIC_PURPOSE in cats:
            values = {**values, "cosmetic_purpose": True}
        findings.append(Finding(label, start, end, text[start:end], frozenset(flags), values))
    return findings


#: "Bleeding denied." / "itching denied;": the finding, then "denied" and the end of its clause
#: ("denied by the insurer" is about a claim, not a symptom).
_DENIED_AFTER = re.compile(r"\s*(?:[:-]\s*)?(?:was\s+|is\s+)?denied\b(?!\s+by\b)\s*(?:[.;,)]|$)", re.IGNORECASE)
_DIRECTLY_DENIED = re.compile(r"\b(?:not|no\s+longer|never)\s+$", re.IGNORECASE)


def normalise_context(text: str, findings: list[Finding]) -> list[Finding]:
    """Step 4: keep only the flags that tell a reader something the label does not already say."""
    result = []
    for finding in findings:
        flags = set(finding.context)
        if finding.label == "suspicious_for_malignancy" or "hypothetical" in flags:
            flags.discard("uncertain")
        if _DENIED_AFTER.match(text[finding.end : finding.end + 32]):
            flags.add("negated")  # "Bleeding denied." (a bare "denied" after the finding ends the sentence)
        if finding.label == "recurrent_infection":
            flags.discard("historical")  # "history of recurrent infections": recurrence is history by nature
        if finding.label == "treatment" or flags & {"family", "other_experiencer"}:
            flags.discard("historical")  # a drug history, or someone else's past, is history by nature
        if finding.label == "asymptomatic" and not _DIRECTLY_DENIED.search(
            text[max(0, finding.start - 16) : finding.start]
        ):
            flags.discard("negated")  # "no change, asymptomatic": a list's "no" does not undo "asymptomatic"
        result.append(
            Finding(finding.label, finding.start, finding.end, finding.text, frozenset(flags), finding.values)
        )
    return result


_PROCEDURAL_BLEEDING = re.compile(
    r"\b(?:minimal|scant|minor|mild|trace|expected|no\s+significant|controlled)\s+(?:\w+\s+)?$", re.IGNORECASE
)
_PROCEDURE_SENTENCE = re.compile(
    r"\b(?:hemostasis|haemostasis|EBL|blood\s+loss|aluminum\s+chloride|drysol|monsel\w*|pressure\s+dressing)\b",
    re.IGNORECASE,
)


def drop_procedural_bleeding(text: str, findings: list[Finding], starts: list[int]) -> list[Finding]:
    """Step 6: "minimal bleeding" during the procedure, or bleeding beside "hemostasis", is not a symptom."""
    bounds = [*starts, len(text)]
    procedure_sentences: dict[int, bool] = {}  # read each sentence once, however many findings it holds
    kept = []
    for finding in findings:
        if finding.label == "bleeding":
            sentence = sentence_index(starts, finding.start)
            before = text[max(bounds[sentence], finding.start - 30) : finding.start]
            if sentence not in procedure_sentences:
                procedure_sentences[sentence] = bool(
                    _PROCEDURE_SENTENCE.search(text[bounds[sentence] : bounds[sentence + 1]])
                )
            if _PROCEDURAL_BLEEDING.search(before) or procedure_sentences[sentence]:
                continue
        kept.append(finding)
    return kept


def add_irritation_causes(text: str, findings: list[Finding], starts: list[int]) -> list[Finding]:
    """Step 5: each irritation gets the kind of irritant named in it, or else in its sentence."""
    bounds = [*starts, len(text)]
    sentence_causes: dict[int, str | None] = {}  # read each sentence once, however many findings it holds
    result = []
    for finding in findings:
        if finding.label == "irritation":
            cause = irritant_kind(finding.text)
            if cause is None:
                sentence = sentence_index(starts, finding.start)
                if sentence not in sentence_causes:
                    sentence_causes[sentence] = irritant_kind(
                        _without_procedure_words(text[bounds[sentence] : bounds[sentence + 1]])
                    )
                cause = sentence_causes[sentence]
            if cause is not None:
                finding = Finding(
                    finding.label, finding.start, finding.end, finding.text, finding.context,
                    {**finding.values, "cause": cause},
                )  # fmt: skip
        result.append(finding)
    return result


_PROCEDURE_SHAVE = re.compile(r"\bshave\s+(?:removal|biopsy|excision)\b", re.IGNORECASE)


def _without_procedure_words(sentence: str) -> str:
    """A shave *removal* is a procedure, not shaving: never read it as the cause of irritation."""
    return _PROCEDURE_SHAVE.sub(" ", sentence)


#: Severity and frequency words next to a finding, by what they mean (findings.WEAK_QUALIFIERS, STRONG_QUALIFIERS).
QUALIFIER_WORDS = {
    "mild": "mild", "mildly": "mild", "slight": "slight", "slightly": "slight", "minimal": "mild",
    "minimally": "mild", "occasional": "occasional", "occasionally": "occasional", "sometimes": "occasional",
    "intermittent": "intermittent", "intermittently": "intermittent", "severe": "severe", "severely": "severe",
    "intense": "intense", "intensely": "intense", "extreme": "severe", "extremely": "severe",
    "constant": "constant", "constantly": "constant", "persistent": "constant", "persistently": "constant",
}  # fmt: skip
_QUALIFIER = "|".join(sorted(QUALIFIER_WORDS, key=len, reverse=True))
#: Up to two qualifiers just before ("slightly pruritic", "mild, intermittent itching") ...
_QUALIFIER_BEFORE = re.compile(
    rf"\b((?:{_QUALIFIER})(?:,?\s+(?:and\s+)?(?:{_QUALIFIER}))?)\s+(?:\w+\s+)?$", re.IGNORECASE
)
_QUALIFIER_WORD = re.compile(rf"\b(?:{_QUALIFIER})\b", re.IGNORECASE)
#: ... or just after ("itches constantly", "pruritic at times", "bleeds on occasion").
_QUALIFIER_AFTER = re.compile(
    rf"^\s+(?:(?:{_QUALIFIER})\b|(?:at\s+times|on\s+occasion|from\s+time\s+to\s+time|now\s+and\s+then)\b)",
    re.IGNORECASE,
)
_AT_TIMES = re.compile(r"at\s+times|on\s+occasion|from\s+time\s+to\s+time|now\s+and\s+then", re.IGNORECASE)


def add_qualifiers(text: str, findings: list[Finding], starts: list[int]) -> list[Finding]:
    """Step 7: the severity and frequency words on each indicator, as ``values["qualifiers"]`` (sorted).

    Read within the finding's sentence: up to two words before it and one phrase after it.

    >>> [f.values["qualifiers"] for f in analyze_note("SK, slightly pruritic at times.")]
    [['occasional', 'slight']]
    """
    bounds = [*starts, len(text)]
    result = []
    for finding in findings:
        if finding.label in INDICATOR_LABELS:
            sentence = sentence_index(starts, finding.start)
            before = text[max(bounds[sentence], finding.start - 40) : finding.start]
            after = text[finding.end : min(bounds[sentence + 1], finding.end + 30)]
            words: set[str] = set()
            if match := _QUALIFIER_BEFORE.search(before):
                words.update(QUALIFIER_WORDS[word.lower()] for word in _QUALIFIER_WORD.findall(match.group(1)))
            if match := _QUALIFIER_AFTER.match(after):
                phrase = match.group(0).strip().lower()
                words.add("occasional" if _AT_TIMES.fullmatch(phrase) else QUALIFIER_WORDS[phrase])
            if words:
                finding = Finding(
                    finding.label, finding.start, finding.end, finding.text, finding.context,
                    {**finding.values, "qualifiers": sorted(words)},
                )  # fmt: skip
        result.append(finding)
    return result


_VASCULAR_PROGRESSION = re.compile(
    r"\b(?:hypertroph\w*|nodul\w*|blebs?|cobblestone\w*|thicken\w*|raised|elevated|papul\w*"
    r"|soft[- ]tissue\s+overgrowth)",
    re.IGNORECASE,
)


def add_vascular_progression(text: str, findings: list[Finding], starts: list[int]) -> list[Finding]:
    """Step 8: a vascular malformation whose sentence says it has hypertrophy or nodularity has progressed [S127]."""
    bounds = [*starts, len(text)]
    progressed: dict[int, bool] = {}  # read each sentence once, however many findings it holds
    result = []
    for finding in findings:
        if finding.label == "vascular_malformation":
            sentence = sentence_index(starts, finding.start)
            if sentence not in progressed:
                progressed[sentence] = bool(_VASCULAR_PROGRESSION.search(text[bounds[sentence] : bounds[sentence + 1]]))
            if progressed[sentence]:
                finding = Finding(
                    finding.label, finding.start, finding.end, finding.text, finding.context,
                    {**finding.values, "progression": True},
                )  # fmt: skip
        result.append(finding)
    return result
