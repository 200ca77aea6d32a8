"""The billing setup over GraphQL, as a clinic's staff meet it: saved whole, validated at the field,
revisions that never overwrite a newer save, audited, refused to roles that do not administer."""

from __future__ import annotations

import copy
import json
from typing import Any

from tests.factories import make_clinic
from tests.server.claims.factories import EXAMPLE_SETUP
from tests.server.graphql_ops import gql, operation
from tests.server.session_client import as_person, login


def _example() -> dict[str, Any]:
    return json.loads(EXAMPLE_SETUP.read_text())


async def _save(client: Any, headers: dict[str, str], setup: Any, base: int | None = None) -> dict[str, Any]:
    body = await as_person(client, operation("SaveBillingSetup"), {"setup": setup, "baseRevision": base}, headers)
    assert "errors" not in body, body
    return body["data"]["saveBillingSetup"]


async def test_a_manager_saves_the_setup_and_reads_it_back(app_client) -> None:
    clinic = await make_clinic(app_client.app_services.session_factory, roles=("practice_manager", "biller", "owner"))
    manager = await login(app_client, *clinic.people["practice_manager"])
    empty = await as_person(app_client, operation("BillingSetup"), None, manager)
    assert empty["data"]["billingSetup"] is None

    saved = await _save(app_client, manager, _example())
    assert saved["__typename"] == "BillingSetup" and saved["revision"] == 1
    assert saved["setup"]["billing_provider"]["tax_id"] == "741234567"  # stored as validated

    changed = _example()
    changed["rendering_providers"].append({"npi": "1245319599", "last_name": "Lee", "first_name": "Ana"})
    second = await _save(app_client, manager, changed, base=1)
    assert second["revision"] == 2
    biller = await login(app_client, *clinic.people["biller"])
    read = await as_person(app_client, operation("BillingSetup"), None, biller)
    assert read["data"]["billingSetup"]["revision"] == 2
    assert [p["npi"] for p in read["data"]["billingSetup"]["setup"]["rendering_providers"]] == [
        "1234567893",
        "9876543213",
        "1245319599",
    ]
    owner = await login(app_client, *clinic.people["owner"])
    audit = await as_person(app_client, "query { auditEvents(first: 10) { nodes { action detail } } }", None, owner)
    saves = [e for e in audit["data"]["auditEvents"]["nodes"] if e["action"] == "billing_setup.save"]
    assert sorted(e["detail"] for e in saves) == ["revision 1", "revision 2"]


async def test_a_bad_setup_is_refused_with_every_path_and_nothing_is_stored(app_client) -> None:
    clinic = await make_clinic(app_client.app_services.session_factory, roles=("practice_manager",))
    manager = await login(app_client, *clinic.people["practice_manager"])
    bad = _example()
    bad["billing_provider"]["npi"] = "1234567890"
    bad["rendering_providers"][1]["npi"] = "98765"
    refused = await _save(app_client, manager, bad)
    assert refused["__typename"] == "InvalidInput"
    assert [(f["path"], f["message"]) for f in refused["fields"]] == [
        (
            "billing_provider.npi",
            "the NPI check digit is wrong (the tenth digit is a Luhn check over 80840 and the first nine)",
        ),
        ("rendering_providers[1].npi", "an NPI is 10 digits"),
    ]
    twice = _example()
    twice["clearinghouses"][0]["payer_ids"].append(copy.deepcopy(twice["clearinghouses"][0]["payer_ids"][0]))
    refused = await _save(app_client, manager, twice)
    assert [f["path"] for f in refused["fields"]] == ["clearinghouses[0].payer_ids[7].payer"]
    too_long = _example()
    too_long["clearinghouses"][0]["payer_ids"] = [
        {"payer": f"P{i}", "payer_id": f"ID{i}", "name": "X"} for i in range(501)
    ]
    refused = await _save(app_client, manager, too_long)
    assert [(f["path"], f["message"]) for f in refused["fields"]] == [
        ("setup.clearinghouses.0.payer_ids", "at most 500 items (this has 501)")
    ]
    too_big = _example()
    house = too_big["clearinghouses"][0]
    house["payer_ids"] = [{"payer": f"P{i}", "payer_id": "9" * 80, "name": "X" * 60} for i in range(500)]
    too_big["clearinghouses"] = [dict(house, code=f"c{n}") for n in range(10)]
    too_big["default_clearinghouse"] = "c0"
    refused = await _save(app_client, manager, too_big)
    assert [(f["path"], f["message"]) for f in refused["fields"]] == [
        ("setup", "a billing setup is at most 512,000 bytes of JSON")
    ]
    read = await as_person(app_client, operation("BillingSetup"), None, manager)
    assert read["data"]["billingSetup"] is None


async def test_a_save_based_on_an_older_revision_overwrites_nothing(app_client) -> None:
    clinic = await make_clinic(app_client.app_services.session_factory, roles=("practice_manager",))
    manager = await login(app_client, *clinic.people["practice_manager"])
    assert (await _save(app_client, manager, _example()))["revision"] == 1
    first = await _save(app_client, manager, _example(), base=1)
    assert first["revision"] == 2
    stale = _example()
    stale["billing_provider"]["name"] = "Stale Name PC"
    conflict = await _save(app_client, manager, stale, base=1)
    assert conflict["__typename"] == "Conflict" and conflict["currentRevision"] == 2
    again = await _save(app_client, manager, stale)  # "there is none yet": also stale
    assert again["__typename"] == "Conflict"
    read = await as_person(app_client, operation("BillingSetup"), None, manager)
    assert read["data"]["billingSetup"]["setup"]["billing_provider"]["name"] == "SUNNY DERMATOLOGY PC"


async def test_only_administrators_save_and_keys_only_read(app_client) -> None:
    clinic = await make_clinic(app_client.app_services.session_factory, roles=("biller",))
    biller = await login(app_client, *clinic.people["biller"])
    assert (await _save(app_client, biller, _example()))["__typename"] == "Forbidden"
    by_key = await gql(app_client, operation("SaveBillingSetup"), {"setup": _example()}, clinic.key)
    assert by_key["data"]["saveBillingSetup"]["__typename"] == "Forbidden"
    read = await gql(app_client, operation("BillingSetup"), None, clinic.key)
    assert read["data"]["billingSetup"] is None
