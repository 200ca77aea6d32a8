"""`cutis claims build` and `cutis claims check` as a user runs them: a subprocess and real files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.server.claims.factories import SAMPLES
from tests.server.test_cli import cutis

EXAMPLE_ENCOUNTER = "docs/examples/encounter-biopsy-em.json"


@pytest.fixture(scope="module")
def coding_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    result = cutis("code", EXAMPLE_ENCOUNTER, "--format", "json", "--coded-at", "2026-11-02T12:00:00+00:00")
    path = tmp_path_factory.mktemp("claims") / "coding.json"
    path.write_text(result.stdout)
    return path


def _build(coding_file: Path, *args: str, check: bool = True, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return cutis(
        "claims", "build", str(coding_file), "--encounter", EXAMPLE_ENCOUNTER,
        "--subscriber", "docs/examples/subscriber.json", "--created-at", "2026-11-03T09:00:00+00:00", *args,
        check=check, env=env,
    )  # fmt: skip


def test_claims_build_writes_the_837p_of_the_example_coding(coding_file: Path, tmp_path: Path, snapshot) -> None:  # type: ignore[no-untyped-def]
    result = _build(coding_file)
    assert result.stdout == snapshot
    assert "CLM*DEMO-0001-1*425***11:B:1*Y*A*Y*Y~" in result.stdout.splitlines()
    claim = tmp_path / "claim.x12"
    claim.write_text(result.stdout)
    checked = cutis("claims", "check", str(claim), "--coding", str(coding_file))
    assert checked.stdout == f"{claim}: valid 837P\n"


def test_claims_build_refuses_a_held_coding_with_the_reason(coding_file: Path, tmp_path: Path) -> None:
    coding = json.loads(coding_file.read_text())
    coding["status"] = "held"
    coding["held_lines"] = [{"code": "17000", "units": 1, "service_ids": ["bx1"], "query": "Which lesion?"}]
    held = tmp_path / "held.json"
    held.write_text(json.dumps(coding))
    result = _build(held, check=False)
    assert result.returncode == 1
    assert result.stdout == ""
    assert "coding.status: the coding is held, not ready: 17000: Which lesion?" in result.stderr


def test_claims_build_refuses_a_bad_billing_setup_with_each_path(coding_file: Path, tmp_path: Path) -> None:
    setup = json.loads(Path("docs/examples/billing-setup.json").read_text())
    setup["billing_provider"]["npi"] = "1234567890"
    setup["billing_provider"]["tax_id"] = "74-12345"
    bad = tmp_path / "setup.json"
    bad.write_text(json.dumps(setup))
    result = _build(coding_file, "--billing", str(bad), check=False)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "billing_provider.npi: the NPI check digit is wrong (the tenth digit is a Luhn check over 80840 and the "
        "first nine)",
        "billing_provider.tax_id: a tax id (EIN) is 9 digits, e.g. 74-1234567",
    ]


def test_claims_build_writes_a_replacement_only_with_the_original(coding_file: Path) -> None:
    refused = _build(coding_file, "--frequency", "7", check=False)
    assert refused.returncode == 1 and "needs payer_claim_control_number" in refused.stderr
    replacement = _build(coding_file, "--frequency", "7", "--original", "2026110300123")
    assert "11:B:7" in replacement.stdout and "REF*F8*2026110300123~" in replacement.stdout


@pytest.mark.parametrize(
    ("fixture", "located"),
    [
        pytest.param(
            "837p_derm_broken",
            "loop 2400, segment DTP (#26), element DTP03: Service Date is not a valid date",
            id="broken",
        ),
        pytest.param(
            "837p_derm_semantic_errors",
            "loop 2300, segment CLM (#21), element CLM02: the claim total is 999 but its lines add up to 250",
            id="semantic errors",
        ),
    ],
)
def test_claims_check_locates_every_broken_fixture_and_exits_non_zero(fixture: str, located: str) -> None:
    result = cutis("claims", "check", str(SAMPLES / f"{fixture}.x12"), check=False)
    assert result.returncode == 1
    assert f"{SAMPLES / fixture}.x12: {located}" in result.stderr.splitlines()
    assert result.stdout == ""


def test_claims_check_passes_the_valid_fixture() -> None:
    assert cutis("claims", "check", str(SAMPLES / "837p_derm_valid.x12")).returncode == 0


def test_a_clinics_setup_is_saved_shown_and_billed_with_from_the_command_line(
    coding_file: Path, tmp_path: Path
) -> None:
    env = {"CUTIS_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cutis.sqlite3'}", "CUTIS_DATA_DIR": str(tmp_path)}
    cutis("db", "upgrade", env=env)
    cutis("demo", "seed", env=env)
    none_yet = cutis("claims", "setup", "show", "--tenant", "demo", env=env, check=False)
    assert none_yet.returncode == 1 and "has no billing setup yet" in none_yet.stderr

    setup = json.loads(Path("docs/examples/billing-setup.json").read_text())
    setup["billing_provider"]["name"] = "Demo Dermatology PA"
    good = tmp_path / "setup.json"
    good.write_text(json.dumps(setup))
    saved = cutis("claims", "setup", "save", str(good), "--tenant", "demo", env=env)
    assert saved.stdout == "saved billing setup revision 1 for demo\n"
    setup["billing_provider"]["npi"] = "1234567890"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(setup))
    refused = cutis("claims", "setup", "save", str(bad), "--tenant", "demo", env=env, check=False)
    assert refused.returncode == 1
    assert refused.stderr.startswith(f"{bad}: billing_provider.npi: the NPI check digit is wrong")
    stale = cutis(
        "claims", "setup", "save", str(good), "--tenant", "demo", "--base-revision", "0", env=env, check=False
    )
    assert stale.returncode == 1 and "saved by someone else (revision 1)" in stale.stderr
    shown = json.loads(cutis("claims", "setup", "show", "--tenant", "demo", env=env).stdout)
    assert shown["revision"] == 1 and shown["setup"]["billing_provider"]["name"] == "DEMO DERMATOLOGY PA"

    claim = _build(coding_file, "--tenant", "demo", env=env)
    assert "NM1*85*2*DEMO DERMATOLOGY PA*****XX*1234567893~" in claim.stdout.splitlines()
