"""The built web app is served at `/`, its deep links load the page, and /graphql still answers."""

from __future__ import annotations

from pathlib import Path

from litestar.testing import TestClient

from server.app import create_app
from server.settings import Settings

PAGE = "<!doctype html><title>cutis</title>"


def test_deep_links_get_the_page_and_graphql_still_answers(sqlite_url: str, tmp_path: Path) -> None:
    # A synchronous client (its own thread and loop): the browser tests' Playwright holds this thread's loop.
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text(PAGE)
    (dist / "assets" / "app.js").write_text("console.log('cutis')")
    app = create_app(Settings(database_url=sqlite_url, data_dir=tmp_path, secret_key="test", web_dist=dist))
    with TestClient(app, base_url="https://cutis.test") as client:
        for path in (
            "/",
            "/login",
            "/rulebooks/UnVsZWJvb2s6MQ",
            "/rulebooks/UnVsZWJvb2s6MQ/versions",
            "/rulebooks/UnVsZWJvb2s6MQ/compare",
            "/rulebooks/UnVsZWJvb2s6MQ/replay",
            "/encounters",
            "/encounters/RW5jb3VudGVyOjE",
            "/queries",
        ):
            page = client.get(path)
            assert (page.status_code, page.text) == (200, PAGE), path
            assert page.headers["content-type"].startswith("text/html"), path
            probe = client.head(path)  # monitors and load balancers ask with HEAD
            assert (probe.status_code, probe.content) == (200, b""), path
            assert probe.headers["content-type"].startswith("text/html"), path
        assert client.get("/assets/app.js").text == "console.log('cutis')"
        assert client.get("/assets/missing.js").status_code == 404
        assert client.get("/rulebooks/a/b").status_code == 404
        assert client.get("/encounters/a/b").status_code == 404
        answer = client.post("/graphql", json={"query": "{ __typename }"})
        assert answer.json() == {"data": {"__typename": "Query"}}
