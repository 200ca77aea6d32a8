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
