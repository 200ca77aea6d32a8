"""Value sets inherited through `extends` (`dsl.extends`), with the books given as a mapping.

A book sees the value sets of the books it extends, transitively; its own set of the same name
shadows an inherited one; an inherited set means what its own book says (lexical scope). An
`extends` naming no book, or going round in a circle, is an error at the name in the line.
"""

from __future__ import annotations

import pytest

from dsl import ast
from dsl.api import build
from dsl.parser import parse
from dsl.runtime import run_rules
from rulebooks.vocabulary import dermatology_vocabulary
from tests.dsl.test_dsl_fast_parse import assert_agrees_on_rulebook

BASE = """rulebook "Base"

valueset benign = [L82.0, L82.1, D22.*]
valueset biologics = [J0517] + more_biologics
valueset more_biologics = [J3357]
valueset removals = [shave, excision, destruction]
"""
MIDDLE = """rulebook "Middle"
  extends "Base"

valueset more_biologics = [J9999]
valueset injectables = biologics + [96372]
"""


def books(*texts: str) -> dict[str, ast.Rulebook]:
    found: dict[str, ast.Rulebook] = {}
    for text in texts:
        rulebook = parse(text).rulebook
        assert rulebook.header is not None
        found[rulebook.header.name] = rulebook
    return found


LIBRARY = books(BASE, MIDDLE)


def payer(body: str, extends: str = '  extends "Middle"\n', name: str = "Payer") -> str:
    return f'rulebook "{name}"\n{extends}\n{body}'


def rule(condition: str, rule_id: str = "r") -> str:
    return (
        f'rule {rule_id} "{rule_id}"\n  in policy\n  when {condition}\n  then\n    flag {rule_id.replace("-", "_")}\n\n'
    )


def diagnostics(text: str, library: dict[str, ast.Rulebook] | None = LIBRARY) -> list[tuple]:
    built = build(text, dermatology_vocabulary(), library)
    return [(d.span.line, d.span.column, d.code, d.message, d.hint) for d in built.diagnostics if d.severity == "error"]


def fired(text: str, facts: dict, library: dict[str, ast.Rulebook] = LIBRARY) -> list[str]:
    built = build(text, dermatology_vocabulary(), library)
    assert built.program is not None, built.diagnostics
    return run_rules(built.program.rules, facts, explain=True).fired()


def line(code: str) -> dict:
    return {"service": {"kind": "shave", "diagnoses": []}, "lines": [{"code": code, "units": 1, "modifiers": []}]}


# ---- what a book sees ---------------------------------------------------------------------------


def test_a_book_uses_the_sets_of_the_book_it_extends_and_of_that_books_parents() -> None:
    text = payer(
        rule("service.diagnoses any in benign and service.kind in removals", "benign-removal")
        + rule("any line in lines: line.code in injectables", "injection")
    )
    assert diagnostics(text) == []
    facts = {"service": {"kind": "shave", "diagnoses": ["D225"]}, "lines": []}
    assert fired(text, facts) == ["benign-removal"]


def test_an_inherited_set_means_what_its_own_book_says() -> None:
    """Middle's `injectables` is Base's `biologics` (built from Base's `more_biologics`, J3357),
    not from Middle's own `more_biologics` (J9999), nor from one the payer defines."""
    text = payer("valueset more_biologics = [J1234]\n\n" + rule("any line in lines: line.code in injectables"))
    assert [code for code in ("J0517", "J3357", "J9999", "J1234", "96372") if fired(text, line(code))] == [
        "J0517",
        "J3357",
        "96372",
    ]


def test_a_books_own_set_shadows_an_inherited_one_of_the_same_name() -> None:
    text = payer("valueset benign = [L57.0]\n\n" + rule("service.diagnoses any in benign"))
    assert fired(text, {"service": {"diagnoses": ["L570"]}, "lines": []}) == ["r"]
    assert fired(text, {"service": {"diagnoses": ["L820"]}, "lines": []}) == []


def test_the_nearest_books_definition_wins() -> None:
    """Middle's own `more_biologics` shadows Base's for the books that extend Middle."""
    text = payer(rule("any line in lines: line.code in more_biologics"))
    assert [code for code in ("J9999", "J3357") if fired(text, line(code))] == ["J9999"]


def test_of_two_books_extended_the_later_extends_line_wins() -> None:
    first = 'rulebook "First"\n\nvalueset drugs = [J0517]\n'
    second = 'rulebook "Second"\n\nvalueset drugs = [J3357]\n'
    library = books(first, second)
    text = payer(rule("any line in lines: line.code in drugs"), '  extends "First"\n  extends "Second"\n')
    assert fired(text, line("J3357"), library) == ["r"]
    assert fired(text, line("J0517"), library) == []


