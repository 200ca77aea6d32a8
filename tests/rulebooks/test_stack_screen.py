"""The screen of `rulebooks.stack_speed` drops only rules that record nothing: every rule the plain
loop finds firing or undetermined for a service is among the rules screened for it."""

from __future__ import annotations

import datetime as dt

from benchmarks.bench_rulebook import bench_rulebook
from benchmarks.engine_bench import generate
from dsl.runtime import Trace
from rulebooks.stack import library_stack


def test_the_screen_keeps_every_rule_that_records_something() -> None:
    stack = library_stack("National base", extra=[bench_rulebook()])
    recorded = 0
    for date in (dt.date(2026, 5, 1), dt.date(2025, 5, 1)):  # the clinic book is out of effect in 2025
        for encounter in generate(150, 7):
            encounter = encounter.model_copy(update={"date_of_service": date})
            for service in encounter.services:
                screens = stack._speed.screens(encounter, service)
                for phase in ("classify", "select", "policy", "route"):
                    screened = {plan.rule.id for plan in screens[phase].rules} if phase in screens else set()
                    plain = stack.decide_plainly(phase, encounter, service, (), (), Trace())
                    assert {one.outcome.rule_id for one in plain} <= screened, (service.kind, phase)
                    recorded += len(plain)
    assert recorded > 500
