"""837P throughput: files built and validated per second, from codings of a generated encounter mix.

Run: .venv/bin/python benchmarks/claims_bench.py [--encounters 300] [--seed 7] [--rounds 3]

The encounters are engine_bench's mix (1 to 6 services across every code family, four plan types),
coded once by the engine's passes with every code priced; the ones that come out ready with claim
lines are billed. Three figures, each CPU time of this process (time.process_time) and the median
of --rounds passes: building the 837P text alone; building and reading it back (pyx12's structural
walk with its maps kept, plus the semantic checks and the line-by-line comparison with the coding),
which is what `build_checked_837p` does for every file that leaves; and pyx12's own entry point
(`x12n_document`, which parses its XML maps for every file) on the same files, for comparison.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import statistics
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `benchmarks.*` when run as a script

from benchmarks.engine_bench import CODED_AT, generate
from rulebooks.dated_codesets import cpt_labels, default_codesets
from rulebooks.engine import FeeSchedules, code
from server.claims.build import ClaimHeader, Subscriber, build_837p, patient_control_number
from server.claims.checks import build_checked_837p
from server.claims.setup import BillingSetup, parse_billing_setup

REPO = Path(__file__).resolve().parents[1]
CREATED_AT = dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.UTC)


def _setup() -> BillingSetup:
    import json

    payload = json.loads((REPO / "docs" / "examples" / "billing-setup.json").read_text())
    routed = {entry["payer"] for entry in payload["clearinghouses"][0]["payer_ids"]}
    for payer in ("BENCH",):  # engine_bench's payer
        if payer not in routed:
            payload["clearinghouses"][0]["payer_ids"].append(
                {"payer": payer, "payer_id": f"{payer[:5]}1", "name": payer}
            )
    return parse_billing_setup(payload)


def billable(encounters: int, seed: int) -> list[tuple[Any, Any]]:
    """(coding, encounter) pairs that make a claim: ready, with claim lines, every diagnosis billable."""
    fees = FeeSchedules(medical=dict.fromkeys(cpt_labels(), Decimal("95.00")))
    release = default_codesets().icd10cm_for(dt.date(2026, 3, 1))[0]
    pairs = []
    for encounter in generate(encounters, seed):
        if encounter.coverage.plan_type == "self_pay":
            continue
        coding = code(encounter, encounter_id=encounter.external_id, coded_at=CODED_AT, fees=fees)
        pointed = {d for line in coding.claim_lines for d in line.diagnoses}
        if coding.status == "ready" and coding.claim_lines and all(release.lookup(d) for d in pointed):
            pairs.append((coding, encounter))
    return pairs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encounters", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    setup = _setup()
    subscriber = Subscriber.model_validate(
        {
            "last_name": "Doe",
            "first_name": "Jane",
            "birth_date": "1959-04-12",
            "sex": "F",
            "member_id": "W123456789",
            "address": {"line1": "456 Oak Ave", "city": "Austin", "state": "TX", "postal_code": "78702"},
        }
    )
    pairs = billable(args.encounters, args.seed)
    headers = [
        ClaimHeader(patient_control_number=patient_control_number(coding.encounter_id), created_at=CREATED_AT)
        for coding, _ in pairs
    ]
    work = list(zip(pairs, headers, strict=True))
    lines = sum(len(coding.claim_lines) for coding, _ in pairs)
    print(f"{len(pairs)} billable codings of {args.encounters} encounters, {lines / len(pairs):.1f} lines a claim")

    def built(item: Any) -> Any:
        (coding, encounter), header = item
        return build_837p(coding, encounter, subscriber, setup, header)

    def checked(item: Any) -> Any:
        (coding, encounter), header = item
        return build_checked_837p(coding, encounter, subscriber, setup, header)

    texts = [built(item).text for item in work]

    def pyx12_alone(text: str) -> Any:
        import pyx12.params
        import pyx12.x12n_document

        return pyx12.x12n_document.x12n_document(pyx12.params.params(), io.StringIO(text), None, None, None)

    checked(work[0])  # maps and the ICD-10-CM index loaded once, before timing
    figures: dict[str, list[float]] = {"build": [], "build + validate": [], "pyx12 x12n_document alone": []}
    for _ in range(args.rounds):
        figures["build"].append(_rate(built, work))
        figures["build + validate"].append(_rate(checked, work))
        figures["pyx12 x12n_document alone"].append(_rate(pyx12_alone, texts[:20]))
    for name, values in figures.items():
        print(f"{name:>28}: {statistics.median(values):8.1f} files/s per core")


def _rate(function: Callable[[Any], Any], items: list[Any]) -> float:
    started = time.process_time()
    for item in items:
        function(item)
    return len(items) / (time.process_time() - started)


if __name__ == "__main__":
    main()
