"""HL7 v2 to visit parts: ADT (patient, coverage), DFT^P03 (the staff's charges), MDM^T02 (the
note) and ORU^R01 (a pathology result, which settles the diagnosis of the visit's biopsied lesion).

Parsed by hl7apy with `find_groups=False` (by default it drops Z-segments and segments outside the
message structure without a word). Every message names its visit by PV1-19 (visit number); the
import merges the parts of one visit. Errors name the segment (and its repetition) and the field,
as "FT1[2]-7 (transaction code)", never a value.
"""

from __future__ import annotations

import re
from typing import Any

from hl7apy import SUPPORTED_LIBRARIES
from hl7apy.exceptions import HL7apyException
from hl7apy.parser import parse_message

from rulebooks.models.encounter import ICD10_FORMAT, PROCEDURE_CODE_FORMAT
from server.ehr.parts import MessageRejected, VisitPart, new_part
from server.ehr.procedures import service_from_code, staff_code
from server.ehr.profile import GENERIC, Field, Profile, load

SEGMENT_NAME = re.compile(r"^[A-Z][A-Z0-9]{2}$")
ICD10_SYSTEMS = ("I10", "I10C", "ICD10CM", "ICD-10-CM")
TEXT_TYPES = ("TX", "FT", "ST")  # a pathology result's text
SEXES = {"F": "female", "M": "male", "O": "other", "U": "unknown", "A": "other", "N": "unknown"}
READS = "cutis reads ADT, DFT^P03, MDM^T02 and ORU^R01"
VERSIONS = frozenset(SUPPORTED_LIBRARIES)  # what hl7apy reads, so both readers refuse the same versions
LABELS = {  # the names of the fields a profile may point at, for the errors
    "PV1-19": "visit number",
    "PV1-50": "alternate visit id",
    "PID-2": "patient id",
    "PID-3": "patient identifier list",
    "FT1-2": "transaction id",
    "FT1-7": "transaction code",
    "FT1-25": "procedure code",
}
ESCAPES = (("\\F\\", "|"), ("\\S\\", "^"), ("\\T\\", "&"), ("\\R\\", "~"), ("\\.br\\", "\n"), ("\\E\\", "\\"))


def split_messages(text: str) -> list[str]:
    """The messages of a file or a batch, each with carriage returns between its segments.

    >>> split_messages("MSH|^~\\\\&|A\\nPID|1\\r\\nMSH|^~\\\\&|B\\n")
    ['MSH|^~\\\\&|A\\rPID|1', 'MSH|^~\\\\&|B']
    """
    lines = [line for line in re.split(r"\r\n|\r|\n", text) if line.strip()]
    messages: list[list[str]] = []
    for line in lines:
        if line.startswith(("FHS", "BHS", "BTS", "FTS")):
            continue  # batch envelopes
        if line.startswith("MSH") or not messages:
            messages.append([])
        messages[-1].append(line)
    return ["\r".join(segments) for segments in messages]


def parse_hl7(text: str, *, reader: str = "hl7apy", profile: Profile | None = None) -> VisitPart:
    """The part of a visit this one message gives, or `MessageRejected` saying where and why.

    `reader="hl7apy"` builds hl7apy's element tree (`find_groups=False`), which also checks the version
    and every segment's structure: the reference, and what the MLLP listener uses. It costs about
    20 ms a message; `reader="plain"` splits the same fields in about 0.2 ms for bulk imports, and
    tests hold both to the same answers. The vendor `profile` (generic by default) says which fields
    carry the visit number, the chart number, the charge's code and diagnoses, and the note.
    """
    profile = profile or load(GENERIC)
    segments = text.split("\r")
    if not segments[0].startswith("MSH"):
        raise MessageRejected("segment 1", "a message starts with MSH")
    for number, segment in enumerate(segments, start=1):
        if not SEGMENT_NAME.match(segment[:3]) or (len(segment) > 3 and segment[3] != segments[0][3]):
            raise MessageRejected(f"segment {number}", "not a segment (three capitals or digits, then a field)")
    if segments[0][3:8] != "|^~\\&":
        raise MessageRejected("MSH-2 (encoding characters)", "cutis reads the standard separators |^~\\&")
    found = Segments.from_hl7apy(text) if reader == "hl7apy" else Segments.from_text(segments)
    kind = found.component("MSH", 9, 1, "message type")
    event = found.component("MSH", 9, 2, "message type")
    part = new_part(found.field(profile.visit_number, required=True))
    _patient(found, part, profile)
    _visit(found, part)
    if kind == "ADT":
        _coverage(found, part)
    elif (kind, event) == ("DFT", "P03"):
        _coverage(found, part)
        _charges(found, part, profile)
    elif (kind, event) == ("MDM", "T02"):
        _note(found, part, profile)
    elif (kind, event) == ("ORU", "R01"):
        _pathology(found, part)
    else:
        raise MessageRejected("MSH-9 (message type)", READS)
    return part


