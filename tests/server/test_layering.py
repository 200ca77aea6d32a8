"""The split between resolvers and services (STYLE habit 17), read from the source so that it holds in the future:
resolvers (server/api/) hold no SQL and dispatch no CPU work; the services of the contexts know no GraphQL."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SERVER = Path(__file__).resolve().parents[2] / "server"
API_MODULES = sorted((SERVER / "api").glob("*.py"))
SERVICE_MODULES = [
    SERVER / f"{name}.py"
    for name in ("audit", "clinic", "documentation", "encounters", "overrides", "people", "rulebook_drafts")
]


def _calls(path: Path) -> list[ast.Call]:
    return [node for node in ast.walk(ast.parse(path.read_text(), str(path))) if isinstance(node, ast.Call)]


def _name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


@pytest.mark.parametrize("path", [pytest.param(p, id=f"api/{p.name}") for p in API_MODULES])
def test_a_resolver_module_builds_no_select(path: Path) -> None:
    """SQL lives in the service of the context, written once (server/<context>.py)."""
    lines = [call.lineno for call in _calls(path) if _name(call.func) == "select"]
    assert not lines, f"{path.name} calls select( on lines {lines}: move the query into its context's service"


@pytest.mark.parametrize("path", [pytest.param(p, id=f"api/{p.name}") for p in API_MODULES])
def test_a_resolver_module_dispatches_no_cpu_work(path: Path) -> None:
    """CPU work goes to the pool from the service that owns it, once, holding no session turn meanwhile."""
    lines = [
        call.lineno
        for call in _calls(path)
        if isinstance(call.func, ast.Attribute) and call.func.attr == "run" and _name(call.func.value) == "cpu"
    ]
    assert not lines, f"{path.name} runs work in the CPU pool on lines {lines}: call its context's service"


@pytest.mark.parametrize("path", [pytest.param(p, id=p.name) for p in SERVICE_MODULES])
def test_a_service_knows_no_graphql(path: Path) -> None:
    """Strawberry types stop at the GraphQL layer: a service answers with rows and domain values, refuses with
    server/errors.py, and the CLI and jobs can call it."""
    graphql = sorted(name for name in _imported(path) if name.split(".")[0] == "strawberry" or "server.api" in name)
    assert not graphql, f"{path.name} imports {graphql}"


def test_the_service_list_names_modules_that_exist() -> None:
    assert all(path.exists() for path in SERVICE_MODULES)
