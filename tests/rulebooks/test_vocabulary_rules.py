"""The dermatology vocabulary: code checks against real code sets, and the JSON the editor reads."""

from __future__ import annotations

import datetime as dt

import pytest

from rulebooks import authoring
from rulebooks.codesets import check_icd10, check_modifier, check_procedure_code
from rulebooks.engine import code
from rulebooks.models import Encounter
from rulebooks.stack import stack_of
from rulebooks.vocabulary import dermatology_vocabulary


@pytest.mark.parametrize(
    ("code", "ok"),
    [
        pytest.param("L57.0", True, id="actinic keratosis"),
        pytest.param("C44.311", True, id="basal cell carcinoma of the nose"),
        pytest.param("D22.*", True, id="a pattern over nevi"),
        pytest.param("C44.3*", True, id="a pattern over a subcategory"),
        pytest.param("L57.7", False, id="not in the code set"),
        pytest.param("L82", False, id="a category is not billable"),
        pytest.param("Q99.9*", True, id="a pattern that matches Q99.9"),
        pytest.param("L99.9*", False, id="a pattern that matches nothing"),
    ],
)
def test_icd10_literals_are_checked_against_the_shipped_code_set(code: str, ok: bool) -> None:
    assert (check_icd10(code) is None) is ok


def test_icd10_suggests_the_nearest_code() -> None:
    assert "did you mean L57.0?" in (check_icd10("L57.7") or "")


@pytest.mark.parametrize(
    ("code", "ok"),
    [
        pytest.param("17000", True, id="CPT category I"),
        pytest.param("0001U", True, id="PLA code"),
        pytest.param("J7321", True, id="HCPCS level II"),
        pytest.param("G2211", True, id="HCPCS G-code"),
        pytest.param("Q4101", True, id="HCPCS Q-code"),
        pytest.param("F1234", False, id="no HCPCS section starts with F"),
        pytest.param("W1234", False, id="nor with W"),
        pytest.param("00001", False, id="below CPT's range"),
        pytest.param("1700", False, id="four digits"),
    ],
)
def test_procedure_codes_by_format_and_range(code: str, ok: bool) -> None:
    assert (check_procedure_code(code) is None) is ok


def test_modifiers_are_known_or_suggested() -> None:
    assert check_modifier("XS") is None and check_modifier("59") is None
    assert "did you mean GZ?" in (check_modifier("XZ") or "")


def test_vocabulary_json_for_the_editor() -> None:
    data = authoring.vocabulary()
    fields = {f["path"]: f for f in data["fields"]}
    assert fields["service.count"]["type"] == {
        "kind": "quantity",
        "description": "a number of lesions",
        "unit": "lesions",
    }
    assert fields["payer"]["required"] is True
    actions = {a["name"]: a for a in data["actions"]}
    assert actions["cap_lesions"]["template"] == "cap lesions of service at {count}"
    assert actions["cap_lesions"]["phases"] == ["policy"]
    assert "benign_lesion_symptoms" in data["valueSets"]
    assert data["phases"] == ["classify", "select", "policy", "route"]


def test_every_field_path_resolves_to_its_type() -> None:
    vocabulary = dermatology_vocabulary()
    for field in vocabulary.fields:
        assert vocabulary.field_type(field.path) == field.type
    assert vocabulary.field_type("service.nope") is None


def test_findings_are_the_labels_the_note_analysis_produces() -> None:
    from rulebooks.notes.findings import COSMETIC_LABELS, INDICATOR_LABELS
    from rulebooks.vocabulary import FINDINGS

    assert set(FINDINGS) == INDICATOR_LABELS | COSMETIC_LABELS


RELATION_RULES = """rulebook "Global period review"

rule staged-review "Staged procedures inside a global period are reviewed"
  in policy
  when present(service.related_to_prior) and service.related_to_prior = staged
  then
    flag staged_in_global
"""


@pytest.mark.parametrize(("relation", "flagged"), [("staged", True), ("unrelated", False)])
def test_rules_read_how_a_service_relates_to_the_earlier_procedure(relation: str, flagged: bool) -> None:
    encounter = Encounter.model_validate(
        {
            "external_id": "global-1",
            "date_of_service": "2026-05-06",
            "provider": {"npi": "1234567893"},
            "patient": {"id": "p1"},
            "coverage": {"payer": "AETNA", "plan_type": "commercial"},
            "diagnoses": ["C44.519"],
            "global_period": {"procedure_code": "11602", "date_of_service": "2026-05-01"},
            "services": [
                {
                    "id": "s1",
                    "kind": "excision",
                    "lesion_id": "L1",
                    "site": "back",
                    "lesion_size_cm": 1.0,
                    "margin_cm": 0.2,
                    "pathology": {"malignant": True},
                    "diagnoses": ["C44.519"],
                    "related_to_prior": relation,
                }
            ],
        }
    )
    coding = code(
        encounter, encounter_id="e1", coded_at=dt.datetime(2026, 5, 6, tzinfo=dt.UTC), stack=stack_of([RELATION_RULES])
    )
    assert any(flag.code == "staged_in_global" for flag in coding.flags) is flagged


VISIT_RULES = """rulebook "Visit review"

rule em-soon-after-a-flap "An E/M within 30 days of a flap is reviewed"
  in policy
  when service.kind = em
   and present(global_period.days_after) and global_period.days_after <= 30 days
   and present(global_period.procedure_code) and global_period.procedure_code in 14000..14302
  then
    flag em_after_flap

rule longitudinal-commercial "Longitudinal care documented for a commercial plan"
  in policy
  when plan_type = commercial
   and present(service.em.longitudinal_care) and service.em.longitudinal_care = true
  then
    flag longitudinal_care_commercial
"""


@pytest.mark.parametrize(
    ("prior", "longitudinal", "flags"),
    [
        pytest.param(
            {"procedure_code": "14040", "date_of_service": "2026-04-20"},
            None,
            ["em_after_flap"],
            id="16 days after a flap",
        ),
        pytest.param({"procedure_code": "14040", "date_of_service": "2026-03-01"}, None, [], id="66 days after a flap"),
        pytest.param(
            {"procedure_code": "17000", "date_of_service": "2026-05-01"}, None, [], id="after an AK destruction"
        ),
        pytest.param(None, True, ["longitudinal_care_commercial"], id="no earlier procedure, longitudinal care"),
        pytest.param(None, None, [], id="neither documented: both rules stay quiet"),
    ],
)
def test_rules_read_the_visit_and_the_earlier_procedure(
    prior: dict[str, str] | None, longitudinal: bool | None, flags: list[str]
) -> None:
    em: dict[str, object] = {"patient_status": "established", "level": 3}
    if longitudinal is not None:
        em["longitudinal_care"] = longitudinal
    encounter = Encounter.model_validate(
        {
            "external_id": "visit-1",
            "date_of_service": "2026-05-06",
            "provider": {"npi": "1234567893"},
            "patient": {"id": "p1"},
            "coverage": {"payer": "AETNA", "plan_type": "commercial"},
            "diagnoses": ["L20.9"],
            "global_period": prior,
            "services": [
                {
                    "id": "v1",
                    "kind": "em",
                    "em": em,
                    "diagnoses": ["L20.9"],
                    "related_to_prior": "unrelated" if prior else None,
                }
            ],
        }
    )
    coding = code(
        encounter, encounter_id="e1", coded_at=dt.datetime(2026, 5, 6, tzinfo=dt.UTC), stack=stack_of([VISIT_RULES])
    )
    raised = [flag.code for flag in coding.flags if flag.code in ("em_after_flap", "longitudinal_care_commercial")]
    assert raised == flags
