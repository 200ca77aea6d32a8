"""Rules `for the encounter`: run once a visit beside the rules run for each service, over
`services` and the visit's `lines`, acting on the lines their code set or modifier picks (the
examples book, tests/fixtures/rules/encounter-rules.rules, runs in test_encounter_reach.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from rulebooks import authoring
from rulebooks.engine.pipeline import code
from rulebooks.models import Coding, Encounter
from rulebooks.stack import stack_of

CODED_AT = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
HEADER = 'rulebook "Visit" for payer ACME\n\nvalueset biopsy_codes = [11102..11107]\n\n'


def biopsy(number: int, site: str = "back") -> dict[str, Any]:
    return {"id": f"b{number}", "kind": "biopsy", "technique": "punch", "site": site, "diagnoses": ["D48.5"]}


def shave(lesion: str) -> dict[str, Any]:
    return {
        "id": "s1",
        "kind": "shave",
        "site": "back",
        "lesion_size_cm": 0.4,
        "lesion_id": lesion,
        "diagnoses": ["D48.5"],
    }


def excision(lesion: str) -> dict[str, Any]:
    return {
        "id": "x1",
        "kind": "excision",
        "site": "back",
        "lesion_size_cm": 0.6,
        "lesion_id": lesion,
        "diagnoses": ["D48.5"],
    }


def encounter(*services: dict[str, Any]) -> Encounter:
    return Encounter.model_validate(
        {
            "external_id": "e1",
            "date_of_service": "2026-03-02",
            "provider": {"npi": "1234567893"},
            "patient": {"id": "p1", "age": 70},
            "coverage": {"payer": "ACME", "plan_type": "commercial"},
            "diagnoses": list(dict.fromkeys(c for service in services for c in service["diagnoses"])),
            "services": list(services),
        }
    )


def coded(text: str, *services: dict[str, Any]) -> Coding:
    return code(encounter(*services), encounter_id="e1", coded_at=CODED_AT, stack=stack_of([HEADER + text]))


VISIT_BIOPSIES = """rule visit-biopsies "At most two biopsies a visit"
  in policy for the encounter
  when count(each s in services: s.kind = biopsy) > 2
  then
    limit biopsy_codes to 2 units per session holding the excess
    flag biopsies_over_two
"""


def test_an_encounter_rule_runs_once_a_visit_on_the_production_path() -> None:
    """Three biopsies: one flag naming every service (a rule run per service would raise three),
    the excess held once."""
    coding = coded(VISIT_BIOPSIES, biopsy(1), biopsy(2, "scalp"), biopsy(3, "arm"))
    (flag,) = [f for f in coding.flags if f.code == "biopsies_over_two"]
    assert flag.service_ids == ["b1", "b2", "b3"]
    (reason,) = flag.reasons
    assert reason.rule is not None and reason.rule.rule_id == "visit-biopsies"
    assert sum(line.units for line in coding.claim_lines if line.code in {"11104", "11105"}) == 2
    assert [(line.code, line.units) for line in coding.held_lines] == [("11105", 1)]
    two = coded(VISIT_BIOPSIES, biopsy(1), biopsy(2, "scalp"))
    assert not [f for f in two.flags if f.code == "biopsies_over_two"] and not two.held_lines


SHAVE_AND_EXCISION = """rule shave-and-excision "A shave and an excision of one lesion are reviewed"
  in policy for the encounter
  when any first in services: (first.kind = shave
       and any later in services: (later.kind = excision and later.lesion = first.lesion))
  then
    flag shave_and_excision_of_one_lesion
