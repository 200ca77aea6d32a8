"""Claims test factories: a billing setup, a subscriber and a header, each a plain dict to vary."""

from __future__ import annotations

import copy
import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from rulebooks.dated_codesets import cpt_labels
from rulebooks.engine import FeeSchedules
from server.claims.build import ClaimHeader, Subscriber
from server.claims.setup import BillingSetup
from server.demo import demo_fee_schedules

REPO = Path(__file__).resolve().parents[3]
#: The shared 837P fixtures (domain/samples), copied: valid, six structural defects, six semantic ones.
SAMPLES = REPO / "tests" / "fixtures" / "x12"
EXAMPLE_SETUP = REPO / "docs" / "examples" / "billing-setup.json"
EXAMPLE_SUBSCRIBER = REPO / "docs" / "examples" / "subscriber.json"
CREATED_AT = dt.datetime(2026, 11, 27, 9, 30, tzinfo=dt.UTC)
#: The corpus's payers that the example setup does not route.
CORPUS_PAYER_IDS = [
    {"payer": "STATEMCD", "payer_id": "SKTX0", "name": "State Medicaid"},
    {"payer": "MAPLAN", "payer_id": "MAP01", "name": "Medicare Advantage Plan"},
    {"payer": "HUMANA", "payer_id": "61101", "name": "Humana"},
]


def setup_payload(**changes: Any) -> dict[str, Any]:
    payload = json.loads(EXAMPLE_SETUP.read_text())
    payload["clearinghouses"][0]["payer_ids"] += copy.deepcopy(CORPUS_PAYER_IDS)
    payload.update(changes)
    return payload


def billing_setup(**changes: Any) -> BillingSetup:
    return BillingSetup.model_validate(setup_payload(**changes))


def subscriber(**changes: Any) -> Subscriber:
    example = json.loads(EXAMPLE_SUBSCRIBER.read_text())
    return Subscriber.model_validate({**example, "member_id": "W123456789", **changes})


def header(**changes: Any) -> ClaimHeader:
    return ClaimHeader.model_validate({"patient_control_number": "ENC-1-1", "created_at": CREATED_AT, **changes})


def corpus_fees() -> FeeSchedules:
    """The demo fees, and 80.00 for every other code the engine knows (the corpus reaches codes the demo skips)."""
    fees = demo_fee_schedules()
    every_code = dict.fromkeys(cpt_labels(), Decimal("80.00"))
    return FeeSchedules(medical={**every_code, **fees.medical}, cosmetic=fees.cosmetic)
