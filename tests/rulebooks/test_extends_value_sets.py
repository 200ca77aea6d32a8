"""A payer book uses the value sets of the library books it extends: in the editor's checks, in its
own tests, in a compiled stack, and with extended books pinned by the caller."""

from __future__ import annotations

import datetime as dt

import pytest

from dsl.parser import parse
from rulebooks import authoring
from rulebooks.engine import code
from rulebooks.extended import library_rulebooks
from rulebooks.models import Coding, Encounter
from rulebooks.stack import RulebookError, Stack, library_texts, load_rulebook, stack_of

PAYER = """rulebook "Benign payer (draft)" for payer AETNA
  extends "National base"
  effective 2026-01-01

valueset reviewed_kinds = [shave, excision]

rule benign-removal-reviewed "A benign removal is reviewed"
  in policy
  when service.kind in reviewed_kinds
   and service.diagnoses any in benign_lesions
  then
    flag benign_removal_reviewed

test "A bleeding nevus shave is reviewed" {
  given {
    diagnoses: [D22.5]
    findings: [bleeding]
    service: {kind: shave, site: "back", site_group: trunk_arms_legs, lesion_size_cm: 0.4 cm, diagnoses: [D22.5]}
  }
  expect line 11300 units 1
  expect flag benign_removal_reviewed because benign-removal-reviewed
}

test "An actinic keratosis shave is not" {
  given {
    diagnoses: [L57.0]
    service: {kind: shave, site: "back", site_group: trunk_arms_legs, lesion_size_cm: 0.4 cm, diagnoses: [L57.0]}
  }
  expect no flag benign_removal_reviewed
}
"""


def shave(diagnosis: str) -> Encounter:
    return Encounter.model_validate(
        {
            "external_id": f"shave-{diagnosis}",
            "date_of_service": "2026-06-01",
            "place_of_service": "11",
            "provider": {"npi": "1234567893"},
            "patient": {"id": "P-1", "age": 60, "sex": "female"},
            "coverage": {"payer": "AETNA", "plan_type": "commercial"},
            "diagnoses": [diagnosis],
            "services": [
                {
                    "id": "s1",
                    "kind": "shave",
                    "site": "back",
                    "site_group": "trunk_arms_legs",
                    "lesion_size_cm": 0.4,
                    "diagnoses": [diagnosis],
                }
            ],
        }
    )


def reviewed(stack: Stack, diagnosis: str) -> list[tuple[str, str]]:
    coding: Coding = code(
        shave(diagnosis),
        encounter_id="e",
        coded_at=dt.datetime(2026, 6, 2, tzinfo=dt.UTC),
        stack=stack.observed(findings={"s1": ["bleeding"]}),
    )
    return [
        (reason.rule.rulebook, reason.rule.rule_id)
        for flag in coding.flags
        if flag.code == "benign_removal_reviewed"
        for reason in flag.reasons
        if reason.rule
    ]


def errors(text: str) -> list[tuple[int, int, str, str, str | None]]:
    return [
        (d["line"], d["column"], d["code"], d["message"], d["hint"])
        for d in authoring.check(text)
        if d["severity"] == "error"
    ]


def test_the_editor_accepts_a_set_of_the_book_it_extends_and_only_then() -> None:
    assert errors(PAYER) == []
    without = PAYER.replace('  extends "National base"\n', "")
    assert errors(without) == [
        (
            9,
            33,
            "name.unknown",
            "`benign_lesions` is not a known fact or value set",
            "see the vocabulary (`cutis rules vocabulary`) for the facts rules can read",
        )
    ]


def test_the_books_own_tests_run_with_the_inherited_set() -> None:
    report = authoring.run_tests(PAYER)
    assert [(r["name"], r["passed"]) for r in report["results"]] == [
        ("A bleeding nevus shave is reviewed", True),
        ("An actinic keratosis shave is not", True),
    ], report["results"]


def test_a_compiled_stack_evaluates_the_inherited_set() -> None:
    stack = stack_of([library_texts()["National base"], PAYER])
    assert reviewed(stack, "D22.5") == [("Benign payer (draft)", "benign-removal-reviewed")]
    assert reviewed(stack, "L82.1") == [("Benign payer (draft)", "benign-removal-reviewed")]
    assert reviewed(stack, "L57.0") == []


def test_explain_codes_with_the_inherited_set() -> None:
    explained = authoring.explain(PAYER, shave("D22.5"), findings={"s1": ["bleeding"]})
    assert explained["diagnostics"] == []
    assert any(t["rule"] == "benign-removal-reviewed" and t["status"] == "fired" for t in explained["trace"])


def test_the_caller_may_pin_the_books_a_book_extends() -> None:
    """Compiled once per what it inherits: the same text against another National base is
    another compiled book, never the one cached for the library's."""
    older_base = 'rulebook "National base"\n  effective 2025-01-01\n\nvalueset benign_lesions = [L57.0]\n'
    pinned = {"National base": parse(older_base).rulebook}
    stack = Stack((load_rulebook(older_base), load_rulebook(PAYER, extended=pinned)))
    assert reviewed(stack, "L57.0") == [("Benign payer (draft)", "benign-removal-reviewed")]
    assert reviewed(stack, "D22.5") == []
    library = Stack((load_rulebook(library_texts()["National base"]), load_rulebook(PAYER)))
    assert reviewed(library, "D22.5") == [("Benign payer (draft)", "benign-removal-reviewed")]
    assert reviewed(library, "L57.0") == []
    assert load_rulebook(PAYER) is load_rulebook(PAYER, extended=library_rulebooks())


def test_loading_a_book_that_extends_no_known_book_says_where() -> None:
    text = 'rulebook "Clinic"\n  extends "National bsae"\n'
    with pytest.raises(RulebookError) as raised:
        load_rulebook(text)
    assert '<rulebook>:2:11: error: no rulebook named "National bsae" to extend' in str(raised.value)
    assert errors(text) == [
        (
            2,
            11,
            "stack.unknown_rulebook",
            'no rulebook named "National bsae" to extend',
            'did you mean "National base"?',
        )
    ]


def test_a_draft_that_would_close_a_circle_with_the_library_is_an_error() -> None:
    """A new version of National base cannot extend a book that extends National base."""
    text = 'rulebook "National base"\n  extends "Aetna commercial (template)"\n'
    assert errors(text) == [
        (
            2,
            11,
            "stack.extends_cycle",
            '`extends` goes round in a circle: "National base" extends "Aetna commercial (template)" extends '
            '"National base"',
            "a rulebook cannot extend itself, directly or through another: remove one of these `extends` lines",
        )
    ]


def test_every_library_book_resolves_what_it_extends() -> None:
    library = library_rulebooks()
    assert set(library) == set(library_texts())
    for name, text in library_texts().items():
        assert load_rulebook(text).name == name
