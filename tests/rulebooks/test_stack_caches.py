"""The rule stack's caches (facts read once per coding, outcomes kept per rule and per phase) give
exactly what running every rule afresh gives, in the cases where a careless key would not."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from benchmarks.engine_bench import generate
from dsl.runtime import Trace
from rulebooks.coding import code_encounter
from rulebooks.engine import code
from rulebooks.models import Encounter
from rulebooks.models.encounter import GlobalPeriodFacts
from rulebooks.rule_facts import fact_at, fact_reader, service_facts, upper_codes
from rulebooks.stack import Stack, library_texts, stack_of
from rulebooks.stack_speed import _key_of
from rulebooks.vocabulary import FACTS, FIELDS, dermatology_vocabulary

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "encounters"
CODED_AT = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)

CLINIC = """rulebook "Cache edges clinic"
  effective 2026-06-01 until 2026-12-31

rule ak-count-over-5 "More than 5 AKs in one session are reviewed"
  in policy
  when service.kind = destruction
   and present(service.count)
   and service.count > 5 lesions
  then
    flag many_lesions_reviewed

rule seventeen-004-on-claim "A 17004 line on the claim is reviewed"
  in policy
  when service.kind = destruction
   and any line in lines: line.code in [17004]
  then
    flag seventeen_004_reviewed

rule destruction-on-several-lines "A destruction coded on more than one line is reviewed"
  in policy
  when service.kind = destruction
   and count(lines) > 1
  then
    flag several_destruction_lines

rule itchy-destruction "A destruction for an itchy lesion is medical"
  in classify
  when service.kind = destruction
   and findings any in [itching]
  then
    flag itching_documented
"""


def _payload(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text())


def _encounter(*, date: str = "2026-11-02", counts: tuple[int, ...] = (3,), external_id: str = "cache") -> Encounter:
    payload = _payload("biopsy_em.json")
    payload["external_id"] = f"{external_id}-{date}-{'-'.join(map(str, counts))}"
    payload["date_of_service"] = date
    payload["services"] += [
        {"id": f"d{index}", "kind": "destruction", "count": count, "site": "face", "diagnoses": ["L57.0"]}
        for index, count in enumerate(counts)
    ]
    return Encounter.model_validate(payload)


def _stack() -> Stack:
    texts = library_texts()
    return stack_of([texts["National base"], texts["Aetna commercial (template)"], CLINIC])


def _coded(stack: Stack, encounter: Encounter) -> dict[str, Any]:
    coding = code_encounter(encounter, encounter_id=encounter.external_id, coded_at=CODED_AT, stack=stack).coding
    return json.loads(coding.model_dump_json())


def _coded_with_findings(stack: Stack, encounter: Encounter) -> dict[str, Any]:
    """Coded by the engine with the stack's own findings (`code_encounter` reads them from the note)."""
    coding = code(encounter, encounter_id=encounter.external_id, coded_at=CODED_AT, stack=stack)
    return json.loads(coding.model_dump_json())


def _flags(coding: dict[str, Any]) -> list[tuple[str, list[str]]]:
    return [(flag["code"], flag["service_ids"]) for flag in coding["flags"]]


def _varied_encounters() -> list[Encounter]:
    """The fixtures, a prior procedure, and the engine benchmark's mix (Mohs, repairs, drugs, E/M)."""
    encounters = [Encounter.model_validate(_payload(path.name)) for path in sorted(FIXTURES.glob("*.json"))]
    encounters.append(_encounter(counts=(12,)))
    encounters.append(
        encounters[0].model_copy(
            update={
                "global_period": GlobalPeriodFacts(
                    procedure_code="14040", date_of_service=encounters[0].date_of_service - dt.timedelta(days=12)
                )
            }
        )
    )
    return encounters + list(generate(40, 7))


def test_every_fact_reader_reads_what_the_rules_see() -> None:
    paths = [tuple(field.path.split(".")) for field in FIELDS if not field.path.startswith("lines")]
    for encounter in _varied_encounters():
        for service in encounter.services:
            facts = service_facts(encounter, service, (), ["itching"])
            for path in paths:
                read = fact_reader(path)(encounter, service, ["itching"])
                expected = fact_at(facts, path)
                assert (type(read), read) == (type(expected), expected), path


def _as_key(value: Any) -> Any:
    """What a memo key holds for a fact's value: lists as tuples, numbers and yes/no with their type."""
    if isinstance(value, list):
        return tuple((type(item), item) if isinstance(item, int | float) else item for item in value)
    return (type(value), value) if isinstance(value, int | float) else value


