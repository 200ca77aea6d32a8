"""Dehiscence repairs 12020/12021/13160 and hidradenitis excisions 11450-11471 (issue #6)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from pydantic import ValidationError

from rulebooks.dated_codesets import cpt_labels
from rulebooks.engine.families.dehiscence import DEHISCENCE_CODES, select_dehiscence_repairs
from rulebooks.engine.families.global_period import global_days
from rulebooks.engine.families.hidradenitis import (
    HIDRADENITIS_CODES,
    bundle_repair_into_hidradenitis_excision,
    hidradenitis_area,
    select_hidradenitis_excisions,
)
from rulebooks.engine.pipeline import BUNDLING_PASSES, FAMILY_PASSES, code
from rulebooks.models import Coding, Encounter
from rulebooks.models.encounter import RepairFacts

BASE: dict[str, Any] = {
    "external_id": "dh-1",
    "date_of_service": "2026-03-10",
    "provider": {"npi": "1234567893"},
    "patient": {"id": "p-1"},
    "coverage": {"payer": "AETNA", "plan_type": "commercial"},
}
NEW_CODES = ("11450", "11451", "11462", "11463", "11470", "11471", "12020", "12021", "13160")


def coded(diagnoses: list[str], *services: dict[str, Any]) -> Coding:
    encounter = Encounter.model_validate({**BASE, "diagnoses": diagnoses, "services": list(services)})
    return code(encounter, encounter_id="e-1", coded_at=dt.datetime(2026, 3, 10, tzinfo=dt.UTC))


def repair(sid: str, site: str, length_cm: float, complexity: str, dehiscence: str | None = None, **extra: Any):
    facts: dict[str, Any] = {"length_cm": length_cm, "complexity": complexity}
    if dehiscence is not None:
        facts["dehiscence"] = dehiscence
    return {"id": sid, "kind": "repair", "site": site, "repair": facts, **extra}


def claim(coding: Coding) -> list[tuple[str, int]]:
    return sorted((line.code, line.units) for line in coding.claim_lines)


class TestContract:
    def test_dehiscence_is_optional_and_absent_by_default(self):
        assert RepairFacts(length_cm=2.0, complexity="simple").dehiscence is None

    def test_an_unknown_dehiscence_is_rejected(self):
        with pytest.raises(ValidationError):
            RepairFacts(length_cm=2.0, complexity="simple", dehiscence="deep")  # type: ignore[arg-type]

    def test_the_passes_are_wired_into_the_pipeline(self):
        assert select_dehiscence_repairs in FAMILY_PASSES
        assert select_hidradenitis_excisions in FAMILY_PASSES
        assert bundle_repair_into_hidradenitis_excision in BUNDLING_PASSES

    @pytest.mark.parametrize("new_code", NEW_CODES)
    def test_every_new_code_has_a_label_marked_unverified(self, new_code):
        assert "unverified" in cpt_labels()[new_code]

    @pytest.mark.parametrize(
        ("new_code", "indicator"),
        [("12020", "000"), ("12021", "000"), ("13160", "090"), *[(c, "010") for c in NEW_CODES[:6]]],
    )
    def test_global_days_follow_the_reference_and_are_unverified(self, new_code, indicator):
        row = global_days(new_code, dt.date(2026, 5, 1))
        assert row is not None
        assert row.indicator == indicator
        assert "unverified" in row.status


class TestDehiscence:
    @pytest.mark.parametrize(
        ("dehiscence", "expected"),
        [("superficial", "12020"), ("superficial_packed", "12021"), ("extensive", "13160")],
    )
    def test_the_kind_of_dehiscence_picks_the_code(self, dehiscence, expected):
        assert DEHISCENCE_CODES[dehiscence][0] == expected
        coding = coded(["T81.31XA"], repair("d1", "back", 12.0, "complex", dehiscence))
        assert claim(coding) == [(expected, 1)]

    def test_not_summed_with_a_layered_repair_of_the_same_group(self):
        coding = coded(
            ["T81.31XA"],
            repair("r1", "back", 2.0, "intermediate"),
            repair("d1", "chest", 2.0, "intermediate", "superficial"),
        )
        assert claim(coding) == [("12020", 1), ("12031", 1)]  # summed, 4.0 cm would have been 12032
        layered = next(line for line in coding.claim_lines if line.code == "12031")
        assert layered.service_ids == ["r1"]

    def test_one_unit_per_wound_and_the_most_complicated_first(self):
        coding = coded(
            ["T81.31XA"],
            repair("d1", "back", 1.0, "simple", "superficial"),
            repair("d2", "arm", 9.0, "complex", "extensive"),
            repair("d3", "leg", 30.0, "simple", "superficial"),
        )
        assert [(line.code, line.units, line.service_ids) for line in coding.claim_lines] == [
            ("13160", 1, ["d2"]),
            ("12020", 2, ["d1", "d3"]),
        ]

    def test_the_reason_says_the_code_is_unverified_configuration(self):
        coding = coded(["T81.31XA"], repair("d1", "back", 2.0, "simple", "superficial"))
        (line,) = coding.claim_lines
        values = line.reasons[0].values
        assert values["dehiscence"] == "superficial"
        assert "unverified" in values["source"]

    def test_a_dehiscence_without_a_site_is_still_coded(self):
        encounter = {
            "id": "d1",
            "kind": "repair",
            "repair": {"length_cm": 2.0, "complexity": "simple", "dehiscence": "superficial"},
        }
        assert claim(coded(["T81.31XA"], encounter)) == [("12020", 1)]


class TestHidradenitisArea:
    @pytest.mark.parametrize(
        ("site", "area"),
        [
            ("left axilla", "axillary"),
            ("R axillary vault", "axillary"),
            ("both axillae", "axillary"),
            ("right groin", "inguinal"),
            ("inguinal fold", "inguinal"),
            ("perianal skin", "perianal_perineal_umbilical"),
            ("perineum", "perianal_perineal_umbilical"),
            ("periumbilical", "perianal_perineal_umbilical"),
            ("left buttock", None),
            ("inframammary fold", None),
            ("left axilla and groin", None),
            (None, None),
        ],
    )
    def test_area_from_site_text(self, site, area):
        assert hidradenitis_area(site) == area


class TestHidradenitis:
    def hs(self, sid: str, site: str, complexity: str | None = None, **extra: Any) -> dict[str, Any]:
        service: dict[str, Any] = {"id": sid, "kind": "hidradenitis_excision", "site": site, **extra}
        if complexity is not None:
            service["repair"] = {"length_cm": 5.0, "complexity": complexity}
        return service

    @pytest.mark.parametrize(
        ("site", "complexity", "expected"),
        [
            ("left axilla", "simple", "11450"),
            ("left axilla", "intermediate", "11450"),
            ("left axilla", "complex", "11451"),
            ("groin", "intermediate", "11462"),
            ("groin", "complex", "11463"),
            ("perianal", "simple", "11470"),
            ("umbilicus", "complex", "11471"),
        ],
    )
    def test_area_and_repair_pick_the_code(self, site, complexity, expected):
        assert claim(coded(["L73.2"], self.hs("h1", site, complexity))) == [(expected, 1)]

    def test_the_configured_pairs(self):
        assert HIDRADENITIS_CODES == {
            "axillary": ("11450", "11451"),
            "inguinal": ("11462", "11463"),
            "perianal_perineal_umbilical": ("11470", "11471"),
        }

    def test_the_most_complex_of_its_repairs_picks_the_code_and_the_repair_is_included(self):
        coding = coded(
            ["L73.2"],
            self.hs("h1", "left axilla", "intermediate", lesion_id="A"),
            repair("r1", "left axilla", 4.0, "complex", lesion_id="A"),
        )
        assert claim(coding) == [("11451", 1)]
        assert [(flag.code, flag.service_ids) for flag in coding.flags] == [("edit_applied", ["r1"])]

    def test_a_dehiscence_of_the_same_lesion_is_not_included(self):
        coding = coded(
            ["L73.2"],
            self.hs("h1", "left axilla", "simple", lesion_id="A"),
            repair("d1", "left axilla", 4.0, "simple", "superficial_packed", lesion_id="A"),
        )
        assert claim(coding) == [("11450", 1), ("12021", 1)]

    @pytest.mark.parametrize(
        ("service", "diagnoses", "held_code", "asks"),
        [
            pytest.param(
                {"site": "left buttock", "complexity": "simple"},
                ["L73.2"],
                "11450",
                "area",
                id="no code for the buttock",
            ),
            pytest.param({"site": "left axilla"}, ["L73.2"], "11450", "repaired", id="repair not documented"),
            pytest.param(
                {"site": "left axilla", "complexity": "simple"},
                ["L72.12"],
                "11450",
                "L73.2",
                id="not a hidradenitis diagnosis",
            ),
        ],
    )
    def test_held_with_a_provider_query(self, service, diagnoses, held_code, asks):
        coding = coded(diagnoses, self.hs("h1", **service))
        assert coding.claim_lines == []
        (held,) = coding.held_lines
        assert held.code == held_code
        assert asks in held.query
        assert coding.status == "held"

    def test_an_encounter_diagnosis_counts_when_the_service_links_none(self):
        assert claim(coded(["L73.2"], self.hs("h1", "groin", "simple"))) == [("11462", 1)]


def test_the_graphql_inputs_carry_the_new_facts():
    from server.api.inputs import RepairInput, ServiceKind, to_payload

    assert to_payload(RepairInput(length_cm=2.0, complexity="simple", dehiscence="superficial")) == {
        "length_cm": 2.0,
        "complexity": "simple",
        "dehiscence": "superficial",
    }
    assert to_payload(RepairInput(length_cm=2.0, complexity="simple")) == {"length_cm": 2.0, "complexity": "simple"}
    assert ServiceKind("hidradenitis_excision").value == "hidradenitis_excision"
