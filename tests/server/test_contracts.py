"""The checked-in contracts match the code: a drift fails CI until `python -m server.export` is run."""

from __future__ import annotations

from server.export import ENCOUNTER_SCHEMA, GRAPHQL_SCHEMA, encounter_json_schema, graphql_sdl


def test_graphql_schema_file_matches_the_code() -> None:
    assert GRAPHQL_SCHEMA.read_text() == graphql_sdl(), "run `python -m server.export` and commit the result"


def test_encounter_json_schema_matches_the_model() -> None:
    assert ENCOUNTER_SCHEMA.read_text() == encounter_json_schema(), "run `python -m server.export`"


def test_graphql_schema_snapshot(snapshot) -> None:  # type: ignore[no-untyped-def]
    assert graphql_sdl() == snapshot


def test_no_breaking_change_against_the_released_schema() -> None:
    """A breaking change needs a deliberate update of schema.released.graphql and a CHANGELOG entry."""
    from graphql import build_schema as parse_sdl
    from graphql.utilities import find_breaking_changes

    released = parse_sdl((GRAPHQL_SCHEMA.parent / "schema.released.graphql").read_text())
    current = parse_sdl(graphql_sdl())
    breaking = [f"{change.type.name}: {change.description}" for change in find_breaking_changes(released, current)]
    assert not breaking, "breaking API changes:\n" + "\n".join(breaking)


def test_the_breaking_change_check_can_fail() -> None:
    from graphql import build_schema as parse_sdl
    from graphql.utilities import find_breaking_changes

    released = parse_sdl((GRAPHQL_SCHEMA.parent / "schema.released.graphql").read_text())
    without_a_field = parse_sdl(graphql_sdl().replace("  codedAt: DateTime!\n", "", 1))
    assert any("codedAt" in change.description for change in find_breaking_changes(released, without_a_field))
