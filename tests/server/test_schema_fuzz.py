"""Property-based API testing: schemathesis over every query and mutation of the schema, on a running
server, on both databases, as clinic B's owner, against a database where clinic A's data exists.

Schemathesis does not know tenants, so the tenant property is checked here: no response may be a
5xx or an untyped "internal error", and no response may contain any of A's ids or values (its
global ids, external ids, payer, rulebook and people).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings

from server.export import GRAPHQL_SCHEMA
from tests.factories import TOTP_KEY, current_code, make_clinic
from tests.server.graphql_ops import encounter_input, operation
from tests.server.session_client import LOGIN
from tests.server.test_cli import _free_port, _wait_healthy

EXAMPLES_PER_OPERATION = int(os.environ.get("CUTIS_SCHEMA_FUZZ_EXAMPLES", "12"))
# Operations that end or replace the fuzzing person's own session are left out of the run.
SESSION_ENDING = {"Mutation.logout", "Mutation.login", "Mutation.resetPassword"}
EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"


def _value_node(value: Any) -> Any:
    """A JSON value as a GraphQL literal (what the JSON scalar's arguments are written as)."""
    from graphql import language as ast

    if isinstance(value, dict):
        fields = tuple(
            ast.ObjectFieldNode(name=ast.NameNode(value=key), value=_value_node(item)) for key, item in value.items()
        )
        return ast.ObjectValueNode(fields=fields)
    if isinstance(value, list):
        return ast.ListValueNode(values=tuple(_value_node(item) for item in value))
    if isinstance(value, bool):
        return ast.BooleanValueNode(value=value)
    if isinstance(value, int):
        return ast.IntValueNode(value=str(value))
    if isinstance(value, str):
        return ast.StringValueNode(value=value)
    return ast.NullValueNode()


def _json_values() -> Any:
    """Any small JSON document, or the billing setup and subscriber examples (so the checks behind are reached)."""
    from hypothesis import strategies as st

    leaves = st.none() | st.booleans() | st.integers(-(2**31), 2**31 - 1) | st.text(max_size=20)
    keys = st.from_regex(r"[a-z_]{1,12}", fullmatch=True)
    documents = st.recursive(
        leaves, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=4)
    )
    examples = st.sampled_from(
        [json.loads((EXAMPLES / name).read_text()) for name in ("billing-setup.json", "subscriber.json")]
    )
    return (examples | documents).map(_value_node)


schemathesis.graphql.scalar("JSON", _json_values())
SCHEMA = schemathesis.graphql.from_path(GRAPHQL_SCHEMA)
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]


@dataclass
class Target:
    base_url: str
    headers: dict[str, str]
    cookies: dict[str, str]
    secrets: set[str] = field(default_factory=set)  # clinic A's ids and values


