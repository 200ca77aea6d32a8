"""EHR import throughput: 10,000 encounters through `cutis import`, then the same import again.

Run: .venv/bin/python benchmarks/ehr_import_bench.py [--encounters 10000] [--database-url URL]

What runs is what a clinic runs: a fresh database (SQLite in a temporary folder unless
--database-url names an empty, migrated-or-not PostgreSQL database), `cutis db upgrade`, `cutis demo
seed`, then `cutis import FOLDER --tenant demo` as a subprocess, its progress bar drawn on this
terminal. The folder holds half the encounters as FHIR R4 bundles (one file each, built from the
fixture bundle with a new visit id, chart number, date and procedure) and half as HL7 v2 visits
(ADT^A04, MDM^T02 and DFT^P03 each, in batch files of 500 visits). The second import of the same
folder must create nothing: it prints both runs' counts, seconds and messages per second. Asserts
the counts, not the time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures" / "ehr"
PROCEDURES = ("11102", "11104", "11106", "17000", "11301", "99213")
HL7_BATCH = 500


def write_fhir(folder: Path, count: int) -> None:
    template = json.loads((FIXTURES / "visit_fhir_bundle.json").read_text())
    for n in range(count):
        bundle = json.loads(json.dumps(template))
        day = dt.date(2025, 1, 2) + dt.timedelta(days=n % 300)
        for entry in bundle["entry"]:
            resource = entry["resource"]
            if resource["resourceType"] == "Encounter":
                resource["identifier"] = [{"system": "urn:example:visit", "value": f"FHIR-{n:06d}"}]
                resource["period"] = {"start": f"{day.isoformat()}T09:00:00-06:00"}
            elif resource["resourceType"] == "Patient":
                resource["identifier"][0]["value"] = f"MRN{n % 4000:06d}"
            elif resource["resourceType"] == "Procedure":
                resource["code"]["coding"][0]["code"] = PROCEDURES[n % 4]
        (folder / f"fhir-{n:06d}.json").write_text(json.dumps(bundle))


def write_hl7(folder: Path, count: int) -> None:
    adt, mdm, dft = (
        (FIXTURES / f"visit_hl7v2_{name}.hl7").read_text().strip() for name in ("adt_a04", "mdm_t02", "dft_p03")
    )
    for batch in range(0, count, HL7_BATCH):
        messages = []
        for n in range(batch, min(batch + HL7_BATCH, count)):
            day = (dt.date(2025, 1, 2) + dt.timedelta(days=n % 300)).strftime("%Y%m%d")
            for index, message in enumerate((adt, mdm, dft)):
                text = message.replace("V0001^", f"HL7-{n:06d}^").replace("MRN12345", f"MRN{n % 4000:06d}")
                text = text.replace("|MSG0000", f"|M{n:06d}-{index}-").replace("20250110", day)
                messages.append(text.replace("11102^", f"{PROCEDURES[n % 3]}^"))
        (folder / f"hl7-{batch:06d}.hl7").write_text("\n".join(messages) + "\n")


def cutis(env: dict[str, str], *args: str, show_progress: bool = False) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "server.cli", *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=None if show_progress else subprocess.PIPE,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"cutis {' '.join(args)} failed: {result.stderr}")
    return result.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--encounters", type=int, default=10_000)
    parser.add_argument("--database-url", default=None)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cutis-ehr-bench-") as temp:
        folder = Path(temp) / "drop"
        folder.mkdir()
        fhir_count = options.encounters // 2
        started = time.perf_counter()
        write_fhir(folder, fhir_count)
        write_hl7(folder, options.encounters - fhir_count)
        print(f"wrote {options.encounters:,} encounters in {time.perf_counter() - started:.1f} s to {folder}")
        env = {
            **os.environ,
            "CUTIS_DATABASE_URL": options.database_url or f"sqlite+aiosqlite:///{Path(temp) / 'cutis.sqlite3'}",
            "CUTIS_DATA_DIR": temp,
        }
        env.pop("CUTIS_REDIS_URL", None)
        cutis(env, "db", "upgrade")
        cutis(env, "demo", "seed")
        runs: list[dict[str, Any]] = []
        for label in ("first import", "same folder again"):
            found = json.loads(
                cutis(env, "import", str(folder), "--tenant", "demo", "--format", "json", show_progress=True)
            )
            runs.append(found)
            print(
                f"{label:18s} {found['read']:7,d} messages  {found['imported']:7,d} imported  "
                f"{found['waiting']:6,d} waiting  {found['already']:7,d} already  "
                f"{found['quarantined']:4,d} quarantined  "
                f"{found['versions']:7,d} versions  {found['seconds']:7.1f} s  {found['per_second']:6,d} messages/s  "
                f"{found['versions'] / found['seconds'] if found['seconds'] else 0:6.0f} encounters/s"
            )
        first, second = runs
        messages = fhir_count + 3 * (options.encounters - fhir_count)
        assert first["read"] == messages and first["quarantined"] == 0, first
        assert first["versions"] == options.encounters, first
        assert second["already"] == messages and second["versions"] == 0, second


if __name__ == "__main__":
    main()
