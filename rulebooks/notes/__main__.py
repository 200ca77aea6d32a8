"""``python -m rulebooks.notes ENC.json``: check one encounter's documentation, print the result as JSON.

A developer's tool and the core of ``cutis check-documentation`` (which the CLI owner wires in
server/cli.py): the file is an Encounter as CONTRACTS.md defines it; ``--payer-criteria``
picks MEDICARE or COMMERCIAL instead of the plan type's default.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pydantic import ValidationError

from rulebooks.models.encounter import Encounter
from rulebooks.notes.criteria import COMMERCIAL, MEDICARE
from rulebooks.notes.documentation import check_documentation


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rulebooks.notes", description=__doc__.splitlines()[0])
    parser.add_argument("encounter", type=Path, help="an Encounter as JSON")
    parser.add_argument("--payer-criteria", choices=["MEDICARE", "COMMERCIAL"], default=None)
    args = parser.parse_args(argv)
    try:
        encounter = Encounter.model_validate_json(args.encounter.read_text(encoding="utf-8"))
    except ValidationError as error:  # name the field and why; never echo its value (a note is PHI)
        for issue in error.errors(include_url=False, include_input=False):
            location = ".".join(str(part) for part in issue["loc"]) or "encounter"
            print(f"{args.encounter}: {location}: {issue['msg']}", file=sys.stderr)
        return 2
    criteria = {"MEDICARE": MEDICARE, "COMMERCIAL": COMMERCIAL}.get(args.payer_criteria or "")
    result = check_documentation(encounter, criteria)
    json.dump(result.to_dict(), sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