Segment = dict[int, str]  # field number -> the field as sent (repetitions, components, escapes)


class Segments:
    """The message's segments by name, each a map of field number to its text, from either reader."""

    def __init__(self, by_name: dict[str, list[Segment]]) -> None:
        self.by_name = by_name

    @classmethod
    def from_hl7apy(cls, text: str) -> Segments:
        try:
            message = parse_message(text, find_groups=False)
        except HL7apyException as error:
            raise MessageRejected("MSH", f"cannot be read as HL7 v2 ({type(error).__name__})") from None
        by_name: dict[str, list[Segment]] = {}
        for segment in message.children:
            fields: dict[str, list[str]] = {}
            for child in segment.children:
                if child.name is None:  # a field past the segment's definition: hl7apy names none, and cutis reads none
                    continue
                fields.setdefault(child.name, []).append(child.to_er7())
            by_name.setdefault(segment.name, []).append(
                {int(name.rsplit("_", 1)[1]): "~".join(reps) for name, reps in fields.items()}
            )
        return cls(by_name)

    @classmethod
    def from_text(cls, segments: list[str]) -> Segments:
        if segments[0].split("|")[11:12] and segments[0].split("|")[11].split("^")[0] not in VERSIONS:
            raise MessageRejected("MSH", "cannot be read as HL7 v2 (UnsupportedVersion)")
        by_name: dict[str, list[Segment]] = {}
        for segment in segments:
            parts = segment.split("|")
            # MSH-1 is the field separator itself: MSH-n is the n-1th piece after the name
            offset = 1 if parts[0] == "MSH" else 0
            # hl7apy drops a field of only spaces: so does this reader
            fields = {number + offset: value for number, value in enumerate(parts[1:], start=1) if value.strip()}
            by_name.setdefault(parts[0], []).append(fields)
        return cls(by_name)

    def all(self, name: str) -> list[Segment]:
        return self.by_name.get(name, [])

    def component(
        self, name: str, field: int, component: int, label: str, *, index: int = 0, required: bool = False
    ) -> str:
        segments = self.all(name)
        value = components(segments[index], field)[0] if index < len(segments) else []
        text = value[component - 1] if component <= len(value) else ""
        if required and not text:
            raise MessageRejected(f"{where(name, index, segments)}-{field} ({label})", "required, and empty or missing")
        return text

    def field(self, field: Field, *, index: int = 0, required: bool = False) -> str:
        """The first component of a field a profile names (PV1-19, FT1-25...)."""
        return self.component(field.segment, field.number, 1, _label(field), index=index, required=required)


def where(name: str, index: int, segments: list[Segment]) -> str:
    return f"{name}[{index + 1}]" if len(segments) > 1 else name


def components(segment: Segment, field: int) -> list[list[str]]:
    """Each repetition of the field, split into components (escapes undone); one empty repetition when absent."""
    value = segment.get(field, "")
    if not value:
        return [[]]
    # a component of only spaces is empty, as hl7apy reads it
    return [
        [_unescape(part) if part.strip() else "" for part in repetition.split("^")] for repetition in value.split("~")
    ]


def _unescape(text: str) -> str:
    for escaped, plain in ESCAPES:
        text = text.replace(escaped, plain)
    return text


def _date(found: Segments, name: str, field: int, label: str, index: int = 0) -> str | None:
    value = found.component(name, field, 1, label, index=index)
    if not value:
        return None
    if not re.match(r"^[0-9]{8}", value):
        raise MessageRejected(f"{where(name, index, found.all(name))}-{field} ({label})", "not a date (YYYYMMDD...)")
    return f"{value[:4]}-{value[4:6]}-{value[6:8]}"


def _patient(found: Segments, part: VisitPart, profile: Profile) -> None:
    patient: dict[str, Any] = {"id": found.field(profile.patient_id, required=True)[:64]}
    sex = found.component("PID", 8, 1, "administrative sex")
    if sex:
        if sex not in SEXES:
            raise MessageRejected("PID-8 (administrative sex)", "one of F, M, O, U, A, N")
        patient["sex"] = SEXES[sex]
    birth_date = _date(found, "PID", 7, "date of birth")
    if birth_date:
        patient["birth_date"] = birth_date
    part.fields["patient"] = patient


def _visit(found: Segments, part: VisitPart) -> None:
    npi = found.component("PV1", 7, 1, "attending doctor")
    if npi:
        part.fields["provider"] = {"npi": npi}
    started = _date(found, "PV1", 44, "admit date/time")
    if started:
        part.fields["date_of_service"] = started


def _coverage(found: Segments, part: VisitPart) -> None:
    if not found.all("IN1"):
        return
    part.payer_id = found.component("IN1", 3, 1, "insurance company id", required=True)
    part.payer_where = "IN1-3 (insurance company id)"
    member_id = found.component("IN1", 36, 1, "policy number") or found.component("IN1", 49, 1, "insured's id")
    if member_id:
        part.fields["coverage"] = {"member_id": member_id}