def test_every_memo_key_reads_what_the_rules_see() -> None:
    """The keys written as Python from the declarations read each fact as `fact_reader` does."""
    vocabulary = dermatology_vocabulary()
    keyed = [
        field.path
        for field in FIELDS
        if field.path != "lines" and not (field.type.element and field.type.element.kind == "record")
    ]
    numeric = {path for path in keyed if vocabulary.field_type(path).kind in ("number", "quantity", "bool")}
    upper = {declared.path for declared in FACTS if declared.upper}
    keys = {path: _key_of((path,)) for path in keyed}
    together = _key_of(tuple(keyed))
    assert together is not None and _key_of(("service.mohs.stages",)) is None and _key_of(("lines",)) is None
    for encounter in _varied_encounters():
        for service in encounter.services:
            expected = []
            for path in keyed:
                value = fact_reader(tuple(path.split(".")))(encounter, service, ["itching"])
                key = keys[path]
                assert key is not None
                (got,) = key(encounter, service, ["itching"])
                expected.append(got)
                if path in upper:  # keyed as written: the codes upper-cased are the fact
                    got = upper_codes(list(got) if isinstance(got, tuple) else got)
                    assert got == value, path
                else:
                    assert got == ((type(value), value) if path in numeric else _as_key(value)), path
            assert together(encounter, service, ["itching"]) == tuple(expected)


@pytest.mark.parametrize(
    "encounters",
    [
        pytest.param(
            [_encounter(counts=(3,)), _encounter(counts=(20,)), _encounter(counts=(3,))],
            id="a rule reading lines sees each encounter's lines, not the first one's",
        ),
        pytest.param(
            [_encounter(counts=(1,)), _encounter(counts=(3,)), _encounter(counts=(1,))],
            id="a rule counting lines sees each encounter's lines, not the first one's",
        ),
        pytest.param(
            [_encounter(counts=(3, 20)), _encounter(counts=(20, 3))],
            id="two services with one screen key but other counts record apart",
        ),
        pytest.param(
            [
                _encounter(date="2026-11-02", counts=(20,)),
                _encounter(date="2026-03-02", counts=(20,)),
                _encounter(date="2026-11-02", counts=(20,)),
            ],
            id="a rulebook out of effect on one date of service does not lend its outcomes to another",
        ),
    ],
)
def test_a_warm_stack_codes_like_a_fresh_one(encounters: list[Encounter]) -> None:
    warm = _stack()
    for _ in range(2):
        for encounter in encounters:
            assert _coded(warm, encounter) == _coded(_stack(), encounter)


def test_the_edges_do_fire_where_they_should() -> None:
    """The cases above prove something only if their rules do fire, and only where they should."""
    warm = _stack()
    twenty, three, spring = (
        _encounter(counts=(20,)),
        _encounter(counts=(3,)),
        _encounter(date="2026-03-02", counts=(20,)),
    )
    for _ in range(2):
        assert ("seventeen_004_reviewed", ["d0"]) in _flags(_coded(warm, twenty))
        assert ("many_lesions_reviewed", ["d0"]) in _flags(_coded(warm, twenty))
        assert ("several_destruction_lines", ["d0"]) in _flags(_coded(warm, three))  # 17000 + 17003 x2
        assert ("several_destruction_lines", ["d0"]) not in _flags(_coded(warm, _encounter(counts=(1,))))
        assert not {"seventeen_004_reviewed", "many_lesions_reviewed"} & {
            code for code, _ in _flags(_coded(warm, three))
        }
        assert not {"seventeen_004_reviewed", "many_lesions_reviewed"} & {
            code for code, _ in _flags(_coded(warm, spring))
        }


def test_findings_differ_per_service_and_per_explained_run() -> None:
    warm = _stack()
    encounter = _encounter(counts=(3, 3))
    itching_d0 = warm.observed(findings={"d0": ["itching"]})
    itching_d1 = warm.observed(findings={"d1": ["itching"]})
    for _ in range(2):
        for stack, itchy in ((itching_d0, "d0"), (itching_d1, "d1"), (warm, None)):
            flags = _flags(_coded_with_findings(stack, encounter))
            flagged = [ids for flag, ids in flags if flag == "itching_documented"]
            assert flagged == ([[itchy]] if itchy else [])
            fresh = _stack().observed(findings=stack.findings)
            assert _coded_with_findings(stack, encounter) == _coded_with_findings(fresh, encounter)


def test_a_traced_run_on_a_warm_stack_records_what_a_fresh_run_does() -> None:
    """A run with a trace runs every rule in full; its journal and coding match a fresh stack's."""
    warm = _stack()
    encounter = _encounter(counts=(12, 20))
    _coded(warm, encounter)
    traced, fresh = warm.observed(trace=Trace()), _stack().observed()
    assert _coded_with_findings(traced, encounter) == _coded_with_findings(fresh, encounter)
    assert traced.journal and traced.journal == fresh.journal


