"""Helpers to call the GraphQL API the way a clinic's system does (documents from graphql/)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
OPERATIONS = REPO_ROOT / "graphql" / "operations"
FIXTURES = REPO_ROOT / "tests" / "fixtures" / "encounters"


def operation(name: str) -> str:
    return (OPERATIONS / f"{name}.graphql").read_text()


def encounter_input(fixture: str = "biopsy_em", **overrides: Any) -> dict[str, Any]:
    """An EncounterInput (camelCase) from a canonical encounter JSON fixture."""
    payload = json.loads((FIXTURES / f"{fixture}.json").read_text())
    payload.update(overrides)
    return camel(payload)


def camel(value: Any) -> Any:
    if isinstance(value, dict):
        return {_camel_key(k): camel(v) for k, v in value.items()}
    if isinstance(value, list):
        return [camel(v) for v in value]
    return value


def _camel_key(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(part.title() for part in rest)


async def gql(
    client: Any, query: str, variables: dict[str, Any] | None = None, key: str | None = None
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    response = await client.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]
