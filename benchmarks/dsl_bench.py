"""Benchmark of the rule language (issue 3): run with `.venv/bin/python benchmarks/dsl_bench.py`.

The reference decision, over the same 100,000 varied one-service encounters, built before timing:
AK destruction lesion cap per payer (UHC 15, AETNA 10, others 14); a cosmetic flag for a skin tag
removal without a symptomatic diagnosis; a prior-auth flag for Mohs of more than 2 stages for
payers in a list. Written as a rulebook in the dermatology vocabulary and run through production's
entry, `Stack.decide` (the facts read from the Encounter included), and run explained (the plain
loop with a trace, the values each rule compared); written by hand over the same Encounter
objects; and as a zen-engine (GoRules) decision over the same facts as JSON. All must agree on
every input before any timing. Also: parse + check + compile of a generated 1,000-rule rulebook
(a small vocabulary of its own), and diagnostics for a 300-line rulebook. Then the reference with
two rules that read the encounter's other services (issue 16: an injection into a lesion destroyed
the same day; at most two biopsies a session) over 50,000 encounters of 1 to 4 services, every
service decided as a coding asks for it.
Prints medians and ratios measured in this one run; nothing here asserts a time.
zen-engine is a dev dependency (`pip install zen-engine`); without it that column is skipped.
"""

from __future__ import annotations

import gc
import json
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from itertools import pairwise
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `rulebooks.*` when run as a script

from dsl.api import build
from dsl.diagnostics import LineIndex
from dsl.parse_tree import TreeToAst
from dsl.parser import TOP_LEVEL, cell_parser, clear_caches, fast_parser, lark_parser
from dsl.runtime import Trace
from dsl.vocabulary import SYMBOL, ActionSpec, Field, Vocabulary, code, list_of, quantity
from rulebooks.models import Encounter, Service
from rulebooks.stack import Decided, Stack, stack_of

INPUTS = 100_000
ROUNDS = 5
PHASE = "policy"
SYMPTOMATIC = ["L57.0", "L82.0", "D48.5", "L98.8", "L72.3", "L03.90", "R23.4", "L29.9"]
PA_PAYERS = ["AETNA", "CIGNA"]
PAYERS = ["UHC", "AETNA", "CIGNA", "HUMANA", "BCBS"]
KINDS = ["destruction", "destruction", "skin_tag_removal", "mohs", "shave", "biopsy"]
DIAGNOSES = ["L57.0", "L82.1", "D22.5", "L91.8", "L82.0", "C44.311", "D48.5", "L72.0"]
SITES = ["face", "back", "left forearm", "scalp", "nose"]

REFERENCE = f"""rulebook "Benchmark reference decision"

valueset actinic_keratosis = [L57.0]
valueset symptomatic = [{", ".join(SYMPTOMATIC)}]
valueset prior_auth_payers = [{", ".join(PA_PAYERS)}]

table ak-cap "AK destruction lesion cap per payer"
  in policy
  hit first
  when service.kind = destruction
   and service.diagnoses any in actinic_keratosis
  | payer | => cap      |
  | UHC   | 15 lesions |
  | AETNA | 10 lesions |
  | -     | 14 lesions |
  then
    if service.count > cap then cap lesions of service at cap

rule cosmetic-skin-tag "A skin tag removal without a symptomatic diagnosis is cosmetic"
  in policy
  when service.kind = skin_tag_removal
   and service.diagnoses none in symptomatic
  then
    flag cosmetic

rule mohs-prior-auth "Prior authorization for Mohs with more than 2 stages"
  in policy
  when service.kind = mohs
   and service.mohs.stage_count > 2 stages
   and payer in prior_auth_payers
  then
    flag prior_auth
"""

CAPS = {"UHC": 15, "AETNA": 10}
SYMPTOMATIC_SET = frozenset(SYMPTOMATIC)
PA_PAYER_SET = frozenset(PA_PAYERS)


def hand_written(encounter: Encounter) -> dict[str, Any]:
    """The same decision as plain Python over the Encounter: what a programmer would write."""
    return hand_written_service(encounter, encounter.services[0])


