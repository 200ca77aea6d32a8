"""What publishing a rulebook needs of the language, as pure functions for the CPU pool: a draft
checked as a version would freeze it, and its own tests run in the stack it would join.

The server (`server.rulebook_versions`) keeps the lifecycle; nothing here reads a database.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from dsl.api import build, render_diagnostics
from dsl.content_hash import content_hash
from dsl.formatter import format_rulebook
from dsl.parser import parse
from rulebooks.clinic_stack import BookSource, StackSources
from rulebooks.extended import books_of, library_rulebooks
from rulebooks.vocabulary import dermatology_vocabulary


@dataclass(frozen=True)
class Pinned:
    """A book an `extends` line names, as the version pins it: the clinic's published version of
    that name when there is one (`version_id`), else the shipped library's."""

    name: str
    version: str
    text: str
    version_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "version_id": self.version_id, "text": self.text}


@dataclass(frozen=True)
class Prepared:
    """A draft as a version would freeze it, or the errors that keep it a draft."""

    errors: list[str] = field(default_factory=list)
    name: str = ""
    canonical_text: str = ""
    content_hash: str = ""
    payer: str | None = None
    effective_from: dt.date | None = None
    effective_until: dt.date | None = None
    extends: list[Pinned] = field(default_factory=list)


def prepare(text: str, layer: str, payer_code: str | None, published: dict[str, tuple[str, str]]) -> Prepared:
    """Check a draft as a version of a `layer` book (of `payer_code`, for a payer book) would be.

    `published` gives the clinic's published books by name (canonical text, version id); an
    `extends` line names one of them, else a shipped library book, and the version pins its text.
    """
    parsed = parse(text)
    if not parsed.ok:
        return Prepared(errors=[render_diagnostics(text, [d for d in parsed.diagnostics if d.severity == "error"])])
    header = parsed.rulebook.header
    if header is None:
        return Prepared(errors=['a rulebook starts with its header: rulebook "Name"'])
    library = library_rulebooks()
    pins: list[Pinned] = []
    for name in header.extends:
        if name in published:
            pinned_text, version_id = published[name]
            pins.append(Pinned(name, content_hash(parse(pinned_text).rulebook), pinned_text, version_id))
        elif name in library:
            pins.append(Pinned(name, content_hash(library[name]), format_rulebook(library[name])))
        else:
            return Prepared(errors=[f"line 2: `extends {name!r}`: no published rulebook or template has that name"])
    canonical = format_rulebook(parsed.rulebook)
    books = books_of(tuple(pin.text for pin in pins)) if pins else None
    built = build(canonical, dermatology_vocabulary(), books)
    errors = [d for d in built.diagnostics if d.severity == "error"]
    if built.program is None or errors:
        return Prepared(errors=[render_diagnostics(canonical, errors)])
    problems = _layer_problems(layer, payer_code, header.payer)
    if problems:
        return Prepared(errors=problems)
    return Prepared(
        name=header.name,
        canonical_text=canonical,
        content_hash=content_hash(parsed.rulebook),
        payer=header.payer.upper() if header.payer else None,
        effective_from=dt.date.fromisoformat(header.effective_from) if header.effective_from else None,
        effective_until=dt.date.fromisoformat(header.effective_until) if header.effective_until else None,
        extends=pins,
    )


def _layer_problems(layer: str, payer_code: str | None, header_payer: str | None) -> list[str]:
    if layer == "payer" and not header_payer:
        return ['line 1: a payer book names its payer in its header: rulebook "Name" for payer CODE']
    if layer == "payer" and payer_code and header_payer and header_payer.upper() != payer_code.upper():
        return [f"line 1: this rulebook is {payer_code}'s, but its header says `for payer {header_payer}`"]
    if layer != "payer" and header_payer:
        return [f"line 1: a {layer} book applies to every payer; remove `for payer {header_payer}`"]
    return []


def test_failures(book: BookSource, around: StackSources) -> list[str]:
    """The book's own tests run in the stack it joins (`around` with it in its layer): one line per
    failing test, empty when all pass."""
    from rulebooks.authoring import run_tests

    report = run_tests(book.text, around=around.with_book(book))
    if report["coverage"] is None:
        return ["the rulebook does not build: " + "; ".join(d["message"] for d in report["diagnostics"])]
    failures = []
    for result in report["results"]:
        if not result["passed"]:
            broken = [e["message"] for e in result["expectations"] if not e["passed"]]
            example = f" (example {result['example']})" if result.get("example") else ""
            failures.append(f"line {result['line']}: test {result['name']!r}{example}: " + "; ".join(broken))
    return failures


__all__ = ["Pinned", "Prepared", "prepare", "test_failures"]
