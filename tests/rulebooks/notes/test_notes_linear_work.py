"""Note analysis does work in proportion to the note: counted, not timed, so the test cannot flake.

The work counted is what the analysis runs in Python: the lines of rulebooks/notes (ConText
scopes included, rulebooks/notes/context_scopes.py) and of medspaCy's ConText graph (run only
as a fallback), and the characters handed to rulebooks.notes' regular expressions (every
compiled pattern of its modules goes through a counting stand-in, charged the whole stretch of
text it is given). On the seeded adversarial notes, run-on sentences included, ten times the
text may cost at most 1.3 times ten times the work. Not counted: spaCy's tokenizer and
matchers (compiled, linear). The last test shows the counter catching the quadratic steps
these replaced.
"""

from __future__ import annotations

import dataclasses
import re
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from types import FrameType, ModuleType
from typing import Any
from unittest.mock import patch

import pytest
from medspacy import context as medspacy_context

from benchmarks.adversarial_notes import KINDS, adversarial_note
from rulebooks.models.encounter import Encounter
from rulebooks.notes import (
    check_documentation,
    classify,
    extract,
    lexicon,
    mapping,
    pipeline,
    prior_auth,
    quantities,
    sites,
)
from rulebooks.notes.lexicon import Term
from tests.rulebooks.notes import test_notes_linear_equivalence
from tests.rulebooks.notes.test_notes_linear_equivalence import PLAIN_STEPS, plain_keep_longest

NOTES_DIR = str(Path(extract.__file__).resolve().parent)
MEDSPACY_CONTEXT_DIR = str(Path(medspacy_context.__file__).resolve().parent)
#: The plain steps the equivalence test keeps are counted too, when patched in.
COUNTED_FILES = (NOTES_DIR, MEDSPACY_CONTEXT_DIR, str(Path(test_notes_linear_equivalence.__file__).resolve()))
MODULES: tuple[ModuleType, ...] = (
    extract, quantities, prior_auth, sites, lexicon, mapping, pipeline, classify, test_notes_linear_equivalence
)  # fmt: skip
SMALL, LARGE = 1_500, 15_000
LINEAR_SLACK = 1.3


class Work:
    """Lines run in rulebooks/notes and characters given to its patterns."""

    def __init__(self) -> None:
        self.lines = 0
        self.characters = 0

    @property
    def total(self) -> int:
        return self.lines + self.characters


class CountingPattern:
    """A compiled pattern that charges the stretch of text it is asked to scan to ``work``."""

    def __init__(self, pattern: re.Pattern[str], work: Work) -> None:
        self._pattern = pattern
        self._work = work
        self.pattern = pattern.pattern
        self.flags = pattern.flags
        self.groupindex = pattern.groupindex

    def __hash__(self) -> int:
        return hash(self._pattern)

    def __eq__(self, other: object) -> bool:
        return self._pattern == getattr(other, "_pattern", other)

    def _charge(self, string: str, pos: int = 0, endpos: int | None = None) -> None:
        end = len(string) if endpos is None else min(endpos, len(string))
        self._work.characters += max(0, end - pos)

    def search(self, string: str, *args: int) -> Any:
        self._charge(string, *args)
        return self._pattern.search(string, *args)

    def match(self, string: str, *args: int) -> Any:
        self._charge(string, *args)
        return self._pattern.match(string, *args)

    def finditer(self, string: str, *args: int) -> Any:
        self._charge(string, *args)
        return self._pattern.finditer(string, *args)

    def sub(self, replacement: str, string: str, count: int = 0) -> str:
        self._charge(string)
        return self._pattern.sub(replacement, string, count)


def counting(value: Any, work: Work) -> Any:
    """``value`` with every compiled pattern inside it (tuples, lists, dicts, Terms) counting."""
    if isinstance(value, re.Pattern):
        return CountingPattern(value, work)
    if isinstance(value, Term):
        return dataclasses.replace(value, pattern=CountingPattern(value.pattern, work))
    if isinstance(value, tuple):
        return tuple(counting(item, work) for item in value)
    if isinstance(value, list):
        return [counting(item, work) for item in value]
    if isinstance(value, dict):
        return {key: counting(item, work) for key, item in value.items()}
    return value


