"""`cutis codesets load`: a newer CMS file is checked, installed with its checksum, and used by date."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.server.graphql_ops import FIXTURES
from tests.server.test_cli import cutis


def test_a_newer_mue_file_applies_from_its_effective_date(tmp_path: Path) -> None:
    env = {"CUTIS_DATA_DIR": str(tmp_path / "data")}
    mue = tmp_path / "mue-2027q1.csv"
    mue.write_text("code,mue_units,mai,effective_date,source,note\n11103,1,3,,CMS practitioner MUE 2027Q1,test\n")
    installed = cutis("codesets", "load", "mue", str(mue), "--effective", "2027-01-01", env=env)
    assert "installed 1 mue entries effective 2027-01-01" in installed.stdout
    listed = cutis("codesets", "list", env=env).stdout
    assert "mue" in listed and "2027-01-01" in listed and "mue-2027q1.csv" in listed

    encounter = json.loads((FIXTURES / "biopsy_em.json").read_text())
    before, after = tmp_path / "before.json", tmp_path / "after.json"
    before.write_text(json.dumps({**encounter, "date_of_service": "2026-12-31"}))
    after.write_text(json.dumps({**encounter, "date_of_service": "2027-01-04"}))
    units_before = {
        line["code"]: line["units"]
        for line in json.loads(cutis("code", str(before), "--format", "json", env=env).stdout)["claim_lines"]
    }
    coding_after = json.loads(cutis("code", str(after), "--format", "json", env=env).stdout)
    units_after = {line["code"]: line["units"] for line in coding_after["claim_lines"]}
    assert units_before["11103"] == 2
    assert units_after["11103"] == 1
    assert any(flag["code"] == "edit_applied" and "11103" in (flag["detail"] or "") for flag in coding_after["flags"])


def test_a_loaded_hcpcs_release_flags_codes_it_does_not_know(tmp_path: Path) -> None:
    env = {"CUTIS_DATA_DIR": str(tmp_path / "data")}
    release = tmp_path / "HCPC2027_JAN_ANWEB.txt"
    # CMS's fixed-width layout: the code in the first five columns; CPT rows are skipped.
    release.write_text(
        "J0585   00100Injection, onabotulinumtoxina, 1 unit\n"
        "J0585   00200(continuation line)\n"
        "G2211   00100Visit complexity add-on\n"
        "99213   00100(a Level I row)\n"
    )
    installed = cutis("codesets", "load", "hcpcs", str(release), "--effective", "2027-01-01", env=env)
    assert "installed 2 hcpcs entries effective 2027-01-01" in installed.stdout
    encounter = json.loads((FIXTURES / "biopsy_em.json").read_text())
    encounter["date_of_service"] = "2027-01-05"
    encounter["coverage"] = {"payer": "MEDICARE", "plan_type": "medicare_ffs"}
    encounter["diagnoses"].append("L74.510")
    encounter["services"] = [
        {
            "id": "inj1",
            "kind": "injection",
            "technique": "chemodenervation",
            "site": "both axillae",
            "drug": {"hcpcs": "J0585", "units": 100, "wasted_units": 0},
            "diagnoses": ["L74.510"],
        },
        {
            "id": "inj2",
            "kind": "injection",
            "count": 3,
            "site": "left forearm",
            "drug": {"hcpcs": "J3301", "units": 2, "wasted_units": 0},
            "diagnoses": ["L74.510"],
        },
    ]
    path = tmp_path / "enc.json"
    path.write_text(json.dumps(encounter))
    coding = json.loads(cutis("code", str(path), "--format", "json", env=env).stdout)
    codes = {line["code"] for line in coding["claim_lines"]}
    assert {"J0585", "J3301"} <= codes, coding["claim_lines"]
    unknown = [flag for flag in coding["flags"] if flag["reasons"][0]["step"] == "check_hcpcs_codes"]
    assert [flag["detail"] for flag in unknown] == ["J3301 is not in the HCPCS Level II release effective 2027-01-01"]
    without = json.loads(cutis("code", str(path), "--format", "json").stdout)  # no release loaded: no such flag
    assert not [flag for flag in without["flags"] if flag["reasons"][0]["step"] == "check_hcpcs_codes"]


PTP_TXT = (
    "CPT only copyright 2026 American Medical Association. All rights reserved.\r\n"
    "\r\n"
    "Column 1\tColumn 2\t*=in existence prior to 1996\tEffective Date\tDeletion Date *=no data\t"
    "Modifier 0=not allowed 1=allowed 9=not applicable\tPTP Edit Rationale\r\n"
    "11104\t11103\t\t20270101\t*\t0\tsynthetic pair for this test\r\n"
    "27447\t27446\t\t20270101\t*\t0\tsynthetic pair the engine can never bill\r\n"
)
MUE_CSV = (
    '"CPT codes, descriptions and other data only are copyright 2026 American Medical Association."\n'
    "HCPCS/CPT Code,Practitioner Services MUE Values,MUE Adjudication Indicator,MUE Rationale\n"
    "11103,1,3 Date of Service Edit: Clinical,synthetic limit for this test\n"
)


def code_lines(encounter: dict[str, Any], tmp_path: Path, env: dict[str, str]) -> dict[str, Any]:
    path = tmp_path / "enc.json"
    path.write_text(json.dumps(encounter))
    coding: dict[str, Any] = json.loads(cutis("code", str(path), "--format", "json", env=env).stdout)
    return coding


def test_cms_ptp_and_mue_files_load_as_cms_ships_them(tmp_path: Path) -> None:
    env = {"CUTIS_DATA_DIR": str(tmp_path / "data")}
    ptp, mue = tmp_path / "ccipra-v330r0-f1.txt", tmp_path / "MCR_MUE_PractitionerServices_Eff_01-01-2027.csv"
    ptp.write_text(PTP_TXT, encoding="latin-1", newline="")
    mue.write_text(MUE_CSV, encoding="latin-1")
    loaded = cutis("codesets", "load", "ncci_ptp", str(ptp), "--effective", "2027-01-01", env=env).stdout
    assert "installed 1 ncci_ptp entries" in loaded  # the knee pair can never be on a claim of ours: not kept
    assert (
        "installed 1 mue entries"
        in cutis("codesets", "load", "mue", str(mue), "--effective", "2027-01-01", env=env).stdout
    )
    encounter = json.loads((FIXTURES / "biopsy_em.json").read_text())
    before = code_lines({**encounter, "date_of_service": "2026-12-31"}, tmp_path, env)
    after = code_lines({**encounter, "date_of_service": "2027-01-04"}, tmp_path, env)
    assert "11103" in {line["code"] for line in before["claim_lines"]}
    assert "11103" not in {line["code"] for line in after["claim_lines"]}
    edits = [flag for flag in after["flags"] if flag["code"] == "edit_applied"]
    sources = [reason["values"]["source"] for flag in edits for reason in flag["reasons"] if "11103" in flag["detail"]]
    assert sources == ["ccipra-v330r0-f1.txt"], edits


@pytest.mark.parametrize(
    ("kind", "text", "message"),
    [
        pytest.param(
            "mue",
            "hcpcs,units\n11103,1\n",
            "line 2: expected a code, an MUE value and an adjudication indicator, found '11103,1'",
            id="an MUE file with too few columns",
        ),
        pytest.param(
            "ncci_ptp",
            PTP_TXT.replace("\t20270101\t*\t0\tsynthetic pair for", "\t2027-01-01\t*\t0\tsynthetic pair for"),
            "line 4: the effective date is '2027-01-01'; expected YYYYMMDD or *",
            id="a PTP file with a date CMS does not write",
        ),
    ],
)
def test_a_mangled_file_is_refused_with_its_line_and_nothing_is_installed(
    tmp_path: Path, kind: str, text: str, message: str
) -> None:
    env = {"CUTIS_DATA_DIR": str(tmp_path / "data")}
    mangled = tmp_path / "mangled.txt"
    mangled.write_text(text)
    result = cutis("codesets", "load", kind, str(mangled), "--effective", "2027-01-01", env=env, check=False)
    assert result.returncode != 0
    assert message in result.stderr
    assert "only the built-in sets" in cutis("codesets", "list", env=env).stdout


def test_mpfs_global_days_decide_the_global_period_from_the_earlier_procedures_date(tmp_path: Path) -> None:
    env = {"CUTIS_DATA_DIR": str(tmp_path / "data")}
    pprrvu = tmp_path / "PPRRVU27_JAN.csv"
    # A synthetic release that gives 17000 a 90-day global (the built-in subset says 010).
    pprrvu.write_text(
        ",,2027 National Physician Fee Schedule Relative Value File January Release,,\n"
        ",,,STATUS,NOT USED FOR,WORK,PCTC,GLOB,PRE\n"
        "HCPCS,MOD,DESCRIPTION,CODE,MEDICARE PAYMENT,RVU,IND,DAYS,OP\n"
        "17000,,description not read,A,,0.61,0,090,0.1\n"
        "88305,26,description not read,A,,0.75,1,XXX,0\n"
    )
    loaded = cutis("codesets", "load", "global_days", str(pprrvu), "--effective", "2027-01-01", env=env).stdout
    assert "installed 1 global_days entries effective 2027-01-01" in loaded
    visit: dict[str, Any] = {
        "external_id": "GLOBAL-1",
        "date_of_service": "2027-02-15",
        "place_of_service": "11",
        "provider": {"npi": "1234567893"},
        "patient": {"id": "P-1", "age": 60},
        "coverage": {"payer": "AETNA", "plan_type": "commercial"},
        "diagnoses": ["L20.9"],
        "services": [
            {
                "id": "v1",
                "kind": "em",
                "em": {"patient_status": "established", "level": 3},
                "related_to_prior": "unrelated",
                "diagnoses": ["L20.9"],
            }
        ],
    }
    in_release = {**visit, "global_period": {"procedure_code": "17000", "date_of_service": "2027-01-10"}}
    before_release = {
        **visit,
        "global_period": {"procedure_code": "17000", "date_of_service": "2026-12-30"},
        "date_of_service": "2027-01-20",
    }

    def lines(coding: dict[str, Any]) -> list[tuple[str, list[str]]]:
        return [(line["code"], line["modifiers"]) for line in coding["claim_lines"]]

    assert lines(code_lines(in_release, tmp_path, env)) == [("99213", ["24"])]  # day 36 of 90
    assert lines(code_lines(before_release, tmp_path, env)) == [("99213", [])]  # day 21 of the built-in 10
    assert lines(code_lines(in_release, tmp_path, {})) == [("99213", [])]  # nothing loaded: the built-in 10 days


def test_codesets_status_says_what_to_load_and_a_loaded_fy2027_file_codes_december_2026(tmp_path: Path) -> None:
    """`cutis codesets status` names the missing FY2027 release once; after `cutis codesets load` of a
    (synthetic, made here) FY2027 file, a December 2026 encounter is coded without codeset_not_loaded."""
    env = {"CUTIS_DATA_DIR": str(tmp_path / "data")}
    before = cutis("codesets", "status", "--date", "2026-12-08", env=env).stdout
    assert "icd10cm      NOT CURRENT  in use: FY2026" in before
    assert "cutis codesets load icd10cm icd10cm-order-2027.txt --effective 2026-10-01" in before
    encounter = json.loads((FIXTURES / "biopsy_em.json").read_text())
    encounter["date_of_service"] = "2026-12-08"
    path = tmp_path / "december.json"
    path.write_text(json.dumps(encounter))
    flags = [flag["code"] for flag in json.loads(cutis("code", str(path), "--format", "json", env=env).stdout)["flags"]]
    assert "codeset_not_loaded" in flags

    order = tmp_path / "icd10cm-order-2027.txt"  # CMS's order-file layout: order, code, header flag, titles
    order.write_text(
        "".join(
            f"{index:05d} {code:<7} {billable} {title:<60} {title}\n"
            for index, (code, billable, title) in enumerate(
                [
                    ("D485", 1, "Neoplasm of uncertain behavior of skin"),
                    ("L57", 0, "Skin changes due to chronic exposure to nonionizing radiation"),
                    ("L570", 1, "Actinic keratosis"),
                    ("L309", 1, "Dermatitis, unspecified"),
                ],
                start=1,
            )
        ),
        encoding="utf-8",
    )
    loaded = cutis("codesets", "load", "icd10cm", str(order), "--effective", "2026-10-01", env=env).stdout
    assert "installed 4 icd10cm entries effective 2026-10-01" in loaded
    after = json.loads(cutis("codesets", "status", "--date", "2026-12-08", "--format", "json", env=env).stdout)
    (icd10,) = [status for status in after["code_sets"] if status["kind"] == "icd10cm"]
    assert icd10["current"] is True and icd10["load_next"] is None
    assert icd10["in_use"] == "FY2027 icd10cm-order-2027.txt"
    assert [(r["name"], r["first_date"], r["last_date"]) for r in icd10["releases"]][-1] == (
        "FY2027 icd10cm-order-2027.txt",
        "2026-10-01",
        "2027-09-30",
    )
    coding = json.loads(cutis("code", str(path), "--format", "json", env=env).stdout)
    assert "codeset_not_loaded" not in [flag["code"] for flag in coding["flags"]]
    assert coding["releases"]["code_sets"]["icd10cm"] == "FY2027 icd10cm-order-2027.txt"
    assert {line["code"] for line in coding["claim_lines"]} == {"11104", "11103", "99214"}


def test_a_loaded_release_is_replaced_only_with_force(tmp_path: Path) -> None:
    env = {"CUTIS_DATA_DIR": str(tmp_path / "data")}
    header = "code,mue_units,mai,effective_date,source,note\n"
    first, second = tmp_path / "mue-a.csv", tmp_path / "mue-b.csv"
    first.write_text(header + "11103,1,3,,CMS practitioner MUE 2027Q1,test\n")
    second.write_text(header + "11103,2,3,,CMS practitioner MUE 2027Q1 corrected,test\n11104,1,2,,CMS,test\n")
    cutis("codesets", "load", "mue", str(first), "--effective", "2027-01-01", env=env)

    refused = cutis("codesets", "load", "mue", str(second), "--effective", "2027-01-01", env=env, check=False)
    assert (refused.returncode, refused.stdout) == (1, "")
    assert refused.stderr.startswith("Error: a mue release effective 2027-01-01 is installed already (mue-a.csv, 1 ")
    assert refused.stderr.endswith("): add --force to replace it\n") and refused.stderr.count("\n") == 1
    listed = cutis("codesets", "list", env=env).stdout
    assert "mue-a.csv" in listed and "mue-b.csv" not in listed

    again = cutis(
        "codesets", "load", "mue", str(first), "--effective", "2027-01-01", env=env
    )  # the same file: no change
    assert "installed 1 mue entries effective 2027-01-01" in again.stdout

    forced = cutis("codesets", "load", "mue", str(second), "--effective", "2027-01-01", "--force", env=env)
    assert "installed 2 mue entries effective 2027-01-01" in forced.stdout
    listed = cutis("codesets", "list", env=env).stdout
    assert "mue-b.csv" in listed and "mue-a.csv" not in listed
