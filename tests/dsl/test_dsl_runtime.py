"""Compiled rules: three-valued logic for missing facts, traces with values, hit policies."""

from __future__ import annotations

import datetime as dt

import pytest

from dsl.runtime import run_rules
from tests.dsl.dsl_helpers import built


def program(text: str):
    result = built(text)
    assert result.program is not None, [d.message for d in result.diagnostics]
    return result.program


def facts(**overrides) -> dict:
    base = {
        "region": "north",
        "day": dt.date(2026, 3, 1),
        "customer": {"tier": "gold", "age": 40, "vip": None},
        "order": {"count": 12, "weight": 2.0, "note": None, "codes": ["L57.0"], "procedure": "17000"},
        "items": [{"code": "17000", "units": 1}, {"code": "11102", "units": 2}],
    }
    for key, value in overrides.items():
        section, _, name = key.partition("__")
        if name:
            base[section] = {**base[section], name: value}
        else:
            base[section] = value
    return base


CAP = """rule cap "Cap large orders"
  in adjust
  when customer.tier = gold
   and order.count > 10 lesions
  then
    limit to 10 lesions
    mark capped
"""


def test_a_fired_rule_explains_itself() -> None:
    decision = run_rules(program(CAP).rules, facts(), explain=True)
    assert [(a.action, a.arguments) for a in decision.actions] == [
        ("limit", {"count": 10}),
        ("mark", {"label": "capped"}),
    ]
    (outcome,) = decision.outcomes
    assert (outcome.rule_id, outcome.label, outcome.status) == ("cap", "Cap large orders", "fired")
    assert outcome.values == {"customer.tier": "gold", "order.count": 12}
    assert (outcome.span.line, outcome.span.column) == (1, 1)
    assert outcome.actions[0].words == ("limit", "to", "10", "lesions")


@pytest.mark.parametrize(
    ("tier", "count", "status"),
    [
        pytest.param("gold", None, "undetermined", id="missing count, other facts true: undetermined"),
        pytest.param("bronze", None, None, id="missing count, another fact false: false, not reported"),
        pytest.param("gold", 5, None, id="all facts present and false"),
    ],
)
def test_missing_facts_are_never_silently_false(tier: str, count: int | None, status: str | None) -> None:
    decision = run_rules(program(CAP).rules, facts(customer__tier=tier, order__count=count), explain=True)
    assert decision.actions == []
    assert [o.status for o in decision.outcomes] == ([status] if status else [])
    if status:
        assert decision.outcomes[0].missing == ("order.count",)


def test_missing_guard_decides() -> None:
    text = 'rule m "m"\n  in decide\n  when missing(order.count) or order.count > 10 lesions\n  then\n    mark m\n'
    assert run_rules(program(text).rules, facts(order__count=None)).actions[0].arguments == {"label": "m"}
    assert run_rules(program(text).rules, facts(order__count=3)).actions == []


def test_units_convert_to_the_facts_unit() -> None:
    text = 'rule m "m"\n  in decide\n  when present(customer.age) and customer.age >= 6 months\n  then\n    mark m\n'
    assert run_rules(program(text).rules, facts(customer__age=1)).actions
    assert not run_rules(program(text).rules, facts(customer__age=0.4)).actions


def test_codes_patterns_ranges_and_quantifiers() -> None:
    text = (
        'rule m "m"\n  in decide\n  when order.codes any in [D22.*, L57.0]\n'
        "   and any item in items: item.code in 17000..17004\n   and order.procedure in [17000..17004]\n"
        "  then\n    mark m\n"
    )
    assert run_rules(program(text).rules, facts()).actions
    assert not run_rules(program(text).rules, facts(order__codes=["L82.1"])).actions
    assert run_rules(program(text).rules, facts(order__codes=["D22.5"])).actions


def test_conditional_actions_and_message_interpolation() -> None:
    text = (
        'rule m "m"\n  in decide\n  when customer.tier = gold\n  then\n'
        '    if customer.vip = true then mark vip\n    else say "Check {customer.tier}"\n'
    )
    rules = program(text).rules
    assert run_rules(rules, facts(customer__vip=True)).actions[0].arguments == {"label": "vip"}
    assert run_rules(rules, facts(customer__vip=False)).actions[0].arguments == {"message": "Check gold"}
    assert run_rules(rules, facts(customer__vip=None)).actions == []


TABLE = """table caps "Caps by tier"
  in adjust
  hit {policy}
  | customer.tier | order.count   | => cap     |
  | gold          | > 10 lesions  | 10 lesions |
  | gold          | -             | 20 lesions |
  | -             | -             | 30 lesions |
  then
    limit to cap
"""


@pytest.mark.parametrize(
    ("policy", "tier", "expected"),
    [
        pytest.param("first", "gold", 10, id="first: the first matching row"),
        pytest.param("first", "silver", 30, id="first: the default row"),
        pytest.param("collect max", "gold", 30, id="collect max"),
        pytest.param("collect min", "gold", 10, id="collect min"),
        pytest.param("collect sum", "gold", 60, id="collect sum"),
    ],
)
def test_table_hit_policies(policy: str, tier: str, expected: int) -> None:
    rules = program(TABLE.format(policy=policy)).rules
    decision = run_rules(rules, facts(customer__tier=tier), explain=True)
    assert decision.actions[0].arguments == {"count": expected}
    assert decision.outcomes[0].values["customer.tier"] == tier


def test_table_reports_the_row_that_matched() -> None:
    decision = run_rules(program(TABLE.format(policy="first")).rules, facts(customer__tier="silver"), explain=True)
    assert decision.outcomes[0].row == 3


def test_rules_run_in_text_order() -> None:
    text = CAP + "\n" + CAP.replace("rule cap", "rule cap-two").replace("mark capped", "mark second")
    decision = run_rules(program(text).rules, facts(), explain=True)
    assert decision.fired() == ["cap", "cap-two"]
