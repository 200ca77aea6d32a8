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


LESION_CAP_RULE = """rule cap-{n} "Cap of {n} actinic keratoses per session, variant {n}"
  in policy
  when service.kind = destruction
   and service.diagnoses any in actinic_keratosis
   and present(service.count)
   and service.count > {n} lesions
  then
    cap lesions of service at {n} lesions
    flag payer_lesion_cap_applied
"""


RULEBOOK_HEADER = """rulebook "Lesion caps" for payer AETNA
  effective 2026-01-01

valueset actinic_keratosis = [L57.0]
"""


def big_rulebook(max_chars: int) -> str:
    """A valid rulebook of distinct rules, as long as fits in `max_chars`: about a second of CPU per MB to check."""
    rules = [RULEBOOK_HEADER]
    length, number = len(RULEBOOK_HEADER) + 1, 1
    while length + len(LESION_CAP_RULE.format(n=number)) + 1 <= max_chars:
        rules.append(LESION_CAP_RULE.format(n=number))
        length += len(rules[-1]) + 1
        number += 1
    return "\n".join(rules)
