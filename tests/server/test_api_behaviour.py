"""API-wide behaviour: one operation one transaction, bounded queries, limits, masking, production mode."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import event, func, select

from server.cpu import InlineCpu
from server.db import tenant_session
from server.models import EncounterRecord, RulebookRecord
from tests.factories import make_clinic
from tests.server.graphql_ops import encounter_input, gql, operation
from tests.server.session_client import as_person, login


class QueryCounter:
    def __init__(self, engine: Any) -> None:
        self.engine = engine.sync_engine
        self.statements: list[str] = []

    def __enter__(self) -> QueryCounter:
        event.listen(self.engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._count)

    def _count(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.statements.append(statement)


async def test_listing_100_encounters_with_codings_costs_a_bounded_number_of_queries(app_client) -> None:
    services = app_client.app_services
    clinic = await make_clinic(services.session_factory)
    for index in range(100):
        body = await gql(
            app_client, operation("CodeEncounter"), {"input": encounter_input(external_id=f"E-{index:03d}")}, clinic.key
        )
        assert body["data"]["codeEncounter"]["__typename"] == "CodedEncounter"
    query = """query { encounters(first: 100) { pageInfo { hasNextPage } nodes { externalId
        coding { status claimLines { code units modifiers } } } } }"""
    with QueryCounter(services.session_factory.kw["bind"]) as counter:
        body = await gql(app_client, query, None, clinic.key)
    nodes = body["data"]["encounters"]["nodes"]
    assert len(nodes) == 100 and all(n["coding"]["status"] == "ready" for n in nodes)
    work = [s for s in counter.statements if "set_config" not in s]
    selects = [s for s in work if s.lstrip().upper().startswith("SELECT")]
    # the encounters page and ONE batched load of their codings (the key is cached by now)
    assert len([s for s in selects if "FROM encounters" in s]) == 1, selects
    assert len([s for s in selects if "FROM codings" in s]) == 1, selects
    assert len(selects) <= 3, selects
    assert len(work) <= 5, work  # plus the audit insert and, once a minute, the key's last use


async def test_pages_follow_the_cursor_without_overlap(app_client) -> None:
    clinic = await make_clinic(app_client.app_services.session_factory)
    for index in range(5):
        await gql(
            app_client, operation("CodeEncounter"), {"input": encounter_input(external_id=f"P-{index}")}, clinic.key
        )
    query = (
        "query($after: String) { encounters(first: 2, after: $after) { pageInfo { hasNextPage endCursor } "
        "nodes { externalId } } }"
    )
    seen: list[str] = []
    after = None
    while True:
        page = (await gql(app_client, query, {"after": after}, clinic.key))["data"]["encounters"]
        seen += [n["externalId"] for n in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == [f"P-{index}" for index in reversed(range(5))]
    too_big = await gql(app_client, "query { encounters(first: 101) { nodes { id } } }", None, clinic.key)
    assert too_big["errors"][0]["message"] == "page size out of range"


async def test_a_failed_mutation_leaves_nothing_behind(app_client, monkeypatch: pytest.MonkeyPatch) -> None:
    services = app_client.app_services
    clinic = await make_clinic(services.session_factory, roles=("practice_manager",))

    def explode(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("engine failure with PHI: Jane Doe")

    monkeypatch.setattr("server.encounters.code_encounter", explode)
    # the engine is patched in this process, so the coding runs here rather than in a CPU pool worker
    monkeypatch.setattr(app_client.app_services, "cpu", InlineCpu())
    body = await gql(app_client, operation("CodeEncounter"), {"input": encounter_input()}, clinic.key)
    assert body["errors"][0]["message"] == "internal error"  # masked: no PHI, no stack trace
    assert "Jane" not in str(body)
    headers = await login(app_client, *clinic.people["practice_manager"])
    both = await as_person(
        app_client,
        """mutation {
        first: createRulebook(name: "kept?") { __typename }
        second: createRulebook(name: "") { __typename } }""",
        None,
        headers,
    )
    assert both["data"]["second"]["__typename"] == "InvalidInput"
    async with tenant_session(services.session_factory, clinic.tenant_id) as session:
        assert (await session.execute(select(func.count()).select_from(EncounterRecord))).scalar_one() == 0
        assert (await session.execute(select(func.count()).select_from(RulebookRecord))).scalar_one() == 0


async def test_stale_draft_save_is_refused_not_overwritten(app_client) -> None:
    clinic = await make_clinic(app_client.app_services.session_factory, roles=("practice_manager",))
    headers = await login(app_client, *clinic.people["practice_manager"])
    created = await as_person(
        app_client,
        'mutation { createRulebook(name: "B", text: "v1") { ... on Rulebook { id draftRevision } } }',
        None,
        headers,
    )
    book = created["data"]["createRulebook"]
    save = """mutation($id: ID!, $text: String!, $base: Int!) { saveRulebookDraft(id: $id, text: $text,
        baseRevision: $base) { __typename ... on Rulebook { draftRevision draftText }
        ... on Conflict { message currentRevision } } }"""
    mine = await as_person(app_client, save, {"id": book["id"], "text": "v2 by me", "base": 1}, headers)
    assert mine["data"]["saveRulebookDraft"] == {"__typename": "Rulebook", "draftRevision": 2, "draftText": "v2 by me"}
    stale = await as_person(app_client, save, {"id": book["id"], "text": "v2 by a colleague", "base": 1}, headers)
    assert stale["data"]["saveRulebookDraft"]["__typename"] == "Conflict"
    assert stale["data"]["saveRulebookDraft"]["currentRevision"] == 2
    assert "saved by someone else" in stale["data"]["saveRulebookDraft"]["message"]
    current = await as_person(
        app_client,
        "query($id: ID!) { rulebook(id: $id) { ... on Rulebook { draftText } } }",
        {"id": book["id"]},
        headers,
    )
    assert current["data"]["rulebook"]["draftText"] == "v2 by me"


@pytest.mark.parametrize(
    ("document", "message"),
    [
        pytest.param(
            "query { " + " ".join(f"a{i}: clinic {{ name }}" for i in range(31)) + " }",
            "aliases found",
            id="more than 30 aliases",
        ),
        pytest.param(
            "query { encounters { nodes { coding { claimLines { reasons { rule { span { line } } } } } } } }",
            None,
            id="a deep but legal query",
        ),
        pytest.param("query { " + "clinic { name } " * 2600 + "}", "tokens", id="more than 5000 tokens"),
    ],
)
async def test_query_limits(app_client, document: str, message: str | None) -> None:
    clinic = await make_clinic(app_client.app_services.session_factory)
    body = await gql(app_client, document, None, clinic.key)
    if message is None:
        assert "errors" not in body, body
    else:
        assert message in body["errors"][0]["message"].lower()


async def test_depth_limit(app_client) -> None:
    """The schema has no cycles today (its deepest legal query passes); the limiter guards tomorrow's."""
    clinic = await make_clinic(app_client.app_services.session_factory)
    deepest = "query { encounters { nodes { coding { claimLines { reasons { rule { span { line } } } } } } } }"
    assert "errors" not in await gql(app_client, deepest, None, clinic.key)
    from server.api.schema import build_schema

    shallow = build_schema(max_depth=4)
    result = await shallow.execute(deepest)
    assert result.errors and "exceeds maximum operation depth" in result.errors[0].message