def hand_written_service(encounter: Encounter, service: Service) -> dict[str, Any]:
    """The reference decision for one service of the encounter."""
    outputs: dict[str, Any] = {}
    kind, payer = service.kind, encounter.coverage.payer
    if kind == "destruction" and "L57.0" in service.diagnoses:
        cap = CAPS.get(payer, 14)
        if service.count is not None and service.count > cap:
            outputs["cap"] = cap
    elif kind == "skin_tag_removal" and SYMPTOMATIC_SET.isdisjoint(service.diagnoses):
        outputs["cosmetic"] = True
    elif kind == "mohs" and service.mohs is not None and len(service.mohs.stages) > 2 and payer in PA_PAYER_SET:
        outputs["prior_auth"] = True
    return outputs


def outputs_of(decided: Sequence[Decided]) -> dict[str, Any]:
    """What the rules decided, in the hand-written decision's words (for the agreement check)."""
    outputs: dict[str, Any] = {}
    for rule_decided in decided:
        for action in rule_decided.outcome.actions:
            if action.action == "cap_lesions":
                outputs["cap"] = action.arguments["count"]
            elif action.action == "drop_lines":
                outputs["drop"] = True
            elif action.action == "limit_units_hold":
                outputs["limit"] = action.arguments["units"]
            else:
                outputs[action.arguments["code"]] = True
    return outputs


def zen_model() -> dict[str, Any]:
    """The same decision as a GoRules JDM graph: a decision table and an expression node."""
    symptomatic = ", ".join(f"'{c}'" for c in SYMPTOMATIC)
    pa_payers = ", ".join(f"'{p}'" for p in PA_PAYERS)
    table = {
        "hitPolicy": "first",
        "inputs": [
            {"id": "k", "name": "AK destruction", "field": "kind == 'destruction' and some(diagnoses, # == 'L57.0')"},
            {"id": "p", "name": "payer", "field": "payer"},
            {"id": "n", "name": "lesions", "field": "count"},
        ],
        "outputs": [{"id": "o", "name": "cap", "field": "cap"}],
        "rules": [
            {"_id": "r1", "k": "true", "p": "'UHC'", "n": "> 15", "o": "15"},
            {"_id": "r2", "k": "true", "p": "'AETNA'", "n": "> 10", "o": "10"},
            {"_id": "r3", "k": "true", "p": "not in ['UHC', 'AETNA']", "n": "> 14", "o": "14"},
        ],
    }
    expressions = {
        "expressions": [
            {
                "id": "e1",
                "key": "cosmetic",
                "value": f"kind == 'skin_tag_removal' and none(diagnoses, # in [{symptomatic}])",
            },
            {
                "id": "e2",
                "key": "prior_auth",
                "value": f"kind == 'mohs' and stages > 2 and payer in [{pa_payers}]",
            },
        ]
    }
    return {
        "nodes": [
            {"id": "in", "type": "inputNode", "name": "input", "position": {"x": 0, "y": 0}},
            {"id": "t", "type": "decisionTableNode", "name": "caps", "content": table, "position": {"x": 1, "y": 0}},
            {
                "id": "x",
                "type": "expressionNode",
                "name": "flags",
                "content": expressions,
                "position": {"x": 1, "y": 1},
            },
            {"id": "out", "type": "outputNode", "name": "output", "position": {"x": 2, "y": 0}},
        ],
        "edges": [
            {"id": "a", "sourceId": "in", "targetId": "t", "type": "edge"},
            {"id": "b", "sourceId": "in", "targetId": "x", "type": "edge"},
            {"id": "c", "sourceId": "t", "targetId": "out", "type": "edge"},
            {"id": "d", "sourceId": "x", "targetId": "out", "type": "edge"},
        ],
    }


def zen_input(encounter: Encounter) -> dict[str, Any]:
    """The facts the zen decision reads, as the JSON it takes."""
    service = encounter.services[0]
    return {
        "payer": encounter.coverage.payer,
        "kind": service.kind,
        "count": service.count,
        "stages": None if service.mohs is None else len(service.mohs.stages),
        "diagnoses": list(service.diagnoses),
    }


