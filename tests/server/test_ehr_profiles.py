"""EHR vendor profiles (server/ehr/profiles/*.toml): each vendor's fixture, built from the shapes its
published interface documents show, imports through its profile to the Encounter it describes
(snapshots, with hand-checked facts); the profile decides what the generic reading would get wrong;
the same adapters read HL7 v2 and FHIR through a profile that moves fields; a profile file that does
not say what cutis needs is refused with where and why; `cutis import --profile` runs it, and a
message kept in quarantine is retried with the profile it came with."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from server.cpu import InlineCpu
from server.db import SessionAlone, tenant_session
from server.ehr import profile as profiles
from server.ehr.fhir import parse_fhir
from server.ehr.hl7v2 import parse_hl7, split_messages
from server.ehr.imports import Incoming, import_stream, parse_all, retry_message
from server.ehr.parts import MessageRejected, build_encounter, merge
from server.ehr.profile import GENERIC, ProfileError, load, names
from server.models import EhrMessage, EncounterRecord, Payer
from tests.factories import make_clinic

REPO = Path(__file__).resolve().parents[2]
VENDORS = REPO / "tests" / "fixtures" / "ehr_vendors"
FIXTURES = REPO / "tests" / "fixtures" / "ehr"
PAYERS = {"60054": ("AETNA", "commercial")}
# vendor: (visit key, chart number, the staff's codes) as each vendor's documents say they are carried
EXPECTED = {
    "modmed_ema": ("7781", "48213", ["99213", "11102"]),  # Patient.id is the EMAID; charges are ChargeItems
    "nextech": ("22222222-2222-4222-8222-222222222222", "MRN12345", ["99213-25", "11102"]),  # a Claim
    "drchrono": ("22222222-2222-4222-8222-222222222222", "MRN12345", ["11102"]),  # no charges in FHIR
    "advancedmd": ("22222222-2222-4222-8222-222222222222", "MRN12345", ["11102"]),
    "epic": ("eWLhfjXHp4RUczv0cn3ZRZw3", "MRN12345", ["11102"]),  # the MR-typed identifier, not the EPI
    "athenahealth": ("a-195900.encounter-38745", "MRN12345", ["11102"]),
    "eclinicalworks": ("22222222-2222-4222-8222-222222222222", "MRN12345", ["11102"]),
}


def _encounter(path: Path, profile: str) -> Any:
    [part] = parse_fhir(path.read_text(), load(profile))
    return build_encounter(part.visit_key, merge(None, part), PAYERS)


def test_there_is_a_profile_for_each_of_the_seven_ehrs_and_the_generic_one() -> None:
    assert names() == sorted([*EXPECTED, GENERIC])
    for name in names():
        profile = load(name)
        assert profile.sources and all(source["url"].startswith("https://") for source in profile.sources)
        assert profile.verified == (name == GENERIC)  # a vendor's mapping not checked says so, and why


@pytest.mark.parametrize("vendor", sorted(EXPECTED))
def test_each_vendor_fixture_imports_through_its_profile(vendor: str, snapshot) -> None:  # type: ignore[no-untyped-def]
    encounter = _encounter(VENDORS / f"{vendor}.json", vendor)
    visit_key, chart, staff_codes = EXPECTED[vendor]
    assert (encounter.external_id, encounter.patient.id, encounter.staff_codes) == (visit_key, chart, staff_codes)
    assert encounter.diagnoses == ["L40.0", "D49.2"]
    assert (encounter.coverage.payer, encounter.provider.npi) == ("AETNA", "9876543213")
    [biopsy] = encounter.services
    assert (biopsy.kind, biopsy.site, biopsy.laterality) == ("biopsy", "left upper back", "left")
    assert encounter.model_dump(mode="json", exclude_none=True) == snapshot


def test_the_generic_reading_gets_the_vendor_shapes_wrong() -> None:
    """Why the profiles exist: read generically, ModMed's chart number would be its PMS id (not unique)
    and Epic's the enterprise id, and Epic's visit its CSN rather than the Encounter the rest points at."""
    modmed = _encounter(VENDORS / "modmed_ema.json", GENERIC)
    epic = _encounter(VENDORS / "epic.json", GENERIC)
    assert modmed.patient.id == "PMS-000917"
    assert (epic.external_id, epic.patient.id) == ("27558", "E4007")


def test_a_charge_resource_outside_the_profile_is_not_the_staffs() -> None:
    """DrChrono's FHIR has no charges: a ChargeItem in its bundle does not replace the documented procedures."""
    bundle = json.loads((VENDORS / "nextech.json").read_text())
    assert _reads(bundle, "drchrono").fields["staff_codes"] == ["11102"]
    assert _reads(bundle, "nextech").fields["staff_codes"] == ["99213-25", "11102"]


def _reads(bundle: dict[str, Any], profile: str) -> Any:
    [part] = parse_fhir(json.dumps(bundle), load(profile))
    return part


