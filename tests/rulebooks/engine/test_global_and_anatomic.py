"""Unit tests: G2211, global-period modifiers 24/58/79 and anatomic modifiers E1-E4, FA/F1-F9, TA/T1-T9."""

from __future__ import annotations

import csv
import datetime as dt
from typing import Any

import pytest
from pydantic import ValidationError

from rulebooks.dated_codesets import DATA_DIR
from rulebooks.engine import code
from rulebooks.engine.context import CodingContext, Decided, FeeSchedules, WorkLine, step_reason
from rulebooks.engine.edits import apply_ncci_ptp_edits
from rulebooks.engine.families.anatomic import ANATOMIC_MODIFIERS, anatomic_modifier
from rulebooks.engine.families.global_period import global_days, postoperative_days
from rulebooks.engine.families.visit_complexity import STEP as G2211_STEP
from rulebooks.models import Coding, Encounter
from rulebooks.models.encounter import GlobalPeriodFacts
from tests.rulebooks.engine.engine_corpus import corpus_stack

CODED_AT = dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC)


def encounter(services: list[dict[str, Any]], **overrides: Any) -> Encounter:
    body: dict[str, Any] = {
        "external_id": "e-1",
        "date_of_service": "2026-03-10",
        "provider": {"npi": "1234567893"},
        "patient": {"id": "p-1"},
        "coverage": {"payer": "MEDICARE", "plan_type": "medicare_ffs"},
        "diagnoses": ["L40.0", "D48.5"],
        "services": services,
        **overrides,
    }
    return Encounter.model_validate(body)


def coded(enc: Encounter) -> Coding:
    return code(enc, encounter_id=enc.external_id, coded_at=CODED_AT, stack=corpus_stack())


def em(
    level: int = 4, status: str = "established", related_to_prior: str | None = None, **facts: Any
) -> dict[str, Any]:
    service = {
        "id": "v1",
        "kind": "em",
        "em": {"patient_status": status, "level": level, **facts},
        "diagnoses": ["L40.0"],
    }
    return {**service, "related_to_prior": related_to_prior} if related_to_prior else service


class TestAnatomicModifiers:
    @pytest.mark.parametrize(
        ("site", "laterality", "modifier"),
        [
            pytest.param("left upper eyelid", None, "E1", id="left upper eyelid is E1"),
            pytest.param("left lower eyelid", None, "E2", id="left lower eyelid is E2"),
            pytest.param("right upper lid", None, "E3", id="right upper lid is E3"),
            pytest.param("RT inferior eyelid", None, "E4", id="right inferior eyelid is E4"),
            pytest.param("left thumb", None, "FA", id="left thumb is FA"),
            pytest.param("left index finger", None, "F1", id="left index finger is F1"),
            pytest.param("left long finger", None, "F2", id="left long finger is F2"),
            pytest.param("left ring finger", None, "F3", id="left ring finger is F3"),
            pytest.param("left little finger", None, "F4", id="left little finger is F4"),
            pytest.param("dorsal right thumb", None, "F5", id="right thumb is F5"),
            pytest.param("R index finger", None, "F6", id="right index finger is F6"),
            pytest.param("right middle finger", None, "F7", id="right middle finger is F7"),
            pytest.param("right ring finger", None, "F8", id="right ring finger is F8"),
            pytest.param("right pinky", None, "F9", id="right pinky is F9"),
            pytest.param("left great toe", None, "TA", id="left great toe is TA"),
            pytest.param("left 2nd toe", None, "T1", id="left second toe is T1"),
            pytest.param("left third toe", None, "T2", id="left third toe is T2"),
            pytest.param("left fourth toe", None, "T3", id="left fourth toe is T3"),
            pytest.param("left fifth toe", None, "T4", id="left fifth toe is T4"),
            pytest.param("right hallux", None, "T5", id="right hallux is T5"),
            pytest.param("right second toe", None, "T6", id="right second toe is T6"),
            pytest.param("right 3rd toe", None, "T7", id="right third toe is T7"),
            pytest.param("right 4th toe", None, "T8", id="right fourth toe is T8"),
            pytest.param("right little toe", None, "T9", id="right little toe is T9"),
            pytest.param("upper eyelid", "left", "E1", id="the documented laterality gives the side"),
        ],
    )
    def test_unambiguous_sites(self, site, laterality, modifier):
        assert anatomic_modifier(site, laterality) == modifier

    @pytest.mark.parametrize(
        ("site", "laterality"),
        [
            pytest.param("upper eyelid", None, id="no side"),
            pytest.param("left eyelid", None, id="neither upper nor lower"),
            pytest.param("left upper and lower eyelids", None, id="two eyelids"),
            pytest.param("bilateral upper eyelids", None, id="both sides"),
            pytest.param("left second finger", None, id="finger ordinals are counted two ways"),
            pytest.param("left index and middle fingers", None, id="two fingers"),
            pytest.param("left 2nd and 3rd toes", None, id="two toes"),
            pytest.param("left toe", None, id="which toe is not said"),
            pytest.param("right upper eyelid", "left", id="text and laterality disagree"),
            pytest.param("left thumb and left great toe", None, id="a finger and a toe"),
            pytest.param("left cheek", None, id="not an eyelid, finger or toe"),
            pytest.param(None, "left", id="no site"),
        ],
    )
    def test_ambiguous_sites_give_none(self, site, laterality):
        assert anatomic_modifier(site, laterality) is None

    def test_the_set_is_the_cms_list(self):
        assert len(ANATOMIC_MODIFIERS) == 4 + 10 + 10