def varied_encounters(count: int) -> list[Encounter]:
    """One-service encounters of every kind the decision names and some it does not, with the
    facts it reads varied (a lesion count is sometimes missing) and others beside them."""
    rng = random.Random(20261127)
    encounters = []
    for number in range(count):
        kind = rng.choice(KINDS)
        diagnoses = rng.sample(DIAGNOSES, rng.randint(0, 3))
        service: dict[str, Any] = {"id": "s1", "kind": kind, "site": rng.choice(SITES), "diagnoses": diagnoses}
        if rng.random() > 0.05:
            service["count"] = rng.randint(1, 30)
        if kind == "mohs":
            service["mohs"] = {"tumor_id": "T1", "stages": [{"blocks": 1}] * rng.randint(1, 5)}
        payload = {
            "external_id": f"bench-{number}",
            "date_of_service": f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            "provider": {"npi": "1234567893"},
            "patient": {"id": f"p{number}", "age": rng.randint(18, 95), "sex": rng.choice(["female", "male"])},
            "coverage": {"payer": rng.choice(PAYERS), "plan_type": "commercial"},
            "diagnoses": diagnoses,
            "services": [service],
        }
        encounters.append(Encounter.model_validate(payload))
    return encounters


def median_seconds(decide: Callable[[Any], Any], inputs: Sequence[Any], rounds: int = ROUNDS) -> float:
    """Median over rounds of one pass over all inputs (results dropped, as a caller would)."""
    timings = []
    for _ in range(rounds):
        start = time.perf_counter()
        for item in inputs:
            decide(item)
        timings.append(time.perf_counter() - start)
    return statistics.median(timings)


def production_path(stack: Stack) -> Callable[[Encounter], Sequence[Decided]]:
    """The decision as a coding asks it of the stack: one phase, one service, its facts read from
    the Encounter (`Stack.decide`, which `Stack.run_phase` calls for every service)."""

    def decide(encounter: Encounter) -> Sequence[Decided]:
        return stack.decide(PHASE, encounter, encounter.services[0])

    return decide


# ---- encounter reach: the reference plus rules that read the other services (issue 16) -------

REACH_INPUTS = 50_000
REACH = (
    REFERENCE
    + """
rule no-injection-into-destroyed-lesion "An injection into a lesion destroyed the same day is not billed"
  in policy
  when service.kind = injection
   and any other in other_services: (other.kind = destruction and other.same_lesion)
  then
    drop lines in [11900, 11901] saying "not billed beside the destruction of its lesion"

rule two-biopsies "At most two biopsies a visit"
  in policy
  when service.kind = biopsy
  then
    limit [11102..11107] to 2 units per session holding the excess

rule shave-and-excision-of-one-lesion "A shave and an excision of one lesion in a visit are reviewed"
  in policy for the encounter
  when any first in services: (first.kind = shave
       and any later in services: (later.kind = excision and later.lesion = first.lesion))
  then
    flag shave_and_excision_of_one_lesion

rule biopsies-in-a-visit "Two or more biopsies for a symptomatic lesion in a visit are reviewed"
  in policy for the encounter
  when count(each s in services: s.kind = biopsy and s.diagnoses any in symptomatic) >= 2
  then
    flag many_biopsies
"""
)
REACH_KINDS = [*KINDS, "injection", "injection", "excision", "biopsy"]
LESIONS = ["A", "B", None]


def hand_written_reach(encounter: Encounter) -> list[dict[str, Any]]:
    """The reach reference as plain Python: each service's decision, the other services compared
    by lesion (a service without a lesion id is a lesion of its own)."""
    decisions = []
    for service in encounter.services:
        outputs = hand_written_service(encounter, service)
        if service.kind == "injection":
            lesion = service.lesion_id or service.id
            if any(
                other.kind == "destruction" and (other.lesion_id or other.id) == lesion
                for other in encounter.services
                if other.id != service.id
            ):
                outputs["drop"] = True
        elif service.kind == "biopsy":
            outputs["limit"] = 2
        decisions.append(outputs)
    decisions.append(hand_written_visit(encounter))
    return decisions