MOVED = """
name = "moved"
title = "A vendor that moves fields"
verified = false
unverified = "made up for the test"

[[source]]
url = "https://example.org/interface-spec"

[fhir]
patient_identifier_systems = ["type:PI", "id"]
payer_identifier_systems = ["urn:example:clearinghouse"]
npi_system = "http://hl7.org/fhir/sid/us-npi"
diagnosis_systems = ["http://hl7.org/fhir/sid/icd-10-cm"]
procedure_systems = ["http://www.ama-assn.org/go/cpt"]
charge_resources = []
body_site_extension = "https://example.org/lesion-site"
note_content_types = ["text/plain"]

[hl7v2]
visit_number = "PV1-50"
patient_id = "PID-2"
charge_code_fields = ["FT1-7"]
diagnosis_sources = ["FT1-19"]
note_value_types = ["TX"]
"""


@pytest.fixture
def profile_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in names():
        (tmp_path / f"{name}.toml").write_text((profiles.FOLDER / f"{name}.toml").read_text())
    monkeypatch.setattr(profiles, "FOLDER", tmp_path)
    profiles.load.cache_clear()
    yield tmp_path
    profiles.load.cache_clear()


def test_a_profile_moves_the_hl7_fields_the_adapter_reads(profile_folder: Path) -> None:
    (profile_folder / "moved.toml").write_text(MOVED)
    dft = split_messages((FIXTURES / "visit_hl7v2_dft_p03.hl7").read_text())[0]
    segments = dft.split("\r")
    pid = next(i for i, s in enumerate(segments) if s.startswith("PID|"))
    fields = segments[pid].split("|")
    fields[2] = "CHART-77"
    segments[pid] = "|".join(fields)
    pv1 = next(i for i, s in enumerate(segments) if s.startswith("PV1|"))
    fields = segments[pv1].split("|") + [""] * 50
    fields[50] = "ALT-9"
    segments[pv1] = "|".join(fields[:51])
    segments.append("DG1|3||L82.1^Other seborrheic keratosis^I10|||F")  # on the claim, charged for nothing
    moved = "\r".join(segments)
    for reader in ("hl7apy", "plain"):
        generic = parse_hl7(moved, reader=reader)
        part = parse_hl7(moved, reader=reader, profile=load("moved"))
        assert (generic.visit_key, generic.fields["patient"]["id"]) == ("V0001", "MRN12345")
        assert (part.visit_key, part.fields["patient"]["id"]) == ("ALT-9", "CHART-77")
        # FT1-7, not FT1-25; diagnoses from FT1-19 only (DG1 is not this vendor's)
        assert part.fields["staff_codes"] == generic.fields["staff_codes"] == ["99213-25", "11102"]
        assert generic.fields["diagnoses"] == ["L40.0", "D49.2", "L82.1"]
        assert part.fields["diagnoses"] == ["L40.0", "D49.2"]  # DG1 is not where this vendor puts them
    no_pv1_50 = parse_all([("hl7v2", dft, "moved")], "plain")[0]
    assert no_pv1_50.error == ("PV1-50 (alternate visit id)", "required, and empty or missing")


