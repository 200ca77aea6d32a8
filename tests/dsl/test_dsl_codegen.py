"""Generated Python and the explaining closures decide alike, missing facts included."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from dsl.codegen import compile_phase, generate
from dsl.runtime import run_rules
from tests.dsl.dsl_helpers import built

BOOK = """valueset warm = [L57.0, D22.*]

rule cap "Cap large gold orders"
  in adjust
  when customer.tier = gold
   and order.count > 10 lesions
  then
    limit to 10 lesions

rule vip "VIP or young"
  in decide
  when customer.vip = true
    or customer.age < 30 years
  then
    if order.codes any in warm then mark warm
    else mark cold

rule guarded "Missing counts are explicit"
  in decide
  when missing(order.count) or not order.count >= 3 lesions
  then
    mark small

rule items "Any item in range"
  in decide
  when any item in items: item.code in 17000..17004
  then
    say "Check {customer.tier}"

table tiers "By tier"
  in decide
  hit first
  | customer.tier | order.count  | => label |
  | gold          | > 5 lesions  | big      |
  | not [bronze]  | -            | mid      |
  then
    mark label
"""

maybe = st.one_of(st.none(), st.just(True))
facts = st.fixed_dictionaries(
    {
        "region": st.just("north"),
        "day": st.just(dt.date(2026, 1, 1)),
        "customer": st.fixed_dictionaries(
            {
                "tier": st.sampled_from(["bronze", "silver", "gold"]),
                "age": st.none() | st.integers(0, 90),
                "vip": st.none() | st.booleans(),
            }
        ),
        "order": st.fixed_dictionaries(
            {
                "count": st.none() | st.integers(0, 20),
                "codes": st.lists(st.sampled_from(["L57.0", "D22.5", "L82.1"]), max_size=2),
            }
        ),
        "items": st.lists(
            st.fixed_dictionaries({"code": st.sampled_from(["17000", "17004", "11102"]), "units": st.just(1)}),
            max_size=2,
        ),
    }
)


def test_generated_source_reads_like_the_rules() -> None:
    source, _ = generate(built(BOOK).checked, "adjust")
    assert "# rule cap" in source and "fired.append(('cap', 'limit'" in source


@settings(max_examples=200, deadline=None)
@given(facts)
def test_generated_code_agrees_with_the_closures(sample: dict) -> None:
    book = built(BOOK)
    assert book.program is not None, [d.message for d in book.diagnostics]
    for phase in ("decide", "adjust"):
        fast = compile_phase(book.checked, phase)(sample)
        explained = run_rules(book.program.phase(phase), sample, explain=True)
        assert fast == [(a.rule_id, a.action, a.arguments) for a in explained.actions]
