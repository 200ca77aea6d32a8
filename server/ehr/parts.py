"""What one EHR message says about one visit, and how the parts of a visit become an Encounter.

Why parts: HL7 v2 sends a visit in pieces (ADT: patient and coverage, DFT: the staff's charges,
MDM: the note, ORU: pathology), a FHIR bundle usually whole. Both adapters produce a `VisitPart`;
the import merges each new part over what the visit's earlier messages said and builds the
canonical Encounter once the visit has what the contract needs (services). Everything here is
plain data: it runs in the CPU pool and is stored as JSON.

Errors say where (a resource path or a segment and field) and why, and never quote a value.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from rulebooks.models import Encounter

PayerMap = dict[str, tuple[str, str]]  # the EHR's payer id -> (the clinic's payer code, plan type)


class MessageRejected(Exception):
    """A message cutis cannot use: `where` (resource path, or segment and field) and `why`."""

    def __init__(self, where: str, why: str) -> None:
        super().__init__(f"{where}: {why}")
        self.where, self.why = where, why


@dataclass
class VisitPart:
    """One message's facts about one visit (`visit_key`: the EHR's visit or encounter id).

    `fields` holds canonical Encounter fields (JSON-ready) the message gives; `services` the
    services keyed by their id; `pathology` results by lesion or service id, applied to the
    biopsies they answer; `history` what prior authorization reads (scores, medications, problems);
    `payer_id` the EHR's payer id with `payer_where`, where it was read.
    """

    visit_key: str
    fields: dict[str, Any]
    services: dict[str, dict[str, Any]]
    pathology: dict[str, dict[str, Any]]
    history: dict[str, list[dict[str, Any]]]
    payer_id: str | None = None
    payer_where: str = ""
    complete: bool = False  # a FHIR bundle that carries the Encounter: it must make one on its own

    def to_json(self) -> dict[str, Any]:
        return {
            "fields": self.fields,
            "services": self.services,
            "pathology": self.pathology,
            "history": self.history,
            "payer_id": self.payer_id,
            "payer_where": self.payer_where,
        }


def new_part(visit_key: str) -> VisitPart:
    return VisitPart(visit_key, {}, {}, {}, {})


def merge(stored: dict[str, Any] | None, part: VisitPart) -> dict[str, Any]:
    """The visit as all its messages so far say it: a later message's fields win; services merge by id;
    history lists grow without repeats."""
    merged: dict[str, Any] = {
        "fields": dict((stored or {}).get("fields", {})),
        "services": {key: dict(value) for key, value in (stored or {}).get("services", {}).items()},
        "pathology": dict((stored or {}).get("pathology", {})),
        "history": {key: list(value) for key, value in (stored or {}).get("history", {}).items()},
        "payer_id": (stored or {}).get("payer_id"),
        "payer_where": (stored or {}).get("payer_where", ""),
    }
    merged["fields"].update(part.fields)
    for service_id, service in part.services.items():
        merged["services"][service_id] = {**merged["services"].get(service_id, {}), **service}
    merged["pathology"].update(part.pathology)
    for kind, items in part.history.items():
        known = merged["history"].setdefault(kind, [])
        known.extend(item for item in items if item not in known)
    if part.payer_id is not None:
        merged["payer_id"], merged["payer_where"] = part.payer_id, part.payer_where
    return merged


def ready(visit: dict[str, Any]) -> bool:
    """Whether the visit has services yet (until then an HL7 visit waits for its charges)."""
    return bool(visit["services"])


def build_encounter(visit_key: str, visit: dict[str, Any], payers: PayerMap) -> Encounter:
    """The canonical Encounter of a visit, or `MessageRejected` naming the Encounter field and why."""
    fields = dict(visit["fields"])
    fields["external_id"] = visit_key
    payer_id = visit.get("payer_id")
    if payer_id is None:
        raise MessageRejected(visit.get("payer_where") or "coverage", "the visit has no coverage (payer id)")
    if payer_id not in payers:
        raise MessageRejected(
            visit["payer_where"], "the payer id is not mapped to any of the clinic's payers (savePayer ehrPayerId)"
        )
    code, plan_type = payers[payer_id]
    fields["coverage"] = {**fields.get("coverage", {}), "payer": code, "plan_type": plan_type}
    patient = dict(fields.get("patient", {}))
    birth_date = patient.pop("birth_date", None)
    if birth_date and fields.get("date_of_service"):
        patient["age"] = age_on(dt.date.fromisoformat(birth_date), dt.date.fromisoformat(fields["date_of_service"]))
    fields["patient"] = patient
    services = [dict(service) for _, service in sorted(visit["services"].items())]
    for service in services:
        result = visit["pathology"].get(service.get("lesion_id") or "") or visit["pathology"].get(service["id"])
        if result is None and service["kind"] == "biopsy":
            result = visit["pathology"].get("*")
        if result is not None and service["kind"] in ("biopsy", "excision", "shave", "mohs"):
            service["pathology"] = {**service.get("pathology", {}), **result.get("facts", {})}
            replace = result.get("diagnosis")
            if replace:
                fields["diagnoses"] = _with_diagnosis(fields.get("diagnoses", []), replace)
                service["diagnoses"] = [replace, *[d for d in service.get("diagnoses", []) if not _unspecified(d)]]
    fields["services"] = services
    try:
        return Encounter.model_validate(fields)
    except ValidationError as error:
        issue = error.errors(include_url=False, include_input=False)[0]
        where = "encounter" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in issue["loc"])
        raise MessageRejected(where, str(issue["msg"]).removeprefix("Value error, ")) from None


def _unspecified(code: str) -> bool:
    """A neoplasm of uncertain or unspecified behaviour (D48.x, D49.x): what a biopsy result replaces."""
    return code.upper().startswith(("D48", "D49"))


def _with_diagnosis(diagnoses: list[str], result: str) -> list[str]:
    kept = [code for code in diagnoses if not _unspecified(code) and code != result]
    return [*kept, result]


def age_on(birth_date: dt.date, day: dt.date) -> int:
    """Whole years on `day`.

    >>> age_on(dt.date(1970, 1, 1), dt.date(2025, 1, 10))
    55
    >>> age_on(dt.date(1970, 6, 1), dt.date(2025, 1, 10))
    54
    """
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))
