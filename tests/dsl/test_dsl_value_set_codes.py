"""A value set holds codes of every kind the vocabulary knows: CPT, HCPCS Level II, ICD-10-CM, modifiers.

A bare number or name (`17000`, `J0517`, `XS`, `59`) is a code only where the set is used, so a
set is typed there: a set of CPT and HCPCS codes alike is a set of procedure codes beside
`line.code`, not a set of numbers with unknown names in it. Misspelt codes get a precise error.
"""

from __future__ import annotations

import pytest

from dsl.api import build
from dsl.runtime import run_rules
from rulebooks.vocabulary import dermatology_vocabulary


def diagnostics(text: str, severity: str | None = None) -> list[tuple[int, int, str, str, str | None]]:
    built = build(text, dermatology_vocabulary())
    return [
        (d.span.line, d.span.column, d.code, d.message, d.hint)
        for d in built.diagnostics
        if severity is None or d.severity == severity
    ]


def errors(text: str) -> list[tuple[int, int, str, str, str | None]]:
    return diagnostics(text, "error")


def rule_using(valueset: str, condition: str) -> str:
    return f'valueset codes = {valueset}\n\nrule r "r"\n  in policy\n  when {condition}\n  then\n    flag x\n'


@pytest.mark.parametrize(
    ("valueset", "condition"),
    [
        pytest.param("[J0517, J3357]", "service.drug.hcpcs in codes", id="HCPCS drug codes"),
        pytest.param("[96372, J0517, G2211, Q4101]", "any line in lines: line.code in codes", id="CPT and HCPCS"),
        pytest.param("[17000, J3301]", "service.staff_code not in codes", id="a CPT number first, then a J-code"),
        pytest.param("[J3301, 11900..11901]", "any line in lines: line.code in codes", id="a J-code and a range"),
        pytest.param("[XS, 59, 25]", "any line in lines: line.modifiers any in codes", id="modifiers"),
        pytest.param("[L57.0, D22.*, L82.1]", "service.diagnoses any in codes", id="ICD-10-CM codes and patterns"),
        pytest.param("[G2211] + [99213, J0517]", "any line in lines: line.code in codes", id="sets joined with +"),
    ],
)
def test_a_set_of_codes_of_any_kind_type_checks(valueset: str, condition: str) -> None:
    assert errors(rule_using(valueset, condition)) == []


def test_a_set_named_in_another_set_holds_hcpcs_codes_too() -> None:
    text = (
        "valueset biologics = [J0517, J3357]\nvalueset injectables = biologics + [96372, J3301]\n\n"
        'rule r "r"\n  in policy\n  when service.kind = injection\n  then\n'
        "    require prior_auth for lines in injectables\n"
    )
    assert diagnostics(text) == []


@pytest.mark.parametrize(
    ("valueset", "condition", "expected"),
    [
        pytest.param(
            "[J0517, J05170]",
            "service.drug.hcpcs in codes",
            (
                1,
                26,
                "value.bad_code",
                "expected a CPT/HCPCS code such as 17000, found `J05170`",
                "a HCPCS Level II code is a letter and four digits, such as J0517 or G2211",
            ),
            id="a HCPCS code with a digit too many",
        ),
        pytest.param(
            "[96372, j0517]",
            "service.drug.hcpcs in codes",
            (
                1,
                26,
                "value.bad_code",
                "expected a CPT/HCPCS code such as 17000, found `j0517`",
                "codes are written in capitals: `J0517`",
            ),
            id="a HCPCS code in small letters",
        ),
        pytest.param(
            "[J0517, F1234]",
            "service.drug.hcpcs in codes",
            (
                1,
                26,
                "value.unknown_code",
                "`F1234` is not a HCPCS Level II code: no section starts with F "
                "(they start with A-E, G, H, J-M or P-V, e.g. J0517, G2211, Q4101)",
                None,
            ),
            id="no HCPCS section starts with F",
        ),
        pytest.param(
            "[J0517, L57.0]",
            "service.drug.hcpcs in codes",
            (
                1,
                26,
                "value.bad_code",
                "expected a CPT/HCPCS code such as 17000, found `L57.0`",
                "ICD-10 codes go in a diagnosis condition such as `service.diagnoses any in [...]`",
            ),
            id="an ICD-10-CM code in a set of drug codes",
        ),
        pytest.param(
            "[XS, X5]",
            "any line in lines: line.modifiers any in codes",
            (1, 23, "value.unknown_code", "`X5` is not a modifier we know (did you mean 25?)", None),
            id="a misspelt modifier",
        ),
        pytest.param(
            "[L57.0, L57.7]",
            "service.diagnoses any in codes",
            (
                1,
                26,
                "value.unknown_code",
                "`L57.7` is not an ICD-10-CM code in the April 2026 code set (did you mean L57.0?)",
                None,
            ),
            id="a misspelt ICD-10-CM code",
        ),
    ],
)
def test_a_misspelt_code_in_a_set_is_told_where_it_is(valueset: str, condition: str, expected: tuple) -> None:
    assert errors(rule_using(valueset, condition)) == [expected]


