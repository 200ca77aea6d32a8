"""`cutis codesets load`: a newer CMS file is checked, installed with its checksum, and used by date."""

from __future__ import annotations

import json
from pathlib import Path

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


def test_a_broken_file_is_refused_and_nothing_is_installed(tmp_path: Path) -> None:
    env = {"CUTIS_DATA_DIR": str(tmp_path / "data")}
    broken = tmp_path / "mue.csv"
    broken.write_text("hcpcs,units\n11103,1\n")
    result = cutis("codesets", "load", "mue", str(broken), "--effective", "2027-01-01", env=env, check=False)
    assert result.returncode != 0
    assert "the column 'code' is missing" in result.stderr
    assert "only the built-in sets" in cutis("codesets", "list", env=env).stdout


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
