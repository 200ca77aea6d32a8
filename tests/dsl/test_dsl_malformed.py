"""Malformed rulebooks: every diagnostic, rendered with its excerpt and caret, snapshot-tested.

The snapshots catch any change; the hand-checked cases below pin the line and column that
matter, because a snapshot is not a substitute for knowing the right answer.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dsl.api import build, render_diagnostics
from rulebooks.vocabulary import dermatology_vocabulary

MALFORMED = sorted((Path(__file__).parent / "malformed").glob("*.rules"))


def diagnostics_of(path: Path) -> tuple[str, list[dict]]:
    text = path.read_text(encoding="utf-8")
    built = build(text, dermatology_vocabulary())
    return text, [d.to_json() for d in built.diagnostics]


def test_there_are_at_least_thirty_malformed_rulebooks() -> None:
    assert len(MALFORMED) >= 30


@pytest.mark.parametrize("path", MALFORMED, ids=[p.stem for p in MALFORMED])
def test_diagnostics_snapshot(path: Path, snapshot) -> None:
    text, found = diagnostics_of(path)
    assert found, f"{path.name} should produce at least one diagnostic"
    built = build(text, dermatology_vocabulary())
    assert render_diagnostics(text, built.diagnostics, path.name) == snapshot(name="rendered")
    assert found == snapshot(name="json")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param(
            "01_typo_in_field",
            [(3, 8, "name.unknown", "did you mean `service.count`?")],
            id="unknown field with did-you-mean",
        ),
        pytest.param(
            "02_typo_in_keyword", [(3, 3, "syntax.unexpected_token", "did you mean `when`?")], id="misspelt keyword"
        ),
        pytest.param(
            "09_unclosed_test_block",
            [(1, 17, "syntax.unclosed_block", "add `}` on a line of its own")],
            id="unclosed block points at its brace",
        ),
        pytest.param(
            "22_unknown_enum_symbol",
            [(3, 23, "value.unknown_symbol", "did you mean `destruction`?")],
            id="unknown symbol",
        ),
        pytest.param(
            "31_bad_date",
            [(2, 13, "value.bad_date", "write the date as year-month-day, e.g. 2026-01-01")],
            id="impossible date",
        ),
        pytest.param(
            "35_several_errors_no_cascade",
            [
                (3, 23, "syntax.unexpected_token", None),
                (17, 17, "syntax.unexpected_token", None),
                (21, 8, "name.unknown", "did you mean `service.site`?"),
            ],
            id="three mistakes, three diagnostics, no cascade",
        ),
        pytest.param(
            "46_valueset_defined_by_itself",
            [
                (
                    1,
                    20,
                    "valueset.cycle",
                    "define it by its codes, ranges or symbols, or by value sets that do not lead back to it",
                ),
                (
                    3,
                    36,
                    "valueset.cycle",
                    "define it by its codes, ranges or symbols, or by value sets that do not lead back to it",
                ),
            ],
            id="value sets defined through themselves point at the name that leads back",
        ),
        pytest.param(
            "47_nested_too_deeply",
            [
                (3, 318, "syntax.too_deep", "split it: name a part as a value set, or move it into a rule of its own"),
                (9, 8, "name.unknown", "did you mean `service.count`?"),
            ],
            id="a block nested too deep points at the 63rd negation, and the next block is still checked",
        ),
    ],
)
def test_key_positions_by_hand(name: str, expected: list[tuple[int, int, str, str | None]]) -> None:
    _, found = diagnostics_of(Path(__file__).parent / "malformed" / f"{name}.rules")
    errors = [(d["line"], d["column"], d["code"], d["hint"]) for d in found if d["severity"] == "error"]
    assert errors == expected


def test_json_positions_agree_with_each_other() -> None:
    text, found = diagnostics_of(Path(__file__).parent / "malformed" / "01_typo_in_field.rules")
    (diagnostic,) = found
    assert diagnostic["range"]["start"] == {"line": 2, "character": 7}
    assert text[diagnostic["start"] : diagnostic["end"]] == "service.cuont"
