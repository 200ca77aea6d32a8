"""Vendor profiles as data: each `server/ehr/profiles/NAME.toml` says, for one EHR, where the visit
number, the chart number, the payer id, the staff's charges, the lesion's site and the note are
found in its FHIR resources and HL7 v2 messages. The adapters (`fhir.py`, `hl7v2.py`) read through
a `Profile`; `generic` is the mapping they used before profiles, and what a message with no profile
gets. Each file cites the vendor document it follows, and says `verified = false` (with why) where
the vendor's behaviour could not be checked against a public document.

Profiles are looked up by name (a name crosses into the CPU pool, not the object) and read once.
"""

from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FOLDER = Path(__file__).parent / "profiles"
GENERIC = "generic"
NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
FIELD = re.compile(r"^(?P<segment>[A-Z][A-Z0-9]{2})-(?P<field>[1-9][0-9]{0,2})$")
FHIR_KEYS = {
    "visit_identifier_systems",
    "patient_identifier_systems",
    "payer_identifier_systems",
    "npi_system",
    "diagnosis_systems",
    "procedure_systems",
    "charge_resources",
    "body_site_extension",
    "note_content_types",
}
HL7_KEYS = {"visit_number", "patient_id", "charge_code_fields", "diagnosis_sources", "note_value_types"}
CHARGE_RESOURCES = ("ChargeItem", "Claim")


class ProfileError(ValueError):
    """A profile name that names no file, or a file that does not say what cutis needs."""


@dataclass(frozen=True)
class Field:
    """An HL7 v2 field as a profile names it, such as PV1-19."""

    segment: str
    number: int

    def __str__(self) -> str:
        return f"{self.segment}-{self.number}"


@dataclass(frozen=True)
class Profile:
    name: str
    title: str
    sources: tuple[dict[str, str], ...]
    verified: bool
    # FHIR R4
    visit_identifier_systems: tuple[str, ...]  # empty: the first identifier with a value
    patient_identifier_systems: tuple[str, ...]
    payer_identifier_systems: tuple[str, ...]
    npi_system: str
    diagnosis_systems: tuple[str, ...]
    procedure_systems: tuple[str, ...]
    charge_resources: tuple[str, ...]  # the resources that carry the staff's codes (none: the procedures do)
    body_site_extension: str  # an extension on Procedure giving the site as text when bodySite has none
    note_content_types: tuple[str, ...]  # the attachment content types read as the note (prefixes)
    # HL7 v2
    visit_number: Field
    patient_id: Field
    charge_code_fields: tuple[Field, ...]  # the first one given is the charge's code
    diagnosis_sources: tuple[str, ...]  # "DG1" (DG1-3) and/or a field of FT1 such as "FT1-19"
    note_value_types: tuple[str, ...]  # the OBX value types that carry the note's text


def names() -> list[str]:
    """Every profile there is, by name."""
    return sorted(path.stem for path in FOLDER.glob("*.toml"))


@functools.cache
def load(name: str = GENERIC) -> Profile:
    """The profile of that name, read once; `ProfileError` saying what is wrong and where."""
    if not NAME.match(name) or not (FOLDER / f"{name}.toml").is_file():
        raise ProfileError(f"no EHR profile named {name!r}; there are: {', '.join(names())}")
    path = FOLDER / f"{name}.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise ProfileError(f"{path.name}: not TOML ({error})") from None
    return _profile(name, data, path.name)


