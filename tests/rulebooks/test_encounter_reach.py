"""Rules that see the whole encounter (`other_services` and its relations) and the actions payer
policies need (drop lines, units per session, modifiers by selector, self-pay), on the engine."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from rulebooks import authoring
from rulebooks.engine.pipeline import code
from rulebooks.models import Coding, Encounter
from rulebooks.stack import stack_of

EXAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "rules" / "encounter-reach.rules"
#: The examples books: this one, and the rules for the encounter (tests/rulebooks/test_encounter_rules.py).
BOOKS = [EXAMPLES, EXAMPLES.with_name("encounter-rules.rules")]
CODED_AT = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
HEADER = 'rulebook "Reach" for payer ACME\n\n'


def encounter(*services: dict[str, Any], plan_type: str = "commercial") -> Encounter:
    diagnoses = list(dict.fromkeys(code_ for service in services for code_ in service.get("diagnoses", [])))
    return Encounter.model_validate(
        {
            "external_id": "e1",
            "date_of_service": "2026-03-02",
            "provider": {"npi": "1234567893"},
            "patient": {"id": "p1", "age": 70},
            "coverage": {"payer": "ACME", "plan_type": plan_type},
            "diagnoses": diagnoses,
            "services": list(services),
        }
    )


def injection(lesion: str) -> dict[str, Any]:
    return {
        "id": "inj",
        "kind": "injection",
        "technique": "intralesional",
        "count": 1,
        "lesion_id": lesion,
        "drug": {"hcpcs": "J3301", "units": 2},
        "diagnoses": ["L91.0"],
    }


def destruction(lesion: str, *, kind: str = "destruction", count: int = 1) -> dict[str, Any]:
    return {"id": "d1", "kind": kind, "count": count, "lesion_id": lesion, "site": "face", "diagnoses": ["L57.0"]}


def lines(coding: Coding) -> list[tuple[str, int, list[str]]]:
    return [(line.code, line.units, list(line.modifiers)) for line in coding.claim_lines]


def coded(text: str, *services: dict[str, Any], plan_type: str = "commercial") -> Coding:
    stack = stack_of([HEADER + text])
    return code(encounter(*services, plan_type=plan_type), encounter_id="e1", coded_at=CODED_AT, stack=stack)


# ---- the examples book: every construct in the language, with its own tests ------------------


@pytest.mark.parametrize("book", BOOKS, ids=lambda path: path.name)
def test_the_examples_pass_their_own_tests_and_reach_every_rule(book: Path) -> None:
    report = authoring.run_tests(book.read_text(encoding="utf-8"))
    failures = [(r["name"], e["message"]) for r in report["results"] for e in r["expectations"] if not e["passed"]]
    assert report["passed"] and not failures, failures
    assert all(report["coverage"]["rules"].values()), report["coverage"]["rules"]


@pytest.mark.parametrize("book", BOOKS, ids=lambda path: path.name)
def test_the_examples_are_canonical_and_clean(book: Path) -> None:
    text = book.read_text(encoding="utf-8")
    assert authoring.format(text)["text"] == text
    assert authoring.check(text) == []


# ---- reach --------------------------------------------------------------------------------------

INJECTION_RULE = """rule no-injection-into-destroyed-lesion "No injection into a lesion destroyed the same day"
  in policy
  when service.kind = injection
   and any other in other_services: (other.kind = destruction and other.same_lesion)
  then
    drop lines in [11900, 11901] saying "not billed beside the destruction of its lesion"