def hand_written_visit(encounter: Encounter) -> dict[str, Any]:
    """The reach reference's rules for the encounter, as plain Python."""
    outputs: dict[str, Any] = {}
    services = encounter.services
    shaved = {service.lesion_id or service.id for service in services if service.kind == "shave"}
    if any(service.kind == "excision" and (service.lesion_id or service.id) in shaved for service in services):
        outputs["shave_and_excision_of_one_lesion"] = True
    biopsies = [s for s in services if s.kind == "biopsy" and not SYMPTOMATIC_SET.isdisjoint(s.diagnoses)]
    if len(biopsies) >= 2:
        outputs["many_biopsies"] = True
    return outputs


def varied_reach_encounters(count: int) -> list[Encounter]:
    """Encounters of 1 to 4 services of varied kinds on lesions A, B or their own."""
    rng = random.Random(20261208)
    encounters = []
    for number in range(count):
        services = []
        for position in range(rng.randint(1, 4)):
            kind = rng.choice(REACH_KINDS)
            service: dict[str, Any] = {
                "id": f"s{position + 1}",
                "kind": kind,
                "site": rng.choice(SITES),
                "diagnoses": rng.sample(DIAGNOSES, rng.randint(0, 2)),
                "count": rng.randint(1, 30),
            }
            if (lesion := rng.choice(LESIONS)) is not None:
                service["lesion_id"] = lesion
            if kind == "mohs":
                service["mohs"] = {"tumor_id": "T1", "stages": [{"blocks": 1}] * rng.randint(1, 5)}
            services.append(service)
        payload = {
            "external_id": f"reach-{number}",
            "date_of_service": f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            "provider": {"npi": "1234567893"},
            "patient": {"id": f"p{number}", "age": rng.randint(18, 95)},
            "coverage": {"payer": rng.choice(PAYERS), "plan_type": "commercial"},
            "diagnoses": sorted({code for service in services for code in service["diagnoses"]}),
            "services": services,
        }
        encounters.append(Encounter.model_validate(payload))
    return encounters


def production_path_reach(stack: Stack) -> Callable[[Encounter], list[Sequence[Decided]]]:
    """Every service of the encounter, as `Stack.run_phase` asks the stack for each, then the
    rules for the encounter once (`Stack.decide_for_encounter`; no claim lines at this level)."""

    def decide(encounter: Encounter) -> list[Sequence[Decided]]:
        decided = [stack.decide(PHASE, encounter, service) for service in encounter.services]
        decided.append(stack.decide_for_encounter(PHASE, encounter, ()))
        return decided

    return decide


def reach_benchmark() -> None:
    """The reference with the reach rules, over multi-service encounters: production path and
    explained against hand-written, after all three agree on every encounter."""
    stack = stack_of([REACH])
    decide = production_path_reach(stack)
    explained = production_path_reach(stack.observed(trace=Trace()))
    encounters = varied_reach_encounters(REACH_INPUTS)
    for encounter in encounters:
        expected = hand_written_reach(encounter)
        assert [outputs_of(each) for each in decide(encounter)] == expected, encounter
        assert [outputs_of(each) for each in explained(encounter)] == expected, encounter
    services = sum(len(encounter.services) for encounter in encounters)
    results = {
        "hand-written Python over the Encounter": median_seconds(hand_written_reach, encounters),
        "rule language, production path (Stack.decide)": median_seconds(decide, encounters),
        "rule language, explained (plain loop + trace)": median_seconds(explained, encounters),
    }
    print(
        f"Reference + encounter-reach rules (2 of them for the encounter) over {REACH_INPUTS:,} encounters "
        f"of 1-4 services ({services:,} services), median of {ROUNDS} rounds"
    )
    baseline = results["hand-written Python over the Encounter"]
    for name, seconds in results.items():
        per_service_us = seconds / services * 1e6
        print(f"  {name:50s} {per_service_us:8.2f} us/service    {seconds / baseline:6.2f}x hand-written")


# ---- the rest: a 1,000-rule rulebook and a 300-line one, over a small vocabulary ------------

