"""Classification of services as medical, cosmetic or borderline, across payers (hand-checked).

Each case is one encounter: its note, its services as ``(id, kind, site, laterality, dx)``,
the plan type, and the expected category of each service. Borderline services must carry a
provider query; where the wording matters the query text is checked too.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

from rulebooks.models.encounter import Encounter
from rulebooks.notes import COMMERCIAL, MEDICARE, CosmeticCriteria, analyze_note, check_documentation, classify_services


def encounter(note: str, services: list[tuple], plan: str = "medicare_ffs", **extra: object) -> Encounter:
    """A minimal valid encounter; services as (id, kind, site, laterality, [dx], {more fields})."""
    built, diagnoses = [], []
    for service in services:
        service_id, kind, site, laterality, dx, *more = service
        record = {"id": service_id, "kind": kind, "site": site, "laterality": laterality, "diagnoses": dx}
        if kind == "em":
            record["em"] = {"patient_status": "established", "level": 3}
        if more:
            record.update(more[0])
        built.append(record)
        diagnoses += [code for code in dx if code not in diagnoses]
    return Encounter(
        external_id="enc-1",
        date_of_service=dt.date(2026, 5, 4),
        provider={"npi": "1234567893"},
        patient={"id": "p-1", "age": 70},
        coverage={"payer": "PAYER", "plan_type": plan},
        diagnoses=diagnoses,
        note=note,
        services=built,
        **extra,
    )


CASES = [
    pytest.param(
        "Lesion on the left upper back: asymmetric, irregular borders, color variation. Shave removal.",
        [("s1", "shave", "upper back", "left", ["D48.5"])],
        "medicare_ffs",
        {"s1": "medical"},
        id="D48.5 uncertain behaviour is medical by its code",
    ),
    pytest.param(
        "Small flesh-colored papilloma on the neck, patient requests removal for cosmetic reasons.",
        [("s1", "skin_tag_removal", "neck", None, ["L91.8"])],
        "commercial",
        {"s1": "cosmetic"},
        id="skin tag removed for cosmetic reasons is cosmetic",
    ),
    pytest.param(
        "SK on the left cheek.",
        [("s1", "shave", "cheek", "left", ["L82.1"])],
        "medicare_ffs",
        {"s1": "borderline"},
        id="SK with nothing documented is borderline",
    ),
    pytest.param(
        "SK on the left cheek, irritated.",
        [("s1", "shave", "cheek", "left", ["L82.1"])],
        "medicare_ffs",
        {"s1": "borderline"},
        id="irritated alone is not enough for Medicare",
    ),
    pytest.param(
        "SK on the left cheek, irritated.",
        [("s1", "shave", "cheek", "left", ["L82.1"])],
        "commercial",
        {"s1": "borderline"},
        id="irritated alone is not enough for a commercial payer either",
    ),
    pytest.param(
        "SK on the right shoulder irritated by her bra strap.",
        [("s1", "shave", "shoulder", "right", ["L82.0"])],
        "medicare_ffs",
        {"s1": "medical"},
        id="irritation by clothing is recurrent trauma: medical",
    ),
    pytest.param(
        "No bleeding, no itching. SK on the back.",
        [("s1", "destruction", "back", None, ["L82.1"])],
        "medicare_ffs",
        {"s1": "borderline"},
        id="denied symptoms never count as symptoms",
    ),
    pytest.param(
        "Seborrheic keratosis on the back, bleeding and itchy.",
        [("s1", "shave", "back", None, ["L82.0"])],
        "medicare_ffs",
        {"s1": "medical"},
        id="bleeding SK is medical",
    ),
    pytest.param(
        "If the SK on her back bleeds, she will return.",
        [("s1", "shave", "back", None, ["L82.1"])],
        "commercial",
        {"s1": "borderline"},
        id="hypothetical bleeding does not count",
    ),
    pytest.param(
        "Mother has itchy SKs. Patient has an SK on the chest.",
        [("s1", "shave", "chest", None, ["L82.1"])],
        "commercial",
        {"s1": "borderline"},
        id="family member's itching does not count",
    ),
    pytest.param(
        "History of bleeding from the nevus on the right arm, none since.",
        [("s1", "shave", "arm", "right", ["D22.61"])],
        "medicare_ffs",
        {"s1": "borderline"},
        id="historical bleeding does not count",
    ),
    pytest.param(
        "Nevus on the right arm has grown and changed color over 3 months.",
        [("s1", "excision", "arm", "right", ["D22.61"])],
        "medicare_ffs",
        {"s1": "medical"},
        id="recent change in a nevus is medical",
    ),
    pytest.param(
        "Atypical pigmented lesion on the left shin, rule out melanoma.",
        [("s1", "excision", "shin", "left", ["D22.72"])],
        "commercial",
        {"s1": "medical"},
        id="suspicion of malignancy is medical even though it is uncertain",
    ),
    pytest.param(
        "Skin tag on the right upper eyelid obstructs vision.",
        [("s1", "skin_tag_removal", "upper eyelid", "right", ["L91.8"])],
        "medicare_ffs",
        {"s1": "medical"},
        id="obstruction of vision is medical",
    ),
    pytest.param(
        "Inflamed cyst on the upper back with surrounding erythema.",
        [("s1", "excision", "upper back", None, ["L72.0"])],
        "medicare_ffs",
        {"s1": "medical"},
        id="physical evidence of inflammation is medical",
    ),
    pytest.param(
        "Possible infection of the cyst on the back.",
        [("s1", "excision", "back", None, ["L72.0"])],
        "medicare_ffs",
        {"s1": "borderline"},
        id="possible infection is not documented infection",
    ),
    pytest.param(
        "Patient bothered by appearance of the nevus on her face.",
        [("s1", "shave", "face", None, ["D22.39"])],
        "commercial",
        {"s1": "cosmetic"},
        id="bothered by appearance is cosmetic",
    ),
    pytest.param(
        "Wants the skin tags on the neck removed before her wedding.",
        [("s1", "skin_tag_removal", "neck", None, ["L91.8"])],
        "commercial",
        {"s1": "cosmetic"},
        id="before her wedding is cosmetic",
    ),
    pytest.param(
        "Asymptomatic SK on the back; patient requests removal.",
        [("s1", "destruction", "back", None, ["L82.1"])],
        "medicare_ffs",
        {"s1": "cosmetic"},
        id="patient-requested and asymptomatic is cosmetic",
    ),
    pytest.param(
        "Patient requests removal of the SK on the back.",
        [("s1", "destruction", "back", None, ["L82.1"])],
        "medicare_ffs",
        {"s1": "borderline"},
        id="a request alone asks the provider",
    ),
    pytest.param(
        "Not for cosmetic reasons: the SK on the neck bleeds when she wears a necklace.",
        [("s1", "shave", "neck", None, ["L82.0"])],
        "medicare_ffs",
        {"s1": "medical"},
        id="negated cosmetic intent with bleeding is medical",
    ),
    pytest.param(
        "SK on the left cheek bleeds. SK on the right cheek, asymptomatic, patient wants it off.",
        [("s1", "shave", "cheek", "left", ["L82.0"]), ("s2", "shave", "cheek", "right", ["L82.1"])],
        "medicare_ffs",
        {"s1": "medical", "s2": "cosmetic"},
        id="laterality keeps each cheek's findings apart",
    ),
    pytest.param(
        "Skin tag on the left axilla rubs on her bra strap. Skin tags on the neck, no symptoms.",
        [("s1", "skin_tag_removal", "axilla", "left", ["L91.8"]), ("s2", "skin_tag_removal", "neck", None, ["L91.8"])],
        "commercial",
        {"s1": "medical", "s2": "borderline"},
        id="site keeps axilla and neck apart",
    ),
    pytest.param(
        "Nevus on the back is itchy and bleeds. SK on the scalp.",
        [("s1", "shave", "back", None, ["D22.5"]), ("s2", "shave", "scalp", None, ["L82.1"])],
        "medicare_ffs",
        {"s1": "medical", "s2": "borderline"},
        id="a symptom of one lesion does not justify another",
    ),
    pytest.param(
        "The lesion bleeds with minor trauma.",
        [("s1", "shave", "trunk", None, ["L82.1"])],
        "medicare_ffs",
        {"s1": "medical"},
        id="an unanchored symptom applies encounter-wide",
    ),
    pytest.param(
        "Painful wart on the right heel.",
        [("s1", "destruction", "heel", "right", ["B07.0"])],
        "medicare_ffs",
        {"s1": "medical"},
        id="painful plantar wart is medical for Medicare",
    ),
    pytest.param(
        "Common wart on the left hand.",
        [("s1", "destruction", "hand", "left", ["B07.8"])],
        "medicare_ffs",
        {"s1": "borderline"},
        id="asymptomatic wart needs an indication for Medicare",
    ),
    pytest.param(
        "Common wart on the left hand.",
        [("s1", "destruction", "hand", "left", ["B07.8"])],
        "commercial",
        {"s1": "medical"},
        id="infectious lesion is medical for a commercial payer",
    ),
    pytest.param(
        "Molluscum on the trunk x 12.",
        [("s1", "destruction", "trunk", None, ["B08.1"])],
        "commercial",
        {"s1": "medical"},
        id="molluscum is infectious",
    ),
    pytest.param(
        "Three AKs on the scalp, LN2.",
        [("s1", "destruction", "scalp", None, ["L57.0"])],
        "medicare_ffs",
        {"s1": "medical"},
        id="AK is premalignant: medical",
    ),
    pytest.param(
        "BCC of the nose, Mohs 2 stages.",
        [
            (
                "s1",
                "mohs",
                "nose",
                None,
                ["C44.311"],
                {"mohs": {"tumor_id": "t1", "stages": [{"blocks": 2}, {"blocks": 1}]}},
            )
        ],
        "medicare_ffs",
        {"s1": "medical"},
        id="BCC is malignant",
    ),
    pytest.param(
        "Melanoma in situ of the right upper arm, excised with 5 mm margins.",
        [("s1", "excision", "upper arm", "right", ["D03.61"])],
        "commercial",
        {"s1": "medical"},
        id="melanoma in situ is medical",
    ),
    pytest.param(
        "SK on the back, no symptoms. Shave biopsy to confirm.",
        [("s1", "biopsy", "back", None, ["L82.1"])],
        "medicare_ffs",
        {"s1": "medical"},
        id="a biopsy is diagnostic",
    ),
    pytest.param(
        "Psoriasis follow-up, BSA 12%.",
        [("s1", "em", None, None, ["L40.0"])],
        "commercial",
        {"s1": "medical"},
        id="a visit for psoriasis is medical",
    ),
    pytest.param(
        "Cosmetic consultation for Botox.",
        [("s1", "cosmetic", "forehead", None, ["Z41.1"])],
        "commercial",
        {"s1": "cosmetic"},
        id="a cosmetic service is cosmetic",
    ),
    pytest.param(
        "Skin tags on the neck.",
        [("s1", "skin_tag_removal", "neck", None, ["L91.8", "Z41.1"])],
        "commercial",
        {"s1": "cosmetic"},
        id="Z41.1 codes a cosmetic encounter",
    ),
    pytest.param(
        "SK on the back.",
        [("s1", "shave", "back", None, ["L82.1"], {"patient_requested_cosmetic": True})],
        "medicare_ffs",
        {"s1": "cosmetic"},
        id="a patient who elected cosmetic removal pays cosmetic",
    ),
    pytest.param(
        "SK on the back bleeds.",
        [("s1", "shave", "back", None, ["L82.0"], {"patient_requested_cosmetic": True})],
        "medicare_ffs",
        {"s1": "borderline"},
        id="a cosmetic election beside a documented symptom asks which",
    ),
    pytest.param(
        "BCC on the chest.",
        [("s1", "excision", "chest", None, ["C44.519"], {"patient_requested_cosmetic": True})],
        "commercial",
        {"s1": "borderline"},
        id="a cosmetic election for a cancer asks which",
    ),
    pytest.param(
        "Keloid on the right earlobe, painful and itchy.",
        [("s1", "excision", "earlobe", "right", ["L91.0"])],
        "commercial",
        {"s1": "medical"},
        id="painful keloid is medical",
    ),
    pytest.param(
        "Epidermal cyst on the back, recurrent, no pain.",
        [("s1", "excision", "back", None, ["L72.0"])],
        "medicare_ffs",
        {"s1": "borderline"},
        id="recurrence alone is not an LCD indication",
    ),
    pytest.param(
        "Nevus on the left thigh, patient has not noticed any change, no bleeding.",
        [("s1", "shave", "thigh", "left", ["D22.72"])],
        "medicare_ffs",
        {"s1": "borderline"},
        id="denied change is not change",
    ),
    pytest.param(
        "Lipoma on the upper back, 4 cm, tender to palpation.",
        [("s1", "excision", "upper back", None, ["D17.1"])],
        "medicare_ffs",
        {"s1": "medical"},
        id="tender lipoma is medical",
    ),
    pytest.param(
        "E/M for new rash; SK on the left temple, asymptomatic, patient wants it removed.",
        [("s1", "em", None, None, ["L30.9"]), ("s2", "shave", "temple", "left", ["L82.1"])],
        "medicare_advantage",
        {"s1": "medical", "s2": "cosmetic"},
        id="visit medical, requested asymptomatic SK cosmetic",
    ),
    pytest.param(
        "Her husband has an itchy SK. Patient's SK on the right flank.",
        [("s1", "shave", "flank", "right", ["L82.1"])],
        "commercial",
        {"s1": "borderline"},
        id="another person's symptom does not count",
    ),
]


@pytest.mark.parametrize(("note", "services", "plan", "expected"), CASES)
def test_classification(note: str, services: list[tuple], plan: str, expected: dict[str, str]) -> None:
    result = check_documentation(encounter(note, services, plan))
    got = {service_id: c.category for service_id, c in result.classifications.items()}
    assert got == expected, [r.message for c in result.classifications.values() for r in c.reasons]
    for classification in result.classifications.values():
        assert classification.reasons, "every classification says why"
        if classification.category == "borderline":
            assert classification.query is not None
            assert classification.query in result.queries
        else:
            assert classification.query is None


def test_at_least_forty_services_are_classified() -> None:
    assert sum(len(case.values[1]) for case in CASES) >= 40


def test_query_says_precisely_what_is_missing() -> None:
    result = check_documentation(encounter("SK on the left cheek.", [("s1", "shave", "cheek", "left", ["L82.1"])]))
    assert result.queries[0].text == (
        "Document a symptom such as bleeding, pain, itching, inflammation or recent change for the seborrheic "
        "keratosis on the left cheek, or mark it cosmetic."
    )
    assert result.queries[0].missing == ("bleeding", "pain", "itching", "inflammation", "growth_change")


def test_query_for_irritation_asks_for_its_cause() -> None:
    result = check_documentation(
        encounter("Skin tag on the neck, irritated.", [("s1", "skin_tag_removal", "neck", None, ["L91.8"])])
    )
    query = result.queries[0]
    assert query.text.startswith("Irritation alone does not meet MEDICARE criteria for the skin tag on the neck.")
    assert "clothing, jewelry or shaving" in query.text
    assert query.missing[0] == "irritation_cause"


def test_reason_explains_why_written_symptom_does_not_count() -> None:
    note = "If the SK on the back bleeds, call."
    result = check_documentation(encounter(note, [("s1", "shave", "back", None, ["L82.1"])]))
    reasons = {r.code: r for r in result.classifications["s1"].reasons}
    evidence = reasons["indication_not_current"].evidence[0]
    assert (evidence.label, note[evidence.start : evidence.end], evidence.context) == (
        "bleeding",
        "bleeds",
        ("hypothetical",),
    )


def test_medical_reason_carries_evidence_spans() -> None:
    note = "Seborrheic keratosis on the back, bleeding and itchy."
    result = check_documentation(encounter(note, [("s1", "shave", "back", None, ["L82.0"])]))
    evidence = result.classifications["s1"].reasons[0].evidence
    assert {note[e.start : e.end] for e in evidence} == {"bleeding", "itchy"}


def test_criteria_object_changes_the_outcome() -> None:
    lenient = CosmeticCriteria(name="LENIENT", indications=MEDICARE.indications, irritation_alone_suffices=True)
    enc = encounter("SK on the left cheek, irritated.", [("s1", "shave", "cheek", "left", ["L82.1"])])
    findings = analyze_note(enc.note or "")
    assert classify_services(enc, findings, MEDICARE)["s1"].category == "borderline"
    assert classify_services(enc, findings, lenient)["s1"].category == "medical"


def test_default_criteria_follow_the_plan_type() -> None:
    wart = [("s1", "destruction", "hand", "left", ["B07.8"])]
    assert (
        check_documentation(encounter("Wart on the left hand.", wart, "medicare_ffs")).classifications["s1"].criteria
        == MEDICARE.name
    )
    assert (
        check_documentation(encounter("Wart on the left hand.", wart, "commercial")).classifications["s1"].criteria
        == COMMERCIAL.name
    )


def test_result_is_json_serialisable() -> None:
    result = check_documentation(
        encounter("SK on the left cheek, irritated.", [("s1", "shave", "cheek", "left", ["L82.1"])])
    )
    data = json.loads(json.dumps(result.to_dict()))
    assert data["classifications"]["s1"]["category"] == "borderline"
    assert data["queries"][0]["service_id"] == "s1"
    assert {"label", "kind", "start", "end", "text", "context", "values"} <= set(data["findings"][0])


def test_encounter_without_note_is_borderline_not_an_error() -> None:
    enc = encounter("", [("s1", "shave", "cheek", "left", ["L82.1"])])
    result = check_documentation(enc.model_copy(update={"note": None}))
    assert result.classifications["s1"].category == "borderline"
    assert len(result.findings) == 0


def test_cosmetic_election_against_medical_necessity_asks_which() -> None:
    enc = encounter(
        "SK on the back bleeds.", [("s1", "shave", "back", None, ["L82.0"], {"patient_requested_cosmetic": True})]
    )
    query = check_documentation(enc).queries[0]
    assert query.topic == "cosmetic_or_medical"
    assert query.text == (
        "The patient elected cosmetic removal of the inflamed seborrheic keratosis on the back, but 'bleeds' is "
        "documented. Confirm whether the removal is medically necessary or cosmetic."
    )


@pytest.mark.parametrize(
    ("service_site", "laterality", "note_site", "matches"),
    [
        pytest.param("upper back", None, "SK on the back", True, id="part and whole share a word"),
        pytest.param("face", None, "SK on the L cheek", True, id="a face service takes a cheek symptom"),
        pytest.param("cheek", "left", "SK on the face", True, id="a face symptom applies to a cheek service"),
        pytest.param("cheek", "left", "SK on the L temple", False, id="two parts of the face never match"),
        pytest.param("cheek", "left", "SK on the R cheek", False, id="laterality must agree"),
        pytest.param("nasal tip", None, "SK on the nose", True, id="nasal is the nose"),
        pytest.param("shin", "left", "SK on the L calf", False, id="shin is not calf"),
    ],
)
def test_site_matching(service_site: str, laterality: str | None, note_site: str, matches: bool) -> None:
    enc = encounter(f"{note_site} bleeds.", [("s1", "shave", service_site, laterality, ["L82.0"])])
    expected = "medical" if matches else "borderline"
    assert check_documentation(enc).classifications["s1"].category == expected


FULL_NOTE = """HPI: 72 yo F presents for full body skin exam. She c/o a spot on her L cheek that has been growing and \
occasionally bleeds when she washes her face. Also has several "barnacles" on her back that itch, and one on the R \
upper back catches on her bra strap. She would like the skin tags on her neck removed; they are not bothersome, she \
just doesn't like how they look. Denies fevers, weight loss. No personal hx of skin cancer. FHx: mother with melanoma.
Exam: L cheek: 7 mm pink pearly papule with arborizing telangiectasias, concerning for BCC. Back: multiple stuck-on \
waxy papules c/w SKs, one on R upper back erythematous and crusted. Neck: 5 pedunculated skin tags, non-inflamed. \
Scalp: 4 gritty erythematous papules c/w AKs. Right forearm: SK, asymptomatic.
A/P:
1. Neoplasm of unspecified behavior, L cheek - shave biopsy, 0.8 cm.
2. Inflamed SK, R upper back - irritated by bra strap, LN2 x1.
3. AKs x4 scalp - LN2. Discussed risks of blistering, hypopigmentation, infection.
4. Acrochordons, neck - cosmetic; removed today, self-pay.
5. SK, R forearm - LN2 per patient request.
RTC 6 months or sooner if any new or changing lesions."""


def test_a_full_visit_note_with_five_lesions() -> None:
    enc = encounter(
        FULL_NOTE,
        [
            ("bx", "biopsy", "cheek", "left", ["D49.2"]),
            ("sk", "destruction", "upper back", "right", ["L82.0"]),
            ("ak", "destruction", "scalp", None, ["L57.0"], {"count": 4}),
            ("tags", "skin_tag_removal", "neck", None, ["L91.8"], {"count": 5}),
            ("sk2", "destruction", "forearm", "right", ["L82.1"]),
        ],
    )
    result = check_documentation(enc)
    assert {sid: c.category for sid, c in result.classifications.items()} == {
        "bx": "medical",
        "sk": "medical",
        "ak": "medical",
        "tags": "cosmetic",
        "sk2": "cosmetic",  # requested, and documented asymptomatic
    }
    sk_evidence = {e.text for e in result.classifications["sk"].reasons[0].evidence}
    assert {"catches on her bra strap", "irritated by bra strap", "erythematous", "itch"} <= sk_evidence
    assert result.queries == ()


def test_lesion_words_anchor_a_symptom_when_no_site_is_written() -> None:
    enc = encounter(
        "The SK bleeds when she shaves. The nevus is asymptomatic; patient wants it off.",
        [("sk", "shave", None, None, ["L82.0"]), ("nevus", "shave", None, None, ["D22.5"])],
    )
    result = check_documentation(enc)
    assert {sid: c.category for sid, c in result.classifications.items()} == {"sk": "medical", "nevus": "cosmetic"}
    assert "for this lesion" in result.classifications["sk"].reasons[0].message


def test_a_symptom_of_an_unbilled_lesion_type_justifies_nothing() -> None:
    enc = encounter("The wart on her foot is painful.", [("s1", "shave", None, None, ["L82.1"])])
    assert check_documentation(enc).classifications["s1"].category == "borderline"


def test_command_line_prints_the_documentation_result(tmp_path, capsys) -> None:
    from rulebooks.notes.__main__ import main

    path = tmp_path / "enc.json"
    enc = encounter("SK on the left cheek.", [("s1", "shave", "cheek", "left", ["L82.1"])])
    path.write_text(enc.model_dump_json(), encoding="utf-8")
    assert main([str(path), "--payer-criteria", "COMMERCIAL"]) == 0
    output = json.loads(capsys.readouterr().out)
    assert output["classifications"]["s1"]["category"] == "borderline"
    assert output["classifications"]["s1"]["criteria"] == "COMMERCIAL"


def test_command_line_refuses_a_note_over_the_limit_without_echoing_it(tmp_path, capsys) -> None:
    from rulebooks.notes.__main__ import main

    path = tmp_path / "enc.json"
    enc = encounter("SK on the left cheek.", [("s1", "shave", "cheek", "left", ["L82.1"])])
    path.write_text(enc.model_dump_json().replace("SK on the left cheek.", "denies pain. " * 7_700), encoding="utf-8")
    assert main([str(path)]) == 2
    error = capsys.readouterr().err
    assert f"{path}: note: String should have at most 100000 characters" in error
    assert "denies" not in error
