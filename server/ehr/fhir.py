"""FHIR R4 to visit parts: a Bundle (or one resource) of a dermatology visit, checked against the
R4 models (`fhir.resources.R4B`: the package's default modules are R5) and mapped to the canonical
Encounter's fields plus the patient's history.

Each Encounter resource is a visit; the resources that point at it (Condition, Procedure,
DocumentReference, Observation, MedicationRequest, ChargeItem, Claim) fill it; the Patient and
Coverage of its subject give the patient and the payer; resources of the patient that point at no
visit (earlier problems, medications taken before, scores) are history. Errors name the entry,
the resource type and the element path, never a value.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from server.ehr.parts import MessageRejected, VisitPart, new_part
from server.ehr.procedures import service_from_code, staff_code
from server.ehr.profile import GENERIC, Profile, load, pick_identifier

SEVERITY_SCORES = ("PASI", "BSA", "EASI", "IGA", "DLQI", "SCORAD")
VISIT_RESOURCES: tuple[str, ...] = ("Condition", "Procedure", "DocumentReference", "Observation", "MedicationRequest")
VISIT_RESOURCES += ("ChargeItem", "Claim")
MAX_ENTRIES = 20_000


@dataclass(frozen=True, eq=False)
class Entry:
    """One resource of the message as sent (JSON), with where it sits."""

    index: int
    resource: dict[str, Any]
    full_url: str

    @property
    def type(self) -> str:
        return str(self.resource.get("resourceType"))

    def at(self, path: str = "") -> str:
        prefix = f"Bundle.entry[{self.index}].resource({self.type})" if self.index >= 0 else self.type
        return f"{prefix}.{path}" if path else prefix


def parse_fhir(text: str, profile: Profile | None = None) -> list[VisitPart]:
    """Every visit the Bundle (or single resource) carries, read as the vendor `profile` says (the
    generic one by default), or `MessageRejected` for the first problem."""
    profile = profile or load(GENERIC)
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise MessageRejected(f"line {error.lineno}, column {error.colno}", f"not JSON: {error.msg}") from None
    if not isinstance(document, dict) or not isinstance(document.get("resourceType"), str):
        raise MessageRejected("resourceType", "a FHIR resource or Bundle names its resourceType")
    entries = list(_entries(document))
    for entry in entries:
        _check_against_r4(entry)
    found = Resources(entries, profile)
    visits = [entry for entry in entries if entry.type == "Encounter"]
    if not visits:
        return [_loose_part(found, entry) for entry in entries if entry.type in VISIT_RESOURCES]
    return [_visit(found, visit) for visit in visits]


def _entries(document: dict[str, Any]) -> Iterator[Entry]:
    if document["resourceType"] != "Bundle":
        yield Entry(-1, document, _local_url(document))
        return
    entries = document.get("entry") or []
    if not isinstance(entries, list):
        raise MessageRejected("Bundle.entry", "a list of entries")
    if len(entries) > MAX_ENTRIES:
        raise MessageRejected("Bundle.entry", f"more than {MAX_ENTRIES} entries; send the visits in several bundles")
    for index, entry in enumerate(entries):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            raise MessageRejected(f"Bundle.entry[{index}].resource", "each entry carries a resource with a type")
        yield Entry(index, resource, entry.get("fullUrl") or _local_url(resource))


def _local_url(resource: dict[str, Any]) -> str:
    return f"{resource.get('resourceType')}/{resource.get('id')}" if resource.get("id") else ""


def _check_against_r4(entry: Entry) -> None:
    try:
        model = get_fhir_model_class(entry.type)
    except KeyError:
        raise MessageRejected(entry.at(), "not an R4 resource type") from None
    try:
        model.model_validate(entry.resource)
    except ValidationError as error:
        issue = error.errors(include_url=False, include_input=False)[0]
        path = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in issue["loc"]).lstrip(".")
        raise MessageRejected(entry.at(path), str(issue["msg"]).removeprefix("Value error, ")) from None


class Resources:
    """The message's resources by reference (fullUrl, or Type/id), and those that point at each visit."""

    def __init__(self, entries: list[Entry], profile: Profile) -> None:
        self.entries = entries
        self.profile = profile
        self.by_url: dict[str, Entry] = {}
        for entry in entries:
            for key in {entry.full_url, _local_url(entry.resource)} - {""}:
                self.by_url[key] = entry

    def resolve(self, owner: Entry, path: str, reference: Any, expected: str) -> Entry:
        target = self.by_url.get((reference or {}).get("reference", "")) if isinstance(reference, dict) else None
        if target is None or target.type != expected:
            raise MessageRejected(owner.at(path), f"the reference does not name a {expected} in the message")
        return target

    def pointing_at(self, visit: Entry) -> Iterator[Entry]:
        keys = {visit.full_url, _local_url(visit.resource)} - {""}
        for entry in self.entries:
            if entry.type in VISIT_RESOURCES and keys & set(_encounter_refs(entry.resource)):
                yield entry


