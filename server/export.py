"""Write the checked-in contracts: graphql/schema.graphql and docs/encounter.schema.json.

`python -m server.export` rewrites both; tests fail when either drifts from the code.
"""

from __future__ import annotations

import json
from pathlib import Path

from rulebooks.models import Encounter
from server.api.schema import build_schema

REPO_ROOT = Path(__file__).resolve().parent.parent
GRAPHQL_SCHEMA = REPO_ROOT / "graphql" / "schema.graphql"
ENCOUNTER_SCHEMA = REPO_ROOT / "docs" / "encounter.schema.json"


def graphql_sdl() -> str:
    return build_schema().as_str() + "\n"


def encounter_json_schema() -> str:
    schema = Encounter.model_json_schema()
    schema["$id"] = "https://cutis.example/schemas/encounter.schema.json"
    schema["title"] = "cutis canonical Encounter"
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def main() -> None:
    GRAPHQL_SCHEMA.write_text(graphql_sdl())
    ENCOUNTER_SCHEMA.write_text(encounter_json_schema())
    print(f"wrote {GRAPHQL_SCHEMA.relative_to(REPO_ROOT)} and {ENCOUNTER_SCHEMA.relative_to(REPO_ROOT)}")


if __name__ == "__main__":
    main()
