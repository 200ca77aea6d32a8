"""`cutis rules check | fmt | test | explain` as a practice manager's tooling runs them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.server.graphql_ops import FIXTURES
from tests.server.test_cli import cutis

LIBRARY = Path(__file__).resolve().parents[2] / "rulebooks" / "library"
TYPO = """rulebook "Typo" for payer AETNA
  effective 2026-01-01

rule cap "Cap"
  in policy
  when service.kind = destruction and service.cont > 10 lesions
  then flag payer_lesion_cap_applied
"""


def test_check_points_at_the_line_and_column_and_exits_1(tmp_path: Path) -> None:
    bad = tmp_path / "typo.rules"
    bad.write_text(TYPO)
    result = cutis("rules", "check", str(bad), check=False)
    assert result.returncode == 1
    assert f"{bad}:6:39: error" in result.stdout
    assert "service.cont" in result.stdout
    as_json = json.loads(cutis("rules", "check", str(bad), "--format", "json", check=False).stdout)
    (diagnostic,) = [d for d in as_json[str(bad)] if d["severity"] == "error"]
    assert (diagnostic["line"], diagnostic["column"]) == (6, 39)


def test_check_passes_the_library() -> None:
    result = cutis("rules", "check", *map(str, sorted(LIBRARY.glob("*.rules"))))
    assert " problem" in result.stdout.splitlines()[-1]


def test_fmt_check_then_rewrite(tmp_path: Path) -> None:
    messy = tmp_path / "messy.rules"
    messy.write_text((LIBRARY / "uhc-commercial.rules").read_text().replace("\n  in policy", "\n      in policy"))
    assert cutis("rules", "fmt", "--check", str(messy), check=False).returncode == 1
    cutis("rules", "fmt", str(messy))
    assert cutis("rules", "fmt", "--check", str(messy)).returncode == 0


def test_test_reports_pass_and_fail(tmp_path: Path) -> None:
    good = cutis("rules", "test", str(LIBRARY / "aetna-commercial.rules"))
    assert "0 failed" in good.stdout
    broken = tmp_path / "aetna.rules"
    shutil.copy(LIBRARY / "aetna-commercial.rules", broken)
    broken.write_text(
        broken.read_text().replace(
            "expect line 17003 units 9\n  expect no line 17004", "expect line 17003 units 8\n  expect no line 17004", 1
        )
    )
    result = cutis("rules", "test", str(broken), check=False)
    assert result.returncode == 1
    assert "FAIL  20 AKs bill as 17000 + 17003 x9 for Aetna" in result.stdout
    assert "expected: line 17003 units 8" in result.stdout


def test_explain_shows_lines_and_the_rules_that_fired(tmp_path: Path) -> None:
    encounter = json.loads((FIXTURES / "biopsy_em.json").read_text())
    encounter["services"].append(
        {"id": "d1", "kind": "destruction", "count": 20, "site": "face", "diagnoses": ["L57.0"]}
    )
    path = tmp_path / "enc.json"
    path.write_text(json.dumps(encounter))
    result = cutis("rules", "explain", str(LIBRARY / "aetna-commercial.rules"), "--encounter", str(path))
    assert "17003" in result.stdout and "aetna-ak-cap-10" in result.stdout
    as_json = json.loads(
        cutis(
            "rules", "explain", str(LIBRARY / "aetna-commercial.rules"), "--encounter", str(path), "--format", "json"
        ).stdout
    )
    assert {(line["code"], line["units"]) for line in as_json["coding"]["claim_lines"]} >= {("17000", 1), ("17003", 9)}


def test_rules_vocabulary_lists_every_fact_and_action_with_type_unit_example_and_phases() -> None:
    from rulebooks.vocabulary import ALL_ACTIONS, FIELDS

    listed = json.loads(cutis("rules", "vocabulary", "--format", "json").stdout)
    assert [fact["fact"] for fact in listed["facts"]] == [declared.path for declared in FIELDS]
    assert [action["action"] for action in listed["actions"]] == [spec.template for spec in ALL_ACTIONS]
    by_fact = {fact["fact"]: fact for fact in listed["facts"]}
    assert by_fact["service.count"] | {"doc": ""} == {
        "fact": "service.count",
        "type": "a number of lesions",
        "unit": "lesions",
        "example": "service.count = 10 lesions",
        "phases": ["classify", "select", "policy", "route"],
        "required": False,
        "doc": "",
    }
    assert by_fact["lines"]["phases"] == ["policy", "route"]
    assert by_fact["other_services"]["example"] == "any other in other_services: other.kind = em"
    assert by_fact["other_services"]["each"]["same_lesion"] == "yes or no"
    by_action = {action["action"]: action for action in listed["actions"]}
    limit = by_action["limit {codes} to {units} per session holding the excess"]
    assert (limit["example"], limit["phases"]) == (
        "limit [17000] to 10 units per session holding the excess",
        ["policy"],
    )
    text = cutis("rules", "vocabulary").stdout
    assert "  other_services: a list of other services; phases: classify, select, policy, route" in text
    assert "      e.g. limit [17000] to 10 units per session holding the excess" in text