VOCABULARY = Vocabulary(
    phases=("decide",),
    fields=(
        Field("payer", SYMBOL, required=True),
        Field("procedure_code", code("cpt"), required=True),
        Field("lesion_count", quantity("lesions"), required=True),
        Field("stages", quantity("stages"), required=True),
        Field("diagnoses", list_of(code("icd10")), required=True),
    ),
    actions=(
        ActionSpec("cap", "cap lesions at {count}", (("count", quantity("lesions")),), ("decide",)),
        ActionSpec("flag", "flag {code}", (("code", SYMBOL),), ("decide",)),
    ),
)


def generated_rulebook(rules: int) -> str:
    parts = ['rulebook "Generated"\n', "valueset symptomatic = [L57.0, L82.0, D48.5]\n"]
    for number in range(rules):
        payer = PAYERS[number % len(PAYERS)]
        parts.append(
            f'rule generated-{number} "Generated rule {number}"\n  in decide\n'
            f"  when payer = {payer}\n   and lesion_count > {number % 30} lesions\n"
            f"   and diagnoses none in symptomatic\n  then\n    flag rule_{number}\n"
        )
    return "\n".join(parts)


def block_parse_seconds(text: str) -> tuple[float, float]:
    """Median seconds to turn every top-level block into the AST: with the fast reader, then with
    Lark and `TreeToAst`.

    The cyclic collector is paused meanwhile, as `build` pauses it.
    """
    starts = [match.start() for match in TOP_LEVEL.finditer(text)] + [len(text)]
    blocks = [(begin, text[begin:end]) for begin, end in pairwise(starts)]
    reader, lark, index = fast_parser(), lark_parser(), LineIndex(text)
    cells = cell_parser(text, index)

    def read(begin: int, block: str) -> Any:
        return reader.parse(block, "start", TreeToAst(text, index, begin, cells))

    def lark_read(begin: int, block: str) -> Any:
        return TreeToAst(text, index, begin, cells).transform(lark.parse(block, start="start"))

    assert all(read(begin, block) is not None for begin, block in blocks)  # nothing left to Lark
    medians = []
    for parse_block in (read, lark_read):
        timings = []
        for _ in range(ROUNDS):
            gc.disable()
            try:
                start = time.perf_counter()
                trees = [parse_block(begin, block) for begin, block in blocks]
                timings.append(time.perf_counter() - start)
            finally:
                gc.enable()
            del trees
        medians.append(statistics.median(timings))
    return medians[0], medians[1]


