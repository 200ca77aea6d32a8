"""The checker against a small domain-free vocabulary: names, types, codes, decidable questions."""

from __future__ import annotations

import pytest

from tests.dsl.dsl_helpers import built, codes


def rule(condition: str, action: str = "mark x", phase: str = "decide") -> str:
    return f'rule r "r"\n  in {phase}\n  when {condition}\n  then\n    {action}\n'


def test_a_clean_rule_has_no_diagnostics() -> None:
    assert codes(rule("customer.tier = gold and order.codes any in [L57.0, D22.*]")) == []


@pytest.mark.parametrize(
    ("text", "code"),
    [
        pytest.param(rule("customer.tierr = gold"), "name.unknown", id="unknown field"),
        pytest.param(rule("customer.tier = golden"), "value.unknown_symbol", id="unknown enum symbol"),
        pytest.param(rule("order.procedure > 3"), "type.not_ordered", id="ordering a code"),
        pytest.param(rule("order.procedure = 10 lesions"), "type.mismatch", id="a code compared with a number"),
        pytest.param(rule("present(order.weight) and order.weight > 3 lesions"), "type.unit_mismatch", id="wrong unit"),
        pytest.param(rule("order.codes in [L57.0]"), "type.list_in_set", id="a list with plain in"),
        pytest.param(rule("customer.tier = gold", "limit to 3 lesions"), "action.wrong_phase", id="action phase"),
        pytest.param(rule("customer.tier = gold", "mrak x"), "action.unknown", id="unknown action"),
        pytest.param(rule("customer.tier = gold", "say hello"), "type.mismatch", id="text without quotes"),
        pytest.param(rule("order.procedure in 17004..17000"), "value.bad_range", id="empty range"),
        pytest.param(rule("missng(order.count)"), "name.unknown_function", id="unknown function"),
        pytest.param(rule("customer.tier = gold", phase="decdie"), "phase.unknown", id="unknown phase"),
    ],
)
def test_errors(text: str, code: str) -> None:
    found = built(text).diagnostics
    assert code in [d.code for d in found], [d.message for d in found]
    assert any(d.severity == "error" for d in found)


def test_did_you_mean_names_the_field() -> None:
    (diagnostic,) = built(rule("customer.tierr = gold")).diagnostics
    assert diagnostic.hint == "did you mean `customer.tier`?"
    assert (diagnostic.span.line, diagnostic.span.column) == (3, 8)


def test_a_missing_fact_without_a_guard_is_a_warning() -> None:
    found = built(rule("order.count > 10 lesions")).diagnostics
    assert [(d.code, d.severity) for d in found] == [("missing.unguarded", "warning")]
    assert codes(rule("present(order.count) and order.count > 10 lesions")) == []


def test_unreachable_rule() -> None:
    assert "rule.unreachable" in codes(rule("customer.tier = gold and customer.tier = silver"))
    assert "rule.unreachable" not in codes(rule("customer.tier = gold or customer.tier = silver"))


def test_conflicting_and_shadowed_rules() -> None:
    text = (
        rule("customer.tier = gold", "grade silver").replace('rule r "r"', 'rule a "a"')
        + "\n"
        + rule("customer.tier in [gold, silver]", "grade bronze").replace('rule r "r"', 'rule b "b"')
        + "\n"
        + rule("customer.tier = gold", "grade silver").replace('rule r "r"', 'rule c "c"')
    )
    found = codes(text)
    assert "rule.conflict" in found and "rule.shadowed" in found
    exclusive = (
        rule("customer.tier = gold", "grade silver").replace('rule r "r"', 'rule a "a"')
        + "\n"
        + rule("customer.tier = bronze", "grade bronze").replace('rule r "r"', 'rule b "b"')
    )
    assert "rule.conflict" not in codes(exclusive)


TABLE = """table t "t"
  in decide
  hit {policy}
  | customer.tier | => label |
{rows}  then
    mark label
"""


def table(policy: str, *rows: str) -> str:
    return TABLE.format(policy=policy, rows="".join(f"  | {row} |\n" for row in rows))


def test_table_overlap_gap_and_masked_rows() -> None:
    assert "table.overlap" in codes(table("unique", "gold | a", "- | b"))
    assert "table.gap" in codes(table("unique", "gold | a", "silver | b"))
    assert "table.masked_row" in codes(table("first", "- | a", "gold | b"))
    assert codes(table("unique", "gold | a", "not [gold] | b")) == []


def test_unused_value_set() -> None:
    assert codes("valueset never = [L57.0]\n") == ["valueset.unused"]


def test_test_blocks_are_checked() -> None:
    text = (
        rule("customer.tier = gold") + '\ntest "t" {\n  given {customer: {tierr: gold}}\n  expect mark x because q\n}\n'
    )
    assert codes(text) == ["name.unknown", "test.unknown_rule"]


@pytest.mark.parametrize(
    ("valuesets", "expected"),
    [
        pytest.param("valueset a = a\n", [(1, 14, "a")], id="a set named in its own definition"),
        pytest.param("valueset a = [L57.0, a]\n", [(1, 22, "a")], id="a set listed inside itself"),
        pytest.param(
            "valueset a = b + [L57.0]\nvalueset b = [D22.5] + a\n",
            [(1, 14, "a")],
            id="two sets through each other: one error, at the first",
        ),
        pytest.param(
            "valueset c = a\nvalueset a = b\nvalueset b = c + d\nvalueset d = [L57.0] + a\n",
            [(1, 14, "c")],
            id="one knot of four sets: one error",
        ),
        pytest.param("valueset b = b + a\nvalueset a = a\n", [(1, 14, "b"), (2, 14, "a")], id="two knots: two errors"),
    ],
)
def test_a_value_set_defined_through_itself(valuesets: str, expected: list[tuple[int, int, str]]) -> None:
    found = [d for d in built(valuesets + rule("order.codes any in a")).diagnostics if d.code == "valueset.cycle"]
    assert [(d.span.line, d.span.column, d.message.split("`")[1]) for d in found] == expected
    assert all(d.severity == "error" for d in found)


def test_a_set_that_only_uses_a_knot_is_not_reported_again() -> None:
    text = "valueset a = b\nvalueset b = a\nvalueset c = [L57.0] + a\n" + rule("order.codes any in c")
    assert codes(text).count("valueset.cycle") == 1
    assert codes("valueset a = [L57.0]\nvalueset b = a + a\n" + rule("order.codes any in b")) == []


def test_the_message_names_the_way_back() -> None:
    (diagnostic,) = built("valueset a = b\nvalueset b = a\n" + rule("order.codes any in a")).diagnostics
    assert diagnostic.message == (
        "value set `a` is defined through itself: it uses `b`, which uses `a`, so none of them has members"
    )