def _charges(found: Segments, part: VisitPart, profile: Profile) -> None:
    diagnoses = []
    if "DG1" in profile.diagnosis_sources:
        diagnoses = [_icd10(found, "DG1", index, 3, "diagnosis code") for index in range(len(found.all("DG1")))]
    linked_fields = [int(source[4:]) for source in profile.diagnosis_sources if source.startswith("FT1-")]
    charges = found.all("FT1")
    if not charges:
        raise MessageRejected("FT1", "a DFT^P03 carries at least one FT1 (the charge)")
    staff_codes = []
    for index, segment in enumerate(charges):
        label = where("FT1", index, charges)
        code_fields = [f for f in profile.charge_code_fields if f.segment == "FT1"]
        given = [(f, found.field(f, index=index)) for f in code_fields]
        code_field, code = next(((f, value) for f, value in given if value), (code_fields[-1], ""))
        if not code:
            raise MessageRejected(
                f"{label}-{code_field.number} ({_label(code_field)})", "required, and empty or missing"
            )
        code = code.strip().upper()
        if not PROCEDURE_CODE_FORMAT.match(code):
            raise MessageRejected(
                f"{label}-{code_field.number} ({_label(code_field)})", "not a CPT or HCPCS code such as 11102"
            )
        charged_on = _date(found, "FT1", 4, "transaction date", index)
        if charged_on and "date_of_service" not in part.fields:  # a visit without PV1-44: the charge's date
            part.fields["date_of_service"] = charged_on
        service = service_from_code(f"ft1-{index + 1}", code)
        linked = []
        for number in linked_fields:
            codes = [rep[0].strip().upper() for rep in components(segment, number) if rep and rep[0]]
            for code_index, linked_code in enumerate(codes):
                if not ICD10_FORMAT.match(linked_code):
                    raise MessageRejected(
                        f"{label}-{number} (diagnosis code), repetition {code_index + 1}", "not ICD-10-CM"
                    )
            linked.extend(codes)
        diagnoses.extend(linked)
        service["diagnoses"] = linked
        part.services[service["id"]] = service
        modifiers = [rep[0] for rep in components(segment, 26) if rep and rep[0]]
        staff_codes.append(staff_code(code, modifiers))
    part.fields["diagnoses"] = list(dict.fromkeys(diagnoses))
    part.fields["staff_codes"] = staff_codes


def _icd10(found: Segments, name: str, index: int, field: int, label: str) -> str:
    segments = found.all(name)
    value = components(segments[index], field)[0]
    code = value[0].strip().upper() if value else ""
    system = value[2].strip().upper() if len(value) > 2 else ""
    place = f"{where(name, index, segments)}-{field} ({label})"
    if not code:
        raise MessageRejected(place, "required, and empty or missing")
    if system and system not in ICD10_SYSTEMS:
        raise MessageRejected(place, "not coded in ICD-10-CM (the coding system is not I10)")
    if not ICD10_FORMAT.match(code):
        raise MessageRejected(place, "not an ICD-10-CM code such as L57.0")
    return code


def _label(field: Field) -> str:
    return LABELS.get(str(field), "the profile's field")


def _note(found: Segments, part: VisitPart, profile: Profile) -> None:
    lines = [
        "~".join("^".join(rep) for rep in components(segment, 5))
        for index, segment in enumerate(found.all("OBX"))
        if found.component("OBX", 2, 1, "value type", index=index) in profile.note_value_types
    ]
    if not lines:
        raise MessageRejected("OBX-5 (observation value)", "an MDM^T02 carries the note as text OBX segments")
    part.fields["note"] = "\n".join(lines)


def _pathology(found: Segments, part: VisitPart) -> None:
    """The result applies to the visit's biopsies: the text as `pathology.result`, a coded
    ICD-10-CM value as the lesion's diagnosis (replacing a neoplasm of unspecified behaviour)."""
    text, diagnosis = [], None
    for index, segment in enumerate(found.all("OBX")):
        value_type = found.component("OBX", 2, 1, "value type", index=index)
        if value_type in TEXT_TYPES:
            text.append("~".join("^".join(rep) for rep in components(segment, 5)))
        elif value_type in ("CE", "CWE"):
            diagnosis = _icd10(found, "OBX", index, 5, "observation value")
    if not text and diagnosis is None:
        raise MessageRejected("OBX-5 (observation value)", "the pathology result has no text and no coded diagnosis")
    facts: dict[str, Any] = {"processing": "permanent"}
    if text:
        facts["result"] = "\n".join(text)
    if diagnosis is not None:
        facts["malignant"] = diagnosis.startswith(("C", "D0"))
    part.pathology["*"] = {"facts": facts, "diagnosis": diagnosis}