"""


@pytest.mark.parametrize(
    ("other", "dropped"),
    [
        pytest.param(destruction("A"), True, id="a destruction of the same lesion drops the injection"),
        pytest.param(destruction("B"), False, id="a destruction of another lesion leaves it"),
        pytest.param(
            {**destruction("A"), "kind": "shave", "lesion_size_cm": 0.4},
            False,
            id="a shave of the same lesion leaves it",
        ),
    ],
)
def test_a_service_rule_sees_the_other_services_and_how_they_relate(other: dict[str, Any], dropped: bool) -> None:
    coding = coded(INJECTION_RULE, injection("A"), other)
    assert ("11900" in [line.code for line in coding.claim_lines]) is not dropped
    flags = [
        f
        for f in coding.flags
        if f.code == "edit_applied" and f.detail == "not billed beside the destruction of its lesion"
    ]
    assert bool(flags) is dropped
    if dropped:
        (reason,) = flags[0].reasons
        assert reason.rule is not None and reason.rule.rule_id == "no-injection-into-destroyed-lesion"
        assert reason.values["service.kind"] == "injection"


def test_a_warm_stack_codes_exactly_like_a_fresh_one_when_only_another_service_differs() -> None:
    """What the stack remembers between encounters is keyed on every fact a rule reads: the same
    injection beside a destruction of its own lesion, then of another lesion, codes on a warm stack
    as it does on a stack that never saw the first encounter."""
    text = HEADER + INJECTION_RULE
    warm = stack_of([text])
    first = encounter(injection("A"), destruction("A"))
    second = encounter(injection("A"), destruction("B"))
    third = encounter(injection("A"), destruction("A", count=2))
    warm_codings = [code(each, encounter_id="e1", coded_at=CODED_AT, stack=warm) for each in (first, second, third)]
    fresh_codings = [
        code(each, encounter_id="e1", coded_at=CODED_AT, stack=stack_of([text]).observed())
        for each in (first, second, third)
    ]
    for warm_coding, fresh_coding in zip(warm_codings, fresh_codings, strict=True):
        assert warm_coding.model_dump(mode="json") == fresh_coding.model_dump(mode="json")
    # The encounters code differently, so the comparison above can fail.
    assert "11900" not in [line.code for line in warm_codings[0].claim_lines]
    assert "11900" in [line.code for line in warm_codings[1].claim_lines]


def test_relations_between_sites_are_missing_when_a_site_is_missing() -> None:
    from rulebooks.rule_facts import service_facts

    found = encounter(injection("A"), destruction("B"))
    (other,) = service_facts(found, found.services[0])["other_services"]
    assert (other["same_lesion"], other["same_site"], other["same_site_group"]) == (False, None, None)
    beside = found.model_copy(
        update={"services": [found.services[0].model_copy(update={"site": "  Face "}), found.services[1]]}
    )
    (other,) = service_facts(beside, beside.services[0])["other_services"]
    assert other["same_site"] is True


# ---- actions ------------------------------------------------------------------------------------

AK_LIMIT = """rule ak-limit "At most 5 units of 17003 a session"
  in policy
  when service.kind = destruction
  then
    limit [17003] to 5 units per session {how} the excess
"""


def test_limit_units_holds_the_excess_splitting_the_line_over_the_limit() -> None:
    coding = coded(AK_LIMIT.format(how="holding"), destruction("A", count=10))
    assert lines(coding) == [("17000", 1, []), ("17003", 5, [])]
    (held,) = coding.held_lines
    assert (held.code, held.units) == ("17003", 4)
    assert held.query == "9 units of 17003 in the session; the payer pays at most 5"
    (flag,) = [f for f in coding.flags if f.code == "units_limited"]
    assert flag.reasons[0].rule is not None and flag.reasons[0].rule.rule_id == "ak-limit"


def test_limit_units_counts_the_session_not_the_service() -> None:
    """Two destructions of 4 AKs each code as one family (17000 + 17003 x7): 2 units held, once,
    whichever service's rule fires first; the second firing finds 5 and changes nothing."""
    second = {**destruction("B", count=4), "id": "d2", "site": "scalp"}
    coding = coded(AK_LIMIT.format(how="holding"), destruction("A", count=4), second)
    assert sum(line.units for line in coding.claim_lines if line.code == "17003") == 5
    assert [(line.code, line.units) for line in coding.held_lines] == [("17003", 2)]
    assert len([f for f in coding.flags if f.code == "units_limited"]) == 1


def test_limit_units_flagging_the_excess_leaves_the_lines() -> None:
    coding = coded(AK_LIMIT.format(how="flagging"), destruction("A", count=10))
    assert lines(coding) == [("17000", 1, []), ("17003", 9, [])]
    assert not coding.held_lines
    (flag,) = [f for f in coding.flags if f.code == "units_over_limit"]
    assert flag.detail == "9 units of 17003 in the session; the payer pays at most 5"


BIOPSY_BESIDE_DESTRUCTION = (
    {"id": "b1", "kind": "biopsy", "technique": "tangential", "site": "left forearm", "diagnoses": ["D48.5"]},
    destruction("A", count=3),
)