def test_a_local_set_may_be_built_from_an_inherited_one() -> None:
    text = payer("valueset all_drugs = injectables + [J3301]\n\n" + rule("any line in lines: line.code in all_drugs"))
    assert [code for code in ("J0517", "J3301", "96372", "J9999") if fired(text, line(code))] == [
        "J0517",
        "J3301",
        "96372",
    ]


# ---- errors -------------------------------------------------------------------------------------


def test_without_the_extended_books_an_inherited_name_is_unknown() -> None:
    text = payer(rule("service.diagnoses any in benign"))
    assert diagnostics(text, None) == [
        (
            6,
            33,
            "name.unknown",
            "`benign` is not a known fact or value set",
            "see the vocabulary (`cutis rules vocabulary`) for the facts rules can read",
        )
    ]


def test_an_inherited_set_that_cannot_stand_where_it_is_used_is_told_at_the_use() -> None:
    text = payer(rule("service.diagnoses any in biologics"))
    assert diagnostics(text) == [
        (
            6,
            33,
            "type.inherited_set",
            'value set `biologics` (from "Base") cannot stand for a list of ICD-10-CM codes here: `J0517` is not '
            "an ICD-10-CM code in the April 2026 code set (did you mean J05.10?)",
            None,
        )
    ]


def test_a_misspelt_inherited_set_gets_a_did_you_mean() -> None:
    text = payer(rule("service.diagnoses any in bengin"))
    assert diagnostics(text)[0][2:] == (
        "name.unknown",
        "`bengin` is not a known fact or value set",
        "did you mean `benign`?",
    )


@pytest.mark.parametrize(
    ("extends", "library", "expected"),
    [
        pytest.param(
            '  extends "Midle"\n',
            LIBRARY,
            (2, 11, "stack.unknown_rulebook", 'no rulebook named "Midle" to extend', 'did you mean "Middle"?'),
            id="a misspelt book",
        ),
        pytest.param(
            '  extends "Middle"\n',
            books(MIDDLE),
            (
                2,
                11,
                "stack.unknown_rulebook",
                '"Middle" extends "Base", and there is no rulebook of that name',
                None,
            ),
            id="a book it extends extends an unknown one",
        ),
        pytest.param(
            '  extends "Payer"\n',
            LIBRARY,
            (
                2,
                11,
                "stack.extends_cycle",
                '`extends` goes round in a circle: "Payer" extends "Payer"',
                "a rulebook cannot extend itself, directly or through another: remove one of these `extends` lines",
            ),
            id="a book extending itself",
        ),
        pytest.param(
            '  effective 2026-01-01\n  extends "Base"\n  extends "Loop"\n',
            {**LIBRARY, **books('rulebook "Loop"\n  extends "Loop two"\n', 'rulebook "Loop two"\n  extends "Payer"\n')},
            (
                4,
                11,
                "stack.extends_cycle",
                '`extends` goes round in a circle: "Payer" extends "Loop" extends "Loop two" extends "Payer"',
                "a rulebook cannot extend itself, directly or through another: remove one of these `extends` lines",
            ),
            id="a circle through two other books, at its own line",
        ),
    ],
)
def test_an_extends_that_cannot_be_followed_is_an_error_at_the_name(extends: str, library: dict, expected: tuple):
    assert diagnostics(payer("", extends), library) == [expected]


def test_a_circle_among_the_extended_books_is_reported_where_the_book_enters_it() -> None:
    library = books('rulebook "A"\n  extends "B"\n', 'rulebook "B"\n  extends "A"\n')
    assert diagnostics(payer("", '  extends "A"\n'), library) == [
        (
            2,
            11,
            "stack.extends_cycle",
            '`extends` goes round in a circle: "A" extends "B" extends "A"',
            "a rulebook cannot extend itself, directly or through another: remove one of these `extends` lines",
        )
    ]


def test_the_name_of_each_extends_line_has_its_own_span_in_both_parsers() -> None:
    text = 'rulebook "P" for payer AETNA\n  extends "Base"\n  extends   "Middle"\n  effective 2026-01-01\n'
    header = parse(text).rulebook.header
    assert header is not None
    assert [(span.line, span.column, span.end_column) for span in header.extends_spans] == [(2, 11, 17), (3, 13, 21)]
    assert_agrees_on_rulebook(text)