def test_a_profile_moves_the_fhir_elements_the_adapter_reads(profile_folder: Path) -> None:
    (profile_folder / "moved.toml").write_text(MOVED)
    bundle = json.loads((FIXTURES / "visit_fhir_bundle.json").read_text())
    for entry in bundle["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] == "Procedure":
            resource.pop("bodySite")
            resource["extension"] = [{"url": "https://example.org/lesion-site", "valueString": "right forearm"}]
        if resource["resourceType"] == "Patient":
            resource["identifier"].append({"type": {"coding": [{"code": "PI"}]}, "value": "P-1"})
    with pytest.raises(MessageRejected) as refused:
        parse_fhir(json.dumps(bundle), load("moved"))
    assert (refused.value.where, refused.value.why) == (
        "Bundle.entry[1].resource(Organization).identifier",
        "the payer organization has no identifier in urn:example:clearinghouse (its payer id)",
    )
    for entry in bundle["entry"]:
        if entry["resource"]["resourceType"] == "Organization":
            entry["resource"]["identifier"].insert(0, {"system": "urn:example:clearinghouse", "value": "60054"})
            entry["resource"]["identifier"][1]["value"] = "99999"
    [part] = parse_fhir(json.dumps(bundle), load("moved"))
    [service] = part.services.values()
    assert (service["site"], service["laterality"]) == ("right forearm", "right")
    assert part.fields["patient"]["id"] == "P-1"
    assert (part.payer_id, part.payer_where) == ("60054", "Bundle.entry[1].resource(Organization).identifier[0].value")


@pytest.mark.parametrize(
    ("change", "error"),
    [
        (
            lambda t: t.replace('visit_number = "PV1-50"', 'visit_number = "PV1.50"'),
            "hl7v2.visit_number: 'PV1.50' is not a field such as PV1-19",
        ),
        (
            lambda t: t.replace('[[source]]\nurl = "https://example.org/interface-spec"\n', ""),
            "[[source]] tables with the document's url are needed",
        ),
        (
            lambda t: t.replace('unverified = "made up for the test"', ""),
            "verified = true or false, and with false an `unverified` reason",
        ),
        (
            lambda t: t.replace("charge_resources = []", 'charge_resources = ["Invoice"]'),
            "fhir.charge_resources: cutis reads the staff's codes from",
        ),
        (
            lambda t: t.replace('diagnosis_sources = ["FT1-19"]', 'diagnosis_sources = ["PR1-3"]'),
            "hl7v2.diagnosis_sources: 'PR1-3' is neither DG1 nor a field of FT1",
        ),
        (
            lambda t: t.replace("[hl7v2]", '[hl7v2]\nz_segment = "ZFT"'),
            "[hl7v2] has keys cutis does not read: z_segment",
        ),
        (
            lambda t: t.replace('procedure_systems = ["http://www.ama-assn.org/go/cpt"]', "procedure_systems = []"),
            "fhir.procedure_systems: at least one is needed",
        ),
        (lambda t: t + "\n[[", "moved.toml: not TOML"),
    ],
    ids=[
        "a bad field",
        "no source",
        "unverified without a reason",
        "an unknown charge resource",
        "a diagnosis source outside FT1",
        "an unknown key",
        "no procedure system",
        "not TOML",
    ],
)
def test_a_profile_that_does_not_say_what_cutis_needs_is_refused(profile_folder: Path, change: Any, error: str) -> None:
    (profile_folder / "moved.toml").write_text(change(MOVED))
    with pytest.raises(ProfileError) as refused:
        load("moved")
    assert error in str(refused.value) and str(refused.value).startswith("moved.toml: ")


def test_an_unknown_profile_names_the_ones_there_are() -> None:
    with pytest.raises(ProfileError, match="no EHR profile named 'cerner'; there are: advancedmd, athenahealth"):
        load("cerner")
    with pytest.raises(ProfileError):
        load("../generic")
    [parsed] = parse_all([("fhir", "{}", "cerner")])  # a message stored with a profile since removed: quarantined
    assert parsed.error is not None and parsed.error[0] == "profile"
    assert parsed.error[1].startswith("no EHR profile named 'cerner'")


async def test_a_quarantined_message_is_retried_with_its_profile(session_factory) -> None:  # type: ignore[no-untyped-def]
    clinic = await make_clinic(session_factory)  # Aetna not mapped to the EHR's payer id yet
    body = (VENDORS / "modmed_ema.json").read_text()
    first = await import_stream(
        session_factory, InlineCpu(), clinic.tenant_id, "file", [Incoming("fhir", body, "modmed_ema")]
    )
    assert first.quarantined == 1
    async with tenant_session(session_factory, clinic.tenant_id) as session:
        await session.execute(update(Payer).where(Payer.code == "AETNA").values(ehr_payer_id="60054"))
        row = (await session.execute(select(EhrMessage))).scalar_one()
    assert row.profile == "modmed_ema"
    async with tenant_session(session_factory, clinic.tenant_id) as session:
        retried, tally = await retry_message(SessionAlone(session), InlineCpu(), clinic.tenant_id, row.id)
    assert (retried.status, tally.versions) == ("imported", 1)
    async with tenant_session(session_factory, clinic.tenant_id) as session:
        record = (await session.execute(select(EncounterRecord))).scalar_one()
    assert (record.external_id, record.payload["patient"]["id"]) == ("7781", "48213")  # read as ModMed, not generic
    # the same text read with another profile is another message; with its own profile, the same one
    again = await import_stream(
        session_factory,
        InlineCpu(),
        clinic.tenant_id,
        "file",
        [Incoming("fhir", body, "modmed_ema"), Incoming("fhir", body)],
    )
    assert (again.already, again.imported) == (1, 1)
    assert uuid.UUID(str(row.id))


def test_cutis_import_with_a_vendor_profile(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "CUTIS_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cutis.sqlite3'}",
        "CUTIS_DATA_DIR": str(tmp_path),
    }

    def cutis(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, "-m", "server.cli", *args], cwd=REPO, capture_output=True, text=True, env=env, timeout=120
        )
        assert not check or result.returncode == 0, result.stderr
        return result

    cutis("db", "upgrade")
    cutis("demo", "seed")
    listed = cutis("ehr-profiles", "--format", "json")
    assert [p["name"] for p in json.loads(listed.stdout)] == names()
    fixture = str(VENDORS / "modmed_ema.json")
    found = json.loads(
        cutis("import", fixture, "--tenant", "demo", "--profile", "modmed_ema", "--format", "json").stdout
    )
    assert (found["read"], found["imported"], found["versions"]) == (1, 1, 1)
    again = json.loads(
        cutis("import", fixture, "--tenant", "demo", "--profile", "modmed_ema", "--format", "json").stdout
    )
    assert (again["already"], again["versions"]) == (1, 0)
    unknown = cutis("import", fixture, "--tenant", "demo", "--profile", "cerner", check=False)
    assert unknown.returncode != 0 and "no EHR profile named 'cerner'" in unknown.stderr