@pytest.mark.parametrize(
    ("action", "biopsy_modifiers"),
    [
        pytest.param("replace modifier 59 with XS on lines in [11102]", ["XS"], id="replace 59 with XS"),
        pytest.param("replace modifier 59 with XS on lines in [11104]", ["59"], id="replace: other codes untouched"),
        pytest.param("add modifier KX to lines with modifier 59", ["59", "KX"], id="add KX to lines carrying 59"),
        pytest.param("add modifier KX to lines with modifier XS", ["59"], id="add: lines without it untouched"),
        pytest.param("remove modifier 59 from lines of service", [], id="remove 59 from every line"),
    ],
)
def test_modifier_actions_act_on_the_lines_their_selector_picks(action: str, biopsy_modifiers: list[str]) -> None:
    rule = (
        f'rule biopsy-modifiers "Biopsy modifiers"\n  in policy\n  when service.kind = biopsy\n  then\n    {action}\n'
    )
    coding = coded(rule, *BIOPSY_BESIDE_DESTRUCTION)
    (biopsy,) = [line for line in coding.claim_lines if line.code == "11102"]
    assert biopsy.modifiers == biopsy_modifiers
    assert [line.modifiers for line in coding.claim_lines if line.code.startswith("170")] == [[], []]
    changed = biopsy_modifiers != ["59"]
    assert any(r.rule is not None and r.rule.rule_id == "biopsy-modifiers" for r in biopsy.reasons) is changed


def test_move_lines_to_self_pay() -> None:
    rule = (
        'rule tags-self-pay "Skin tags are the patient\'s"\n  in policy\n  when service.kind = skin_tag_removal\n'
        "  then\n    move lines in [11200] to self_pay\n"
    )
    coding = coded(rule, {"id": "t1", "kind": "skin_tag_removal", "count": 3, "diagnoses": ["L91.8"]})
    assert [line.code for line in coding.self_pay_lines] == ["11200"]
    assert not [line for line in coding.claim_lines if line.code == "11200"]


# ---- checker and test runner ------------------------------------------------------------------


def diagnostics(text: str) -> list[tuple[str, str, str | None]]:
    return [(d["code"], d["message"], d["hint"]) for d in authoring.check(HEADER + text)]


def test_a_quantifier_cut_short_by_and_says_it_needs_parentheses() -> None:
    rule = (
        'rule x "x"\n  in policy\n  when any line in lines: line.code = 17003 and line.units > 5\n'
        "  then\n    flag many\n"
    )
    ((code_, message, hint),) = diagnostics(rule)
    assert code_ == "condition.needs_parentheses"
    assert message == (
        "`line.units` is outside `any line in lines:`: a quantifier's condition ends at the first `and` or `or`"
    )
    assert hint == "put its whole condition in parentheses: `any line in lines: (... and ...)`"
    assert (
        diagnostics(
            rule.replace("lines: line.code = 17003 and line.units > 5", "lines: (line.code = 17003 and line.units > 5)")
        )
        == []
    )


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        pytest.param(
            "other_services: [{knd: biopsy}]",
            ("name.unknown_field", "`knd` is not a fact of each of `other_services`", "did you mean `kind`?"),
            id="a misspelt fact of another service",
        ),
        pytest.param(
            "other_services: [biopsy]",
            (
                "test.given_record",
                "each of `other_services` is written as `{...}` with its facts",
                "e.g. `other_services: [{kind: ...}]`",
            ),
            id="another service not written as a record",
        ),
    ],
)
def test_a_given_other_service_is_checked_fact_by_fact(given: str, expected: tuple[str, str, str]) -> None:
    text = f'test "t" {{\n  given {{\n    {given}\n  }}\n  expect status ready\n}}\n'
    assert diagnostics(text) == [expected]


def test_a_given_that_makes_no_encounter_fails_the_test_and_says_why() -> None:
    text = (
        HEADER
        + 'test "visit" {\n  given {\n    service: {kind: em, em: {level: 3}}\n  }\n  expect line 99213 units 1\n}\n'
    )
    assert authoring.check(text) == []
    report = authoring.run_tests(text)
    (result,) = report["results"]
    assert not result["passed"]
    assert [e["message"] for e in result["expectations"]] == [
        "the test's facts cannot run: `service.em.patient_status` is required"
    ]


