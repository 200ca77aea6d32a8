"""The pure functions the CLI and the GraphQL layer call, for any vocabulary.

Each takes rulebook text and returns JSON-able data: diagnostics in the one LSP-style
format, canonical text, test results with coverage. Nothing here touches a database, the
network or the clock.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from dsl import ast
from dsl.checker import CheckResult, check
from dsl.compiler import Program, compile_rulebook
from dsl.content_hash import content_hash
from dsl.diagnostics import Diagnostic, LineIndex, render
from dsl.extends import Books, inherit
from dsl.formatter import format_rulebook
from dsl.parser import parse
from dsl.testing import Harness, TestReport, plain_harness
from dsl.testing import run_tests as run_checked_tests
from dsl.vocabulary import Vocabulary


@dataclass(frozen=True)
class Build:
    """A rulebook taken as far as it goes: parsed, checked and, when error-free, compiled."""

    text: str
    rulebook: ast.Rulebook
    diagnostics: tuple[Diagnostic, ...]
    checked: CheckResult | None
    program: Program | None
    version: str

    @property
    def ok(self) -> bool:
        return self.program is not None


def build(text: str, vocabulary: Vocabulary, extended: Books | None = None) -> Build:
    """Parse, check and, when error-free, compile.

    `extended` gives the books an `extends` line may name (`dsl.extends`): their value sets are
    the book's too, and a name none of them has is an error. Without it, nothing is inherited.

    The cyclic garbage collector is paused meanwhile: a large build allocates hundreds of
    thousands of small acyclic objects, and collections in the middle of it cost a sixth of
    the time while freeing nothing.
    """
    with _collector_paused():
        return _build(text, vocabulary, extended)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic collector, then hand what survived to its oldest generation unscanned.

    Re-enabling alone would not save the time: the first allocation after it triggers a
    collection of the youngest generation, which now holds every object of the build, and
    scanning them all costs as much as the collections skipped. Freezing and unfreezing moves
    them to the oldest generation without a scan (skipped when someone else keeps objects frozen,
    say a server before it forks, as unfreezing would undo that).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if gc.get_freeze_count() == 0:
            gc.freeze()
            gc.unfreeze()
        if was_enabled:
            gc.enable()


def _build(text: str, vocabulary: Vocabulary, extended: Books | None) -> Build:
    parsed = parse(text)
    version = content_hash(parsed.rulebook)
    inheritance = inherit(parsed.rulebook, extended)
    if not parsed.ok:
        # Check what did parse too, so one run shows every problem; but never compile.
        checked = check(parsed.rulebook, vocabulary, inheritance)
        diagnostics = _sorted(list(parsed.diagnostics) + checked.diagnostics)
        return Build(text, parsed.rulebook, diagnostics, None, None, version)
    checked = check(parsed.rulebook, vocabulary, inheritance)
    program = compile_rulebook(checked, version) if checked.ok else None
    return Build(text, parsed.rulebook, _sorted(checked.diagnostics), checked, program, version)


def check_text(text: str, vocabulary: Vocabulary, extended: Books | None = None) -> list[dict[str, Any]]:
    """Every diagnostic of a rulebook, errors and warnings, as LSP-style JSON."""
    return [d.to_json() for d in build(text, vocabulary, extended).diagnostics]


def render_diagnostics(
    text: str, diagnostics: tuple[Diagnostic, ...] | list[Diagnostic], filename: str = "<rulebook>"
) -> str:
    index = LineIndex(text)
    return "\n".join(render(d, index, filename) for d in diagnostics)


@dataclass(frozen=True)
class Formatted:
    text: str | None
    diagnostics: tuple[dict[str, Any], ...]
    changed: bool


def format_text(text: str) -> Formatted:
    """The canonical text, or the syntax errors that stop formatting (nothing is lost)."""
    parsed = parse(text)
    if not parsed.ok:
        return Formatted(None, tuple(d.to_json() for d in parsed.diagnostics), False)
    formatted = format_rulebook(parsed.rulebook)
    return Formatted(formatted, (), formatted != text)


def test_text(
    text: str, vocabulary: Vocabulary, harness: Harness = plain_harness, extended: Books | None = None
) -> dict[str, Any]:
    """Run a rulebook's own tests: results with expected vs actual, fired rules, coverage."""
    built = build(text, vocabulary, extended)
    if built.program is None or built.checked is None:
        return {
            "passed": False,
            "diagnostics": [d.to_json() for d in built.diagnostics],
            "results": [],
            "coverage": None,
        }
    report: TestReport = run_checked_tests(built.checked, built.program, harness)
    return {**report.to_json(), "diagnostics": [d.to_json() for d in built.diagnostics]}


def _sorted(diagnostics: list[Diagnostic]) -> tuple[Diagnostic, ...]:
    return tuple(sorted(diagnostics, key=lambda d: (d.span.start, d.severity != "error", d.code)))
