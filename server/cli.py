"""The `cutis` command line: serve, worker, db, demo, code."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar, cast

import click

from rulebooks.dated_codesets import CODESET_KINDS
from rulebooks.engine.release import ENGINE_RELEASE
from server.settings import Settings

T = TypeVar("T")


class ExistingPath(click.Path):
    """A path that must exist; when it does not, one line naming it and exit 1, not click's usage text."""

    def __init__(self, dir_okay: bool = False) -> None:
        super().__init__(exists=True, dir_okay=dir_okay, path_type=Path)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        try:
            return super().convert(value, param, ctx)
        except click.BadParameter as error:
            raise click.ClickException(error.format_message()) from None


EXISTING_FILE = ExistingPath()
FORMAT_HELP = "Human-readable output, or JSON for scripts."


def format_option(*choices: str) -> Any:
    """`--format` (into `output_format`): the first choice, for people, is the default."""
    return click.option(
        "--format",
        "output_format",
        type=click.Choice(list(choices)),
        default=choices[0],
        show_default=True,
        help=FORMAT_HELP,
    )


def _run(make: Callable[[], Awaitable[T]]) -> T:
    return asyncio.run(make())  # type: ignore[arg-type]


@click.group(help="cutis: dermatology coding, rules and claims.")
@click.version_option(
    package_name="cutis",
    message=f"cutis %(version)s (engine {ENGINE_RELEASE})",
    help="Show the version and the engine release (codings name it), then exit.",
)
def main() -> None:
    pass


@main.command(help="Start the web server (GraphQL at /graphql, health at /healthz).")
@click.option("--host", default=None, help="Interface to bind (default CUTIS_HOST or 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default CUTIS_PORT or 8000).")
@click.option(
    "--workers",
    type=int,
    default=1,
    show_default=True,
    help="Server processes (production: about one per core; the embedded mode runs jobs in each).",
)
@click.option(
    "--upgrade/--no-upgrade", default=True, show_default=True, help="Apply database migrations before serving."
)
def serve(host: str | None, port: int | None, workers: int, upgrade: bool) -> None:
    import uvicorn

    from server.logs import configure_logging, logging_config
    from server.migrate import upgrade as upgrade_db

    settings = Settings.from_env()
    configure_logging(settings.log_format, settings.log_level)
    if upgrade:
        upgrade_db(settings.owner_database_url)
    uvicorn.run(
        "server.app:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        log_config=logging_config(settings.log_format, settings.log_level),  # applied in every server process
        proxy_headers=True,  # the client's address from a trusted proxy's X-Forwarded-For (FORWARDED_ALLOW_IPS)
        access_log=False,  # server.logs writes each request's line, with its request id and clinic
    )


