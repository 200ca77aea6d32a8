"""The shortcuts of a stack's per-service setup give what the long way gives: the rules screened by
kind first let through exactly the rules the whole screen does, and the facts a coding builds once
per service are the service's facts."""

from __future__ import annotations

import datetime as dt

from benchmarks.bench_rulebook import bench_rulebook
from benchmarks.engine_bench import generate
from rulebooks.engine.context import WorkLine
from rulebooks.rule_facts import service_facts
from rulebooks.stack import _KeyedFacts, library_stack
from rulebooks.stack_index import SCREEN_FIELDS, _screen_facts, screen_keys


def test_screening_by_kind_first_lets_through_what_the_whole_screen_does() -> None:
    stack = library_stack("National base", extra=[bench_rulebook()])
    index = stack._index
    keys = {key for encounter in generate(300, 7) for key in screen_keys(encounter)}
    assert len({key[SCREEN_FIELDS.index("service.kind")] for key in keys}) > 10
    for date in (dt.date(2026, 5, 1), dt.date(2025, 5, 1)):  # the clinic book is out of effect in 2025
        for key in keys:
            facts = _screen_facts(key)
            _, by_phase = index.screened(date, key)
            for phase in ("classify", "select", "policy", "route"):
                expected = [
                    rule.id
                    for book, rule in stack.rules(phase, date)
                    if all(
                        conjunct(facts, None) is not False
                        for conjunct in (*index._plan(book, rule).kind_screen, *index._plan(book, rule).screen)
                    )
                ]
                screened = by_phase.get(phase)
                assert ([rule.id for _, rule, *_ in screened[3]] if screened else []) == expected, (key, phase)


def test_the_facts_built_once_per_coding_are_the_service_facts() -> None:
    for encounter in generate(50, 7):
        for service in encounter.services:
            keyed = _KeyedFacts(encounter, service, ["itching"], 0)
            for lines in (
                (),
                [WorkLine(code="11102", units=1, service_ids=[service.id], reasons=[], modifiers=["59"])],
            ):
                assert keyed.facts(lines) == service_facts(encounter, service, lines, ["itching"])
