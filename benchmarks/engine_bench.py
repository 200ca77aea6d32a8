"""Engine throughput: encounters coded per second over a generated mix, against a plain baseline.

Run: .venv/bin/python benchmarks/engine_bench.py [--encounters 5000] [--replay 100000] [--seed 7]

The mix draws 1 to 6 services per encounter across every code family (biopsy, destruction of
all four classes, skin tags, shave, excision, repair, flap, graft, Mohs, injection with drug,
cosmetic, E/M). The baseline builds the same kind of lines with plain Python and no reasons,
edits or routing: the ratio is what explanation, bundling, NCCI/MUE and routing cost.
Rates are CPU time of this process (time.process_time), so other load on the machine does not
skew "per core"; each rate is the median of --rounds passes over the mix, taken in turns so that
a noisy moment hits every figure alike. Note analysis is not included. Two engine figures: the
built-in passes alone, and with a 200-rule stack (the national base plus the generated clinic
rulebook of benchmarks/bench_rulebook.py) passed as `code(..., stack=...)`; the replay uses the stack.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `benchmarks.*` when run as a script

from benchmarks.bench_rulebook import bench_rulebook, rule_count
from rulebooks.engine import code
from rulebooks.models import Encounter
from rulebooks.stack import Stack, library_stack

CODED_AT = dt.datetime(2026, 11, 27, tzinfo=dt.UTC)
PLANS = ("commercial", "medicare_ffs", "medicare_advantage", "medicaid")
SITES = (
    "back",
    "chest",
    "left forearm",
    "right thigh",
    "scalp",
    "neck",
    "right hand",
    "left cheek",
    "nose",
    "forehead",
    "right ear",
    "left lower leg",
)


def _service(rng: random.Random, index: int) -> tuple[dict[str, Any], list[str]]:
    """One service of a random family, with the diagnoses it links."""
    sid, lesion, site = f"s{index}", f"L{index}", rng.choice(SITES)
    family = rng.choice(
        (
            "biopsy",
            "ak",
            "benign",
            "vascular",
            "malignant_destruction",
            "skin_tags",
            "shave",
            "excision",
            "repair",
            "flap",
            "graft",
            "mohs",
            "injection",
            "cosmetic",
            "em",
        )
    )
    if family == "biopsy":
        return {
            "id": sid,
            "kind": "biopsy",
            "technique": rng.choice(("tangential", "punch", "incisional")),
            "lesion_id": lesion,
            "site": site,
            "diagnoses": ["D49.2"],
        }, ["D49.2"]
    if family == "ak":
        return {"id": sid, "kind": "destruction", "count": rng.randint(1, 30), "site": site, "diagnoses": ["L57.0"]}, [
            "L57.0"
        ]
    if family == "benign":
        return {"id": sid, "kind": "destruction", "count": rng.randint(1, 20), "site": site, "diagnoses": ["B07.8"]}, [
            "B07.8"
        ]
    if family == "vascular":
        return {
            "id": sid,
            "kind": "destruction",
            "area_sq_cm": rng.uniform(2, 80),
            "site": site,
            "diagnoses": ["Q82.5"],
        }, ["Q82.5"]
    if family == "malignant_destruction":
        return {
            "id": sid,
            "kind": "destruction",
            "lesion_size_cm": rng.uniform(0.2, 5),
            "site": site,
            "lesion_id": lesion,
            "diagnoses": ["C44.519"],
        }, ["C44.519"]
    if family == "skin_tags":
        return {
            "id": sid,
            "kind": "skin_tag_removal",
            "count": rng.randint(1, 40),
            "site": "neck",
            "diagnoses": ["L91.8"],
        }, ["L91.8"]
    if family == "shave":
        return {
            "id": sid,
            "kind": "shave",
            "lesion_size_cm": rng.uniform(0.2, 3),
            "site": site,
            "lesion_id": lesion,
            "diagnoses": ["D22.5"],
        }, ["D22.5"]
    if family == "excision":
        return {
            "id": sid,
            "kind": "excision",
            "lesion_id": lesion,
            "site": site,
            "lesion_size_cm": rng.uniform(0.3, 3),
            "margin_cm": rng.choice((0.1, 0.2, 0.4)),
            "pathology": {"malignant": rng.random() < 0.6},
            "diagnoses": ["C44.519"],
        }, ["C44.519"]
    if family == "repair":
        return {
            "id": sid,
            "kind": "repair",
            "lesion_id": lesion,
            "site": site,
            "repair": {
                "length_cm": rng.uniform(0.5, 15),
                "complexity": rng.choice(("simple", "intermediate", "complex")),
            },
            "diagnoses": ["C44.519"],
        }, ["C44.519"]
    if family == "flap":
        return {
            "id": sid,
            "kind": "adjacent_tissue_transfer",
            "lesion_id": lesion,
            "site": site,
            "area_sq_cm": rng.uniform(3, 100),
            "diagnoses": ["C44.319"],
        }, ["C44.319"]
    if family == "graft":
        return {
            "id": sid,
            "kind": "graft",
            "technique": rng.choice(("FTSG", "STSG")),
            "lesion_id": lesion,
            "site": site,
            "area_sq_cm": rng.uniform(3, 150),
            "diagnoses": ["C44.311"],
        }, ["C44.311"]
    if family == "mohs":
        stages = [{"blocks": rng.randint(1, 8)} for _ in range(rng.randint(1, 4))]
        return {
            "id": sid,
            "kind": "mohs",
            "lesion_id": lesion,
            "site": site,
            "mohs": {"tumor_id": lesion, "stages": stages},
            "diagnoses": ["C44.311"],
        }, ["C44.311"]
    if family == "injection":
        return {
            "id": sid,
            "kind": "injection",
            "technique": "intralesional",
            "count": rng.randint(1, 10),
            "site": site,
            "drug": {"hcpcs": "J3301", "units": rng.randint(1, 8), "wasted_units": 0},
            "diagnoses": ["L91.0"],
        }, ["L91.0"]
    if family == "cosmetic":
        return {
            "id": sid,
            "kind": "destruction",
            "count": rng.randint(1, 5),
            "site": site,
            "patient_requested_cosmetic": True,
            "diagnoses": ["L82.1"],
        }, ["L82.1"]
    return {
        "id": sid,
        "kind": "em",
        "diagnoses": ["L40.0"],
        "em": {
            "patient_status": "established",
            "level": rng.randint(2, 5),
            "separately_identifiable": rng.random() < 0.5,
        },
    }, ["L40.0"]


def generate(count: int, seed: int) -> Iterator[Encounter]:
    rng = random.Random(seed)
    for number in range(count):
        services, diagnoses = [], []
        for index in range(rng.randint(1, 6)):
            service, linked = _service(rng, index)
            services.append(service)
            diagnoses.extend(d for d in linked if d not in diagnoses)
        yield Encounter.model_validate(
            {
                "external_id": f"bench-{number}",
                "date_of_service": "2026-05-01",
                "provider": {"npi": "1234567893"},
                "patient": {"id": f"p{number}", "age": 70},
                "coverage": {"payer": "BENCH", "plan_type": rng.choice(PLANS), "abn_on_file": False},
                "diagnoses": diagnoses,
                "services": services,
            }
        )


def baseline(encounter: Encounter) -> list[tuple[str, int]]:
    """Plain lines with no reasons, bundling, edits or routing: the floor the engine is compared with."""
    lines: list[tuple[str, int]] = []
    for service in encounter.services:
        if service.kind == "destruction":
            count = service.count or 1
            lines.append(("17004", 1) if count >= 15 else ("17000", 1))
            if 1 < count < 15:
                lines.append(("17003", count - 1))
        elif service.kind == "mohs" and service.mohs:
            lines.append(("17311", 1))
            if len(service.mohs.stages) > 1:
                lines.append(("17312", len(service.mohs.stages) - 1))
            extra = sum(max(0, stage.blocks - 5) for stage in service.mohs.stages)
            if extra:
                lines.append(("17315", extra))
        elif service.kind == "repair" and service.repair:
            lines.append(("12032" if service.repair.length_cm > 2.5 else "12031", 1))
        elif service.kind == "em":
            lines.append(("99213", 1))
        else:
            lines.append((service.kind[:5], service.count or 1))
        if service.drug is not None:
            lines.append((service.drug.hcpcs, int(service.drug.units)))
    return lines


def rate(function: Callable[[Encounter], Any], encounters: list[Encounter]) -> float:
    started = time.process_time()
    for encounter in encounters:
        function(encounter)
    return len(encounters) / (time.process_time() - started)


def engine(encounter: Encounter) -> Any:
    """The built-in passes only."""
    return code(encounter, encounter_id=encounter.external_id, coded_at=CODED_AT)


def stacked_engine(stack: Stack) -> Callable[[Encounter], Any]:
    """The built-in passes and the rule stack, as a payer's coding runs them."""

    def run(encounter: Encounter) -> Any:
        return code(encounter, encounter_id=encounter.external_id, coded_at=CODED_AT, stack=stack)

    return run