def _encounter_refs(resource: dict[str, Any]) -> list[str]:
    direct = [resource.get("encounter"), *((resource.get("context") or {}).get("encounter") or [])]
    if resource.get("resourceType") == "ChargeItem":
        direct.append(resource.get("context"))
    direct.extend(item.get("encounter", [None])[0] for item in resource.get("item", []) if item.get("encounter"))
    return [ref["reference"] for ref in direct if isinstance(ref, dict) and ref.get("reference")]


def _visit(found: Resources, visit: Entry) -> VisitPart:
    profile = found.profile
    part = new_part(_visit_key(visit, profile))
    part.complete = True
    encounter = visit.resource
    start = (encounter.get("period") or {}).get("start")
    if not start:
        raise MessageRejected(visit.at("period.start"), "the visit's date is needed (the date of service)")
    part.fields["date_of_service"] = start[:10]
    patient = found.resolve(visit, "subject", encounter.get("subject"), "Patient")
    part.fields["patient"] = _patient(patient, profile)
    part.fields["provider"] = {"npi": _provider_npi(found, visit)}
    _coverage(found, patient, part)
    diagnoses: list[str] = []
    linked: dict[str, str] = {}
    pointing = list(found.pointing_at(visit))
    for entry in pointing:
        if entry.type == "Condition":
            code = _code_in(entry, "code", profile.diagnosis_systems, _diagnosis_wanted(profile))
            diagnoses.append(code)
            for key in {entry.full_url, _local_url(entry.resource)} - {""}:
                linked[key] = code
    part.fields["diagnoses"] = list(dict.fromkeys(diagnoses))
    notes: list[str] = []
    for entry in pointing:
        if entry.type == "Procedure":
            _procedure(entry, linked, part, profile)
        elif entry.type == "DocumentReference":
            notes.append(_note(entry, profile))
        elif entry.type in profile.charge_resources:
            part.fields.setdefault("staff_codes", []).extend(_charged(entry, profile))
        elif entry.type == "Observation":
            _score(entry, part)
        elif entry.type == "MedicationRequest":
            part.history.setdefault("medications", []).append(_medication(entry))
    if notes:
        part.fields["note"] = "\n\n".join(notes)
    if "staff_codes" not in part.fields:  # no charges sent: the documented procedures are the staff's codes
        part.fields["staff_codes"] = [service["staff_code"] for service in part.services.values()]
    _history(found, patient, set(pointing), part)
    return part


def _loose_part(found: Resources, entry: Entry) -> VisitPart:
    """A single resource pushed on its own: a part of the visit it points at."""
    refs = _encounter_refs(entry.resource)
    if not refs:
        raise MessageRejected(entry.at("encounter"), "a resource sent without its Encounter must point at one")
    part = new_part(refs[0].removeprefix("Encounter/").removeprefix("urn:uuid:"))
    profile = found.profile
    if entry.type == "Procedure":
        _procedure(entry, {}, part, profile)
    elif entry.type == "DocumentReference":
        part.fields["note"] = _note(entry, profile)
    elif entry.type in profile.charge_resources:
        part.fields["staff_codes"] = _charged(entry, profile)
    elif entry.type == "Observation":
        _score(entry, part)
    elif entry.type == "MedicationRequest":
        part.history["medications"] = [_medication(entry)]
    else:
        raise MessageRejected(entry.at(), "send a Condition within its visit's Bundle (diagnoses keep their order)")
    return part