def _ptp_context(sites: tuple[str, str], lesions: tuple[str, str], modifiers: tuple[str, str]) -> CodingContext:
    enc = encounter(
        [
            {"id": "x1", "kind": "excision", "lesion_id": lesions[0], "site": sites[0], "diagnoses": ["D48.5"]},
            {"id": "b1", "kind": "biopsy", "lesion_id": lesions[1], "site": sites[1], "diagnoses": ["D48.5"]},
        ],
        coverage={"payer": "AETNA", "plan_type": "commercial"},
    )
    ctx = CodingContext(encounter=enc, fees=FeeSchedules())
    reason = step_reason("test", "given")
    ctx.lines = [
        WorkLine(code="11421", units=1, service_ids=["x1"], reasons=[reason], modifiers=[modifiers[0]]),
        WorkLine(code="11102", units=1, service_ids=["b1"], reasons=[reason], modifiers=[modifiers[1]]),
    ]
    return ctx


class TestAnatomicModifiersInThePtpPass:
    def test_different_anatomic_modifiers_need_no_distinct_modifier(self):
        ctx = _ptp_context(("left thumb", "left index finger"), ("A", "B"), ("FA", "F1"))
        apply_ncci_ptp_edits(ctx)
        assert [line.modifiers for line in ctx.lines] == [["FA"], ["F1"]]
        assert [flag.code for flag in ctx.flags] == ["edit_applied"]
        assert ctx.lines[1].reasons[-1].values["anatomic"] == ["F1", "FA"]

    def test_the_same_anatomic_modifier_does_not_bypass_the_pair_on_one_lesion(self):
        ctx = _ptp_context(("left thumb", "left thumb"), ("A", "A"), ("FA", "FA"))
        apply_ncci_ptp_edits(ctx)
        assert [line.code for line in ctx.lines] == ["11421"]  # the biopsy is bundled, as without modifiers

    def test_the_same_anatomic_modifier_on_two_lesions_takes_the_payers_distinct_modifier(self):
        ctx = _ptp_context(("left thumb", "left thumb"), ("A", "B"), ("FA", "FA"))
        apply_ncci_ptp_edits(ctx)
        assert ctx.lines[1].modifiers == ["FA", "59"]  # no rule chose one: the universal 59
        ctx = _ptp_context(("left thumb", "left thumb"), ("A", "B"), ("FA", "FA"))
        chosen_by = step_reason("test", "the payer takes XS")
        ctx.policy.distinct = Decided("XS", chosen_by)
        apply_ncci_ptp_edits(ctx)
        assert ctx.lines[1].modifiers == ["FA", "XS"] and ctx.lines[1].reasons[-1] is chosen_by


