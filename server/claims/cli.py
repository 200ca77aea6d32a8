"""`cutis claims`: build an 837P from an offline coding, and check any 837P file."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import click

EXAMPLE_SETUP = Path(__file__).resolve().parents[2] / "docs" / "examples" / "billing-setup.json"
existing_file = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.group(help="Claims: build the 837P from a coding, check 837P files, and manage the billing setup.")
def claims() -> None:
    pass


@claims.command(
    "build",
    help="Write the 837P (005010X222A1) for CODING.json (what `cutis code --format json` prints) to standard "
    "output, after reading it back with pyx12 and the semantic checks; exit 1 with every located problem when "
    "it cannot be built or is not valid.",
)
@click.argument("coding_file", metavar="CODING.json", type=existing_file)
@click.option("--encounter", "encounter_file", type=existing_file, required=True, help="The coded encounter's JSON.")
@click.option("--subscriber", "subscriber_file", type=existing_file, required=True, help="The insured's JSON.")
@click.option(
    "--billing",
    "billing_file",
    type=existing_file,
    default=EXAMPLE_SETUP,
    show_default="docs/examples/billing-setup.json",
    help="The billing setup.",
)
@click.option(
    "--frequency",
    type=click.Choice(["1", "7", "8"]),
    default="1",
    show_default=True,
    help="1 original, 7 replacement, 8 void.",
)
@click.option(
    "--original", "payer_claim_control_number", default=None, help="For 7 and 8: the payer's number of the original."
)
@click.option("--claim-number", default=None, help="CLM01 (default: the encounter id and -1).")
@click.option(
    "--tenant",
    "tenant_slug",
    default=None,
    help="Use this clinic's saved billing setup (from the database) instead of --billing.",
)
@click.option("--clearinghouse", default=None, help="The clearinghouse's code (default: the setup's default).")
@click.option("--control-number", type=int, default=1, show_default=True, help="ISA13 / GS06.")
@click.option("--created-at", default=None, help="ISO timestamp for the envelope (default: now).")
def build_command(
    coding_file: Path,
    encounter_file: Path,
    subscriber_file: Path,
    billing_file: Path,
    frequency: str,
    payer_claim_control_number: str | None,
    claim_number: str | None,
    tenant_slug: str | None,
    clearinghouse: str | None,
    control_number: int,
    created_at: str | None,
) -> None:
    from pydantic import ValidationError

    from rulebooks.models import Coding
    from server.claims.build import parse_claim_header, parse_subscriber, patient_control_number
    from server.claims.checks import ClaimInvalid, build_checked_837p
    from server.claims.setup import parse_billing_setup
    from server.encounters import parse_encounter
    from server.errors import InputInvalid
    from server.validation_paths import field_errors

    try:
        coding = Coding.model_validate(_json(coding_file))
    except ValidationError as error:
        _fail([(coding_file, f"{f.path}: {f.message}") for f in field_errors(error, root="coding")])
    try:
        encounter = parse_encounter(_json(encounter_file))
        subscriber = parse_subscriber(_json(subscriber_file))
        setup = parse_billing_setup(_saved_setup(tenant_slug) if tenant_slug else _json(billing_file))
        header = parse_claim_header(
            {
                "patient_control_number": claim_number or patient_control_number(coding.encounter_id),
                "frequency": frequency,
                "payer_claim_control_number": payer_claim_control_number,
                "clearinghouse": clearinghouse,
                "interchange_control_number": control_number,
                "created_at": created_at or dt.datetime.now(dt.UTC).isoformat(),
            }
        )
        claim = build_checked_837p(coding, encounter, subscriber, setup, header)
    except InputInvalid as error:
        _fail([(None, f"{f.path}: {f.message}") for f in error.fields] or [(None, error.message)])
    except ClaimInvalid as error:
        _fail([(None, str(problem)) for problem in error.problems])
    click.echo(claim.text, nl=False)


@claims.command(
    "check",
    help="Check 837P files with pyx12 and the semantic checks (and, with --coding, line by line against the "
    "coding); print every problem with its loop, segment and element; exit 1 when any file has one.",
)
@click.argument("files", nargs=-1, required=True, type=existing_file)
@click.option("--coding", "coding_file", type=existing_file, default=None, help="The coding the claim was built from.")
def check_command(files: tuple[Path, ...], coding_file: Path | None) -> None:
    from rulebooks.models import Coding
    from server.claims.checks import check_837p
    from server.errors import InputInvalid

    coding = Coding.model_validate(_json(coding_file)) if coding_file else None
    failed = False
    for file in files:
        try:
            problems = [str(problem) for problem in check_837p(file.read_text(), coding)]
        except InputInvalid as error:
            problems = [str(error)]
        except UnicodeDecodeError:
            problems = ["not a text file"]
        for problem in problems:
            click.echo(f"{file}: {problem}", err=True)
        if problems:
            failed = True
        else:
            click.echo(f"{file}: valid 837P")
    if failed:
        raise SystemExit(1)


@claims.group(
    "setup", help="The clinic's billing setup in the database (what billingSetup and saveBillingSetup read and save)."
)
def setup_group() -> None:
    pass


@setup_group.command("show", help="Print the clinic's latest billing setup revision as JSON.")
@click.option("--tenant", "tenant_slug", required=True, help="The clinic's slug.")
def setup_show(tenant_slug: str) -> None:
    from server.claims import service

    async def read(session: Any, _tenant_id: Any) -> Any:
        row = await service.billing_setup_of_clinic(session)
        return None if row is None else {"revision": row.revision, "setup": row.document}

    found = _in_clinic(tenant_slug, read)
    if found is None:
        raise click.ClickException(f"clinic {tenant_slug!r} has no billing setup yet: cutis claims setup save FILE")
    click.echo(json.dumps(found, indent=2))


@setup_group.command(
    "save",
    help="Validate FILE (the shape of docs/examples/billing-setup.json) and save it as the clinic's next billing "
    "setup revision; exit 1 with the path of every problem, storing nothing.",
)
@click.argument("file", type=existing_file)
@click.option("--tenant", "tenant_slug", required=True, help="The clinic's slug.")
@click.option(
    "--base-revision",
    type=int,
    default=None,
    help="The revision this file was made from; refused if the clinic saved a newer one since (default: the latest).",
)
def setup_save(file: Path, tenant_slug: str, base_revision: int | None) -> None:
    from server.claims import service
    from server.cpu import InlineCpu
    from server.errors import Conflict, InputInvalid

    payload = _json(file)

    async def save(session: Any, tenant_id: Any) -> Any:
        base = base_revision
        if base is None:
            latest = await service.billing_setup_of_clinic(session)
            base = latest.revision if latest else None
        try:
            row = await service.save_billing_setup(session, InlineCpu(), tenant_id, None, payload, base)
        except InputInvalid as error:
            return [f"{file}: {field.path}: {field.message}" for field in error.fields]
        except Conflict as error:
            return [f"{file}: {error.message}"]
        return row.revision

    saved = _in_clinic(tenant_slug, save)
    if isinstance(saved, list):
        _fail([(None, problem) for problem in saved])
    click.echo(f"saved billing setup revision {saved} for {tenant_slug}")


def _saved_setup(slug: str) -> Any:
    from server.claims import service

    async def read(session: Any, _tenant_id: Any) -> Any:
        row = await service.billing_setup_of_clinic(session)
        return None if row is None else row.document

    document = _in_clinic(slug, read)
    if document is None:
        raise click.ClickException(f"clinic {slug!r} has no billing setup yet: cutis claims setup save FILE")
    return document


def _in_clinic(slug: str, action: Any) -> Any:
    """Run `action(session, tenant_id)` in one transaction of the clinic's."""
    import asyncio

    from server.db import create_engine, create_session_factory, global_session, tenant_session
    from server.settings import Settings
    from tenants import accounts

    async def run() -> Any:
        engine = create_engine(Settings.from_env())
        try:
            factory = create_session_factory(engine)
            async with global_session(factory) as session:
                clinic = await accounts.clinic_by_slug(session, slug)
            if clinic is None:
                raise click.ClickException(f"no clinic with the slug {slug!r}")
            async with tenant_session(factory, clinic.id) as session:
                return await action(session, clinic.id)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _json(file: Path) -> Any:
    try:
        return json.loads(file.read_text())
    except json.JSONDecodeError as error:
        raise click.ClickException(f"{file}: line {error.lineno}, column {error.colno}: {error.msg}") from None


def _fail(problems: list[tuple[Path | None, str]]) -> Any:
    for file, problem in problems:
        click.echo(f"{file}: {problem}" if file else problem, err=True)
    raise SystemExit(1)