"""


def test_a_warm_stack_codes_exactly_like_a_fresh_one_when_only_another_service_differs() -> None:
    """An encounter rule reads every service: the same shave beside an excision of its lesion,
    then of another lesion, then of its lesion again codes on a warm stack (with a service rule
    the stack's devices remember) as on stacks that never saw an encounter."""
    service_rule = """rule biopsy-flag "Biopsies are flagged"
  in policy
  when service.kind = shave
  then
    flag shaved
"""
    text = HEADER + SHAVE_AND_EXCISION + "\n" + service_rule
    warm = stack_of([text])
    encounters = [encounter(shave("A"), excision(lesion)) for lesion in ("A", "B", "A")]
    warm_codings = [code(each, encounter_id="e1", coded_at=CODED_AT, stack=warm) for each in encounters]
    fresh_codings = [
        code(each, encounter_id="e1", coded_at=CODED_AT, stack=stack_of([text]).observed()) for each in encounters
    ]
    for warm_coding, fresh_coding in zip(warm_codings, fresh_codings, strict=True):
        assert warm_coding.model_dump(mode="json") == fresh_coding.model_dump(mode="json")
    reviewed = ["shave_and_excision_of_one_lesion" in [f.code for f in each.flags] for each in warm_codings]
    assert reviewed == [True, False, True]


def test_an_encounter_rule_sees_the_lines_as_the_service_rules_left_them() -> None:
    """Encounter rules run after the phase's service rules: a line a service rule dropped is not
    among the encounter's `lines`."""
    text = """rule drop-biopsy-of-scalp "No biopsy of the scalp"
  in policy
  when service.kind = biopsy and service.site = "scalp"
  then
    drop lines in biopsy_codes saying "not on the scalp"

rule count-biopsy-lines "Two biopsy lines are flagged"
  in policy for the encounter
  when count(each line in lines: line.code in biopsy_codes) >= 2
  then
    flag two_biopsy_lines
"""
    scalp = coded(text, biopsy(1), biopsy(2, "scalp"))
    assert "two_biopsy_lines" not in [f.code for f in scalp.flags]
    arm = coded(text, biopsy(1), biopsy(2, "arm"))
    assert "two_biopsy_lines" in [f.code for f in arm.flags]


def test_an_encounter_rules_line_action_acts_on_every_services_lines() -> None:
    text = """rule xs-beside-destruction "A biopsy beside a destruction takes XS"
  in policy for the encounter
  when any line in lines: line.code in [17000..17004]
  then
    replace modifier 59 with XS on lines in biopsy_codes
"""
    destruction = {"id": "d1", "kind": "destruction", "count": 3, "site": "face", "diagnoses": ["L57.0"]}
    coding = coded(text, biopsy(1), biopsy(2, "arm"), destruction)
    biopsy_lines = [line for line in coding.claim_lines if line.code in {"11104", "11105"}]
    assert [line.modifiers for line in biopsy_lines] == [["XS"], ["XS"]]


def diagnostics(rules: str) -> list[tuple[str, int, str]]:
    return [(d["code"], d["line"], d["message"]) for d in authoring.check(HEADER + rules)]


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        pytest.param(
            'rule r "x"\n  in policy for the encounter\n  when service.kind = biopsy\n  then\n    flag f\n',
            ("fact.wrong_scope", 7, "`service.kind` is a fact of one service; rule `r` runs once for the encounter"),
            id="an encounter rule reading one service",
        ),
        pytest.param(
            'rule r "x"\n  in policy for the encounter\n'
            "  when any o in other_services: o.same_lesion\n  then\n    flag f\n",
            ("fact.wrong_scope", 7, "`other_services` is a fact of one service; rule `r` runs once for the encounter"),
            id="an encounter rule reading other_services",
        ),
        pytest.param(
            'rule r "x"\n  in policy\n  when any s in services: s.kind = biopsy\n  then\n    flag f\n',
            ("fact.wrong_scope", 7, "`services` is read by a rule `for the encounter`; rule `r` runs for each service"),
            id="a service rule reading services",
        ),
        pytest.param(
            'rule r "x"\n  in policy for the encounter\n  then\n    cap lesions of service at 10 lesions\n',
            (
                "action.wrong_scope",
                8,
                "`cap lesions of service at {count}` acts on one service; this rule runs once for the encounter",
            ),
            id="an action on one service in an encounter rule",
        ),
        pytest.param(
            'rule r "x"\n  in policy for the visit\n  then\n    flag f\n',
            ("rule.scope", 6, "`for the visit` is not what a rule runs for"),
            id="a scope that is not the encounter",
        ),
        pytest.param(
            'table t "x"\n  in policy for the encounter\n  hit first\n  | plan_type | => c |\n  | - | 1 |\n',
            ("table.scope", 6, "table `t` runs for each service; only a rule runs for the encounter"),
            id="a table for the encounter",
        ),
    ],
)
def test_what_an_encounter_rule_cannot_say_is_an_error_where_it_is_written(
    rules: str, expected: tuple[str, int, str]
) -> None:
    assert expected in diagnostics(rules)


def test_the_scope_is_canonical_and_in_the_content_hash() -> None:
    written = HEADER + 'rule r "x"\n  in policy   for  the encounter\n  then\n    flag f\n'
    formatted = authoring.format(written)["text"]
    assert "  in policy for the encounter\n" in formatted
    per_service = stack_of([HEADER + 'rule r "x"\n  in policy\n  then\n    flag f\n']).books[0].version
    assert stack_of([formatted]).books[0].version != per_service


@pytest.mark.parametrize(
    ("condition", "wrong"),
    [
        pytest.param("service.count > 10 lesions", True, id="any kind"),
        pytest.param("service.kind in [destruction, biopsy]", True, id="a biopsy too"),
        pytest.param("not (service.kind = biopsy)", True, id="every kind but a biopsy"),
        pytest.param("service.kind = destruction and service.count > 10 lesions", False, id="destructions only"),
        pytest.param("service.kind in [destruction]", False, id="destructions only, as a set"),
    ],
)
def test_cap_lesions_where_it_cannot_act_is_a_checker_error(condition: str, wrong: bool) -> None:
    rule = (
        f'rule r "x"\n  in policy\n  when present(service.count) and {condition}\n'
        "  then\n    cap lesions of service at 10 lesions\n"
    )
    found = [d for d in diagnostics(rule) if d[0] == "action.wrong_target"]
    expected = (
        "action.wrong_target",
        9,
        "`cap lesions of service at ...` acts only where service.kind is destruction; "
        "here it may run for another and would do nothing",
    )
    assert found == ([expected] if wrong else [])