def median_rates(
    functions: dict[str, Callable[[Encounter], Any]], encounters: list[Encounter], rounds: int
) -> dict[str, float]:
    """Each function's median rate over `rounds`, the functions taking turns within each round."""
    samples: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(rounds):
        for name, function in functions.items():
            samples[name].append(rate(function, encounters))
    return {name: statistics.median(values) for name, values in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encounters", type=int, default=5000)
    parser.add_argument("--replay", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    clinic_rules = bench_rulebook()
    stack = library_stack("National base", extra=[clinic_rules])
    rules = sum(len(book.built.program.rules) for book in stack.books)  # type: ignore[union-attr]
    with_stack = stacked_engine(stack)
    mix = list(generate(args.encounters, args.seed))
    engine(mix[0])  # read the code sets once, as a running process would have
    with_stack(mix[0])
    services = sum(len(e.services) for e in mix)
    print(
        f"mix: {len(mix)} encounters, {services} services ({services / len(mix):.1f} per encounter); "
        f"rule stack: {len(stack.books)} rulebooks, {rules} rules ({rule_count(clinic_rules)} generated)"
    )
    rates = median_rates({"engine": engine, "stack": with_stack, "baseline": baseline}, mix, args.rounds)
    print(f"engine:   {rates['engine']:10,.0f} encounters/s (one core, built-in passes only)")
    print(f"stack:    {rates['stack']:10,.0f} encounters/s (one core, built-in passes + {rules}-rule stack)")
    print(f"baseline: {rates['baseline']:10,.0f} encounters/s (plain lines, no reasons or edits)")
    print(
        f"ratio:    {rates['baseline'] / rates['engine']:10.1f}x built-in passes, "
        f"{rates['baseline'] / rates['stack']:.1f}x with the stack (the cost of explanation, bundling, edits, "
        "routing and rules)"
    )
    for name in ("engine", "stack"):
        print(f"target:   5,000 encounters/s per core ({name}) -> {'met' if rates[name] >= 5000 else 'NOT met'}")
    if args.replay:
        started = time.process_time()
        replayed = 0
        for encounter in generate(args.replay, args.seed + 1):
            with_stack(encounter)
            replayed += 1
        elapsed = time.process_time() - started
        print(
            f"replay:   {replayed:,} generated encounters through the {rules}-rule stack in {elapsed:.1f} s "
            f"({replayed / elapsed:,.0f}/s including building each Encounter)"
        )


if __name__ == "__main__":
    main()
