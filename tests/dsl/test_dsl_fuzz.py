"""The rule language diagnoses every text and never crashes: a short run of the fuzzer, and
each crash a longer run found, kept as a case.

`benchmarks/fuzz_rules.py` runs a million inputs; here the same inputs of one seed run for
about half a minute. A crash is an exception escaping `rulebooks.authoring.check` (what the
editor and `cutis rules check` call), a diagnostic outside the text, or formatting that is not
idempotent or does not parse again.
"""

from __future__ import annotations

import pytest

from benchmarks.fuzz_rules import examine, fuzz
from rulebooks import authoring

SHORT_RUN_INPUTS = 12_000
SEED = 20260101


def test_a_short_fuzz_run_only_ever_gives_diagnostics() -> None:
    tally = fuzz(SEED, range(SHORT_RUN_INPUTS))
    assert tally.inputs == SHORT_RUN_INPUTS
    found = {signature: example[1][:300] for signature, example in (tally.examples or {}).items()}
    assert tally.crashes == 0, found


ACTION_WITH_A_CALL = 'rule pa "PA"\n  in policy\n  then\n    bundle L57.* if (f(f([L57.0]))) into 17311\n'
ACTION_WITH_A_FACT = 'rule pa "PA"\n  in policy\n  then\n    flag missing (service.count)\n'


@pytest.mark.parametrize(
    ("text", "formatted"),
    [
        pytest.param(
            ACTION_WITH_A_CALL,
            'rule pa "PA"\n  in policy\n  then\n    bundle L57.* if (f(f([L57.0]))) into 17311\n',
            id="a call in an action keeps its brackets, or it would read as two words",
        ),
        pytest.param(
            ACTION_WITH_A_FACT,
            'rule pa "PA"\n  in policy\n  then\n    flag missing (service.count)\n',
            id="a fact in an action keeps its brackets, or it would not parse",
        ),
    ],
)
def test_formatting_an_action_keeps_the_brackets_its_words_need(text: str, formatted: str) -> None:
    once = authoring.format(text)["text"]
    assert once == formatted
    assert authoring.format(once)["text"] == once
    assert examine(text) is None


def codes(text: str) -> list[tuple[int, int, str]]:
    return [(d["line"], d["column"], d["code"]) for d in authoring.check(text) if d["severity"] == "error"]


@pytest.mark.parametrize(
    "text",
    [
        pytest.param('rule r "x"\n  in policy\n  then\n    query provider "\ud83d"\n', id="in a string"),
        pytest.param('rule r "x"\n  in policy\n  then\n    flag a  # \udfff\n', id="in a comment"),
    ],
)
def test_a_lone_surrogate_is_reported_where_it_is(text: str) -> None:
    at = text.index(next(c for c in text if "\ud800" <= c <= "\udfff"))
    assert codes(text) == [(4, at - text.rindex("\n", 0, at), "syntax.invalid_character")]
    assert authoring.format(text)["text"] is None
    assert examine(text) is None


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("valueset v = " + "[" * 3000 + "L57.0" + "]" * 3000 + "\n", id="lists in lists"),
        pytest.param(
            'rule r "x"\n  in policy\n  when ' + "not " * 3000 + "present(service.count)\n  then\n    flag a\n",
            id="not after not",
        ),
        pytest.param(
            'rule r "x"\n  in policy\n  when ' + "f(" * 3000 + "x" + ")" * 3000 + "\n  then\n    flag a\n",
            id="calls in calls",
        ),
        pytest.param(
            'table t "x"\n  in policy\n  hit first\n  | service.count | => a |\n  | '
            + "[" * 3000
            + "1"
            + "]" * 3000
            + " | b |\n",
            id="a table cell",
        ),
    ],
)
def test_nesting_thousands_deep_is_reported_not_recursed_into(text: str) -> None:
    assert "syntax.too_deep" in [code for _, _, code in codes(text)]
    assert examine(text) is None


def test_the_blocks_around_a_too_deep_one_are_still_checked() -> None:
    deep = 'rule deep "x"\n  in policy\n  when ' + "not " * 100 + "present(service.count)\n  then\n    flag a\n"
    typo = 'rule typo "y"\n  in policy\n  when service.cuont > 1\n  then\n    flag b\n'
    assert [code for _, _, code in codes(deep + "\n" + typo)] == ["syntax.too_deep", "name.unknown"]