def test_expect_query_provider_matches_the_filled_in_text() -> None:
    text = EXAMPLES.read_text(encoding="utf-8")
    wrong = text.replace('flap on nose closes?"', 'flap on chin closes?"')
    report = authoring.run_tests(wrong)
    failed = [e for r in report["results"] for e in r["expectations"] if not e["passed"]]
    assert [e["expectation"] for e in failed] == [
        'query provider "Which excision or Mohs made the defect the flap on chin closes?"'
    ]


def rule_with(condition: str) -> str:
    return f'rule r "r"\n  in policy\n  when {condition}\n  then\n    flag x\n'


def errors(text: str) -> list[tuple[str, str, str | None, int]]:
    return [
        (d["code"], d["message"], d["hint"], d["column"])
        for d in authoring.check(HEADER + text)
        if d["severity"] == "error"
    ]


@pytest.mark.parametrize(
    ("written", "operator"),
    [
        pytest.param("is more than", ">", id="is more than"),
        pytest.param("is at least", ">=", id="is at least"),
        pytest.param("is fewer than", "<", id="is fewer than"),
        pytest.param("no more than", "<=", id="no more than"),
    ],
)
def test_an_english_comparison_gets_its_operator_and_hides_no_other_mistake(written: str, operator: str) -> None:
    condition = f"service.count {written} 10 lesions and service.knd = destruction"
    expected = [
        (
            "syntax.english_operator",
            f"`{written}` is not an operator of the language",
            f"write `{operator}`, as in `service.count {operator} 10 lesions`",
            22,
        ),
        (
            "name.unknown",
            "`service.knd` is not a known fact or value set",
            "did you mean `service.kind`?",
            23 + len(written) + 15,
        ),
    ]
    assert errors(rule_with(condition)) == expected
    # Asked again (the parser keeps the blocks it read cleanly), the same errors.
    assert errors(rule_with(condition)) == expected


def test_a_word_that_is_no_english_comparison_keeps_the_syntax_error() -> None:
    ((code_, message, _, _),) = errors(rule_with("service.count > 10 lesions iss"))
    assert (code_, message) == ("syntax.unexpected_token", "expected the end of the line, found `iss`")


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        pytest.param(
            "service.kind = 17000",
            "`17000` is a number, but `service.kind` beside it is one of em, biopsy, destruction, shave, "
            "excision, hidradenitis_excision, ...: `17000` is the side to change",
            id="a value beside a fact",
        ),
        pytest.param(
            '"11" = plan_type',
            '`"11"` is a quoted text, but `plan_type` beside it is one of commercial, medicare_ffs, '
            'medicare_advantage, medicaid, self_pay: `"11"` is the side to change',
            id="a value written first",
        ),
        pytest.param(
            "present(service.count) and present(service.lesion_size_cm) and service.count = service.lesion_size_cm",
            "`service.lesion_size_cm` is a number of cm, but `service.count` beside it is a number of lesions: "
            "they cannot be compared",
            id="two facts",
        ),
    ],
)
def test_a_type_error_names_the_side_that_is_wrong(condition: str, message: str) -> None:
    assert [(code_, text) for code_, text, _, _ in errors(rule_with(condition))] == [("type.mismatch", message)]


def test_a_unit_error_is_reported_at_the_value_written_beside_the_fact() -> None:
    ((code_, message, hint, column),) = errors(
        rule_with("present(service.lesion_size_cm) and 10 lesions < service.lesion_size_cm")
    )
    assert (code_, message, hint, column) == (
        "type.unit_mismatch",
        "`10 lesions` is measured in lesions, but this fact is a number of cm",
        "write it in cm",
        44,
    )


def test_no_can_never_fire_warning_comes_from_an_earlier_error() -> None:
    found = authoring.check(HEADER + rule_with("service.kind = 17000"))
    assert [d["code"] for d in found] == ["type.mismatch"]
    contradiction = authoring.check(HEADER + rule_with("service.kind = biopsy and service.kind = destruction"))
    assert [d["code"] for d in contradiction] == ["rule.unreachable"]


