"""The medspaCy pipeline, built once per process on first use.

Why not ``medspacy.load()``: its PyRuSH sentence splitter costs about 120 ms on a
2,000-character note (and logs every sentence at DEBUG), and its target matcher is slower
than our regular expressions. We keep a blank English pipeline with medspaCy's clinical
tokenizer, set sentence starts from a small splitter of our own (which also breaks at ";"
and line breaks, as derm notes are lists), and run medspaCy's ConText over our targets as a
span group. Nothing is downloaded; nothing is built at import.
"""

from __future__ import annotations

import re
import threading
from bisect import bisect_right
from functools import lru_cache
from typing import Any

from rulebooks.notes.context_rules import RULES
from rulebooks.notes.context_scopes import Modifier, ScopeGraph, supported, target_categories

TARGET_GROUP = "cutis_targets"
_lock = threading.Lock()

_ABBREVIATIONS = re.compile(r"\b(?:dr|vs|e\.g|i\.e|approx|pt|pts|mr|mrs|ms|fig|etc)\.$", re.IGNORECASE)
_BOUNDARY = re.compile(r"[.!?;]+(?=\s|$)|\n")


def sentence_starts(text: str) -> list[int]:
    """Character offsets where a new sentence starts ("No itching. Bleeds." -> [0, 12]).

    >>> sentence_starts("No itching. Bleeds; pain")
    [0, 12, 20]
    """
    starts = [0]
    for match in _BOUNDARY.finditer(text):
        if match.group(0).startswith(".") and _ABBREVIATIONS.search(
            text[max(0, match.start() - 8) : match.start() + 1]
        ):
            continue
        position = match.end()
        while position < len(text) and text[position].isspace():
            position += 1
        if position < len(text) and position > starts[-1]:
            starts.append(position)
    return starts


def _silence_pyrush() -> None:
    """PyRuSH logs every sentence at DEBUG through loguru; we never want that (PHI in logs)."""
    try:
        from loguru import logger

        logger.disable("PyRuSH")
    except ImportError:  # pragma: no cover - loguru comes with medspacy
        pass


@lru_cache(maxsize=1)
def build_pipeline() -> Any:
    """The shared pipeline: tokenizer + ConText with our rules. Immutable once built, so safe to share."""
    with _lock:
        _silence_pyrush()
        import medspacy  # noqa: F401 - registers the medspacy_context factory
        import spacy
        from medspacy.context import ConTextRule
        from medspacy.custom_tokenizer import create_medspacy_tokenizer

        nlp = spacy.blank("en")
        nlp.tokenizer = create_medspacy_tokenizer(nlp)
        context: Any = nlp.add_pipe(
            "medspacy_context",
            config={
                "rules": None,
                "span_attrs": None,
                "input_span_type": "group",
                "span_group_name": TARGET_GROUP,
                "prune_on_target_overlap": False,
            },
        )
        context.add([_rule(ConTextRule, *rule) for rule in RULES])
        return nlp


def _rule(rule_class: Any, phrase: str, category: str, direction: str, options: dict[str, Any]) -> Any:
    return rule_class(phrase, category, direction=direction, **options)


def sentence_index(bounds: list[int], offset: int) -> int:
    """The index of the sentence (by its start offsets ``bounds``) that holds ``offset``."""
    return max(0, bisect_right(bounds, offset) - 1)


def run_context(text: str, targets: list[tuple[int, int, str]], starts: list[int] | None = None) -> list[set[str]]:
    """ConText categories for each target ``(start, end, LABEL)``, in the order given.

    ConText scopes never cross a sentence, so each sentence holding a target is its own small
    Doc: the same answer as one Doc for the note, without ConText's targets x modifiers cost
    over the whole note (three times slower on a 2,000-character note; chunks of a few
    sentences were slower too). ``starts`` are the note's sentence starts, if already known.
    Within a sentence, scopes are worked out by `context_scopes` (the same answer as medspaCy's
    component, in time that grows with the sentence, not its square).
    """
    nlp = build_pipeline()
    starts = starts if starts is not None else sentence_starts(text)
    bounds = [*starts, len(text)]
    by_sentence: dict[int, list[int]] = {}
    for index, (start, _end, _label) in enumerate(targets):
        by_sentence.setdefault(sentence_index(starts, start), []).append(index)
    categories: list[set[str]] = [set() for _ in targets]
    for sentence, indexes in by_sentence.items():
        offset = bounds[sentence]
        end = max(bounds[sentence + 1], *(targets[i][1] for i in indexes))
        doc = nlp.make_doc(text[offset:end])
        # One sentence: marking one token "not a start" sets the annotation; unmarked tokens continue it.
        doc[len(doc) - 1 if len(doc) > 1 else 0].is_sent_start = len(doc) == 1
        spans = [
            doc.char_span(targets[i][0] - offset, targets[i][1] - offset, label=targets[i][2], alignment_mode="expand")
            for i in indexes
        ]
        found = [(index, span) for index, span in zip(indexes, spans, strict=True) if span is not None]
        found_categories = sentence_categories(doc, [span for _, span in found])
        for (index, _span), span_categories in zip(found, found_categories, strict=True):
            categories[index] = span_categories
    return categories


def sentence_categories(doc: Any, spans: list[Any]) -> list[set[str]]:
    """ConText categories of each target span of a one-sentence Doc, by `context_scopes`.

    Spans with the same characters share their ConText modifiers, as in medspaCy (spaCy keys a
    span's extension values by its characters). Falls back to medspaCy's component when the
    matches are not what `context_scopes` supports.
    """
    matcher = build_context_matcher()
    matches = matcher(doc)
    rules = [matcher.rule_map[doc.vocab[match_id].text] for match_id, _start, _end in matches]
    if not supported(rules, [(start, end) for _id, start, end in matches]):
        return medspacy_categories(doc, spans)
    modifiers = [
        Modifier.of(rule, start, end, len(doc)) for rule, (_id, start, end) in zip(rules, matches, strict=True)
    ]
    ScopeGraph(modifiers).update_scopes()
    per_span = target_categories(modifiers, [(span.start, span.end, span.label_.upper()) for span in spans])
    shared: dict[tuple[int, int], set[str]] = {}
    for span, span_categories in zip(spans, per_span, strict=True):
        shared.setdefault((span.start_char, span.end_char), set()).update(span_categories)
    return [set(shared[span.start_char, span.end_char]) for span in spans]


def medspacy_categories(doc: Any, spans: list[Any]) -> list[set[str]]:
    """ConText categories of each target span of a one-sentence Doc, by medspaCy's own component."""
    doc.spans[TARGET_GROUP] = spans
    build_pipeline().get_pipe("medspacy_context")(doc)
    return [{modifier.category for modifier in span._.modifiers} for span in spans]


@lru_cache(maxsize=1)
def build_context_matcher() -> Any:
    """medspaCy's matcher with the ConText component's rules, in its order (so the same rule ids and matches)."""
    from medspacy.common.medspacy_matcher import MedspacyMatcher

    nlp = build_pipeline()
    with _lock:
        matcher = MedspacyMatcher(nlp, name="medspacy_context", phrase_matcher_attr="LOWER", prune=True)
        matcher.add(nlp.get_pipe("medspacy_context").rules)
    return matcher