def test_cap_lesions_under_an_if_or_a_table_guard_that_says_destruction_is_accepted() -> None:
    under_if = (
        'rule r "x"\n  in policy\n  when present(service.count)\n  then\n'
        "    if service.kind = destruction then cap lesions of service at 10 lesions else flag f\n"
    )
    assert [d for d in diagnostics(under_if) if d[0] == "action.wrong_target"] == []
    in_else = under_if.replace(
        "then cap lesions of service at 10 lesions else flag f", "then flag f else cap lesions of service at 10 lesions"
    )
    assert [d[0] for d in diagnostics(in_else) if d[0] == "action.wrong_target"] == ["action.wrong_target"]
    table = (
        'table t "x"\n  in policy\n  hit first\n  when service.kind = destruction\n'
        "  | plan_type | => cap |\n  | - | 10 lesions |\n  then\n"
        "    if present(service.count) and service.count > cap then cap lesions of service at cap\n"
    )
    assert [d for d in diagnostics(table) if d[0] == "action.wrong_target"] == []
    unguarded = table.replace("  when service.kind = destruction\n", "")
    assert [d[0] for d in diagnostics(unguarded) if d[0] == "action.wrong_target"] == ["action.wrong_target"]


OURS_FOR_AETNA = """rulebook "Ours for Aetna" for payer AETNA
  extends "Aetna commercial (template)"
  effective 2026-01-01

rule aetna-ak-cap-10 "From 2030 we cap at 8"
  in policy
  effective 2030-01-01
  when service.kind = destruction
   and service.diagnoses any in actinic_keratosis
   and present(service.count)
   and service.count > 8 lesions
  then
    cap lesions of service at 8 lesions
    flag our_cap

test "the cap in force applies" {
  given {
    date_of_service: DATE
    service: {kind: destruction, count: 12 lesions, diagnoses: [L57.0]}
  }
  expect flag FLAG
}
"""


@pytest.mark.parametrize(
    ("date", "flag", "reached"),
    [
        pytest.param(
            "2026-03-02",
            "payer_lesion_cap_applied",
            False,
            id="out of effect: the template's rule of the same id fired, not this one",
        ),
        pytest.param("2030-03-02", "our_cap", True, id="in effect: this rule's condition was evaluated and it fired"),
    ],
)
def test_coverage_counts_a_rule_reached_only_when_its_own_condition_was_evaluated(
    date: str, flag: str, reached: bool
) -> None:
    report = authoring.run_tests(OURS_FOR_AETNA.replace("DATE", date).replace("FLAG", flag))
    assert report["passed"]
    assert report["coverage"]["rules"] == {"aetna-ak-cap-10": reached}
    first = report["coverage"]["conditions"]["aetna-ak-cap-10 line 8:8"]
    assert first == {"true": reached, "false": False}


def test_coverage_of_conditions_counts_only_what_was_evaluated() -> None:
    """`and` stops at the first false test: the tests after it are not reached, either way."""
    text = (
        'rulebook "Cov"\n\nrule biopsy-on-face "Biopsies of the face"\n  in policy\n'
        '  when service.kind = biopsy\n   and service.site = "face"\n  then\n    flag face_biopsy\n\n'
        'test "a destruction is not a biopsy" {\n  given {\n'
        '    service: {kind: destruction, count: 1 lesions, site: "face", diagnoses: [L57.0]}\n  }\n'
        "  expect no flag face_biopsy\n}\n"
    )
    report = authoring.run_tests(text)
    assert report["passed"]
    assert report["coverage"]["rules"] == {"biopsy-on-face": False}
    assert report["coverage"]["conditions"] == {
        "biopsy-on-face line 5:8": {"true": False, "false": True},
        "biopsy-on-face line 6:8": {"true": False, "false": False},
    }


def test_a_warm_stack_finds_the_encounter_rules_of_each_date_and_payer() -> None:
    """A dated encounter rule in a payer's book: one stack codes encounters on both sides of the
    rule's date and of another payer, each as a fresh stack would."""
    dated = VISIT_BIOPSIES.replace(
        "  in policy for the encounter\n", "  in policy for the encounter\n  effective 2026-06-01\n"
    )
    warm = stack_of([HEADER + dated])
    three = (biopsy(1), biopsy(2, "scalp"), biopsy(3, "arm"))
    for date_of_service, payer in (("2026-07-01", "ACME"), ("2026-03-02", "ACME"), ("2026-07-01", "OTHER")):
        seen = encounter(*three).model_copy(
            update={
                "date_of_service": dt.date.fromisoformat(date_of_service),
                "coverage": encounter(*three).coverage.model_copy(update={"payer": payer}),
            }
        )
        fresh = stack_of([HEADER + dated])
        flags = [
            [f.code for f in code(seen, encounter_id="e1", coded_at=CODED_AT, stack=stack).flags]
            for stack in (warm, fresh)
        ]
        assert flags[0] == flags[1], (date_of_service, payer)
        assert ("biopsies_over_two" in flags[0]) is ((date_of_service, payer) == ("2026-07-01", "ACME"))