def holds_pattern(value: Any) -> bool:
    if isinstance(value, re.Pattern | Term):
        return True
    if isinstance(value, tuple | list):
        return any(holds_pattern(item) for item in value)
    if isinstance(value, dict):
        return any(holds_pattern(item) for item in value.values())
    return False


@contextmanager
def counted(work: Work) -> Iterator[None]:
    """Count lines of rulebooks/notes (settrace) and pattern scans (patched module globals)."""

    def local(frame: FrameType, event: str, arg: Any) -> Any:
        if event == "line":
            work.lines += 1
        return local

    def global_trace(frame: FrameType, event: str, arg: Any) -> Any:
        return local if frame.f_code.co_filename.startswith(COUNTED_FILES) else None

    with ExitStack() as stack:
        for module in MODULES:
            for name, value in list(vars(module).items()):
                if holds_pattern(value):
                    stack.enter_context(patch.object(module, name, counting(value, work)))
        previous = sys.gettrace()
        sys.settrace(global_trace)
        try:
            yield
        finally:
            sys.settrace(previous)


ENCOUNTER = {
    "external_id": "e", "date_of_service": "2026-05-04", "provider": {"npi": "1234567893"}, "patient": {"id": "p"},
    "coverage": {"payer": "X", "plan_type": "commercial"}, "diagnoses": ["L82.1", "D22.5"],
    "services": [
        {"id": "s1", "kind": "shave", "site": "left cheek", "diagnoses": ["L82.1"]},
        {"id": "s2", "kind": "shave", "site": "back", "diagnoses": ["D22.5"]},
        {"id": "s3", "kind": "destruction", "diagnoses": ["L82.1"]},
    ],
}  # fmt: skip


def work_of(kind: str, length: int) -> Work:
    encounter = Encounter.model_validate({**ENCOUNTER, "note": adversarial_note(kind, length)})
    check_documentation(encounter.model_copy(update={"note": "warm-up: no bleeding."}))  # builds, caches: once
    work = Work()
    with counted(work):
        check_documentation(encounter)
    return work


def test_the_counter_sees_the_patterns_and_the_lines() -> None:
    work = work_of("mixed", SMALL)
    assert work.characters > SMALL * 10  # every lexicon term alone reads the note once or more
    assert work.lines > 1_000


@pytest.mark.parametrize("kind", KINDS)
def test_ten_times_the_note_costs_about_ten_times_the_work(kind: str) -> None:
    small, large = work_of(kind, SMALL), work_of(kind, LARGE)
    ratio = large.total / small.total
    assert ratio <= LINEAR_SLACK * LARGE / SMALL, (
        f"{kind}: {ratio:.1f}x the work for {LARGE // SMALL}x the text "
        f"(lines {small.lines} -> {large.lines}, characters scanned {small.characters} -> {large.characters})"
    )


@pytest.mark.parametrize(
    ("kind", "module", "name", "plain"),
    [
        pytest.param("measurements_run_on", extract, "keep_longest", plain_keep_longest, id="overlap check"),
        pytest.param("drugs_run_on", *PLAIN_STEPS[1], id="clause of each drug"),
        pytest.param("measurements_run_on", *PLAIN_STEPS[5], id="sentence before each measurement"),
        pytest.param(
            "negations_run_on", pipeline, "sentence_categories", pipeline.medspacy_categories, id="medspaCy ConText"
        ),
    ],
)
def test_the_counter_catches_the_quadratic_steps_these_replaced(
    kind: str, module: ModuleType, name: str, plain: Any
) -> None:
    with patch.object(module, name, plain):
        small, large = work_of(kind, SMALL), work_of(kind, LARGE)
    assert large.total / small.total > LINEAR_SLACK * LARGE / SMALL
