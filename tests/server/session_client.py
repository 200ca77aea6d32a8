"""A person's browser session against the API: login cookie plus the CSRF header."""

from __future__ import annotations

from typing import Any

from tests.factories import PASSWORD, current_code

LOGIN = """mutation Login($email: String!, $password: String!, $totp: String) {
  login(email: $email, password: $password, totpCode: $totp) { ok message totpRequired csrfToken totpEnrollmentUri }
}"""


async def login(client: Any, email: str, secret: str | None = None, password: str = PASSWORD) -> dict[str, str]:
    """Log in; returns the headers a page sends afterwards (CSRF echo)."""
    variables = {"email": email, "password": password, "totp": current_code(secret) if secret else None}
    response = await client.post("/graphql", json={"query": LOGIN, "variables": variables})
    result = response.json()["data"]["login"]
    assert result["ok"], result
    return {"X-CSRF-Token": result["csrfToken"]}


async def as_person(client: Any, query: str, variables: dict[str, Any] | None, headers: dict[str, str]) -> dict:  # type: ignore[type-arg]
    response = await client.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]
