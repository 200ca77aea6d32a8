"""The checked-in contracts match the code: a drift fails CI until `python -m server.export` is run."""

from __future__ import annotations

from server.export import ENCOUNTER_SCHEMA, GRAPHQL_SCHEMA, encounter_json_schema, graphql_sdl


def test_graphql_schema_file_matches_the_code() -> None:
    assert GRAPHQL_SCHEMA.read_text() == graphql_sdl(), "run `python -m server.export` and commit the result"


def test_encounter_json_schema_matches_the_model() -> None:
    assert ENCOUNTER_SCHEMA.read_text() == encounter_json_schema(), "run `python -m server.export`"


def test_graphql_schema_snapshot(snapshot) -> None:  # type: ignore[no-untyped-def]
    assert graphql_sdl() == snapshot
