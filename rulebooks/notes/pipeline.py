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
    """
    nlp = build_pipeline()
    context = nlp.get_pipe("medspacy_context")
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
        doc.spans[TARGET_GROUP] = [span for span in spans if span is not None]
        context(doc)
        for index, span in zip(indexes, spans, strict=True):
            if span is not None:
                categories[index] = {modifier.category for modifier in span._.modifiers}
    return categories