def _visit_key(visit: Entry, profile: Profile) -> str:
    key = pick_identifier(visit.resource, profile.visit_identifier_systems)
    if key is not None:
        return key
    if visit.resource.get("id"):
        return str(visit.resource["id"])
    if visit.full_url:
        return visit.full_url.removeprefix("urn:uuid:")
    raise MessageRejected(visit.at("identifier"), "the visit needs an identifier, an id or a fullUrl")


def _patient(patient: Entry, profile: Profile) -> dict[str, Any]:
    resource = patient.resource
    local_id = pick_identifier(resource, profile.patient_identifier_systems) or resource.get("id")
    if not local_id:
        raise MessageRejected(patient.at("identifier"), "the patient needs an identifier (the chart number) or an id")
    found: dict[str, Any] = {"id": str(local_id)[:64]}
    if resource.get("gender"):
        found["sex"] = resource["gender"]
    if resource.get("birthDate") and len(resource["birthDate"]) == 10:
        found["birth_date"] = resource["birthDate"]
    return found


def _provider_npi(found: Resources, visit: Entry) -> str:
    for index, participant in enumerate(visit.resource.get("participant") or []):
        if participant.get("individual"):
            path = f"participant[{index}].individual"
            practitioner = found.resolve(visit, path, participant["individual"], "Practitioner")
            npi = pick_identifier(practitioner.resource, (found.profile.npi_system,))
            if npi is not None:
                return npi
            system = found.profile.npi_system
            raise MessageRejected(practitioner.at("identifier"), f"the practitioner has no NPI (system {system})")
    raise MessageRejected(visit.at("participant"), "the visit names no rendering practitioner")


def _coverage(found: Resources, patient: Entry, part: VisitPart) -> None:
    keys = {patient.full_url, _local_url(patient.resource)} - {""}
    for entry in found.entries:
        beneficiary = (entry.resource.get("beneficiary") or {}).get("reference")
        if entry.type != "Coverage" or beneficiary not in keys:
            continue
        if entry.resource.get("subscriberId"):
            part.fields["coverage"] = {"member_id": entry.resource["subscriberId"]}
        payors = entry.resource.get("payor") or []
        if not payors:
            raise MessageRejected(entry.at("payor"), "the coverage names no payer")
        payer = found.resolve(entry, "payor[0]", payors[0], "Organization")
        systems = found.profile.payer_identifier_systems
        payer_id = pick_identifier(payer.resource, systems)
        if payer_id is None:
            wanted = f" in {', '.join(systems)}" if systems else ""
            raise MessageRejected(
                payer.at("identifier"), f"the payer organization has no identifier{wanted} (its payer id)"
            )
        values = [str(identifier.get("value")) for identifier in payer.resource.get("identifier") or []]
        place = f"identifier[{values.index(payer_id)}].value" if payer_id in values else "id"
        part.payer_id, part.payer_where = payer_id, payer.at(place)
        return


def _code_in(entry: Entry, path: str, system: str | tuple[str, ...], wanted: str) -> str:
    systems = (system,) if isinstance(system, str) else system
    for coding in (entry.resource.get(path) or {}).get("coding") or []:
        if coding.get("system") in systems and coding.get("code"):
            return str(coding["code"]).strip().upper()
    raise MessageRejected(entry.at(f"{path}.coding"), f"no {wanted}")


def _procedure(entry: Entry, linked: dict[str, str], part: VisitPart, profile: Profile) -> None:
    code = _code_in(entry, "code", profile.procedure_systems, "CPT or HCPCS coding")
    service_id = str(entry.resource.get("id") or f"procedure-{entry.index + 1}")[:64]
    service = service_from_code(service_id, code)
    sites = [site.get("text") for site in entry.resource.get("bodySite") or [] if site.get("text")]
    sites += _extension_texts(entry.resource, profile.body_site_extension)
    if sites:
        service["site"] = sites[0]
        service["laterality"] = _laterality(sites[0])
        if service["laterality"] is None:
            del service["laterality"]
    reasons = [ref.get("reference") for ref in entry.resource.get("reasonReference") or []]
    service["diagnoses"] = [linked[ref] for ref in reasons if ref in linked]
    part.services[service_id] = service


