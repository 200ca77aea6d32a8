"""The parser's block caches: a build that reuses blocks from earlier builds says exactly what a
build from cold says, spans and diagnostics included, whatever was edited where."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from dsl import ast
from dsl.api import build
from dsl.parser import clear_caches, parse
from rulebooks.vocabulary import dermatology_vocabulary

LIBRARY = Path(__file__).resolve().parents[2] / "rulebooks" / "library"
AETNA = (LIBRARY / "aetna-commercial.rules").read_text(encoding="utf-8")


def spans_of(node: Any) -> list[tuple[str, ast.Span]]:
    """Every span in an AST, in order, named by the class that holds it."""
    found: list[tuple[str, ast.Span]] = []
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        for field in dataclasses.fields(node):
            value = getattr(node, field.name)
            if isinstance(value, ast.Span):
                found.append((f"{type(node).__name__}.{field.name}", value))
            else:
                found.extend(spans_of(value))
    elif isinstance(node, tuple | list):
        for item in node:
            found.extend(spans_of(item))
    return found


def everything(text: str) -> tuple[Any, ...]:
    built = build(text, dermatology_vocabulary())
    comments = [item.comments for item in built.rulebook.items]
    return (
        built.rulebook,
        spans_of(built.rulebook),
        comments,
        [d.to_json() for d in built.diagnostics],
        built.version,
        built.ok,
    )


def cold(text: str) -> tuple[Any, ...]:
    clear_caches()
    return everything(text)


EDITS = [
    pytest.param(
        lambda t: t.replace("service.count > 10 lesions", "service.cuont > 10 lesions", 1),
        id="a typo that keeps the length",
    ),
    pytest.param(lambda t: t.replace("in policy", "in  policy", 1), id="a character typed near the top"),
    pytest.param(lambda t: t.replace("rule ", "# a new comment\nrule ", 1), id="a line added above every rule"),
    pytest.param(
        lambda t: t + '\nrule extra "Added at the end"\n  in policy\n  then\n    flag extra\n',
        id="a rule added at the end",
    ),
    pytest.param(lambda t: t.replace("then", "thn", 1), id="a syntax error in one block"),
    pytest.param(lambda t: t.replace("| 11 lesions    |", "|", 1), id="an examples row loses a cell"),
    pytest.param(lambda t: t.replace("| 4 lesions     |", "|  |", 1), id="an examples cell left empty"),
]


@pytest.mark.parametrize("edit", EDITS)
def test_an_edit_after_a_warm_build_reads_as_from_cold(edit) -> None:
    edited = edit(AETNA)
    assert edited != AETNA
    cold(AETNA)  # every block of the original is now cached
    warm_result = everything(edited)
    assert warm_result == cold(edited)


def test_the_same_block_at_another_place_gets_its_own_spans() -> None:
    block = 'rule cap "A cap"\n  in policy\n  then\n    flag capped\n'
    first = parse(block).rulebook.items[0]
    moved = parse("\n\n" + block).rulebook.items[0]
    assert first == moved
    assert (first.span.line, moved.span.line) == (1, 3)