def main() -> None:
    started = time.perf_counter()
    lark_parser()
    grammar_seconds = time.perf_counter() - started

    stack = stack_of([REFERENCE])
    decide = production_path(stack)
    explained = production_path(stack.observed(trace=Trace()))
    encounters = varied_encounters(INPUTS)

    # All must agree on every input before any timing means anything.
    for encounter in encounters:
        expected = hand_written(encounter)
        assert outputs_of(decide(encounter)) == expected, encounter
        assert outputs_of(explained(encounter)) == expected, encounter

    results: dict[str, float] = {}
    results["hand-written Python over the Encounter"] = median_seconds(hand_written, encounters)
    results["rule language, production path (Stack.decide)"] = median_seconds(decide, encounters)
    results["rule language, explained (plain loop + trace)"] = median_seconds(explained, encounters)
    # The same book dated, as a payer's book is: the rules in effect then depend on the date read.
    dated = production_path(stack_of([REFERENCE.replace("\n\n", "\n  effective 2026-01-01\n\n", 1)]))
    assert all(outputs_of(dated(encounter)) == hand_written(encounter) for encounter in encounters)
    results["rule language, production path, book dated"] = median_seconds(dated, encounters)
    try:
        import zen
    except ImportError:  # pragma: no cover - zen-engine is a dev dependency
        zen = None
    if zen is not None:
        model_text = json.dumps(zen_model())
        decision = zen.ZenEngine().create_decision(model_text)
        zen_inputs = [zen_input(encounter) for encounter in encounters]
        for encounter, facts in zip(encounters, zen_inputs, strict=True):
            result = decision.evaluate(facts)["result"]
            expected = hand_written(encounter)
            assert result.get("cap") == expected.get("cap"), (facts, result)
            assert bool(result.get("cosmetic")) == bool(expected.get("cosmetic")), (facts, result)
            assert bool(result.get("prior_auth")) == bool(expected.get("prior_auth")), (facts, result)
        engine = zen.ZenEngine({"loader": lambda key: model_text})
        engine.evaluate("reference", zen_inputs[0])
        results["zen-engine, ZenDecision.evaluate (untraced)"] = median_seconds(decision.evaluate, zen_inputs, 3)
        results["zen-engine, ZenEngine.evaluate (untraced)"] = median_seconds(
            lambda facts: engine.evaluate("reference", facts), zen_inputs, rounds=3
        )
        results["zen-engine, loaded decision (traced)"] = (
            median_seconds(lambda facts: decision.evaluate(facts, {"trace": True}), zen_inputs[:20_000], 3) * 5
        )

    print(f"Reference decision over {INPUTS:,} varied one-service encounters, median of {ROUNDS} rounds (zen: 3)")
    baseline = results["hand-written Python over the Encounter"]
    for name, seconds in results.items():
        per_decision_us = seconds / INPUTS * 1e6
        print(f"  {name:50s} {per_decision_us:8.2f} us/decision   {seconds / baseline:6.2f}x hand-written")
    production = results["rule language, production path (Stack.decide)"]
    explanation = results["rule language, explained (plain loop + trace)"]
    print(f"  production path vs hand-written: {production / baseline:.2f}x (target <= 1.5x)")
    dated_ratio = results["rule language, production path, book dated"] / baseline
    print(f"  production path, the book dated (the date of service read): {dated_ratio:.2f}x")
    if zen is not None:
        zen_untraced = min(
            results["zen-engine, ZenDecision.evaluate (untraced)"], results["zen-engine, ZenEngine.evaluate (untraced)"]
        )
        print(f"  zen fastest untraced / production path: {zen_untraced / production:.1f}x faster (target >= 15x)")
        print(
            f"  zen fastest untraced / explained: {zen_untraced / explanation:.1f}x "
            "(target > 1x: an explained decision beats zen's untraced one)"
        )

    reach_benchmark()

    text = generated_rulebook(1_000)
    timings = []
    for _ in range(ROUNDS):
        clear_caches()
        start = time.perf_counter()
        big = build(text, VOCABULARY)
        timings.append(time.perf_counter() - start)
    assert big.program is not None and len(big.program.rules) == 1_000
    print(
        f"Parse + check + compile of a generated 1,000-rule rulebook ({text.count(chr(10)):,} lines): "
        f"{statistics.median(timings) * 1000:.0f} ms median (target < 300 ms); grammar tables built once per "
        f"process: {grammar_seconds * 1000:.0f} ms, excluded"
    )

    fast_reader, lark_alone = block_parse_seconds(text)
    print(
        f"  of which reading its blocks into the AST: {fast_reader * 1000:.0f} ms median with the fast reader, "
        f"{lark_alone * 1000:.0f} ms with Lark ({lark_alone / fast_reader:.1f}x)"
    )

    three_hundred = generated_rulebook(43)
    lines = three_hundred.count("\n")
    cold, keystroke = [], []
    for round_number in range(ROUNDS * 2):
        # A keystroke: one rule changes (a typo in a field name), the other blocks are as they were.
        edited = three_hundred.replace(
            f"lesion_count > {round_number % 30} lesions", f"lesion_cuont > {round_number % 30} lesions", 1
        )
        clear_caches()
        start = time.perf_counter()
        build(three_hundred, VOCABULARY)
        cold.append(time.perf_counter() - start)
        start = time.perf_counter()
        found = build(edited, VOCABULARY).diagnostics
        keystroke.append(time.perf_counter() - start)
        assert any(d.code == "name.unknown" for d in found)
    print(
        f"Diagnostics for a {lines}-line rulebook: {statistics.median(cold) * 1000:.1f} ms median from cold, "
        f"{statistics.median(keystroke) * 1000:.1f} ms median after a one-rule edit (target < 50 ms)"
    )


if __name__ == "__main__":
    main()
