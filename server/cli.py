"""The `cutis` command line: serve, worker, db, demo, code."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from server.settings import Settings

T = TypeVar("T")


def _run(make: Callable[[], Awaitable[T]]) -> T:
    return asyncio.run(make())  # type: ignore[arg-type]


@click.group(help="cutis: dermatology coding, rules and claims.")
def main() -> None:
    pass


@main.command(help="Start the web server (GraphQL at /graphql, health at /healthz).")
@click.option("--host", default=None, help="Interface to bind (default CUTIS_HOST or 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default CUTIS_PORT or 8000).")
@click.option(
    "--upgrade/--no-upgrade", default=True, show_default=True, help="Apply database migrations before serving."
)
def serve(host: str | None, port: int | None, upgrade: bool) -> None:
    import uvicorn

    from server.app import create_app
    from server.migrate import upgrade as upgrade_db

    settings = Settings.from_env()
    if upgrade:
        upgrade_db(settings.owner_database_url)
    app = create_app(settings)
    uvicorn.run(app, host=host or settings.host, port=port or settings.port, log_level="info")


@main.command(help="Run the arq worker against CUTIS_REDIS_URL (jobs from the outbox).")
@click.option("--burst", is_flag=True, help="Exit when the queue is empty.")
def worker(burst: bool) -> None:
    from arq.worker import Worker

    from server.worker import worker_settings

    settings = Settings.from_env()
    Worker(**worker_settings(settings, burst=burst)).run()


@main.group(help="Database schema.")
def db() -> None:
    pass


@db.command("upgrade", help="Apply all migrations (SQLite or PostgreSQL from CUTIS_DATABASE_URL).")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    from server.migrate import upgrade

    settings = Settings.from_env()
    upgrade(settings.owner_database_url, revision)
    click.echo(f"database at revision {revision}")


@main.group(help="The demo tenant.")
def demo() -> None:
    pass


async def _with_factory(action: Callable[[Any], Awaitable[T]]) -> T:
    from server.db import create_engine, create_session_factory

    engine = create_engine(Settings.from_env())
    try:
        return await action(create_session_factory(engine))
    finally:
        await engine.dispose()


@demo.command("seed", help="Create the demo tenant with its payer mix and fee schedules (idempotent).")
def demo_seed() -> None:
    from server.demo import seed_demo

    tenant_id = _run(lambda: _with_factory(seed_demo))
    click.echo(f"demo tenant ready: {tenant_id}")


@demo.command("key", help="Issue a NEW API key for the demo tenant and print it (it is stored hashed).")
def demo_key() -> None:
    from server.demo import issue_demo_key

    issued = _run(lambda: _with_factory(issue_demo_key))
    click.echo(issued.plaintext)


@main.command("code", help="Code an encounter JSON file offline and print the Coding.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--payer", default=None, help="Code as if the coverage were this payer code.")
@click.option("--format", "output_format", type=click.Choice(["json", "table"]), default="table", show_default=True)
@click.option("--explain", is_flag=True, help="With --format table, print every reason under its line.")
@click.option("--coded-at", default=None, help="ISO timestamp to stamp (default: now).")
def code_command(file: Path, payer: str | None, output_format: str, explain: bool, coded_at: str | None) -> None:
    from rulebooks.engine import code
    from server.demo import demo_fee_schedules
    from server.encounters import parse_encounter
    from server.errors import InputInvalid

    try:
        payload = json.loads(file.read_text())
    except json.JSONDecodeError as error:
        raise click.ClickException(f"{file}: line {error.lineno}, column {error.colno}: {error.msg}") from None
    if payer is not None and isinstance(payload, dict):
        payload.setdefault("coverage", {})["payer"] = payer
    try:
        encounter = parse_encounter(payload)
    except InputInvalid as error:
        for field in error.fields:
            click.echo(f"{file}: {field.path}: {field.message}", err=True)
        raise SystemExit(1) from None
    moment = dt.datetime.fromisoformat(coded_at) if coded_at else dt.datetime.now(dt.UTC)
    coding = code(encounter, encounter_id=encounter.external_id, coded_at=moment, fees=demo_fee_schedules())
    if output_format == "json":
        click.echo(coding.model_dump_json(indent=2))
        return
    from server.render import coding_table

    click.echo(coding_table(coding, explain=explain))


if __name__ == "__main__":
    sys.exit(main())
