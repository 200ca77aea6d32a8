"""Findings carry the values rules compare: units in cm, counts, causes, scores, drugs, TB results."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from rulebooks.notes import analyze_note


def only(text: str, label: str) -> dict:
    found = analyze_note(text).with_label(label)
    assert len(found) == 1, [f.to_dict() for f in analyze_note(text)]
    return found[0].values


@pytest.mark.parametrize(
    ("text", "label", "expected"),
    [
        pytest.param("Lesion 6 mm.", "size", {"value_cm": 0.6, "dimensions_cm": [0.6]}, id="mm becomes cm"),
        pytest.param("Nodule 1.2 x 0.8 cm.", "size", {"value_cm": 1.2, "dimensions_cm": [1.2, 0.8]}, id="two dims"),
        pytest.param("Excised with 4 mm margins.", "margin", {"value_cm": 0.4}, id="margin"),
        pytest.param("Intermediate repair 3.5 cm.", "repair_length", {"value_cm": 3.5}, id="repair length"),
        pytest.param("Cryo to three AKs.", "lesion_count", {"count": 3, "lesion": "AKs"}, id="count in words"),
        pytest.param("Twenty-two AKs destroyed.", "lesion_count", {"count": 22, "lesion": "AKs"}, id="hyphenated"),
        pytest.param("SKs x3 frozen.", "lesion_count", {"count": 3}, id="times count"),
        pytest.param("Lesion #6 biopsied.", "lesion_count", {"lesion_number": 6}, id="lesion number"),
        pytest.param("Mohs, 2 stages.", "mohs_stage", {"stages": 2}, id="Mohs stages"),
        pytest.param("Mohs stage 1 with 3 blocks.", "mohs_blocks", {"blocks": 3}, id="Mohs blocks"),
        pytest.param("BSA 12%.", "bsa", {"value": 12}, id="BSA"),
        pytest.param("PASI 16.4.", "pasi", {"value": 16.4}, id="PASI decimal"),
        pytest.param("Hurley stage II.", "hurley", {"value": 2}, id="Hurley roman"),
        pytest.param("vIGA-AD 3.", "iga", {"value": 3}, id="IGA"),
        pytest.param(
            "QuantiFERON negative on 03/14/2026.",
            "tb_screening",
            {"test": "QuantiFERON", "result": "negative", "date": "03/14/2026"},
            id="TB screening",
        ),
        pytest.param(
            "Lesion on the L upper eyelid.",
            "site",
            {"site": "upper eyelid", "laterality": "left"},
            id="site with laterality",
        ),
        pytest.param("SK irritated by her bra strap.", "irritation", {"cause": "clothing"}, id="cause clothing"),
        pytest.param("Tag catches on her necklace.", "irritation", {"cause": "jewelry"}, id="cause jewelry"),
        pytest.param("Mole nicked when he shaves.", "irritation", {"cause": "shaving"}, id="cause shaving"),
        pytest.param("Nevus asymmetric.", "abcde", {"feature": "asymmetry"}, id="ABCDE letter"),
        pytest.param("Wants it removed before her wedding.", "cosmetic_intent", {"reason": "event"}, id="event"),
    ],
)
def test_values(text: str, label: str, expected: dict) -> None:
    assert only(text, label) == expected


def test_treatment_history_reads_drug_class_response_and_duration() -> None:
    values = only("Failed methotrexate 15 mg weekly x 4 months.", "treatment")
    assert values == {
        "drug": "methotrexate",
        "drug_class": "systemic_conventional",
        "response": "failed",
        "duration": "4 months",
    }


@pytest.mark.parametrize(
    ("text", "response"),
    [
        pytest.param("Intolerant of cyclosporine.", "intolerant", id="intolerant"),
        pytest.param("Methotrexate contraindicated (liver disease).", "contraindicated", id="contraindicated"),
        pytest.param("Inadequate response to clobetasol.", "inadequate_response", id="inadequate"),
        pytest.param("Apremilast stopped due to diarrhea.", "adverse_effect", id="adverse effect"),
    ],
)
def test_treatment_response(text: str, response: str) -> None:
    assert only(text, "treatment")["response"] == response


def test_irritation_gets_its_cause_from_the_sentence() -> None:
    findings = analyze_note("Skin tag catches on her necklace and becomes irritated.")
    assert {f.text: f.values.get("cause") for f in findings.with_label("irritation")} == {
        "catches on her necklace": "jewelry",
        "irritated": "jewelry",
    }


def test_shave_removal_is_not_a_cause_of_irritation() -> None:
    assert "cause" not in only("Shave removal of an irritated SK.", "irritation")


def test_spans_are_code_point_offsets() -> None:
    text = "Pt – café owner 😀 – c/o bleeding papule."
    finding = analyze_note(text).with_label("bleeding")[0]
    assert text[finding.start : finding.end] == "bleeding" == finding.text


def test_removal_request_with_a_cosmetic_purpose_is_marked_by_context() -> None:
    values = only("Patient requests removal for cosmetic reasons.", "patient_request")
    assert values == {"cosmetic_purpose": True}


def test_findings_are_json_serialisable_and_ordered() -> None:
    findings = analyze_note("No itching. Bleeding lesion on the R cheek, 5 mm.")
    data = json.loads(json.dumps(findings.to_dict()))["findings"]
    assert [item["start"] for item in data] == sorted(item["start"] for item in data)
    assert data[0] == {
        "label": "itching",
        "kind": "indicator",
        "start": 3,
        "end": 10,
        "text": "itching",
        "context": ["negated"],
        "values": {},
    }


@pytest.mark.parametrize("text", ["", "   ", "\n"])
def test_empty_note_has_no_findings(text: str) -> None:
    assert len(analyze_note(text)) == 0


def test_pipeline_is_built_lazily_not_at_import() -> None:
    code = (
        "import sys, rulebooks.notes as notes\n"
        "from rulebooks.notes.pipeline import build_pipeline\n"
        "print(build_pipeline.cache_info().currsize, 'spacy' in sys.modules)\n"
    )
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.split() == ["0", "False"]


def test_pipeline_is_built_once_per_process() -> None:
    from rulebooks.notes.pipeline import build_pipeline

    analyze_note("No bleeding.")
    analyze_note("Itchy.")
    assert build_pipeline() is build_pipeline()


def test_first_character_hints_change_no_match() -> None:
    """The speed-up lookahead (rulebooks.notes.fastscan) must find exactly what the plain pattern finds."""
    import re
    from pathlib import Path

    from rulebooks.notes.lexicon import TERMS

    texts = [
        json.loads(line)["text"]
        for path in sorted((Path(__file__).parent / "corpus").glob("*.jsonl"))
        for line in path.read_text(encoding="utf-8").splitlines()
    ]
    note = "\n".join(texts)
    for term in TERMS:
        hinted = term.pattern.pattern
        assert hinted.startswith("(?=["), hinted
        plain = re.compile(hinted[hinted.index("])(?:") + len("])(?:") : -1], term.pattern.flags)
        assert [m.span() for m in term.pattern.finditer(note)] == [m.span() for m in plain.finditer(note)], hinted


def test_prior_auth_facts_are_encounter_wide_and_skip_plans() -> None:
    from rulebooks.notes import encounter_prior_auth_facts

    facts = encounter_prior_auth_facts(analyze_note("BSA 12%, failed methotrexate x 3 months. Plan to start Skyrizi."))
    assert [item["value"] for item in facts["bsa"]] == [12]
    assert [item["drug"] for item in facts["treatment"]] == ["methotrexate"]


def contexts(text: str) -> list[tuple[str, str, list[str]]]:
    """Each finding as (label, the words it covers, its context flags), in note order."""
    return [(f.label, text[f.start : f.end], sorted(f.context)) for f in analyze_note(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("Patient denies itching.", [("itching", "itching", ["negated"])], id="denies before"),
        pytest.param(
            "Denies: pain, itching, bleeding.",
            [("pain", "pain", ["negated"]), ("itching", "itching", ["negated"]), ("bleeding", "bleeding", ["negated"])],
            id="denies heads a list",
        ),
        pytest.param(
            "Denies any bleeding or pain.",
            [("bleeding", "bleeding", ["negated"]), ("pain", "pain", ["negated"])],
            id="denies any",
        ),
        pytest.param("Itching: denies.", [("itching", "Itching", ["negated"])], id="denies after a colon"),
        pytest.param(
            "Denies pain but reports bleeding.",
            [("pain", "pain", ["negated"]), ("bleeding", "bleeding", [])],
            id="but ends the denial",
        ),
        pytest.param(
            "She denies itching. The lesion bleeds when she shaves.",
            [("itching", "itching", ["negated"]), ("bleeding", "bleeds", [])],
            id="a sentence ends the denial",
        ),
        pytest.param(
            "Pt denies pruritus, reports lesion is tender.",
            [("itching", "pruritus", ["negated"]), ("pain", "tender", [])],
            id="reports ends the denial",
        ),
        pytest.param(
            "Bleeding denied.",
            [("bleeding", "Bleeding", ["negated"])],
            id="denied after the finding",
        ),
        pytest.param(
            "Itching denied; bleeds when she shaves.",
            [("itching", "Itching", ["negated"]), ("bleeding", "bleeds", [])],
            id="denied after the finding ends at its clause",
        ),
        pytest.param(
            "Bleeding denied by the patient's insurer is not our concern; it bleeds.",
            [("bleeding", "Bleeding", []), ("bleeding", "bleeds", [])],
            id="denied by someone is not a denial of the finding",
        ),
    ],
)
def test_denies_negates_exactly_what_it_covers(text: str, expected: list[tuple[str, str, list[str]]]) -> None:
    """Negation by "denies", checked finding by finding (the corpus only scores it in aggregate)."""
    assert contexts(text) == expected


@pytest.mark.parametrize(
    ("text", "label", "qualifiers"),
    [
        pytest.param(
            "SK of the back, slightly pruritic at times.", "itching", ["occasional", "slight"], id="slight, at times"
        ),
        pytest.param("SK of the back, mildly itchy.", "itching", ["mild"], id="mildly before"),
        pytest.param("SK with intermittent itching.", "itching", ["intermittent"], id="intermittent"),
        pytest.param("SK of the back, itches constantly.", "itching", ["constant"], id="constantly after"),
        pytest.param("SK with intense itching.", "itching", ["intense"], id="intense"),
        pytest.param("SK of the back, occasionally bleeds.", "bleeding", ["occasional"], id="occasionally bleeds"),
        pytest.param("SK of the back, itchy. Bleeds.", "itching", [], id="no qualifier"),
    ],
)
def test_findings_carry_their_qualifiers(text: str, label: str, qualifiers: list[str]) -> None:
    """Issue 17: severity and frequency words are reported on the finding they qualify."""
    (finding,) = [f for f in analyze_note(text) if f.label == label]
    assert finding.values.get("qualifiers", []) == qualifiers


@pytest.mark.parametrize(
    ("text", "understated"),
    [
        ("SK, slightly pruritic at times.", True),
        ("SK, mild but constant itching.", False),
        ("SK with severe itching.", False),
        ("SK, occasionally bleeds.", False),  # bleeding is bleeding however often
    ],
)
def test_weak_qualifiers_understate_only_itching(text: str, understated: bool) -> None:
    finding = next(f for f in analyze_note(text) if f.label in {"itching", "bleeding"})
    assert finding.understated is understated


@pytest.mark.parametrize(
    ("text", "label", "values"),
    [
        ("Prior biopsy showed moderate atypia.", "atypia", {"grade": "moderate_or_severe"}),
        ("Severely dysplastic nevus on pathology.", "atypia", {"grade": "moderate_or_severe"}),
        ("Nevus with mild atypia, margins clear.", "atypia", {"grade": "mild"}),
        ("Compound nevus, positive peripheral margins.", "margins_involved", {}),
        ("Junctional nevus extending to the deep margin.", "margins_involved", {}),
        (
            "Port-wine stain of the cheek with hypertrophy and nodularity.",
            "vascular_malformation",
            {"progression": True},
        ),
        ("Port-wine stain of the cheek, flat.", "vascular_malformation", {}),
        ("Cyst infected three times this year.", "recurrent_infection", {}),
        ("Skin tag in the ear canal impairs hearing.", "obstruction", {"what": "hearing"}),
        ("Papule narrowing the nasal airway.", "obstruction", {"what": "airway"}),
    ],
)
def test_indications_beyond_symptoms_are_found(text: str, label: str, values: dict) -> None:
    found = [f for f in analyze_note(text) if f.label == label]
    assert len(found) == 1 and found[0].affirmed and found[0].values == values


def test_clear_margins_and_a_single_past_infection_are_no_indication() -> None:
    labels = {f.label for f in analyze_note("Margins clear. Cyst infected once years ago.") if f.affirmed}
    assert not labels & {"margins_involved", "recurrent_infection", "infection"}