def _laterality(site: str) -> str | None:
    words = set(site.lower().replace(",", " ").split())
    for word, side in (("bilateral", "bilateral"), ("left", "left"), ("right", "right"), ("midline", "midline")):
        if word in words:
            return side
    return None


def _extension_texts(resource: dict[str, Any], url: str) -> list[str]:
    """The text each extension of that url carries (valueString, or a coded value's text or display)."""
    texts = []
    for extension in resource.get("extension") or [] if url else []:
        if extension.get("url") != url:
            continue
        concept = extension.get("valueCodeableConcept") or {}
        codings = concept.get("coding") or [{}]
        text = extension.get("valueString") or concept.get("text") or codings[0].get("display")
        if text:
            texts.append(str(text))
    return texts


def _diagnosis_wanted(profile: Profile) -> str:
    return f"an ICD-10-CM coding (system {' or '.join(profile.diagnosis_systems)})"


def _note(entry: Entry, profile: Profile) -> str:
    for index, content in enumerate(entry.resource.get("content") or []):
        attachment = content.get("attachment") or {}
        kind = attachment.get("contentType", "text/plain")
        if attachment.get("data") and kind.startswith(profile.note_content_types):
            try:
                return base64.b64decode(attachment["data"], validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                raise MessageRejected(
                    entry.at(f"content[{index}].attachment.data"), "not base64 of UTF-8 text"
                ) from None
    raise MessageRejected(entry.at("content"), "no text attachment with the note")


def _charged(entry: Entry, profile: Profile) -> list[str]:
    if entry.type == "ChargeItem":
        return [_code_in(entry, "code", profile.procedure_systems, "CPT or HCPCS coding")]
    codes = []
    for index, item in enumerate(entry.resource.get("item") or []):
        product = Entry(entry.index, {"resourceType": "Claim", "code": item.get("productOrService")}, "")
        try:
            code = _code_in(product, "code", profile.procedure_systems, "CPT or HCPCS coding")
        except MessageRejected:
            raise MessageRejected(entry.at(f"item[{index}].productOrService"), "no CPT or HCPCS coding") from None
        modifiers = [c.get("code") for m in item.get("modifier") or [] for c in m.get("coding") or [] if c.get("code")]
        codes.append(staff_code(code, modifiers))
    return codes


def _score(entry: Entry, part: VisitPart) -> None:
    codes = [str(c.get("code", "")).upper() for c in (entry.resource.get("code") or {}).get("coding") or []]
    name = next((code for code in codes if code in SEVERITY_SCORES), None)
    quantity = entry.resource.get("valueQuantity") or {}
    if name is not None and "value" in quantity:
        score = {"name": name, "value": quantity["value"], "unit": quantity.get("unit")}
        part.history.setdefault("scores", []).append(score)


def _medication(entry: Entry) -> dict[str, Any]:
    resource = entry.resource
    concept = resource.get("medicationCodeableConcept") or {}
    period = resource.get("effectivePeriod") or {}
    found = {"kind": entry.type, "status": resource.get("status"), "text": concept.get("text")}
    found |= {"start": period.get("start"), "end": period.get("end")}
    return {key: value for key, value in found.items() if value is not None}


def _history(found: Resources, patient: Entry, visit_entries: set[Entry], part: VisitPart) -> None:
    """The patient's resources that belong to no visit of the message: what came before."""
    keys = {patient.full_url, _local_url(patient.resource)} - {""}
    for entry in found.entries:
        subject = (entry.resource.get("subject") or {}).get("reference")
        if entry in visit_entries or subject not in keys or _encounter_refs(entry.resource):
            continue
        if entry.type == "MedicationStatement":
            part.history.setdefault("medications", []).append(_medication(entry))
        elif entry.type == "Condition":
            problem = _code_in(entry, "code", found.profile.diagnosis_systems, "an ICD-10-CM coding")
            part.history.setdefault("problems", []).append({"code": problem})
        elif entry.type == "Observation":
            _score(entry, part)
