"""The web app sends the shared operation documents, and every one is valid against the schema."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from graphql import OperationDefinitionNode, build_schema, parse, validate

REPO_ROOT = Path(__file__).resolve().parents[2]
OPERATIONS = REPO_ROOT / "graphql" / "operations"
WEB_OPERATIONS = REPO_ROOT / "web" / "src" / "api" / "operations.ts"


def _imported_by_web_app() -> list[str]:
    return re.findall(r"graphql/operations/(\w+)\.graphql\?raw", WEB_OPERATIONS.read_text())


def test_the_web_app_imports_operation_documents_that_exist() -> None:
    names = _imported_by_web_app()
    assert names, "the web app imports no operation document"
    for name in names:
        assert (OPERATIONS / f"{name}.graphql").exists(), name


@pytest.mark.parametrize("name", _imported_by_web_app())
def test_each_operation_of_the_web_app_is_valid_against_the_schema(name: str) -> None:
    schema = build_schema((REPO_ROOT / "graphql" / "schema.graphql").read_text())
    document = parse((OPERATIONS / f"{name}.graphql").read_text())
    assert validate(schema, document) == []
    operation_names = [d.name.value for d in document.definitions if isinstance(d, OperationDefinitionNode) and d.name]
    assert operation_names == [name]
