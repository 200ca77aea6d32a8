"""compose.yaml's topology as processes: a migration job as the owner, two `cutis serve` on two ports, two
`cutis worker`, one PostgreSQL, one Redis. What one server accepts, a worker codes once and the other server
shows; both servers code alike; every log line is JSON naming its request (or job) and clinic, and no PHI."""

from __future__ import annotations

import asyncio
import collections
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from benchmarks.private_services import PrivateRedis
from benchmarks.topology import METRICS_TOKEN, Process, Topology
from tests.server.graphql_ops import encounter_input, operation

PATIENT_ID = "MRN-TOPOLOGY-4417"
NOTE_MARKER = "Peregrine-Topology Patient"
SUBMISSIONS = 6
SCRAPER = {"Authorization": f"Bearer {METRICS_TOKEN}"}


def _post(base: str, key: str, name: str, variables: dict) -> dict:  # type: ignore[type-arg]
    response = httpx.post(
        f"{base}/graphql",
        headers={"Authorization": f"Bearer {key}"},
        json={"query": operation(name), "variables": variables},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body["errors"]
    return body["data"]  # type: ignore[no-any-return]


def _phi_encounter(number: int) -> dict:  # type: ignore[type-arg]
    encounter = encounter_input(external_id=f"TOPOLOGY-{number}")
    encounter["patient"]["id"] = PATIENT_ID
    encounter["note"] = f"{NOTE_MARKER} {encounter.get('note') or ''}"
    return encounter


async def _clinic(app_url: str, data_dir: Path) -> tuple[str, str]:
    from server.db import create_engine, create_session_factory
    from server.settings import Settings
    from tests.factories import make_clinic

    engine = create_engine(Settings(database_url=app_url, data_dir=data_dir))
    try:
        clinic = await make_clinic(create_session_factory(engine), "topology")
    finally:
        await engine.dispose()
    return str(clinic.tenant_id), clinic.key


@pytest.mark.postgres
@pytest.mark.redis
def test_two_servers_two_workers_one_database_one_redis(own_postgres_database, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    redis = PrivateRedis()
    redis.start()
    topology = Topology(own_postgres_database.app_url, own_postgres_database.owner_url, redis.url, tmp_path)
    try:
        with topology:
            tenant_id, key = asyncio.run(_clinic(own_postgres_database.app_url, tmp_path))
            ready_seconds = topology.wait_ready()
            started = time.monotonic()
            first, second = topology.api

            # Each server accepts half; the other server shows each one coded by a worker.
            accepted = [
                (server, _post(server.base, key, "SubmitEncounter", {"input": _phi_encounter(number)}))
                for number, server in enumerate([first, second] * (SUBMISSIONS // 2))
            ]
            ids = [(server, data["submitEncounter"]["encounter"]["id"]) for server, data in accepted]
            coded = [
                _wait_until_coded(second if server is first else first, key, encounter_id)
                for server, encounter_id in ids
            ]
            assert [encounter["status"] for encounter in coded] == ["coded"] * SUBMISSIONS

            drained_seconds = time.monotonic() - started
            # The two servers code alike (the same rule stack, the same code sets).
            codings = [
                _post(server.base, key, "CodeEncounter", {"input": _phi_encounter(99)})["codeEncounter"]["coding"]
                for server in (first, second)
            ]
            assert [line["code"] for line in codings[0]["claimLines"]] == [
                line["code"] for line in codings[1]["claimLines"]
            ]
            assert {line["code"] for line in coded[0]["coding"]["claimLines"]} == {"11104", "11103", "99214"}

            # Each worker's metrics page counts the jobs it ran; both pages want the metrics token.
            worker_done = [_worker_jobs(worker, "done") for worker in topology.worker_processes]
            assert sum(worker_done) == SUBMISSIONS, (
                f"each submission counted once, by the worker that coded it: {worker_done}"
            )
            for page in [
                *(f"http://127.0.0.1:{w.metrics_port}/metrics" for w in topology.worker_processes),
                f"{first.base}/metrics",
            ]:
                assert httpx.get(page, timeout=5).status_code == 401, page
                assert (
                    httpx.get(
                        page, headers={"Authorization": "Bearer wrong-token-of-some-length"}, timeout=5
                    ).status_code
                    == 401
                )
            api_page = httpx.get(f"{first.base}/metrics", headers=SCRAPER, timeout=10)
            assert api_page.status_code == 200 and "cutis_graphql_request_seconds_count" in api_page.text

            # The migration job ran as the owner and left the database at head.
            assert topology.migration is not None and topology.migration.popen.wait(timeout=60) == 0
        codes = topology.stop()
    finally:
        redis.cleanup()
    print(f"ready in {ready_seconds:.1f} s; {SUBMISSIONS} submissions coded in {drained_seconds:.1f} s")
    # each stopped on SIGTERM after a graceful shutdown (uvicorn then raises the signal again: -15)
    assert all(codes[p.name] in (0, -15) for p in topology.api), codes
    assert all(codes[p.name] == 0 for p in topology.worker_processes), codes
    assert all(p.log_lines()[-1]["message"].startswith("Finished server process") for p in topology.api)

    lines = list(topology.all_log_lines())
    everything = "\n".join(str(line) for _, line in lines)
    assert PATIENT_ID not in everything and NOTE_MARKER not in everything
    jobs_done = collections.Counter(name for name, line in lines if line["message"] == "job done")
    assert sum(jobs_done.values()) == SUBMISSIONS, f"each submission coded once, by one worker: {jobs_done}"
    assert set(jobs_done) <= {"worker-1", "worker-2"}
    job_lines = [line for _, line in lines if line["message"] == "job done"]
    assert {line["tenant_id"] for line in job_lines} == {tenant_id}
    assert all(line["request_id"].startswith("job:") for line in job_lines)
    graphql_lines = [(name, line) for name, line in lines if line["message"].startswith("POST /graphql")]
    assert {name for name, _ in graphql_lines} == {"api-1", "api-2"}
    assert {line["tenant_id"] for _, line in graphql_lines} == {tenant_id}
    assert len({line["request_id"] for _, line in graphql_lines}) == len(graphql_lines), "one id per request"


def _wait_until_coded(server, key: str, encounter_id: str, seconds: float = 60) -> dict:  # type: ignore[no-untyped-def,type-arg]
    deadline = time.monotonic() + seconds
    while True:
        encounter = _post(server.base, key, "Encounter", {"id": encounter_id})["encounter"]
        if encounter["status"] == "coded" or time.monotonic() > deadline:
            return encounter  # type: ignore[no-any-return]
        time.sleep(0.2)


def _worker_jobs(worker: Process, outcome: str) -> float:
    """`cutis_worker_jobs_total{job="code_encounter", outcome}` on the worker's own metrics page (each job ended
    is also one observation of its seconds)."""
    response = httpx.get(f"http://127.0.0.1:{worker.metrics_port}/metrics", headers=SCRAPER, timeout=10)
    assert response.status_code == 200, response.text
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }
    ended = sum(value for (name, _), value in samples.items() if name == "cutis_worker_jobs_total")
    assert samples.get(("cutis_worker_job_seconds_count", (("job", "code_encounter"),)), 0.0) == ended
    return samples.get(("cutis_worker_jobs_total", (("job", "code_encounter"), ("outcome", outcome))), 0.0)