async def test_rate_limit_per_key(database_url: str, settings_for) -> None:

    from server.app import create_app

    app = create_app(settings_for(database_url).replace(rate_limit_per_minute=5))
    services = app.state.services
    clinic = await make_clinic(services.session_factory)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://cutis.test") as client:
        statuses = []
        for _ in range(7):
            response = await client.post(
                "/graphql",
                json={"query": "query { clinic { name } }"},
                headers={"Authorization": f"Bearer {clinic.key}"},
            )
            statuses.append(response.status_code)
    await services.session_factory.kw["bind"].dispose()
    assert statuses == [200] * 5 + [429, 429]


async def test_production_turns_off_introspection_and_the_ide(database_url: str, settings_for) -> None:

    from server.app import create_app

    app = create_app(settings_for(database_url).replace(environment="production"))
    services = app.state.services
    clinic = await make_clinic(services.session_factory)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://cutis.test") as client:
        body = (
            await client.post(
                "/graphql",
                json={"query": "query { __schema { types { name } } }"},
                headers={"Authorization": f"Bearer {clinic.key}"},
            )
        ).json()
        ide = await client.get("/graphql", headers={"Accept": "text/html"})
    await services.session_factory.kw["bind"].dispose()
    assert "introspection" in body["errors"][0]["message"].lower()
    assert ide.status_code != 200 or "graphiql" not in ide.text.lower()


async def test_a_failing_commit_is_masked_and_leaves_nothing(app_client, monkeypatch: pytest.MonkeyPatch) -> None:
    from server.api.context import CutisContext

    clinic = await make_clinic(app_client.app_services.session_factory)

    async def broken_commit(self: CutisContext, *, commit: bool) -> None:
        session, self._session = self._session, None
        await session.rollback()
        await session.close()
        raise RuntimeError("INSERT INTO encounters ... parameters: ('Jane Doe', ...)")

    monkeypatch.setattr(CutisContext, "finish", broken_commit)
    body = await gql(app_client, operation("CodeEncounter"), {"input": encounter_input()}, clinic.key)
    monkeypatch.undo()
    assert body == {"data": None, "errors": [{"message": "internal error"}]}
    async with tenant_session(app_client.app_services.session_factory, clinic.tenant_id) as session:
        assert (await session.execute(select(func.count()).select_from(EncounterRecord))).scalar_one() == 0


@pytest.mark.redis
async def test_rate_limit_is_shared_through_redis(database_url: str, redis_url: str, settings_for) -> None:
    """Two app processes behind a load balancer share one budget per key when Redis is configured."""

    from redis.asyncio import Redis

    from server.app import create_app

    flush = Redis.from_url(redis_url)
    await flush.flushdb()
    await flush.aclose()
    settings = settings_for(database_url, redis_url).replace(rate_limit_per_minute=4)
    first, second = create_app(settings), create_app(settings)
    clinic = await make_clinic(first.state.services.session_factory)
    statuses = []
    for app in (first, second, first, second, first, second):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://cutis.test") as client:
            response = await client.post(
                "/graphql",
                json={"query": "query { clinic { name } }"},
                headers={"Authorization": f"Bearer {clinic.key}"},
            )
            statuses.append(response.status_code)
    for app in (first, second):
        await app.state.services.rate_limiter.close()
        await app.state.services.queue.close()
        await app.state.services.session_factory.kw["bind"].dispose()
    assert statuses == [200, 200, 200, 200, 429, 429]
