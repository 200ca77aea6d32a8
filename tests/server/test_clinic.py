"""The payers-and-fees service's own checks (server/clinic.py): what a clinic may type as a fee or a payer."""

from __future__ import annotations

from decimal import Decimal

import pytest

from server.clinic import PayerFields, check_payer, parse_fee
from server.errors import InputInvalid


class TestParseFee:
    @pytest.mark.parametrize(
        ("typed", "stored"),
        [
            pytest.param("125", Decimal("125.00"), id="a whole amount gets its cents"),
            pytest.param("125.5", Decimal("125.50"), id="one decimal is tens of cents"),
            pytest.param("12.345", Decimal("12.34"), id="half a cent rounds to the even cent"),
            pytest.param("12.355", Decimal("12.36"), id="and so rounds up from an odd one"),
            pytest.param("0", Decimal("0.00"), id="a free service costs nothing"),
            pytest.param("99999999", Decimal("99999999.00"), id="the largest fee the schedule holds"),
            pytest.param(" 40 ", Decimal("40.00"), id="surrounding spaces are no part of the amount"),
        ],
    )
    def test_an_amount_is_stored_in_cents(self, typed: str, stored: Decimal) -> None:
        assert parse_fee(typed) == stored

    @pytest.mark.parametrize(
        "typed",
        [
            pytest.param("-1", id="a negative fee"),
            pytest.param("100000000", id="more than the schedule holds"),
            pytest.param("NaN", id="not a number"),
            pytest.param("Infinity", id="an infinite fee"),
            pytest.param("$125", id="a currency sign"),
            pytest.param("125,00", id="a decimal comma"),
            pytest.param("", id="nothing"),
        ],
    )
    def test_anything_else_is_refused_on_the_fee_field(self, typed: str) -> None:
        with pytest.raises(InputInvalid) as refused:
            parse_fee(typed)
        assert [problem.path for problem in refused.value.fields] == ["fee"]
        assert "non-negative amount" in refused.value.message


class TestCheckPayer:
    def test_a_rulebook_payer_code_and_a_known_plan_type_pass(self) -> None:
        check_payer(PayerFields("AETNA", "Aetna", "commercial"))
        check_payer(PayerFields("BCBS-TX_2", "Blue Cross Texas", "medicare_advantage"))

    @pytest.mark.parametrize(
        ("fields", "path"),
        [
            pytest.param(PayerFields("aetna", "Aetna", "commercial"), "code", id="a code in lower case"),
            pytest.param(PayerFields("A", "A", "commercial"), "code", id="a one-letter code"),
            pytest.param(PayerFields("1AETNA", "Aetna", "commercial"), "code", id="a code starting with a digit"),
            pytest.param(PayerFields("AETNA", "Aetna", "hmo"), "planType", id="a plan type the engine does not know"),
        ],
    )
    def test_a_bad_code_or_plan_type_is_refused_on_its_field(self, fields: PayerFields, path: str) -> None:
        with pytest.raises(InputInvalid) as refused:
            check_payer(fields)
        assert [problem.path for problem in refused.value.fields] == [path]