def _post(base_url: str, query: str, variables: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
    response = httpx.post(
        f"{base_url}/graphql", json={"query": query, "variables": variables}, headers=headers, timeout=60
    )
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def _seed_clinic_a(base_url: str, key: str) -> set[str]:
    """A's objects through the API; returns every id and distinctive value B must never see."""
    bearer = {"Authorization": f"Bearer {key}"}
    coded = _post(
        base_url,
        operation("CodeEncounter"),
        {"input": encounter_input(external_id="clinic-a-secret-encounter")},
        bearer,
    )["data"]["codeEncounter"]
    book = _post(
        base_url,
        'mutation { createRulebook(name: "Clinic A secret rulebook") { __typename ... on Rulebook { id } } }',
        {},
        bearer,
    )["data"]["createRulebook"]
    return {
        coded["encounter"]["id"],
        coded["coding"]["id"],
        book["id"],
        "clinic-a-secret-encounter",
        "ASECRETPAYER",
        "Clinic A Secret Payer",
        "a-secret-ehr-payer",
        "Clinic A secret rulebook",
        key.split("_")[1],
    }


@pytest.fixture(params=[pytest.param("sqlite"), pytest.param("postgres", marks=pytest.mark.postgres)])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Target]:
    from server.api.ids import to_global_id
    from server.db import create_engine, create_session_factory, tenant_session
    from server.migrate import upgrade
    from server.models import Payer
    from server.settings import Settings

    if request.param == "sqlite":
        database_url = f"sqlite+aiosqlite:///{tmp_path / 'fuzz.sqlite3'}"
        upgrade(database_url)
    else:
        database_url = request.getfixturevalue("postgres_url")

    async def clinics() -> tuple[Any, Any]:
        engine = create_engine(Settings(database_url=database_url, data_dir=tmp_path, totp_key=TOTP_KEY))
        try:
            factory = create_session_factory(engine)
            clinic_a = await make_clinic(factory, "fuzz-a", roles=("owner", "biller"))
            async with tenant_session(factory, clinic_a.tenant_id) as session:
                payer = Payer(
                    tenant_id=clinic_a.tenant_id,
                    code="ASECRETPAYER",
                    name="Clinic A Secret Payer",
                    plan_type="commercial",
                    ehr_payer_id="a-secret-ehr-payer",
                )
                session.add(payer)
                await session.flush()
                clinic_a.people["payer"] = (to_global_id("Payer", payer.id), None)
            return clinic_a, await make_clinic(factory, "fuzz-b", roles=("owner",))
        finally:
            await engine.dispose()

    clinic_a, clinic_b = asyncio.run(clinics())
    env = {
        "CUTIS_DATABASE_URL": database_url,
        "CUTIS_DATA_DIR": str(tmp_path),
        "CUTIS_PORT": str(_free_port()),
        "CUTIS_TOTP_KEY": TOTP_KEY,
        "CUTIS_RATE_LIMIT_PER_MINUTE": "1000000",
        "CUTIS_COOKIE_SECURE": "0",
    }
    environment = {k: v for k, v in os.environ.items() if k != "CUTIS_REDIS_URL"}
    # The server logs a line per request: to a file, never a pipe nobody reads (a full pipe stops it).
    log = (tmp_path / "server.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "serve"],
        env={**environment, **env},
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        base_url = f"http://127.0.0.1:{env['CUTIS_PORT']}"
        _wait_healthy(base_url, process)
        secrets = _seed_clinic_a(base_url, clinic_a.key)
        secrets |= {email for email, _ in clinic_a.people.values()}  # the people's emails and the payer's id
        email, secret = clinic_b.people["owner"]
        login = httpx.post(
            f"{base_url}/graphql",
            json={
                "query": LOGIN,
                "variables": {"email": email, "password": "correct horse battery staple", "totp": current_code(secret)},
            },
            timeout=30,
        )
        result = login.json()["data"]["login"]
        assert result["ok"], result
        yield Target(
            base_url=base_url,
            headers={"X-CSRF-Token": result["csrfToken"]},
            cookies=dict(login.cookies),
            secrets=secrets,
        )
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def _check(target: Target, label: str, response: Any) -> None:
    """A generated document is valid GraphQL: it must be answered (200), typed, and within B's clinic."""
    assert response.status_code == 200, f"{label}: HTTP {response.status_code} {response.text[:200]}"
    text = response.text
    try:
        body = json.loads(text)
    except ValueError:
        raise AssertionError(f"{label}: the answer is not JSON") from None
    messages = [error.get("message", "") for error in (body.get("errors") or [])]
    assert "internal error" not in messages, f"{label}: an untyped internal error"
    assert not any(m.startswith("authentication required") for m in messages), f"{label}: not signed in"
    leaked = sorted(secret for secret in target.secrets if secret in text)
    assert not leaked, f"{label}: clinic B saw clinic A's {leaked}"


def test_every_operation_answers_typed_and_keeps_to_its_clinic(target: Target) -> None:
    calls = 0
    for api_operation in OPERATIONS:
        if api_operation.label in SESSION_ENDING:
            continue

        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=api_operation.as_strategy())
        def run(case: Any) -> None:
            nonlocal calls
            response = case.call(
                base_url=f"{target.base_url}/graphql", headers=target.headers, cookies=target.cookies, timeout=60
            )
            calls += 1
            _check(target, case.operation.label, response)

        run()
    assert calls >= len(OPERATIONS)  # every operation was really called