def _profile(name: str, data: dict[str, Any], where: str) -> Profile:
    fhir, hl7 = _table(data, "fhir", FHIR_KEYS, where), _table(data, "hl7v2", HL7_KEYS, where)
    sources = data.get("source")
    if not isinstance(sources, list) or not sources or not all(isinstance(s, dict) and s.get("url") for s in sources):
        raise ProfileError(
            f"{where}: [[source]] tables with the document's url are needed (where the mapping comes from)"
        )
    verified = data.get("verified")
    if not isinstance(verified, bool) or (not verified and not str(data.get("unverified", "")).strip()):
        raise ProfileError(f"{where}: verified = true or false, and with false an `unverified` reason")
    charge_resources = _strings(fhir, "charge_resources", where, "fhir")
    if set(charge_resources) - set(CHARGE_RESOURCES):
        raise ProfileError(f"{where}: fhir.charge_resources: cutis reads the staff's codes from {CHARGE_RESOURCES}")
    diagnosis_sources = _strings(hl7, "diagnosis_sources", where, "hl7v2")
    for source in diagnosis_sources:
        if source != "DG1" and not (FIELD.match(source) and source.startswith("FT1-")):
            raise ProfileError(f"{where}: hl7v2.diagnosis_sources: {source!r} is neither DG1 nor a field of FT1")
    return Profile(
        name=name,
        title=str(data.get("title") or name),
        sources=tuple({key: str(value) for key, value in source.items()} for source in sources),
        verified=verified,
        visit_identifier_systems=_strings(fhir, "visit_identifier_systems", where, "fhir"),
        patient_identifier_systems=_strings(fhir, "patient_identifier_systems", where, "fhir"),
        payer_identifier_systems=_strings(fhir, "payer_identifier_systems", where, "fhir"),
        npi_system=_string(fhir, "npi_system", where, "fhir"),
        diagnosis_systems=_strings(fhir, "diagnosis_systems", where, "fhir", required=True),
        procedure_systems=_strings(fhir, "procedure_systems", where, "fhir", required=True),
        charge_resources=charge_resources,
        body_site_extension=str(fhir.get("body_site_extension", "")),
        note_content_types=_strings(fhir, "note_content_types", where, "fhir", required=True),
        visit_number=_field(hl7, "visit_number", where),
        patient_id=_field(hl7, "patient_id", where),
        charge_code_fields=tuple(
            _parse_field(text, where, "charge_code_fields")
            for text in _strings(hl7, "charge_code_fields", where, "hl7v2", required=True)
        ),
        diagnosis_sources=diagnosis_sources,
        note_value_types=_strings(hl7, "note_value_types", where, "hl7v2", required=True),
    )


def _table(data: dict[str, Any], key: str, allowed: set[str], where: str) -> dict[str, Any]:
    table = data.get(key)
    if not isinstance(table, dict):
        raise ProfileError(f"{where}: a [{key}] table is needed")
    unknown = set(table) - allowed
    if unknown:
        raise ProfileError(f"{where}: [{key}] has keys cutis does not read: {', '.join(sorted(unknown))}")
    return table


def _strings(table: dict[str, Any], key: str, where: str, section: str, *, required: bool = False) -> tuple[str, ...]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise ProfileError(f"{where}: {section}.{key}: a list of strings")
    if required and not value:
        raise ProfileError(f"{where}: {section}.{key}: at least one is needed")
    return tuple(value)


def _string(table: dict[str, Any], key: str, where: str, section: str) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value:
        raise ProfileError(f"{where}: {section}.{key}: a string is needed")
    return value


def _field(table: dict[str, Any], key: str, where: str) -> Field:
    return _parse_field(_string(table, key, where, "hl7v2"), where, key)


def _parse_field(text: str, where: str, key: str) -> Field:
    found = FIELD.match(text)
    if found is None:
        raise ProfileError(f"{where}: hl7v2.{key}: {text!r} is not a field such as PV1-19")
    return Field(found["segment"], int(found["field"]))


def pick_identifier(resource: dict[str, Any], choices: tuple[str, ...]) -> str | None:
    """The resource's identifier the profile prefers, trying `choices` in order: "id" is the
    resource's own id, "type:CODE" an identifier of that type (v2-0203 codes such as MR), anything
    else an identifier's system. With no choices, the first identifier with a value."""
    found = [i for i in resource.get("identifier") or [] if isinstance(i, dict) and i.get("value")]
    if not choices:
        return str(found[0]["value"]) if found else None
    for choice in choices:
        if choice == "id":
            if resource.get("id"):
                return str(resource["id"])
            continue
        for identifier in found:
            if choice.startswith("type:"):
                codings = (identifier.get("type") or {}).get("coding") or []
                if choice[5:] not in {coding.get("code") for coding in codings}:
                    continue
            elif identifier.get("system") != choice:
                continue
            return str(identifier["value"])
    return None
