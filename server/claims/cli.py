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
        setup = parse_billing_setup(_json(billing_file))
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


def _json(file: Path) -> Any:
    try:
        return json.loads(file.read_text())
    except json.JSONDecodeError as error:
        raise click.ClickException(f"{file}: line {error.lineno}, column {error.colno}: {error.msg}") from None


def _fail(problems: list[tuple[Path | None, str]]) -> Any:
    for file, problem in problems:
        click.echo(f"{file}: {problem}" if file else problem, err=True)
    raise SystemExit(1)