@main.command(help="Run the arq worker against CUTIS_REDIS_URL (jobs from the outbox).")
@click.option("--burst", is_flag=True, help="Exit when the queue is empty.")
def worker(burst: bool) -> None:
    import signal

    from server.logs import configure_logging
    from server.worker import run_worker

    settings = Settings.from_env()
    configure_logging(settings.log_format, settings.log_level)

    async def until_stopped() -> None:
        """SIGTERM or SIGINT ends it (jobs cut short roll back and are sent again); a Redis outage does not."""
        main_task = asyncio.current_task()
        assert main_task is not None
        loop = asyncio.get_running_loop()
        for stop in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(stop, main_task.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await run_worker(settings, burst=burst)

    asyncio.run(until_stopped())


@main.command("settings", help="The CUTIS_* variables: check this environment's values, or print their table.")
@click.option("--markdown", is_flag=True, help="Print the table of every variable (README's) instead.")
def settings_command(markdown: bool) -> None:
    from server.settings import settings_table

    if markdown:
        click.echo(settings_table())
        return
    settings = Settings.from_env()  # a bad value exits here with one line naming the variable
    click.echo(f"settings are valid ({settings.environment}, {'PostgreSQL' if not settings.is_sqlite else 'SQLite'})")


@main.group(help="Database schema.")
def db() -> None:
    pass


@db.command("upgrade", help="Apply all migrations (SQLite or PostgreSQL from CUTIS_DATABASE_URL).")
@click.option("--revision", default="head", show_default=True, help="The Alembic revision to upgrade to.")
def db_upgrade(revision: str) -> None:
    from server.migrate import upgrade

    settings = Settings.from_env()
    upgrade(settings.owner_database_url, revision)
    click.echo(f"database at revision {revision}")


@main.group(help="The demo tenant.")
def demo() -> None:
    pass


# A table, column or function (the migrations define a few) the code uses is missing: SQLite says so
# in words, PostgreSQL by SQLSTATE (42P01 undefined table, 42703 undefined column, 42883 undefined function).
_SCHEMA_MISSING = ("no such table", "no such column")
_SCHEMA_MISSING_SQLSTATES = ("42P01", "42703", "42883")
NOT_MIGRATED = "the database is not migrated to this release of cutis: run `cutis db upgrade` first"


def schema_missing(error: BaseException) -> bool:
    """Whether a database error says the schema is missing or older than the code (not migrated yet)."""
    original = getattr(error, "orig", None)
    if getattr(original, "sqlstate", None) in _SCHEMA_MISSING_SQLSTATES:
        return True
    return any(words in str(original or error) for words in _SCHEMA_MISSING)


async def _with_factory(action: Callable[[Any], Awaitable[T]]) -> T:
    """Run `action` with a session factory; a database not migrated yet is one line saying what to do."""
    from sqlalchemy.exc import DBAPIError

    from server.db import create_engine, create_session_factory

    engine = create_engine(Settings.from_env())
    try:
        return await action(create_session_factory(engine))
    except DBAPIError as error:
        if schema_missing(error):
            raise click.ClickException(NOT_MIGRATED) from None
        raise
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


@main.group(help="Clinics (tenants).")
def tenant() -> None:
    pass


@tenant.command("create", help="Create a clinic; prints its id.")
@click.argument("slug")
@click.option("--name", required=True, help="The clinic's display name.")
def tenant_create(slug: str, name: str) -> None:
    from server.admin import create_tenant

    try:
        tenant_id = _run(lambda: _with_factory(lambda factory: create_tenant(factory, slug, name)))
    except ValueError as error:  # the slug is taken, or not a slug
        raise click.ClickException(f"{error}: choose another slug") from None
    click.echo(f"clinic {slug} created: {tenant_id}")


@tenant.command("list", help="Every clinic: slug, name and when it was created.")
def tenant_list() -> None:
    from server.admin import list_tenants

    clinics = _run(lambda: _with_factory(list_tenants))
    _echo_rows(("slug", "name", "created"), [(c.slug, c.name, _when(c.created_at)) for c in clinics])


def _when(moment: dt.datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "-"


def _echo_rows(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    """A plain table: columns as wide as their longest cell, or a line saying there is nothing."""
    if not rows:
        click.echo("(none)")
        return
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


def _admin(action: Callable[[Any], Awaitable[T]]) -> T:
    """Run an administration action; its expected refusals (ValueError) are one line and exit 1."""
    try:
        return _run(lambda: _with_factory(action))
    except ValueError as error:
        raise click.ClickException(str(error)) from None


@main.group(help="People.")
def user() -> None:
    pass


@user.command("list", help="The clinic's people: email, role, and whether they have logged in yet.")
@click.option("--tenant", "tenant_slug", required=True, help="The clinic's slug.")
def user_list(tenant_slug: str) -> None:
    from server.admin import list_people

    people = _admin(lambda factory: list_people(factory, tenant_slug))
    _echo_rows(
        ("email", "role", "since"),
        [(m.email, ms.role, _when(ms.accepted_at) if ms.accepted_at else "pending") for m, ms in people],
    )


@user.command("remove", help="Take a person out of a clinic (their account stays for their other clinics).")
@click.argument("email")
@click.option("--tenant", "tenant_slug", required=True, help="The clinic's slug.")
def user_remove(email: str, tenant_slug: str) -> None:
    from server.admin import remove_person

    _admin(lambda factory: remove_person(factory, tenant_slug, email))
    click.echo(f"{email} removed from {tenant_slug}")


@user.command(
    "add",
    help="Add a person to a clinic with a role (creating the account if new; an existing account's "
    "password and second factor are never touched).",
)
@click.argument("email")
@click.option("--tenant", "tenant_slug", required=True, help="The clinic's slug.")
@click.option(
    "--role",
    required=True,
    type=click.Choice(["owner", "practice_manager", "biller", "compliance_reviewer", "onboarding", "read_only"]),
    help="What they may see and do in this clinic (owners and compliance reviewers enroll a second factor).",
)
@click.option("--name", default=None, help="Display name (default: the email).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (else one is generated).")
def user_add(email: str, tenant_slug: str, role: str, name: str | None, password_stdin: bool) -> None:
    from server.admin import add_user

    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    result = _admin(lambda factory: add_user(factory, tenant_slug, email, name or email, role, password))
    click.echo(f"{email} is {role} of {tenant_slug} (pending until they log in)")
    if result.generated_password:
        click.echo(f"password (shown once): {result.generated_password}")
    click.echo("roles that need a second factor enroll one at their first login")


@main.group(help="API keys.")
def key() -> None:
    pass


@key.command("list", help="A clinic's API keys: prefix, name, scopes, created, expires, revoked, last used.")
@click.option("--tenant", "tenant_slug", required=True, help="The clinic's slug.")
def key_list(tenant_slug: str) -> None:
    from server.admin import list_keys

    keys = _admin(lambda factory: list_keys(factory, tenant_slug))
    _echo_rows(
        ("prefix", "name", "scopes", "created", "expires", "revoked", "last used"),
        [
            (
                k.prefix,
                k.name,
                k.scopes,
                _when(k.created_at),
                _when(k.expires_at),
                _when(k.revoked_at),
                _when(k.last_used_at),
            )
            for k in keys
        ],
    )


@key.command("revoke", help="Revoke an API key now, named by its prefix (the column `cutis key list` shows).")
@click.argument("prefix")
@click.option("--tenant", "tenant_slug", required=True, help="The clinic's slug.")
def key_revoke(prefix: str, tenant_slug: str) -> None:
    from server.admin import revoke_key

    revoked = _admin(lambda factory: revoke_key(factory, tenant_slug, prefix))
    click.echo(f"key {revoked.prefix} ({revoked.name}) revoked at {_when(revoked.revoked_at)}")


@key.command("create", help="Create an API key for a clinic and print it (shown once; stored hashed).")
@click.option("--tenant", "tenant_slug", required=True, help="The clinic's slug.")
@click.option("--name", required=True, help="What the key is for, e.g. 'EHR integration'.")
@click.option("--scope", "scopes", multiple=True, help="Permission to grant (repeatable); default all a key may hold.")
@click.option(
    "--expires-in-days",
    type=click.IntRange(min=1),
    default=None,
    help="Days until the key stops working (default: never).",
)
def key_create(tenant_slug: str, name: str, scopes: tuple[str, ...], expires_in_days: int | None) -> None:
    from server.admin import create_key

    plaintext = _admin(lambda factory: create_key(factory, tenant_slug, name, list(scopes) or ["*"], expires_in_days))
    click.echo(plaintext)


@main.group(help="Rulebooks: check, format, test and explain rule files.")
def rules() -> None:
    pass


def _read_rules(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise click.ClickException(f"{path}: not UTF-8 text (byte {error.start})") from None


@rules.command("check", help="Report every problem in the files; exit 1 when any is an error.")
@click.argument("files", nargs=-1, required=True, type=EXISTING_FILE)
@format_option("text", "json")
def rules_check(files: tuple[Path, ...], output_format: str) -> None:
    from rulebooks import authoring
    from server.render import diagnostic_text

    report = {str(path): authoring.check(_read_rules(path)) for path in files}
    if output_format == "json":
        click.echo(json.dumps(report, indent=2))
    else:
        for path in files:
            source = _read_rules(path)
            for diagnostic in report[str(path)]:
                click.echo(diagnostic_text(diagnostic, source, str(path)))
        count = sum(len(d) for d in report.values())
        click.echo(f"{count} problem{'s' if count != 1 else ''} in {len(files)} file{'s' if len(files) != 1 else ''}")
    if any(d["severity"] == "error" for diagnostics in report.values() for d in diagnostics):
        raise SystemExit(1)


@rules.command("fmt", help="Rewrite the files in the canonical format (no options).")
@click.argument("files", nargs=-1, required=True, type=EXISTING_FILE)
@click.option("--check", "check_only", is_flag=True, help="Change nothing; exit 1 when a file is not formatted.")
def rules_fmt(files: tuple[Path, ...], check_only: bool) -> None:
    from rulebooks import authoring
    from server.render import diagnostic_text

    unformatted, broken = [], False
    for path in files:
        source = _read_rules(path)
        result = authoring.format(source)
        if result["text"] is None:
            broken = True
            for diagnostic in result["diagnostics"]:
                click.echo(diagnostic_text(diagnostic, source, str(path)), err=True)
            continue
        if result["changed"]:
            unformatted.append(path)
            if not check_only:
                path.write_text(result["text"], encoding="utf-8")
    for path in unformatted:
        click.echo(f"{'would reformat' if check_only else 'reformatted'} {path}")
    if broken or (check_only and unformatted):
        raise SystemExit(1)


@rules.command("test", help="Run the rulebooks' own tests; exit 1 on any failure.")
@click.argument("files", nargs=-1, required=True, type=EXISTING_FILE)
def rules_test(files: tuple[Path, ...]) -> None:
    from rulebooks import authoring
    from server.render import diagnostic_text, test_report_text

    failed = False
    for path in files:
        source = _read_rules(path)
        report = authoring.run_tests(source)
        errors = [d for d in report.get("diagnostics", []) if d["severity"] == "error"]
        for diagnostic in errors:
            click.echo(diagnostic_text(diagnostic, source, str(path)))
        click.echo(test_report_text(report, str(path)))
        failed = failed or bool(errors) or not report["passed"]
    if failed:
        raise SystemExit(1)


@rules.command("vocabulary", help="Every fact and action rules can use: type, unit, example, phases.")
@format_option("text", "json")
def rules_vocabulary(output_format: str) -> None:
    from rulebooks import authoring

    found = authoring.vocabulary_listing()
    if output_format == "json":
        click.echo(json.dumps(found, indent=2))
        return
    click.echo("Facts (what a rule reads)")
    for fact in found["facts"]:
        unit = f", in {fact['unit']}" if fact["unit"] and fact["unit"] not in fact["type"] else ""
        optional = "" if fact["required"] else ", may be missing"
        click.echo(f"  {fact['fact']}: {fact['type']}{unit}{optional}; phases: {', '.join(fact['phases'])}")
        click.echo(f"      {fact['doc']}")
        click.echo(f"      e.g. {fact['example']}")
        for name, type_words in fact.get("each", {}).items():
            click.echo(f"      .{name}: {type_words}")
    click.echo("Actions (what a rule does)")
    for action in found["actions"]:
        click.echo(f"  {action['action']}; phases: {', '.join(action['phases'])}")
        click.echo(f"      {action['doc']}")
        click.echo(f"      e.g. {action['example']}")


@rules.command("explain", help="Code an encounter with this rulebook (on top of what it extends), with the trace.")
@click.argument("file", type=EXISTING_FILE)
@click.option(
    "--encounter", "encounter_file", required=True, type=EXISTING_FILE, help="The encounter JSON file to code."
)
@format_option("text", "json")
def rules_explain(file: Path, encounter_file: Path, output_format: str) -> None:
    from rulebooks import authoring
    from rulebooks.models import Coding
    from server.encounters import parse_encounter
    from server.errors import InputInvalid
    from server.render import coding_table, diagnostic_text

    source = _read_rules(file)
    try:
        encounter = parse_encounter(json.loads(encounter_file.read_text()))
    except json.JSONDecodeError as error:
        raise click.ClickException(
            f"{encounter_file}: line {error.lineno}, column {error.colno}: {error.msg}"
        ) from None
    except InputInvalid as error:
        for field in error.fields:
            click.echo(f"{encounter_file}: {field.path}: {field.message}", err=True)
        raise SystemExit(1) from None
    result = authoring.explain(source, encounter)
    if output_format == "json":
        click.echo(json.dumps(result, indent=2))
    else:
        for diagnostic in result["diagnostics"]:
            click.echo(diagnostic_text(diagnostic, source, str(file)))
        if result["coding"] is not None:
            click.echo(coding_table(Coding.model_validate(result["coding"]), explain=True))
        for entry in result["trace"]:
            values = ", ".join(f"{k}={v}" for k, v in entry["values"].items())
            click.echo(
                f"rule {entry['rule']} ({file}:{entry['line']}) {entry['status']}" + (f": {values}" if values else "")
            )
    if result["coding"] is None:
        raise SystemExit(1)


@main.group(
    help="Code sets: ICD-10-CM and HCPCS Level II releases, NCCI PTP, MUE and MPFS global days by effective date."
)
def codesets() -> None:
    pass


@codesets.command(
    "load",
    help="Check and install a CMS file of KIND as CMS ships it: icd10cm (order or codes "
    "file), hcpcs (HCPC*_ANWEB.txt), ncci_ptp (practitioner PTP .txt), mue (practitioner services "
    ".csv), global_days (MPFS PPRRVU*.csv).",
)
@click.argument("kind", type=click.Choice(CODESET_KINDS))
@click.argument("file", type=EXISTING_FILE)
@click.option("--effective", required=True, help="First date of service it applies to (YYYY-MM-DD).")
@click.option("--source", default=None, help="Where the file came from (default: its file name).")
@click.option(
    "--force", is_flag=True, help="Replace a different release of KIND already installed for the same --effective date."
)
def codesets_load(kind: str, file: Path, effective: str, source: str | None, force: bool) -> None:
    from rulebooks.dated_codesets import CodesetKind
    from server.codesets import install

    try:
        entry = install(
            Settings.from_env().data_dir,
            cast(CodesetKind, kind),
            file,
            dt.date.fromisoformat(effective),
            source or file.name,
            force=force,
        )
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    click.echo(
        f"installed {entry['entries']} {kind} entries effective {entry['effective']} (sha256 {entry['sha256'][:12]})"
    )


@codesets.command("list", help="The installed code-set files.")
def codesets_list() -> None:
    from server.codesets import installed

    entries = installed(Settings.from_env().data_dir)
    if not entries:
        click.echo("only the built-in sets (ICD-10-CM FY2026, the derm NCCI/MUE subset)")
    for entry in entries:
        click.echo(
            f"{entry['kind']:<9} effective {entry['effective']}  {entry['entries']:>6} entries  "
            f"{entry['source']}  sha256 {entry['sha256'][:12]}"
        )


@codesets.command(
    "status",
    help="Which releases are loaded for which dates of service, which one codes DATE (default today), "
    "and what to load next.",
)
@click.option("--date", "on", default=None, help="The date of service to check (YYYY-MM-DD; default today).")
@format_option("text", "json")
def codesets_status(on: str | None, output_format: str) -> None:
    from rulebooks.codeset_status import codeset_status
    from rulebooks.dated_codesets import default_codesets
    from server.codesets import load_installed

    try:
        day = dt.date.fromisoformat(on) if on else dt.datetime.now(dt.UTC).date()
    except ValueError:
        raise click.ClickException(f"--date {on!r}: expected a date such as 2026-12-08") from None
    load_installed(Settings.from_env().data_dir)
    statuses = codeset_status(default_codesets(), day)
    if output_format == "json":
        click.echo(
            json.dumps(
                {"date": day.isoformat(), "code_sets": [dataclasses.asdict(s) for s in statuses]}, indent=2, default=str
            )
        )
        return
    click.echo(f"code sets for dates of service on {day}")
    for status in statuses:
        state = "current" if status.current else "NOT CURRENT"
        click.echo(f"{status.kind:<12} {state:<12} in use: {status.in_use}")
        for release in status.releases:
            span = (
                "any date no loaded file covers"
                if release.first_date is None
                else (f"from {release.first_date}" + (f" to {release.last_date}" if release.last_date else ""))
            )
            click.echo(f"{'':<12} loaded: {release.name} ({span})")
        if status.load_next:
            click.echo(f"{'':<12} load next: {status.load_next}")


@main.command("check-documentation", help="Findings, classifications and provider queries for an encounter file.")
@click.argument("file", type=EXISTING_FILE)
@format_option("text", "json")
def check_documentation_command(file: Path, output_format: str) -> None:
    from rulebooks.notes import check_documentation

    encounter = _encounter_from_file(file)
    result = check_documentation(encounter).to_dict()
    if output_format == "json":
        click.echo(json.dumps(result, indent=2))
        return
    note = encounter.note or ""
    for finding in result["findings"]:
        context = f" ({', '.join(finding['context'])})" if finding.get("context") else ""
        click.echo(
            f"finding {finding['label']:<22} [{finding['start']}, {finding['end']}) "
            f"{note[finding['start'] : finding['end']]!r}{context}"
        )
    for classification in result["classifications"].values():
        click.echo(f"service {classification['service_id']}: {classification['category']}")
        for reason in classification["reasons"]:
            click.echo(f"    because {reason['message']}")
    for query in result["queries"]:
        click.echo(f"QUERY for service {query['service_id']}: {query['text']}")


def refuse_long_note(file: Path, payload: Any) -> None:
    """A note longer than the API accepts is refused before any analysis, saying by how much.

    Note analysis is linear in the note, but the limit is the contract every entry point keeps;
    the message gives lengths only, never the text (PHI).
    """
    from rulebooks.models.encounter import MAX_NOTE_CHARS

    note = payload.get("note") if isinstance(payload, dict) else None
    if isinstance(note, str) and len(note) > MAX_NOTE_CHARS:
        raise click.ClickException(
            f"{file}: note: {len(note):,} characters; a note has at most {MAX_NOTE_CHARS:,} "
            f"({len(note) - MAX_NOTE_CHARS:,} too many: split it into separate encounters or addenda)"
        )


def _encounter_from_file(file: Path) -> Any:
    from server.encounters import parse_encounter
    from server.errors import InputInvalid

    try:
        payload = json.loads(file.read_text())
    except json.JSONDecodeError as error:
        raise click.ClickException(f"{file}: line {error.lineno}, column {error.colno}: {error.msg}") from None
    refuse_long_note(file, payload)
    try:
        return parse_encounter(payload)
    except InputInvalid as error:
        for field in error.fields:
            click.echo(f"{file}: {field.path}: {field.message}", err=True)
        raise SystemExit(1) from None


@main.command("code", help="Code an encounter JSON file offline and print the Coding.")
@click.argument("file", type=EXISTING_FILE)
@click.option(
    "--payer",
    default=None,
    help="Code as if the coverage were this payer code (one of the clinic's payers: with --tenant, that "
    "clinic's; without, the demo clinic's).",
)
@format_option("table", "json")
@click.option("--explain", is_flag=True, help="With --format table, print every reason under its line.")
@click.option("--coded-at", default=None, help="ISO timestamp to stamp (default: now).")
@click.option(
    "--tenant",
    "tenant_slug",
    default=None,
    help="Code with this clinic's published rulebooks and fees (from the database), as its API and worker do; "
    "without it, with the shipped library and the demo fees. Nothing is stored.",
)
def code_command(
    file: Path, payer: str | None, output_format: str, explain: bool, coded_at: str | None, tenant_slug: str | None
) -> None:
    from rulebooks.coding import code_encounter, payer_stack
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
    from server.codesets import load_installed

    load_installed(Settings.from_env().data_dir)
    try:
        moment = dt.datetime.fromisoformat(coded_at) if coded_at else dt.datetime.now(dt.UTC)
    except ValueError as error:
        raise click.ClickException(
            f"--coded-at {coded_at!r} is not an ISO timestamp such as 2026-11-02T09:30:00+00:00 ({error})"
        ) from None
    if tenant_slug is not None:
        from rulebooks.clinic_stack import build_stack

        sources, fees, payers = _run(
            lambda: _with_factory(lambda factory: _clinic_stack(factory, tenant_slug, encounter))
        )
        _require_known_payer(payer, payers, f"clinic {tenant_slug!r}")
        stack, fee_schedules = build_stack(sources), fees
    else:
        from server.demo import demo_payer_rows

        _require_known_payer(payer, [row["code"] for row in demo_payer_rows()], "demo clinic")
        stack, fee_schedules = payer_stack(encounter.coverage.payer), demo_fee_schedules()
    coding = code_encounter(
        encounter, encounter_id=encounter.external_id, coded_at=moment, fees=fee_schedules, stack=stack
    ).coding
    if output_format == "json":
        click.echo(coding.model_dump_json(indent=2))
        return
    from server.render import coding_table

    click.echo(coding_table(coding, explain=explain))


@rules.command(
    "replay",
    help="Replay a rulebook's current draft against the clinic's last stored encounters and print what it "
    "would change, with a progress bar. The chunks run in this process's CPU pool, or, with --queue, on the "
    "running `cutis worker` processes.",
)
@click.option("--tenant", "tenant_slug", required=True, help="The clinic's slug.")
@click.option("--rulebook", "rulebook_name", required=True, help="The rulebook's name in the clinic.")
@click.option("--encounters", default=1000, show_default=True, help="How many of the last stored encounters.")
@click.option("--queue", is_flag=True, help="Leave the chunks to the workers (needs CUTIS_REDIS_URL) and follow them.")
@format_option("table", "json")
def rules_replay(tenant_slug: str, rulebook_name: str, encounters: int, queue: bool, output_format: str) -> None:
    settings = Settings.from_env()
    if queue and not settings.redis_url:
        raise click.ClickException("--queue needs CUTIS_REDIS_URL: the workers take their jobs from Redis")
    found = _run(
        lambda: _with_factory(lambda factory: _replay(factory, settings, tenant_slug, rulebook_name, encounters, queue))
    )
    if output_format == "json":
        click.echo(json.dumps(found, indent=2))
        return
    total = found["total"]
    click.echo(f"{found['status']}: {total['encounters']} encounters replayed, {total['changed']} code differently")
    click.echo(
        f"  lines added {total['lines_added']}, removed {total['lines_removed']}, changed {total['lines_changed']}; "
        f"flags changed {total['flags_changed']}, holds changed {total['holds_changed']}"
    )
    click.echo(f"  charges up {total['charges_up']}, down {total['charges_down']}")
    for group in ("payers", "families"):
        for name, tally in found[group].items():
            click.echo(
                f"  {name:28s} {tally['changed']:6d} of {tally['encounters']:6d} change; "
                f"up {tally['charges_up']}, down {tally['charges_down']}"
            )
    click.echo(f"  {found['seconds']:.1f} s, {found['per_second']:.0f} encounters/s")


async def _replay(factory: Any, settings: Any, slug: str, name: str, encounters: int, queue: bool) -> dict[str, Any]:
    """Start the replay as the API does, then run its chunks here (or relay them to the workers),
    showing progress until every chunk is done."""
    import time

    from sqlalchemy import select

    from server import impact_replay
    from server.cpu import CpuPool
    from server.db import SessionAlone, global_session, tenant_session
    from server.errors import REFUSALS
    from server.models import RulebookRecord
    from tenants import accounts
    from tenants.keys import Principal

    async with global_session(factory) as session:
        clinic = await accounts.clinic_by_slug(session, slug)
    if clinic is None:
        raise click.ClickException(f"no clinic with the slug {slug!r}")
    cpu = CpuPool(settings.data_dir, processes=settings.cpu_processes, budget_seconds=settings.cpu_budget_seconds)
    started = time.perf_counter()
    try:
        async with tenant_session(factory, clinic.id) as session:
            rulebook = (
                await session.execute(select(RulebookRecord.id).where(RulebookRecord.name == name))
            ).scalar_one_or_none()
            if rulebook is None:
                raise click.ClickException(f"the clinic has no rulebook named {name!r}")
            try:
                replay, messages = await impact_replay.start(
                    SessionAlone(session), cpu, Principal(tenant_id=clinic.id), rulebook, encounters
                )
            except REFUSALS as error:
                raise click.ClickException(str(error)) from None
        running: asyncio.Future[Any] | None = None
        if queue:
            from server.jobs import ArqQueue, OutboxRef, relay

            redis_queue = ArqQueue(settings.redis_url)
            try:
                await relay(factory, redis_queue, [OutboxRef(message.id, clinic.id) for message in messages])
            finally:
                await redis_queue.close()
        else:
            side_by_side = asyncio.Semaphore(cpu.processes)

            async def one(chunk_id: Any) -> None:
                async with side_by_side, tenant_session(factory, clinic.id) as session:
                    await impact_replay.run_chunk(session, chunk_id, cpu)

            running = asyncio.gather(*(one(message.subject_id) for message in messages))
        with click.progressbar(length=replay.total, label="replaying", file=sys.stderr) as bar:
            shown = 0
            while True:
                async with tenant_session(factory, clinic.id) as session:
                    progress = await impact_replay.progress(session, replay.id)
                bar.update(progress.done - shown)
                shown = progress.done
                if progress.replay.status != "running":
                    break
                if running is not None and running.done():
                    running.result()  # a chunk that failed says why
                await asyncio.sleep(0.5)
    finally:
        cpu.shutdown()
    seconds = time.perf_counter() - started
    return {
        **progress.impact.to_dict(),
        "status": progress.replay.status,
        "seconds": seconds,
        "per_second": progress.done / seconds if seconds else 0.0,
    }


PROFILE_OPTION = click.option(
    "--profile",
    default="generic",
    show_default=True,
    help="The EHR's vendor profile (server/ehr/profiles/NAME.toml): where its messages carry the visit number, "
    "the chart number, the payer, the staff's charges, the site and the note. See `cutis ehr-profiles`.",
)


def _check_profile(profile: str) -> None:
    from server.ehr.profile import ProfileError, load

    try:
        load(profile)
    except ProfileError as error:
        raise click.BadParameter(str(error), param_hint="--profile") from None


@main.command(
    "import",
    help="Import EHR messages from a file or a folder (.json: a FHIR R4 Bundle or resource; any other file: HL7 "
    "v2 messages) into the clinic, with a progress bar. The same message twice is imported once; a message "
    "that cannot be used is quarantined with where and why, and the rest go on.",
)
@click.argument("path", type=ExistingPath(dir_okay=True))
@click.option("--tenant", "tenant_slug", required=True, help="The clinic's slug.")
@format_option("table", "json")
@click.option(
    "--watch",
    is_flag=True,
    help="PATH is a drop folder: import each .json or .hl7 file written into it once it stops growing, then "
    "move it to PATH/done; runs until stopped.",
)
@click.option("--interval", default=5.0, show_default=True, help="With --watch: seconds between looks.")
@PROFILE_OPTION
def import_command(
    path: Path, tenant_slug: str, output_format: str, watch: bool, interval: float, profile: str
) -> None:
    from server.ehr.imports import messages_in

    _check_profile(profile)
    if watch:
        if not path.is_dir():
            raise click.ClickException("--watch needs a folder")
        _run(lambda: _with_factory(lambda factory: _watch(factory, tenant_slug, path, interval, profile)))
        return
    messages = list(messages_in(path, profile))
    tally, seconds = _run(lambda: _with_factory(lambda factory: _import(factory, tenant_slug, messages)))
    found = {**tally, "seconds": round(seconds, 3), "per_second": round(tally["read"] / seconds if seconds else 0.0)}
    if output_format == "json":
        click.echo(json.dumps(found, indent=2))
        return
    click.echo(
        f"{found['read']} messages: {found['imported']} imported, {found['waiting']} waiting for the rest of their "
        f"visit, {found['already']} already imported, {found['quarantined']} quarantined; "
        f"{found['versions']} new encounter versions"
    )
    click.echo(f"  {seconds:.1f} s, {found['per_second']} messages/s")


async def _watch(factory: Any, slug: str, folder: Path, interval: float, profile: str) -> None:
    from server.cpu import InlineCpu
    from server.ehr.drop_folder import watch

    clinic_id = await _clinic_id(factory, slug)
    click.echo(f"watching {folder} (every {interval:g} s); imported files move to {folder / 'done'}", err=True)

    def report(path: Path, tally: Any) -> None:
        found = tally.to_dict()
        click.echo(
            f"{path.name}: {found['read']} messages, {found['imported']} imported, {found['waiting']} waiting, "
            f"{found['already']} already imported, {found['quarantined']} quarantined, {found['versions']} new "
            "encounter versions"
        )

    with contextlib.suppress(KeyboardInterrupt, asyncio.CancelledError):
        async with _job_queue() as queue:
            await watch(
                folder, factory, InlineCpu(), clinic_id, report, interval_seconds=interval, queue=queue, profile=profile
            )


async def _clinic_id(factory: Any, slug: str) -> Any:
    from server.db import global_session
    from tenants import accounts

    async with global_session(factory) as session:
        clinic = await accounts.clinic_by_slug(session, slug)
    if clinic is None:
        raise click.ClickException(f"no clinic with the slug {slug!r}")
    return clinic.id


async def _import(factory: Any, slug: str, messages: list[Any]) -> tuple[dict[str, int], float]:
    import time

    from server.cpu import InlineCpu
    from server.ehr.imports import import_stream

    clinic_id = await _clinic_id(factory, slug)
    started = time.perf_counter()
    async with _job_queue() as queue:
        with click.progressbar(length=len(messages), label="importing", file=sys.stderr) as bar:
            # the command line has no event loop to keep free: parsing runs here (InlineCpu)
            tally = await import_stream(
                factory,
                InlineCpu(),
                clinic_id,
                "file",
                messages,
                progress=lambda done: bar.update(done.read),
                queue=queue,
            )
    return tally.to_dict(), time.perf_counter() - started


@contextlib.asynccontextmanager
async def _job_queue() -> Any:
    """The workers' queue when CUTIS_REDIS_URL is set (imported encounters are coded at once), else None."""
    settings = Settings.from_env()
    if not settings.redis_url:
        yield None
        return
    from server.jobs import ArqQueue

    queue = ArqQueue(settings.redis_url)
    try:
        yield queue
    finally:
        await queue.close()


@main.command(
    "ehr-profiles",
    help="The EHR vendor profiles `cutis import --profile` takes: each with the documents it follows and "
    "whether its mapping could be checked against them.",
)
@format_option("table", "json")
def ehr_profiles_command(output_format: str) -> None:
    from server.ehr.profile import load, names

    profiles = [load(name) for name in names()]
    if output_format == "json":
        found = [
            {"name": p.name, "title": p.title, "verified": p.verified, "sources": list(p.sources)} for p in profiles
        ]
        click.echo(json.dumps(found, indent=2))
        return
    for profile in profiles:
        state = "verified" if profile.verified else "NOT verified"
        click.echo(f"{profile.name:<16} {profile.title} ({state})")
        for source in profile.sources:
            click.echo(f"  {source['url']}")


@main.command(
    "mllp",
    help="Listen for HL7 v2 messages over MLLP and import them into the clinic; each message is answered with "
    "an ACK (AA stored, AE quarantined with ERR saying where and why, AR not stored: send again).",
)
@click.option("--tenant", "tenant_slug", required=True, help="The clinic's slug.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", type=int, default=2575, show_default=True, help="TCP port to listen on (2575: HL7's).")
def mllp_command(tenant_slug: str, host: str, port: int) -> None:
    settings = Settings.from_env()
    _run(lambda: _with_factory(lambda factory: _listen(factory, settings, tenant_slug, host, port)))


async def _listen(factory: Any, settings: Any, slug: str, host: str, port: int) -> None:
    from server.cpu import CpuPool
    from server.ehr.mllp import import_handler, serve_mllp

    clinic_id = await _clinic_id(factory, slug)
    cpu = CpuPool(settings.data_dir, processes=settings.cpu_processes, budget_seconds=settings.cpu_budget_seconds)
    try:
        async with _job_queue() as queue:
            server = await serve_mllp(host, port, import_handler(factory, cpu, clinic_id, queue))
            click.echo(f"listening for MLLP on {host}:{server.sockets[0].getsockname()[1]}", err=True)
            async with server:
                await server.serve_forever()
    finally:
        cpu.shutdown()


@main.command(
    "pull",
    help="Pull the visits dated SINCE..UNTIL from one of the clinic's FHIR connections (saveEhrConnection) and "
    "import them, reporting each page as it is imported.",
)
@click.option("--tenant", "tenant_slug", required=True, help="The clinic's slug.")
@click.option("--connection", "connection_name", required=True, help="The connection's name.")
@click.option(
    "--since", type=click.DateTime(formats=["%Y-%m-%d"]), required=True, help="First date of service (YYYY-MM-DD)."
)
@click.option("--until", type=click.DateTime(formats=["%Y-%m-%d"]), default=None, help="Default: today.")
@PROFILE_OPTION
def pull_command(
    tenant_slug: str, connection_name: str, since: dt.datetime, until: dt.datetime | None, profile: str
) -> None:
    _check_profile(profile)
    settings = Settings.from_env()
    last = (until or dt.datetime.now()).date()
    tally = _run(
        lambda: _with_factory(
            lambda factory: _pull(factory, settings, tenant_slug, connection_name, since.date(), last, profile)
        )
    )
    click.echo(
        f"{tally['read']} visits: {tally['imported']} imported, {tally['already']} already imported, "
        f"{tally['quarantined']} quarantined; {tally['versions']} new encounter versions"
    )


async def _pull(
    factory: Any, settings: Any, slug: str, name: str, since: dt.date, until: dt.date, profile: str
) -> dict[str, int]:
    from server.cpu import InlineCpu
    from server.db import tenant_session
    from server.ehr.connections import connection_by_name
    from server.ehr.pull import PullFailed, pull

    clinic_id = await _clinic_id(factory, slug)
    async with tenant_session(factory, clinic_id) as session:
        connection = await connection_by_name(session, name)
    if connection is None:
        raise click.ClickException(f"the clinic has no EHR connection named {name!r}")
    pages = 0

    def shown(_: Any) -> None:
        nonlocal pages
        pages += 1
        click.echo(f"page {pages} imported", err=True)

    try:
        async with _job_queue() as queue:
            tally = await pull(
                factory,
                InlineCpu(),
                settings.secret_box(),
                clinic_id,
                connection.id,
                since,
                until,
                shown,
                queue=queue,
                profile=profile,
            )
    except PullFailed as error:
        raise click.ClickException(str(error)) from None
    return tally.to_dict()


def _require_known_payer(payer: str | None, known: list[str], whose: str) -> None:
    """`--payer` must name one of the clinic's payers: an unknown code would silently code with the base alone."""
    if payer is not None and payer not in known:
        raise click.ClickException(
            f"unknown payer {payer!r}: the {whose}'s payers are {', '.join(sorted(known)) or 'none yet'}"
        )


async def _clinic_stack(factory: Any, slug: str, encounter: Any) -> tuple[Any, Any, list[str]]:
    """The clinic's stack for the encounter, resolved as the API resolves it, its fees and its payer codes."""
    from sqlalchemy import select

    from server import rulebook_versions
    from server.db import global_session, tenant_session
    from server.encounters import load_fee_schedules
    from server.models import Payer
    from tenants import accounts

    async with global_session(factory) as session:
        clinic = await accounts.clinic_by_slug(session, slug)
    if clinic is None:
        raise click.ClickException(f"no clinic with the slug {slug!r}")
    async with tenant_session(factory, clinic.id) as session:
        sources = await rulebook_versions.resolve(session, encounter.date_of_service, encounter.coverage.payer)
        fees = await load_fee_schedules(session)
        payers = list((await session.execute(select(Payer.code))).scalars())
    return sources, fees, payers


def _add_claims() -> None:
    from server.claims.cli import claims

    main.add_command(claims)


_add_claims()


if __name__ == "__main__":
    sys.exit(main())
