"""FHIR R4 and HL7 v2 messages to the canonical Encounter: the shared samples and our own fixtures
round-trip to Encounters (snapshots, with hand-checked facts), and every malformed message is
refused with where and why, never quoting a value."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.ehr.fhir import parse_fhir
from server.ehr.hl7v2 import parse_hl7, split_messages
from server.ehr.imports import assemble, parse_all
from server.ehr.parts import MessageRejected, build_encounter, merge

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "domain" / "samples"
if not SAMPLES.is_dir():  # the worktree sits beside /work/shared
    SAMPLES = Path("/work/shared/domain/samples")
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ehr"
SAMPLE_PAYERS = {"12345": ("AETNA", "commercial")}
DEMO_PAYERS = {"60054": ("AETNA", "commercial")}
HL7_VISIT = ("adt_a04", "dft_p03", "mdm_t02")


def hl7_visit(folder: Path, names: tuple[str, ...], prefix: str) -> dict[str, Any]:
    visit: dict[str, Any] | None = None
    for name in names:
        for message in split_messages((folder / f"{prefix}{name}.hl7").read_text()):
            visit = merge(visit, parse_hl7(message))
    assert visit is not None
    return visit


def test_the_shared_fhir_bundle_is_one_encounter_with_its_history(snapshot) -> None:  # type: ignore[no-untyped-def]
    [part] = parse_fhir((SAMPLES / "fhir_r4_derm_bundle.json").read_text())
    visit = merge(None, part)
    encounter = build_encounter(part.visit_key, visit, SAMPLE_PAYERS)
    assert encounter.date_of_service.isoformat() == "2025-01-10"
    assert (encounter.patient.id, encounter.patient.age, encounter.patient.sex) == ("MRN12345", 55, "female")
    assert encounter.provider.npi == "9876543213"
    assert (encounter.coverage.payer, encounter.coverage.member_id) == ("AETNA", "XYZ123456789")
    assert encounter.diagnoses == ["L40.0", "D49.2"]
    [biopsy] = encounter.services
    assert (biopsy.kind, biopsy.technique, biopsy.site, biopsy.laterality) == (
        "biopsy",
        "tangential",
        "left upper back",
        "left",
    )
    assert encounter.staff_codes == ["11102"]
    assert encounter.note is not None and encounter.note.startswith("Chief complaint: itchy scaly plaques")
    assert visit["history"]["scores"] == [
        {"name": "PASI", "value": 14.2, "unit": "{score}"},
        {"name": "BSA", "value": 12, "unit": "%"},
    ]
    assert [m["text"] for m in visit["history"]["medications"]] == [
        "adalimumab 40 mg/0.4 mL pen",
        "clobetasol propionate 0.05% topical cream",
    ]
    assert {"encounter": encounter.model_dump(mode="json", exclude_none=True), "history": visit["history"]} == snapshot


def test_the_shared_hl7_messages_make_one_encounter_with_the_staffs_codes(snapshot) -> None:  # type: ignore[no-untyped-def]
    visit = hl7_visit(SAMPLES, HL7_VISIT, "hl7v2_")
    encounter = build_encounter("V0001", visit, SAMPLE_PAYERS)
    assert [(s.id, s.kind, s.staff_code, s.diagnoses) for s in encounter.services] == [
        ("ft1-1", "em", "99213", ["L40.0"]),
        ("ft1-2", "biopsy", "11102", ["D49.2"]),
    ]
    assert encounter.services[0].em is not None and encounter.services[0].em.level is None  # the staff's choice
    assert encounter.staff_codes == ["99213-25", "11102"]
    assert encounter.note == (
        "Psoriasis vulgaris, failed 12 weeks of clobetasol. No bleeding or itching at the biopsy site.\n"
        "Plan: tangential biopsy left upper back (11102). Request PA for adalimumab."
    )
    assert encounter.model_dump(mode="json", exclude_none=True) == snapshot


def test_a_pathology_result_settles_the_biopsied_lesions_diagnosis(snapshot) -> None:  # type: ignore[no-untyped-def]
    visit = hl7_visit(FIXTURES, (*HL7_VISIT, "oru_r01"), "visit_hl7v2_")
    encounter = build_encounter("V0001", visit, DEMO_PAYERS)
    assert encounter.diagnoses == ["L40.0", "C44.519"]
    biopsy = encounter.services[1]
    assert biopsy.diagnoses == ["C44.519"]
    assert biopsy.pathology is not None
    assert (biopsy.pathology.malignant, biopsy.pathology.processing) == (True, "permanent")
    assert biopsy.pathology.result == "Basal cell carcinoma, nodular type, left upper back."
    assert encounter.services[0].diagnoses == ["L40.0"]  # the E/M keeps its own
    assert encounter.model_dump(mode="json", exclude_none=True) == snapshot


def test_an_adt_alone_waits_for_the_visits_charges() -> None:
    parsed = parse_all([("hl7v2", split_messages((FIXTURES / "visit_hl7v2_adt_a04.hl7").read_text())[0])])
    outcomes, visits = assemble({}, parsed, DEMO_PAYERS)
    assert [(o.status, o.visit_keys, o.encounters) for o in outcomes] == [("waiting", ["V0001"], {})]
    assert visits["V0001"]["merged"]["payer_id"] == "60054"


def test_the_same_visit_sent_again_makes_no_new_encounter() -> None:
    bundle = (FIXTURES / "visit_fhir_bundle.json").read_text()
    first, visits = assemble({}, parse_all([("fhir", bundle)]), DEMO_PAYERS)
    assert list(first[0].encounters) == ["22222222-2222-4222-8222-222222222222"]
    again, _ = assemble(visits, parse_all([("fhir", bundle)]), DEMO_PAYERS)
    assert (again[0].status, again[0].encounters) == ("imported", {})


def _bundle(change: Any) -> str:
    bundle = json.loads((FIXTURES / "visit_fhir_bundle.json").read_text())
    change(bundle["entry"])
    return json.dumps(bundle)


def _set(index: int, path: str, value: Any) -> Any:
    def change(entries: list[dict[str, Any]]) -> None:
        target = entries[index]["resource"]
        *parents, last = path.split(".")
        for key in parents:
            target = target[int(key)] if key.isdigit() else target[key]
        if value is DELETE:
            del target[int(last) if last.isdigit() else last]
        else:
            target[int(last) if last.isdigit() else last] = value

    return change


DELETE = object()
FHIR_DEFECTS = [
    pytest.param(
        "{ not json", "line 1, column 3", "not JSON: Expecting property name enclosed in double quotes", id="not JSON"
    ),
    pytest.param(
        _bundle(_set(4, "period.start", "yesterday")),
        "Bundle.entry[4].resource(Encounter).period.start",
        "DateTime value string does not match spec regex.",
        id="a date the R4 model refuses",
    ),
    pytest.param(
        _bundle(_set(5, "code.coding.0.system", "http://snomed.info/sct")),
        "Bundle.entry[5].resource(Condition).code.coding",
        "no an ICD-10-CM coding (system http://hl7.org/fhir/sid/icd-10-cm)",
        id="a diagnosis not in ICD-10-CM",
    ),
    pytest.param(
        _bundle(_set(7, "code.coding.0.system", "http://loinc.org")),
        "Bundle.entry[7].resource(Procedure).code.coding",
        "no CPT or HCPCS coding",
        id="a procedure without a CPT code",
    ),
    pytest.param(
        _bundle(_set(4, "subject.reference", "urn:uuid:00000000-0000-4000-8000-000000000000")),
        "Bundle.entry[4].resource(Encounter).subject",
        "the reference does not name a Patient in the message",
        id="a visit whose patient is not in the bundle",
    ),
    pytest.param(
        _bundle(_set(2, "identifier.0.system", "urn:example:staff")),
        "Bundle.entry[2].resource(Practitioner).identifier",
        "the practitioner has no NPI (system http://hl7.org/fhir/sid/us-npi)",
        id="a practitioner without an NPI",
    ),
    pytest.param(
        _bundle(_set(2, "identifier.0.value", "1234567890")),
        "encounter.provider.npi",
        "the NPI check digit is wrong",
        id="an NPI with a bad check digit",
    ),
    pytest.param(
        _bundle(_set(12, "content.0.attachment.data", "@@@@")),
        "Bundle.entry[12].resource(DocumentReference).content[0].attachment.data",
        "not base64 of UTF-8 text",
        id="a note that is not base64",
    ),
    pytest.param(
        _bundle(_set(7, "status", DELETE)),
        "Bundle.entry[7].resource(Procedure).status",
        "Value for the field 'status' is required.",
        id="a procedure without its required status",
    ),
    pytest.param(
        _bundle(_set(1, "identifier.0.value", "99999")),
        "Bundle.entry[1].resource(Organization).identifier[0].value",
        "the payer id is not mapped to any of the clinic's payers (savePayer ehrPayerId)",
        id="a payer the clinic has not mapped",
    ),
    pytest.param(
        _bundle(lambda entries: entries.__delitem__(7)),
        "Bundle",
        "the visit has no Procedure (no services)",
        id="a visit without a procedure",
    ),
]


@pytest.mark.parametrize(("text", "where", "why"), FHIR_DEFECTS)
def test_a_malformed_fhir_message_says_where_and_why(text: str, where: str, why: str) -> None:
    [outcome], visits = assemble({}, parse_all([("fhir", text)]), DEMO_PAYERS)
    assert (outcome.status, outcome.error) == ("quarantined", (where, why))
    assert visits == {}  # nothing of it is kept
    assert "MRN12345" not in why and "Jane" not in why


def _hl7(name: str, old: str, new: str) -> str:
    text = split_messages((FIXTURES / f"visit_hl7v2_{name}.hl7").read_text())[0]
    assert old in text
    return text.replace(old, new)


HL7_DEFECTS = [
    pytest.param(_hl7("dft_p03", "MSH|", "XSH|"), "segment 1", "a message starts with MSH", id="no MSH"),
    pytest.param(
        _hl7("dft_p03", "\rEVN|", "\rev n|"),
        "segment 2",
        "not a segment (three capitals or digits, then a field)",
        id="a line that is no segment",
    ),
    pytest.param(
        _hl7("dft_p03", "|2.5.1", "|9.9"), "MSH", "cannot be read as HL7 v2 (UnsupportedVersion)", id="unknown version"
    ),
    pytest.param(
        _hl7("dft_p03", "|CG|11102^", "|CG|1X102^").replace("||||11102^Tangential", "||||1X102^Tangential"),
        "FT1[2]-25 (procedure code)",
        "not a CPT or HCPCS code such as 11102",
        id="a charge with no CPT code",
    ),
    pytest.param(
        _hl7("dft_p03", "DG1|2||D49.2^Neoplasm of unspecified behavior of skin^I10", "DG1|2||D49.2^Neoplasm^SCT"),
        "DG1[2]-3 (diagnosis code)",
        "not coded in ICD-10-CM (the coding system is not I10)",
        id="a diagnosis in another code system",
    ),
    pytest.param(
        _hl7("dft_p03", "V0001^^^SUNNYDERM^VN", ""),
        "PV1-19 (visit number)",
        "required, and empty or missing",
        id="no visit number",
    ),
    pytest.param(
        _hl7("dft_p03", "|19700101|F|", "|19700101|Q|"),
        "PID-8 (administrative sex)",
        "one of F, M, O, U, A, N",
        id="an unknown sex code",
    ),
    pytest.param(
        _hl7("dft_p03", "|60054|", "|99999|"),
        "IN1-3 (insurance company id)",
        "the payer id is not mapped to any of the clinic's payers (savePayer ehrPayerId)",
        id="a payer the clinic has not mapped",
    ),
    pytest.param(
        _hl7("adt_a04", "ADT^A04^ADT_A01", "SIU^S12^SIU_S12"),
        "MSH-9 (message type)",
        "cutis reads ADT, DFT^P03, MDM^T02 and ORU^R01",
        id="a message type cutis does not read",
    ),
]


@pytest.mark.parametrize("reader", ["hl7apy", "plain"])
@pytest.mark.parametrize(("text", "where", "why"), HL7_DEFECTS)
def test_a_malformed_hl7_message_says_where_and_why(text: str, where: str, why: str, reader: str) -> None:
    [outcome], visits = assemble({}, parse_all([("hl7v2", text)], reader), DEMO_PAYERS)
    assert (outcome.status, outcome.error) == ("quarantined", (where, why))
    assert visits == {}
    assert "MRN12345" not in why and "DOE" not in why


def test_a_bad_message_does_not_block_the_next() -> None:
    good = split_messages((FIXTURES / "visit_hl7v2_dft_p03.hl7").read_text())[0]
    outcomes, visits = assemble({}, parse_all([("hl7v2", "garbage"), ("hl7v2", good)]), DEMO_PAYERS)
    assert [o.status for o in outcomes] == ["quarantined", "imported"]
    assert list(visits) == ["V0001"]


def test_hl7_parsing_keeps_segments_outside_the_structure() -> None:
    """hl7apy with `find_groups=False`: a Z-segment neither breaks the message nor vanishes silently."""
    text = _hl7("mdm_t02", "\rOBX|1|", "\rZDS|custom|value\rOBX|1|")
    part = parse_hl7(text)
    assert part.fields["note"].startswith("Psoriasis vulgaris")


def test_a_located_error_is_raised_for_a_direct_caller() -> None:
    with pytest.raises(MessageRejected) as raised:
        parse_hl7("PID|1")
    assert (raised.value.where, raised.value.why) == ("segment 1", "a message starts with MSH")


def _read(text: str, reader: str) -> Any:
    try:
        return parse_hl7(text, reader=reader).to_json()
    except MessageRejected as error:
        return (error.where, error.why)


ALL_HL7 = [
    message
    for folder, pattern in ((SAMPLES, "hl7v2_*.hl7"), (FIXTURES, "*.hl7"))
    for path in sorted(folder.glob(pattern))
    for message in split_messages(path.read_text())
]


@pytest.mark.parametrize("text", [*ALL_HL7, *(case.values[0] for case in HL7_DEFECTS)])
def test_the_plain_reader_agrees_with_hl7apy_on_every_fixture(text: str) -> None:
    assert _read(text, "plain") == _read(text, "hl7apy")


FIELD_TEXT = st.text(alphabet="AZaz09 .-^~&\\|", max_size=12)


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_the_plain_reader_agrees_with_hl7apy_on_changed_fields(data: st.DataObject) -> None:
    """Any field of any fixture message replaced by text with separators, escapes and repeats:
    both readers give the same part, or refuse with the same where and why."""
    message = data.draw(st.sampled_from(ALL_HL7))
    segments = message.split("\r")
    index = data.draw(st.integers(1, len(segments) - 1))
    fields = segments[index].split("|")
    position = data.draw(st.integers(1, max(1, len(fields) + 2)))
    fields += [""] * (position + 1 - len(fields))
    fields[position] = data.draw(FIELD_TEXT)
    segments[index] = "|".join(fields)
    changed = "\r".join(segments)
    assert _read(changed, "plain") == _read(changed, "hl7apy")


def test_a_charge_without_dates_keeps_the_date_an_earlier_message_gave() -> None:
    adt = split_messages((FIXTURES / "visit_hl7v2_adt_a04.hl7").read_text())[0]
    dft = _hl7("dft_p03", "|||||||||||||||||||||||||20250110090000", "|").replace("|||20250110||CG|", "|||||CG|")
    assert "2025" not in dft.split("\r", 1)[1].split("FT1", 1)[1]  # neither PV1-44 nor FT1-4
    visit = merge(merge(None, parse_hl7(adt)), parse_hl7(dft))
    assert build_encounter("V0001", visit, DEMO_PAYERS).date_of_service.isoformat() == "2025-01-10"


def test_a_note_pushed_alone_joins_its_visit() -> None:
    bundle = (FIXTURES / "visit_fhir_bundle.json").read_text()
    note = {
        "resourceType": "DocumentReference",
        "status": "current",
        "content": [{"attachment": {"contentType": "text/plain", "data": "QWRkZW5kdW06IGl0IGJsZWVkcy4="}}],
        "context": {"encounter": [{"reference": "urn:uuid:22222222-2222-4222-8222-222222222222"}]},
    }
    _, visits = assemble({}, parse_all([("fhir", bundle)]), DEMO_PAYERS)
    [outcome], _ = assemble(visits, parse_all([("fhir", json.dumps(note))]), DEMO_PAYERS)
    [(encounter, _)] = outcome.encounters.values()
    assert encounter.external_id == "22222222-2222-4222-8222-222222222222"
    assert encounter.note == "Addendum: it bleeds."
    assert [s.staff_code for s in encounter.services] == ["11102"]  # the rest of the visit stays
