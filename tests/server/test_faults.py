"""The fault drill (benchmarks/faults.py) at 1,000 submissions: the issue's targets, asserted.

Private PostgreSQL and Redis servers are started on free ports (the shared ones are never
touched); the worker is SIGKILLed every few seconds, Redis and PostgreSQL restart once each.
"""

from __future__ import annotations

import shutil

import pytest

from benchmarks.private_services import POSTGRES_BIN
from tests.conftest import REQUIRE_SERVICES


def _need_server_binaries() -> None:
    if shutil.which("redis-server") and (POSTGRES_BIN / "initdb").exists():
        return
    message = "the fault drill needs redis-server and PostgreSQL 15's initdb/pg_ctl"
    if REQUIRE_SERVICES:
        pytest.fail(message + " (CUTIS_REQUIRE_SERVICES=1: this must not be skipped)")
    pytest.skip(message)


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.slow
async def test_no_work_is_refused_lost_or_doubled_through_worker_redis_and_postgres_faults() -> None:
    from benchmarks.faults import run_drill

    _need_server_binaries()
    # paced below one worker's capacity on a shared CI machine: the target is recovery, not throughput
    report = await run_drill(count=1000, clients=4, kill_every_seconds=6.0, settle_seconds=90, rate_per_second=12)
    print("\n".join(report.lines()))
    assert report.worker_kills >= 3 and report.redis_restarts == 1 and report.postgres_restarts == 1
    assert report.submitted == report.accepted == 1000
    assert report.refused_while_postgres_up == 0
    assert report.lost == 0
    assert report.doubled == 0
    assert report.coded_exactly_once == 1000
    assert report.longest_delay_after_return_seconds <= 30