def test_testing_a_list_of_claim_lines_against_a_set_says_which_fact_to_test() -> None:
    assert diagnostics(rule_using("[J0517, 96372]", "lines any in codes")) == [
        (
            5,
            8,
            "type.records_in_set",
            "`lines` is a list of claim lines, not of values: `any in` cannot test it against a set",
            "test a fact of each, e.g. `any line in lines: line.code in codes`",
        )
    ]


def test_a_table_cell_naming_a_set_is_an_error_not_a_row_that_never_matches() -> None:
    text = (
        "valueset biologics = [J0517, J3357]\n\n"
        'table t "t"\n  in policy\n  hit first\n  when present(service.drug.hcpcs)\n'
        "  | service.drug.hcpcs | => f |\n  | biologics          | a    |\n  | -                  | b    |\n"
        "  then\n    flag f\n"
    )
    assert errors(text) == [
        (
            8,
            5,
            "table.valueset_cell",
            "`biologics` is a value set, but a cell in this column holds one value to compare with a CPT/HCPCS code",
            "write its values in the cell as a list such as `[J0517, J3357]`, or test `... in biologics` in the "
            "table's `when`",
        )
    ]


def test_the_compiled_rule_matches_hcpcs_cpt_and_modifier_codes_of_the_set() -> None:
    text = (
        "valueset biologics = [J0517, J3357]\nvalueset procedures = [17000, J3301, 11900..11901]\n"
        "valueset distinct = [XS, 59]\n\n"
        'rule biologic "b"\n  in policy\n  when present(service.drug.hcpcs) and service.drug.hcpcs in biologics\n'
        "  then\n    flag biologic\n\n"
        'rule procedure "p"\n  in policy\n  when any line in lines: line.code in procedures\n'
        "  then\n    flag procedure\n\n"
        'rule distinct-line "d"\n  in policy\n  when any line in lines: line.modifiers any in distinct\n'
        "  then\n    flag distinct\n"
    )
    built = build(text, dermatology_vocabulary())
    assert built.program is not None, built.diagnostics

    def fired(hcpcs: str | None, lines: list[tuple[str, list[str]]]) -> list[str]:
        facts = {
            "service": {"kind": "injection", "drug": {"hcpcs": hcpcs}},
            "lines": [{"code": code, "units": 1, "modifiers": modifiers} for code, modifiers in lines],
        }
        return run_rules(built.program.rules, facts, explain=True).fired()  # type: ignore[union-attr]

    assert fired("J0517", []) == ["biologic"]
    assert fired("J3301", []) == []
    assert fired(None, [("J3301", [])]) == ["procedure"]
    assert fired(None, [("11901", ["XS"])]) == ["procedure", "distinct-line"]
    assert fired(None, [("17000", ["59"])]) == ["procedure", "distinct-line"]
    assert fired(None, [("17003", ["25"])]) == []
