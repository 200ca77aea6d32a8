"""The shipped rulebook library: each book is canonical, clean, and passes its own tests on the engine."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from dsl import ast
from dsl.parser import parse
from rulebooks import authoring
from rulebooks.engine.pipeline import code
from rulebooks.models import Encounter
from rulebooks.stack import LIBRARY, RulebookError, library_stack, stack_of

BOOKS = sorted(LIBRARY.glob("*.rules"))


@pytest.mark.parametrize("path", BOOKS, ids=[p.stem for p in BOOKS])
def test_each_book_passes_its_own_tests(path: Path) -> None:
    report = authoring.run_tests(path.read_text(encoding="utf-8"))
    failures = [(r["name"], e["message"]) for r in report["results"] for e in r["expectations"] if not e["passed"]]
    assert report["passed"] and not failures, failures
    assert report["results"], "a library book must test itself"
    assert all(report["coverage"]["rules"].values()) or path.stem == "national-base"


@pytest.mark.parametrize("path", BOOKS, ids=[p.stem for p in BOOKS])
def test_each_book_is_canonical_and_has_no_errors_or_warnings(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert authoring.format(text)["text"] == text
    assert authoring.check(text) == []


def test_payer_books_are_marked_as_templates_a_clinic_reviews() -> None:
    for path in BOOKS:
        header = parse(path.read_text(encoding="utf-8")).rulebook.header
        assert header is not None
        if header.payer:
            assert header.template_note and "review" in header.template_note.lower()


def encounter(payer: str, count: int, *, plan_type: str = "commercial", date: str = "2026-03-02") -> Encounter:
    return Encounter.model_validate(
        {
            "external_id": "e1",
            "date_of_service": date,
            "provider": {"npi": "1234567893"},
            "patient": {"id": "p1", "age": 70},
            "coverage": {"payer": payer, "plan_type": plan_type},
            "diagnoses": ["L57.0"],
            "services": [{"id": "s1", "kind": "destruction", "count": count, "site": "face", "diagnoses": ["L57.0"]}],
        }
    )


def lines(coding) -> list[tuple[str, int]]:
    return [(line.code, line.units) for line in coding.claim_lines]


CODED_AT = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)


def test_aetna_cap_recodes_through_the_destruction_family_with_a_rule_reason() -> None:
    stack = library_stack("Aetna commercial (template)")
    coding = code(encounter("AETNA", 20), encounter_id="e1", coded_at=CODED_AT, stack=stack)
    assert lines(coding) == [("17000", 1), ("17003", 9)]
    flag = next(f for f in coding.flags if f.code == "payer_lesion_cap_applied")
    (reason,) = flag.reasons
    assert reason.rule is not None
    assert (reason.rule.rulebook, reason.rule.rule_id) == ("Aetna commercial (template)", "aetna-ak-cap-10")
    assert reason.rule.version.startswith("sha256:")
    assert reason.rule.span is not None and reason.rule.span.line == 11
    assert reason.values == {
        "service.kind": "destruction",
        "service.diagnoses": ["L57.0"],
        "present(service.count)": True,
        "service.count": 20,
    }
    assert [r.rulebook.name if hasattr(r, "rulebook") else r.name for r in coding.rulebooks] == [
        "National base",
        "Aetna commercial (template)",
    ]


def test_without_a_stack_nothing_is_capped() -> None:
    coding = code(encounter("AETNA", 20), encounter_id="e1", coded_at=CODED_AT)
    assert lines(coding) == [("17004", 1)]


def test_a_clinic_book_disables_a_payer_rule_by_id() -> None:
    clinic = 'rulebook "Clinic overrides"\n\ndisable aetna-ak-cap-10 "our Aetna contract has no cap"\n'
    stack = library_stack("Aetna commercial (template)", extra=[clinic])
    coding = code(encounter("AETNA", 20), encounter_id="e1", coded_at=CODED_AT, stack=stack)
    assert lines(coding) == [("17004", 1)]


def test_a_clinic_book_overrides_a_payer_rule_by_id() -> None:
    clinic = (
        'rulebook "Clinic overrides"\n\nrule aetna-ak-cap-10 "Our Aetna contract caps at 5"\n  in policy\n'
        "  when service.kind = destruction and present(service.count) and service.count > 5 lesions\n"
        "  then\n    cap lesions of service at 5 lesions\n"
    )
    stack = library_stack("Aetna commercial (template)", extra=[clinic])
    coding = code(encounter("AETNA", 20), encounter_id="e1", coded_at=CODED_AT, stack=stack)
    assert lines(coding) == [("17000", 1), ("17003", 4)]


def test_effective_dates_compare_with_the_date_of_service() -> None:
    dated = (
        'rulebook "Dated" for payer AETNA\n  effective 2027-01-01\n\nrule cap-3 "Cap 3"\n  in policy\n'
        "  when service.kind = destruction and present(service.count) and service.count > 3 lesions\n"
        "  then\n    cap lesions of service at 3 lesions\n"
    )
    stack = stack_of([dated])
    before = code(encounter("AETNA", 20, date="2026-12-31"), encounter_id="e1", coded_at=CODED_AT, stack=stack)
    after = code(encounter("AETNA", 20, date="2027-01-01"), encounter_id="e1", coded_at=CODED_AT, stack=stack)
    assert lines(before) == [("17004", 1)]
    assert lines(after) == [("17000", 1), ("17003", 2)]


def test_a_broken_book_cannot_join_a_stack() -> None:
    with pytest.raises(RulebookError, match=r"service\.cuont"):
        stack_of(['rule r "r"\n  in policy\n  when service.cuont > 1\n  then\n    flag x\n'])


def test_explain_returns_the_coding_and_the_trace_with_values() -> None:
    text = (LIBRARY / "uhc-commercial.rules").read_text(encoding="utf-8")
    result = authoring.explain(text, encounter("UHC", 20).model_dump(mode="json"))
    assert [(line["code"], line["units"]) for line in result["coding"]["claim_lines"]] == [("17004", 1)]
    fired = next(t for t in result["trace"] if t["rule"] == "uhc-ak-cap-15")
    assert fired["status"] == "fired" and fired["values"]["service.count"] == 20
    assert fired["actions"] == ["cap lesions of service at 15 lesions", "flag payer_lesion_cap_applied"]


def test_an_undetermined_rule_is_reported_not_silently_false() -> None:
    book = (
        'rulebook "Strict"\n\nrule big "Big destruction"\n  in policy\n'
        "  when service.kind = destruction and service.count > 3 lesions\n  then\n    flag big\n"
    )
    data = encounter("AETNA", 1).model_dump(mode="json")
    del data["services"][0]["count"]
    result = authoring.explain(book, data)
    (entry,) = [t for t in result["trace"] if t["rule"] == "big"]
    assert entry["status"] == "undetermined" and entry["missing"] == ["service.count"]
    assert any(f["code"] == "rule_undetermined" for f in result["coding"]["flags"])


def test_criteria_blocks_parse_and_check() -> None:
    text = (
        'criteria dupilumab-atopic-dermatitis "Dupixent for atopic dermatitis, initial"\n'
        '  drug dupilumab for L20.*\n  require present(patient.age) and patient.age >= 6 months "age"\n'
        '  require scores.easi >= 16 or scores.iga >= 3 "severity"\n'
        '  require therapy.topical_steroid >= 28 days "topical steroid trial"\n'
        "  approve 4 months reauthorize 12 months\n"
    )
    (criteria,) = parse(text).rulebook.items
    assert isinstance(criteria, ast.Criteria)
    assert [r.label for r in criteria.requirements] == ["age", "severity", "topical steroid trial"]
    assert all(d["severity"] != "error" for d in authoring.check(text))


def test_criteria_requirements_are_met_unmet_or_undetermined() -> None:
    from dsl.api import build
    from dsl.criteria import evaluate_criteria
    from rulebooks.vocabulary import dermatology_vocabulary

    text = (
        'criteria dupilumab-atopic-dermatitis "Dupixent for atopic dermatitis, initial"\n'
        '  drug dupilumab for L20.*\n  require present(patient.age) and patient.age >= 6 months "age"\n'
        '  require scores.easi >= 16 or scores.iga >= 3 "severity"\n'
        '  require therapy.topical_steroid >= 28 days "topical steroid trial"\n'
        "  approve 4 months reauthorize 12 months\n"
    )
    built = build(text, dermatology_vocabulary())
    facts = {
        "diagnoses": ["L20.9"],
        "patient": {"age": 34},
        "scores": {"easi": 12, "iga": None},
        "therapy": {"topical_steroid": 42},
    }
    result = evaluate_criteria(built.checked, "dupilumab-atopic-dermatitis", facts)
    assert result.indicated is True
    assert [(r.label, r.status) for r in result.requirements] == [
        ("age", "met"),
        ("severity", "undetermined"),
        ("topical steroid trial", "met"),
    ]
    assert result.requirements[1].missing == ("scores.iga",)
    assert result.status == "needs_documentation"
    facts["scores"]["iga"] = 2
    assert evaluate_criteria(built.checked, "dupilumab-atopic-dermatitis", facts).status == "not_met"


def test_check_sees_the_rulebooks_a_book_extends() -> None:
    text = (
        'rulebook "Clinic" for payer AETNA\n  extends "Aetna commercial (template)"\n\n'
        'disable aetna-ak-cap-1O "typo in the id"\n\n'
        'test "t" {\n  given {service: {kind: destruction}}\n  expect flag x because aetna-ak-cap-10\n'
        "  expect flag y because nowhere\n}\n"
    )
    found = [(d["code"], d["line"], d["hint"]) for d in authoring.check(text)]
    assert ("stack.unknown_rule", 4, "did you mean `aetna-ak-cap-10`?") in found
    assert ("test.unknown_rule", 9, None) in found
    assert not any(code == "test.unknown_rule" and line == 8 for code, line, _ in found)
    unknown_parent = authoring.check('rulebook "Clinic"\n  extends "Aetna comercial (template)"\n')
    assert unknown_parent[0]["code"] == "stack.unknown_rulebook"
    assert unknown_parent[0]["hint"] == 'did you mean "Aetna commercial (template)"?'


def test_explain_reads_findings_from_the_note() -> None:
    text = (LIBRARY / "national-base.rules").read_text(encoding="utf-8")
    data = {
        "external_id": "e1",
        "date_of_service": "2026-03-02",
        "provider": {"npi": "1234567893"},
        "patient": {"id": "p1"},
        "coverage": {"payer": "AETNA", "plan_type": "commercial"},
        "diagnoses": ["L91.8"],
        "note": "Skin tag on the neck that bleeds when caught on clothing.",
        "services": [{"id": "s1", "kind": "skin_tag_removal", "count": 1, "site": "neck", "diagnoses": ["L91.8"]}],
    }
    bleeding = authoring.explain(text, data)
    assert not any(t["rule"] == "benign-removal-needs-symptom" for t in bleeding["trace"])
    data["note"] = "Skin tag on the neck, asymptomatic."
    silent = authoring.explain(text, data)
    assert any(t["rule"] == "benign-removal-needs-symptom" and t["status"] == "fired" for t in silent["trace"])
