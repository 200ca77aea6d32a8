"""The billing setup is refused with the path of every bad field and why; a good one is kept as written."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from server.claims.setup import parse_billing_setup
from server.errors import InputInvalid
from tests.server.claims.factories import setup_payload


def _with(change: Any) -> dict[str, Any]:
    payload = copy.deepcopy(setup_payload())
    change(payload)
    return payload


def test_the_example_setup_is_valid_and_normalised() -> None:
    setup = parse_billing_setup(setup_payload())
    assert setup.billing_provider.tax_id == "741234567"
    assert setup.billing_provider.address.postal_code == "787011234"
    assert setup.billing_provider.name == "SUNNY DERMATOLOGY PC"
    assert setup.submitter.phone == "5125550100"
    assert setup.clearinghouse().payer("AETNA").payer_id == "60054"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("change", "path", "message"),
    [
        pytest.param(
            lambda p: p["billing_provider"].update(npi="1234567890"),
            "billing_provider.npi",
            "the NPI check digit is wrong (the tenth digit is a Luhn check over 80840 and the first nine)",
            id="billing NPI check digit",
        ),
        pytest.param(
            lambda p: p["rendering_providers"][1].update(npi="98765"),
            "rendering_providers[1].npi",
            "an NPI is 10 digits",
            id="rendering NPI length",
        ),
        pytest.param(
            lambda p: p["billing_provider"].update(tax_id="74-12345"),
            "billing_provider.tax_id",
            "a tax id (EIN) is 9 digits, e.g. 74-1234567",
            id="tax id",
        ),
        pytest.param(
            lambda p: p["billing_provider"]["address"].update(postal_code="78701"),
            "billing_provider.address.postal_code",
            "the billing provider's ZIP code has 9 digits (ZIP+4)",
            id="billing ZIP+4",
        ),
        pytest.param(
            lambda p: p["billing_provider"].update(name="SUNNY*DERM"),
            "billing_provider.name",
            "may not contain * : ^ or ~ (X12 separators)",
            id="a separator in a name",
        ),
        pytest.param(
            lambda p: p["billing_provider"].update(taxonomy="207N0000"),
            "billing_provider.taxonomy",
            "a taxonomy code is 10 characters ending in X, e.g. 207N00000X",
            id="taxonomy",
        ),
        pytest.param(
            lambda p: p["submitter"].update(phone="555-0100"),
            "submitter.phone",
            "a phone number is 10 digits, e.g. 512-555-0100",
            id="phone",
        ),
        pytest.param(
            lambda p: p["clearinghouses"][0].update(submitter_id="DB SUBMIT"),
            "clearinghouses[0].submitter_id",
            "an interchange id is 2 to 15 letters or digits",
            id="submitter id",
        ),
        pytest.param(
            lambda p: p["clearinghouses"][0]["payer_ids"].append({"payer": "AETNA", "payer_id": "61", "name": "A"}),
            "clearinghouses[0].payer_ids[10].payer",
            "payer 'AETNA' has an id here already",
            id="a payer twice at one clearinghouse",
        ),
        pytest.param(
            lambda p: p["rendering_providers"].append(dict(p["rendering_providers"][0])),
            "rendering_providers[2].npi",
            "this NPI is listed twice",
            id="a rendering provider twice",
        ),
        pytest.param(
            lambda p: p.update(default_clearinghouse="other"),
            "default_clearinghouse",
            "is not the code of one of the clearinghouses",
            id="an absent default",
        ),
        pytest.param(
            lambda p: p.update(rendering_providers=[]),
            "rendering_providers",
            "List should have at least 1 item after validation, not 0",
            id="no rendering provider",
        ),
        pytest.param(
            lambda p: p.pop("billing_provider"), "billing_provider", "Field required", id="no billing provider"
        ),
    ],
)
def test_a_bad_setup_is_refused_at_the_field(change: Any, path: str, message: str) -> None:
    with pytest.raises(InputInvalid) as refused:
        parse_billing_setup(_with(change))
    assert [(field.path, field.message) for field in refused.value.fields] == [(path, message)]
    assert "SUNNY" not in str(refused.value)  # values are never echoed


def test_the_same_payer_may_have_other_ids_at_other_clearinghouses() -> None:
    def second_house(payload: dict[str, Any]) -> None:
        other = copy.deepcopy(payload["clearinghouses"][0])
        other.update(code="other", payer_ids=[{"payer": "AETNA", "payer_id": "AET99", "name": "Aetna"}])
        payload["clearinghouses"].append(other)

    setup = parse_billing_setup(_with(second_house))
    assert setup.clearinghouse("other").payer("AETNA").payer_id == "AET99"  # type: ignore[union-attr]
    assert setup.clearinghouse().payer("AETNA").payer_id == "60054"  # type: ignore[union-attr]
