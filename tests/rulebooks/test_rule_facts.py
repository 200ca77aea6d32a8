"""The facts a rule sees come from one declaration per fact (`rulebooks.vocabulary.FACTS`): the
language's fields, the nested facts, each fact's reader and the screen facts all follow from it."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from dsl.vocabulary import STRING, Vocabulary
from rulebooks.engine.context import WorkLine
from rulebooks.models import Encounter
from rulebooks.models.encounter import GlobalPeriodFacts, RepairFacts
from rulebooks.rule_facts import DERMATOLOGY, FactSchema, fact_at, service_facts
from rulebooks.vocabulary import FACTS, FIELDS, MOHS, dermatology_vocabulary, fact

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "encounters"


def _biopsy_em() -> Encounter:
    return Encounter.model_validate(json.loads((FIXTURES / "biopsy_em.json").read_text()))


def _paths(facts: dict, prefix: str = "") -> set[str]:
    """The dotted paths of the leaves of nested facts (a missing record counts as a leaf)."""
    found = set()
    for name, value in facts.items():
        if isinstance(value, dict) and value:
            found |= _paths(value, f"{prefix}{name}.")
        else:
            found.add(f"{prefix}{name}")
    return found


def test_the_language_fields_are_the_declared_facts() -> None:
    assert tuple(declared.field for declared in FACTS) == FIELDS
    assert dermatology_vocabulary().fields == FIELDS


def test_the_facts_hold_every_declared_fact_and_nothing_else() -> None:
    encounter = _biopsy_em()
    prior = GlobalPeriodFacts(procedure_code="14040", date_of_service=dt.date(2026, 10, 20))
    encounter = encounter.model_copy(update={"global_period": prior})
    repaired = encounter.services[1].model_copy(
        update={"repair": RepairFacts(length_cm=2.5, complexity="intermediate")}
    )
    facts = service_facts(encounter, repaired)
    sourced = {declared.path for declared in FACTS if declared.source is not None}
    optional_records = {"service.em", "service.mohs", "service.pathology", "service.drug"}  # absent here
    assert _paths(facts) == {path for path in sourced if path.rsplit(".", 1)[0] not in optional_records} | {
        *optional_records,
        "lines",
        "scores",
        "therapy",
    }


def test_the_facts_of_one_service_as_a_rule_sees_them() -> None:
    """Hand-checked: a missing record is None as a whole, codes are upper-cased, lists are lists."""
    encounter = _biopsy_em()
    biopsy = encounter.services[2]
    line = WorkLine(code="11102", units=1, service_ids=["bx2"], reasons=[], modifiers=["59"])
    assert service_facts(encounter, biopsy, [line], ["itching"]) == {
        "payer": "AETNA",
        "plan_type": "commercial",
        "date_of_service": dt.date(2026, 11, 2),
        "place_of_service": "11",
        # No diagnosis of the encounter makes a risk state (rulebooks/patient_states.py).
        "patient": {"age": 67, "risk_states": [], "sex": "female"},
        "diagnoses": ["D48.5", "L57.0", "L30.9"],
        "findings": ["itching"],
        "service": {
            "kind": "biopsy",
            "technique": "tangential",
            "site": "right forearm",
            "site_group": None,
            "region": "arm",
            "laterality": None,
            "count": 2,
            "lesion_size_cm": None,
            "margin_cm": None,
            "area_sq_cm": None,
            "repair": None,
            "related_to_prior": None,
            "em": None,
            "mohs": None,
            "pathology": None,
            "drug": None,
            "prior_auth_number": None,
            "patient_requested_cosmetic": None,
            "abn": None,
            "patient_requested_filing": None,
            "diagnoses": ["L57.0"],
            "staff_code": None,
        },
        "global_period": None,
        # The other services, each related to this biopsy: another lesion (bx1 is lesion A, this
        # one its own), another site where both have one, missing where either has none.
        "other_services": [
            {
                "kind": "em",
                "technique": None,
                "site": None,
                "site_group": None,
                "laterality": None,
                "region": None,
                "count": None,
                "lesion_size_cm": None,
                "diagnoses": ["L30.9"],
                "staff_code": None,
                "same_lesion": False,
                "same_site": None,
                "same_site_group": None,
            },
            {
                "kind": "biopsy",
                "technique": "punch",
                "site": "left upper back",
                "site_group": None,
                "laterality": None,
                "region": "trunk",
                "count": None,
                "lesion_size_cm": None,
                "diagnoses": ["D48.5"],
                "staff_code": None,
                "same_lesion": False,
                "same_site": False,
                "same_site_group": None,
            },
        ],
        "lines": [{"code": "11102", "units": 1, "modifiers": ["59"]}],
        "scores": {},
        "therapy": {},
    }


def test_a_new_fact_needs_one_declaration() -> None:
    """Declared once, a fact is in the facts, has its reader, joins the screen key when it is a
    screen fact, and the editor gets its words: nothing else to write."""
    lesion = fact("service.lesion_id", STRING, "The lesion the service treats.", "service.lesion_id", screen=True)
    tumor = MOHS.fact("tumor_id", STRING, "The tumor's id.", "tumor_id")
    schema = FactSchema((*FACTS, lesion, tumor))
    encounter = _biopsy_em()
    biopsy = encounter.services[1]
    facts = schema.service_facts(encounter, biopsy)
    assert facts["service"]["lesion_id"] == "A"
    assert facts["service"]["mohs"] is None
    assert schema.reader(("service", "lesion_id"))(encounter, biopsy, ()) == "A"
    assert schema.reader(("service", "mohs", "tumor_id"))(encounter, biopsy, ()) is None
    assert [declared.path for declared in schema.screen_facts] == [
        *(declared.path for declared in DERMATOLOGY.screen_facts),
        "service.lesion_id",
    ]
    vocabulary = Vocabulary(phases=("policy",), fields=tuple(declared.field for declared in schema.facts), actions=())
    documented = {field["path"]: field["doc"] for field in vocabulary.to_json()["fields"]}
    assert documented["service.lesion_id"] == "The lesion the service treats."
    assert fact_at(facts, ("service", "lesion_id")) == schema.reader(("service", "lesion_id"))(encounter, biopsy, ())
