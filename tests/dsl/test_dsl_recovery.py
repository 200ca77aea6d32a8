"""Recovery inside a broken block: every independent mistake is reported, no echo of one is.

Positions are checked by hand: the point of recovery is to say the right line, and to say
nothing where an error only follows from another.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dsl.parser import MOST_ERRORS_PER_BLOCK, parse


def errors_of(text: str) -> list[tuple[int, int, str]]:
    return [(d.span.line, d.span.column, d.message) for d in parse(text).diagnostics]


def positions_of(text: str) -> list[tuple[int, int]]:
    return [(line, column) for line, column, _ in errors_of(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            'rule r "r"\n  in policy\n  wehn service.count > 10 lesions\n  thn\n    flag x\n',
            [(3, 3), (4, 3)],
            id="two misspelt keywords are two mistakes",
        ),
        pytest.param(
            'rule r "r"\n  inn policy\n  then\n    add modifier XS to lines in [17000..17004\n',
            [(2, 3), (4, 46)],
            id="a misspelt phase keyword, then an unclosed list",
        ),
        pytest.param(
            'rule r "r\n  in policy\n  when service.count >\n  then\n    flag x\n    flag y (\n',
            [(1, 8), (3, 23), (6, 13)],
            id="an unclosed string, a missing value and an unclosed parenthesis",
        ),
        pytest.param(
            'table t "t"\n  in policy\n  hit frist second third\n  | payer | => x |\n  | AETNA | 1 |\n'
            "  then\n    flag x (\n",
            [(3, 20), (7, 13)],
            id="a table's hit line and its action",
        ),
        pytest.param(
            'test "t" {\n  given {payer: }\n  expect flag x (\n  expect no flag y\n}\n',
            [(2, 17), (3, 17)],
            id="a test's given and expect lines",
        ),
        pytest.param(
            'rulebook "b" for payer\n  effective 2026-01-01 until\n  template "t" extra\n',
            [(1, 23), (2, 29), (3, 16)],
            id="each line of a rulebook header",
        ),
        pytest.param(
            'rule r "r"\n  in policy\n  then\n    if service.count > then flag x\n    else flag y\n    flag z [\n',
            [(4, 29), (6, 13)],
            id="a conditional, its else line belonging to it, and a later action",
        ),
    ],
)
def test_independent_mistakes_in_one_block_are_all_reported(text: str, expected: list[tuple[int, int]]) -> None:
    assert positions_of(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            'rule r "r"\n  when service.count > 10 lesions\n  then\n    flag x (\n',
            (2, 3, "expected `in`, found `when`"),
            id="a missing phase line: the lines after it are not in the wrong place",
        ),
        pytest.param(
            'rule r "r"\n  in policy\n  when service.count > 10 lesions\n    flag x\n    flag y (\n',
            (4, 5, "expected `then`, found `flag`"),
            id="a missing then: the actions after it are not misplaced one by one",
        ),
        pytest.param(
            'rule r "r"\n  in policy\n  when service.kind in [shave, biopsy\n  then\n    flag x (\n',
            (4, 3, "expected `,` or `]`, found `then`"),
            id="an unclosed list swallows the rest of the block",
        ),
        pytest.param(
            'rule r "r"\n  i\n  then\n    flag x (\n',
            (2, 3, "expected `in`, found `i`"),
            id="a line too short to hold its stand-in ends recovery",
        ),
    ],
)
def test_an_error_that_follows_from_another_is_not_reported(text: str, expected: tuple[int, int, str]) -> None:
    assert errors_of(text) == [expected]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            'rule r "r"\n  inn policy\n  then\n    flag x\n',
            (2, 3, "expected `in`, found `inn`"),
            id="a misspelt keyword is named whole, not cut after the keyword it starts with",
        ),
        pytest.param(
            'rule r "r"\n  inpolicy\n  then\n    flag x\n',
            (2, 3, "expected `in`, found `inpolicy`"),
            id="a keyword glued to the next word is not read as the two",
        ),
        pytest.param(
            'rule r "r"\n  in policy\n  thenflag x\n',
            (3, 3, "expected `then` or `when`, found `thenflag`"),
            id="nor is a glued then",
        ),
    ],
)
def test_a_keyword_is_a_whole_word(text: str, expected: tuple[int, int, str]) -> None:
    assert errors_of(text) == [expected]


def test_a_later_error_is_worded_as_if_it_were_the_only_one() -> None:
    alone = 'rule r "r"\n  in policy\n  then\n    flag x (\n'
    after_another = alone.replace("in policy", "ni policy")
    assert errors_of(after_another)[1:] == errors_of(alone)


def test_recovery_stops_at_the_limit_per_block() -> None:
    actions = "".join(f"    flag x{n} =\n" for n in range(MOST_ERRORS_PER_BLOCK + 3))
    text = f'rule r "r"\n  in policy\n  then\n{actions}\nrule s "s"\n  in policy\n  then\n    flag y =\n'
    lines = [line for line, _ in positions_of(text)]
    assert lines == [*range(4, 4 + MOST_ERRORS_PER_BLOCK), 4 + MOST_ERRORS_PER_BLOCK + 3 + 4]


def test_a_block_that_ends_too_early_is_told_at_its_own_end_not_the_files() -> None:
    text = 'rule a "a"\n  in policy\n\nrule b "b"\n  in policy\n  then\n    flag x\n'
    assert errors_of(text) == [(2, 12, "this block ends too early: expected `then` or `when`")]


def test_an_error_at_the_very_end_of_the_text_stays_inside_it() -> None:
    text = "valueset v = [a,"
    (diagnostic,) = parse(text).diagnostics
    assert (diagnostic.span.start, diagnostic.span.end) == (len(text), len(text))


MALFORMED = Path(__file__).parent / "malformed"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param("43_two_mistakes_in_one_rule", [(2, 3), (5, 46)], id="misspelt phase line and unclosed list"),
        pytest.param(
            "44_three_mistakes_in_one_table", [(3, 3), (5, 23), (8, 35)], id="hit line, row and action of one table"
        ),
        pytest.param(
            "45_mistakes_and_cascades",
            [(2, 45), (3, 47), (8, 3), (15, 3)],
            id="two in a test, then one each for a missing line and an unclosed list",
        ),
    ],
)
def test_the_malformed_files_with_several_mistakes_by_hand(name: str, expected: list[tuple[int, int]]) -> None:
    assert positions_of((MALFORMED / f"{name}.rules").read_text(encoding="utf-8")) == expected


def english_condition(words: str) -> str:
    condition = f"  when service.kind = destruction\n   and service.count {words} 10\n"
    return f'rule r "r"\n  in policy\n{condition}  then\n    flag x\n'


@pytest.mark.parametrize(
    ("words", "sign"),
    [
        pytest.param("is more than", ">", id="is more than: >"),
        pytest.param("is greater than", ">", id="is greater than: >"),
        pytest.param("exceeds", ">", id="exceeds: >"),
        pytest.param("is at least", ">=", id="is at least: >="),
        pytest.param("is more than or equal to", ">=", id="is more than or equal to: >= (the longer phrase)"),
        pytest.param("is less than", "<", id="is less than: <"),
        pytest.param("at most", "<=", id="at most: <="),
        pytest.param("is not", "!=", id="is not: !="),
        pytest.param("equals", "=", id="equals: ="),
    ],
)
def test_a_comparison_in_english_is_answered_with_its_sign_not_a_keyword(words: str, sign: str) -> None:
    (diagnostic,) = parse(english_condition(words)).diagnostics
    assert (diagnostic.span.line, diagnostic.span.column) == (4, 22)
    assert diagnostic.code == "syntax.english_operator"
    assert diagnostic.message == f"`{words}` is not an operator of the language"
    assert diagnostic.hint == f"write `{sign}`, as in `service.count {sign} 10 lesions`"


def test_a_word_that_is_no_comparison_still_gets_the_keyword_it_resembles() -> None:
    text = 'rule r "r"\n  in policy\n  wehn service.count > 10 lesions\n  then\n    flag x\n'
    (diagnostic,) = parse(text).diagnostics
    assert diagnostic.hint == "did you mean `when`?"


def test_a_word_that_merely_starts_like_a_comparison_is_not_one() -> None:
    diagnostic, *others = parse(english_condition("is overdue")).diagnostics
    assert diagnostic.message == "`is` is not an operator of the language"  # only `is`, not `is over`
    assert diagnostic.hint == "write `=`, as in `service.count = 10 lesions`"
    assert [d.span.column for d in others] == [33]  # read on as `=`: what follows is still checked