@pytest.mark.parametrize(
    ("given", "message"),
    [
        pytest.param(
            'service: {kind: biopsy, site: "nose", region: nose}',
            "a test cannot give `service.region`: it is worked out from `service.site`: give the site",
            id="a derived fact",
        ),
        pytest.param(
            "patient: {risk_states: [diabetic]}",
            "a test cannot give `patient.risk_states`: they are worked out from `diagnoses`: give the diagnoses",
            id="a state derived from the diagnoses",
        ),
        pytest.param(
            "lines: [{code: 99213}]",
            "a test cannot give `lines.code`: the claim lines are the coding's own: give the services they come from",
            id="the claim lines",
        ),
        pytest.param(
            "scores: {easi: 20}",
            "a test cannot give `scores.easi`: no encounter carries scores yet, so the engine never sees them",
            id="a fact no encounter carries",
        ),
        pytest.param(
            "services: [{kind: biopsy}]",
            "a test cannot give `services.kind`: a test gives the encounter's services as `service` and "
            "`other_services`",
            id="the services an encounter rule reads",
        ),
    ],
)
def test_a_fact_the_runner_would_ignore_is_a_checker_error(given: str, message: str) -> None:
    text = f'test "t" {{\n  given {{\n    {given}\n  }}\n  expect status ready\n}}\n'
    assert [(c, m) for c, m, _, _ in errors(text)] == [("test.given_ignored", message)]


def test_a_test_gives_the_place_of_service_the_earlier_procedure_and_the_relation_to_it() -> None:
    rule = (
        'rule in-global "A visit in the global period of a recent procedure, in the hospital"\n  in policy\n'
        '  when present(global_period.days_after) and global_period.days_after < 10 days and place_of_service = "22"\n'
        "   and present(service.related_to_prior) and service.related_to_prior = unrelated\n"
        "  then\n    flag in_global\n"
    )
    test = (
        'test "t" {\n  given {\n    place_of_service: "22"\n'
        "    global_period: {procedure_code: 11104, days_after: 5 days}\n"
        "    service: {kind: em, em: {patient_status: established, level: 3}, related_to_prior: unrelated}\n"
        "  }\n  expect flag in_global because in-global\n"
        '  examples\n    | place_of_service | expect |\n    | "11" | no flag in_global |\n}\n'
    )
    text = HEADER + rule + "\n" + test
    assert authoring.check(text) == []
    report = authoring.run_tests(text)
    assert report["passed"], report["results"]
    assert [r["passed"] for r in report["results"]] == [True, True]


COUNT_RULE = """rule biopsies-in-one-area "Three or more biopsies in one site group"
  in policy
  when service.kind = biopsy
   and count(each other in other_services: other.kind = biopsy and other.same_site_group) >= 2
  then
    flag biopsies_in_one_area
"""


def biopsy(service_id: str, site_group: str | None) -> dict[str, Any]:
    found = {"id": service_id, "kind": "biopsy", "technique": "punch", "site": "arm", "diagnoses": ["D48.5"]}
    return found if site_group is None else {**found, "site_group": site_group}


@pytest.mark.parametrize(
    ("groups", "flagged", "undetermined"),
    [
        pytest.param(["trunk_arms_legs"] * 3, 3, 0, id="three in one group: each biopsy counts two others"),
        pytest.param(["trunk_arms_legs", "trunk_arms_legs", "face_ears_eyelids_nose_lips"], 0, 0, id="two and one"),
        pytest.param(["trunk_arms_legs", "trunk_arms_legs", None], 0, 3, id="a missing group leaves it undetermined"),
    ],
)
def test_count_each_counts_the_other_services_meeting_a_condition(
    groups: list[str | None], flagged: int, undetermined: int
) -> None:
    services = [biopsy(f"b{n}", group) for n, group in enumerate(groups)]
    coding = coded(COUNT_RULE, *services)
    assert len([f for f in coding.flags if f.code == "biopsies_in_one_area"]) == flagged
    assert len([f for f in coding.flags if f.code == "rule_undetermined"]) == undetermined


def test_count_each_is_canonical_and_only_counts() -> None:
    assert authoring.format(HEADER + COUNT_RULE)["text"] == HEADER + COUNT_RULE
    wrong = COUNT_RULE.replace("count(each", "present(each").replace(" >= 2", "")
    assert [(c, m) for c, m, _, _ in errors(wrong)] == [
        ("call.not_a_fact", "`present` takes a fact such as `service.count`; `each` counts, inside `count(...)`")
    ]