TABLES_CLINIC = """rulebook "Table edges clinic"
  effective 2026-06-01 until 2026-12-31

table destruction-review "Destruction review by lesion count"
  in policy
  hit first
  when service.kind = destruction
  | service.count | => review                |
  | > 15 lesions  | big_destruction_reviewed |
  | > 5 lesions   | destruction_reviewed     |
  then
    flag review

table destruction-query "A photograph of many lesions"
  in policy
  hit first
  when service.kind = destruction
  | service.count | => wanted      |
  | > 25 lesions  | "a photograph" |
  then
    query provider "Attach {wanted} of the lesions on {service.site}."
"""


def _tables_stack() -> Stack:
    texts = library_texts()
    return stack_of([texts["National base"], TABLES_CLINIC])


def _sited(encounter: Encounter, site: str) -> Encounter:
    services = [
        service.model_copy(update={"site": site}) if service.kind == "destruction" else service
        for service in encounter.services
    ]
    return encounter.model_copy(update={"services": services, "external_id": f"{encounter.external_id}-{site}"})


def test_a_table_is_remembered_by_the_facts_it_reads() -> None:
    """Tables record once per screen key and values of their reads, like rules: their input columns
    and the facts their messages name count, the outputs they match do not need to."""
    stack = _tables_stack()
    book = stack.books[-1]
    assert book.built.program is not None
    tables = [(book, rule) for rule in book.built.program.rules]
    reads = [stack._speed._plan(book, rule).reads for book, rule in tables]
    assert reads == [("service.count", "service.kind"), ("service.count", "service.kind", "service.site")]


@pytest.mark.parametrize(
    "encounters",
    [
        pytest.param(
            [
                _encounter(counts=(3,)),
                _encounter(counts=(12,)),
                _encounter(counts=(20,)),
                _encounter(counts=(12,)),
                _encounter(counts=(3,)),
            ],
            id="a table matches its row by each encounter's count, not the first one's",
        ),
        pytest.param(
            [_encounter(counts=(3, 20)), _encounter(counts=(20, 3)), _encounter(counts=(12, 12))],
            id="two services with one screen key but other counts match their own rows",
        ),
        pytest.param(
            [_encounter(counts=(30,)), _sited(_encounter(counts=(30,)), "back"), _encounter(counts=(30,))],
            id="a table's message names each service's own site",
        ),
    ],
)
def test_a_warm_stack_with_tables_codes_like_a_fresh_one(encounters: list[Encounter]) -> None:
    warm = _tables_stack()
    for _ in range(2):
        for encounter in encounters:
            assert _coded(warm, encounter) == _coded(_tables_stack(), encounter)


def test_the_tables_do_fire_where_they_should() -> None:
    warm = _tables_stack()
    for _ in range(2):
        assert ("big_destruction_reviewed", ["d0"]) in _flags(_coded(warm, _encounter(counts=(20,))))
        assert ("destruction_reviewed", ["d0"]) in _flags(_coded(warm, _encounter(counts=(12,))))
        assert not {"big_destruction_reviewed", "destruction_reviewed"} & {
            code for code, _ in _flags(_coded(warm, _encounter(counts=(3,))))
        }
        for site in ("face", "back"):
            held = _coded(warm, _sited(_encounter(counts=(30,)), site))["held_lines"]
            assert {line["query"] for line in held} == {f"Attach a photograph of the lesions on {site}."}


STAGES_CLINIC = """rulebook "Stage records clinic"

rule many-stages "A tumor of more than two stages is reviewed"
  in policy
  when service.kind = mohs and count(service.mohs.stages) > 2
  then
    flag many_stages
"""


def _mohs(stages: int) -> Encounter:
    return Encounter.model_validate(
        {
            "external_id": f"mohs-{stages}",
            "date_of_service": "2026-11-02",
            "provider": {"npi": "1234567893"},
            "patient": {"id": "p1"},
            "coverage": {"payer": "AETNA", "plan_type": "commercial"},
            "diagnoses": ["C44.311"],
            "services": [
                {
                    "id": "s1",
                    "kind": "mohs",
                    "lesion_id": "T1",
                    "site": "nose",
                    "diagnoses": ["C44.311"],
                    "mohs": {"tumor_id": "T1", "stages": [{"blocks": 1}] * stages},
                }
            ],
        }
    )


def test_a_rule_reading_a_list_of_records_runs_every_time_and_codes_like_a_fresh_stack() -> None:
    """The stage records are no key: the rule runs each time, warm or not, and decides right."""
    warm = stack_of([STAGES_CLINIC])
    for stages in (3, 1, 3, 1):
        coding = _coded_with_findings(warm, _mohs(stages))
        assert coding == _coded_with_findings(stack_of([STAGES_CLINIC]), _mohs(stages))
        assert ("many_stages" in [flag for flag, _ in _flags(coding)]) is (stages > 2)