class TestGlobalDays:
    def test_the_table_holds_only_global_indicators_with_a_source(self):
        with open(DATA_DIR / "global_days.csv", newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        assert {row["global_days"] for row in rows} <= {"000", "010", "090", "ZZZ"}
        assert all(row["source"] and row["status"] for row in rows)
        assert len({row["code"] for row in rows}) == len(rows)

    @pytest.mark.parametrize(
        ("code", "indicator"),
        [
            pytest.param("17000", "010", id="17000 is 010 (S13)"),
            pytest.param("17003", "ZZZ", id="17003 is an add-on (S13)"),
            pytest.param("17004", "010", id="17004 is 010 (S14)"),
            pytest.param("17110", "010", id="17110 is 010 (S18)"),
            pytest.param("17311", "000", id="Mohs is 000 (S48)"),
            pytest.param("14040", "090", id="flaps are 090 (unverified)"),
            pytest.param("12032", "010", id="intermediate repair is 010 (unverified)"),
            pytest.param("12001", "000", id="simple repair is 000 (unverified)"),
        ],
    )
    def test_reference_values(self, code, indicator):
        entry = global_days(code, dt.date(2026, 5, 1))
        assert entry is not None, f"{code} is missing from the global days table"
        assert entry.indicator == indicator

    @pytest.mark.parametrize(
        ("code", "given", "expected"),
        [
            pytest.param("17000", None, 10, id="from the table"),
            pytest.param("14040", None, 90, id="ninety days"),
            pytest.param("11102", None, 0, id="zero days"),
            pytest.param("17003", None, None, id="an add-on has no global of its own"),
            pytest.param("17999", None, None, id="a code not in the table is unknown"),
            pytest.param("17999", 90, 90, id="documented days win"),
        ],
    )
    def test_postoperative_days(self, code, given, expected):
        prior = GlobalPeriodFacts(procedure_code=code, date_of_service=dt.date(2026, 3, 1), global_days=given)
        assert postoperative_days(prior)[0] == expected

    @pytest.mark.parametrize(
        ("days_before", "modifiers"),
        [
            pytest.param(1, ["79"], id="the day after"),
            pytest.param(10, ["79"], id="the tenth day is still in the global"),
            pytest.param(11, [], id="the eleventh day is outside"),
        ],
    )
    def test_the_global_ends_after_its_last_day(self, days_before, modifiers):
        prior_date = dt.date(2026, 3, 10) - dt.timedelta(days=days_before)
        coding = coded(
            encounter(
                [{"id": "b1", "kind": "biopsy", "technique": "punch", "related_to_prior": "unrelated"}],
                global_period={"procedure_code": "17000", "date_of_service": prior_date.isoformat()},
            )
        )
        assert [line.modifiers for line in coding.claim_lines] == [modifiers]

    def test_a_same_problem_procedure_is_held_with_its_question(self):
        coding = coded(
            encounter(
                [{"id": "b1", "kind": "biopsy", "technique": "punch", "related_to_prior": "same_problem"}],
                global_period={"procedure_code": "17000", "date_of_service": "2026-03-05"},
            )
        )
        assert coding.status == "held"
        assert "58" in coding.held_lines[0].query

    def test_add_on_lines_take_the_modifier_of_their_service(self):
        coding = coded(
            encounter(
                [{"id": "d1", "kind": "destruction", "technique": "cryo", "count": 3, "site": "face",
                  "related_to_prior": "unrelated", "diagnoses": ["L57.0"]}],
                diagnoses=["L57.0"],
                global_period={"procedure_code": "14040", "date_of_service": "2026-02-01"},
            )
        )  # fmt: skip
        assert {line.code: line.modifiers for line in coding.claim_lines} == {"17000": ["79"], "17003": ["79"]}


class TestEncounterValidation:
    def test_a_relation_needs_a_global_period(self):
        with pytest.raises(ValidationError, match="no global_period"):
            encounter([{"id": "b1", "kind": "biopsy", "related_to_prior": "unrelated"}])

    def test_an_em_is_never_staged(self):
        with pytest.raises(ValidationError, match="not a staged procedure"):
            encounter(
                [em(related_to_prior="staged")],
                global_period={"procedure_code": "17000", "date_of_service": "2026-03-05"},
            )

    def test_the_prior_procedure_comes_before_the_visit(self):
        with pytest.raises(ValidationError, match="dated before"):
            encounter([em()], global_period={"procedure_code": "17000", "date_of_service": "2026-03-10"})

    def test_the_prior_code_is_a_procedure_code(self):
        with pytest.raises(ValidationError, match="procedure code"):
            encounter([em()], global_period={"procedure_code": "170", "date_of_service": "2026-03-01"})

    def test_new_facts_are_absent_by_default(self):
        enc = encounter([em()])
        assert enc.global_period is None
        assert enc.services[0].related_to_prior is None
        assert enc.services[0].em is not None and enc.services[0].em.longitudinal_care is None


class TestG2211:
    @pytest.mark.parametrize("level", [1, 2, 3, 4, 5])
    def test_every_established_office_level_takes_it(self, level):
        coding = coded(encounter([em(level=level, longitudinal_care=True)]))
        assert [line.code for line in coding.claim_lines][1:] == ["G2211"]

    def test_a_new_patient_visit_takes_it(self):
        coding = coded(encounter([em(level=3, status="new", longitudinal_care=True)]))
        assert [line.code for line in coding.claim_lines] == ["99203", "G2211"]

    def test_not_before_2024(self):
        coding = coded(encounter([em(longitudinal_care=True)], date_of_service="2023-11-02"))
        assert [line.code for line in coding.claim_lines] == ["99214"]
        refused = [flag for flag in coding.flags if flag.detail == "G2211 not added to 99214"]
        assert refused and refused[0].reasons[0].step == G2211_STEP

    @pytest.mark.parametrize("plan_type", ["commercial", "medicaid", "self_pay"])
    def test_not_for_other_plans_and_the_refusal_says_why(self, plan_type):
        coding = coded(encounter([em(longitudinal_care=True)], coverage={"payer": "X", "plan_type": plan_type}))
        assert "G2211" not in [line.code for line in coding.claim_lines]
        (flag,) = [flag for flag in coding.flags if flag.detail == "G2211 not added to 99214"]
        assert flag.reasons[0].values["plan_type"] == plan_type

    def test_not_beside_an_em_dropped_for_a_procedure(self):
        coding = coded(
            encounter(
                [
                    em(longitudinal_care=True, separately_identifiable=False),
                    {"id": "b1", "kind": "biopsy", "technique": "punch", "diagnoses": ["D48.5"]},
                ]
            )
        )
        assert [line.code for line in coding.claim_lines] == ["11104"]

    def test_not_beside_a_held_em(self):
        coding = coded(
            encounter(
                [em(longitudinal_care=True)],
                global_period={"procedure_code": "14040", "date_of_service": "2026-02-20"},
            )
        )
        assert coding.claim_lines == [] and [line.code for line in coding.held_lines] == ["99214"]
