"""Scale-out: codeEncounter throughput and p99 with 1, 2 and 4 API processes, submitEncounter drain rate with
1 and 2 workers, on compose's topology as processes (benchmarks/topology.py), with the load generator's cost.

One topology is started (a migration job, 4 `cutis serve`, 2 `cutis worker`, a fresh PostgreSQL database, a
private Redis); the load goes to the first 1, 2 or 4 servers (the others idle). The load generator is this
process: asyncio and httpx, `--concurrency` requests in flight, round-robin over the servers in use; its own
CPU seconds are measured and reported per request, since on one machine it competes with what it measures.
Drain: `--submissions` encounters are submitted (`--concurrency` in flight) with the workers running; the drain
rate is the jobs still queued when the last submit answered over the time until `/metrics` reports none
(cutis_jobs_queued). With 2 workers first, then worker-2 is stopped (SIGTERM) and the same is done with 1.

    .venv/bin/python benchmarks/scale_out.py --requests 200 --submissions 100
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `benchmarks.*` when run as a script

from benchmarks.private_services import PrivateRedis
from benchmarks.replay_bench import create_database, drop_database
from benchmarks.topology import CUTIS, REPO, Topology
from tests.server.graphql_ops import encounter_input, operation


async def _code_load(bases: list[str], key: str, requests: int, concurrency: int) -> dict[str, float]:
    """`requests` codeEncounter calls, `concurrency` at a time, round-robin over `bases`."""
    query = operation("CodeEncounter")
    latencies: list[float] = []
    failures = 0
    counter = iter(range(requests))
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=120) as client:

        async def one_client() -> None:
            nonlocal failures
            for number in counter:
                body = {"query": query, "variables": {"input": encounter_input(external_id=f"SCALE-{number}")}}
                started = time.perf_counter()
                response = await client.post(f"{bases[number % len(bases)]}/graphql", json=body)
                latencies.append(time.perf_counter() - started)
                data = response.json().get("data") or {}
                if (data.get("codeEncounter") or {}).get("__typename") != "CodedEncounter":
                    failures += 1

        cpu_before, wall_before = time.process_time(), time.perf_counter()
        await asyncio.gather(*(one_client() for _ in range(concurrency)))
        cpu, wall = time.process_time() - cpu_before, time.perf_counter() - wall_before
    ordered = sorted(latencies)
    return {
        "per_second": requests / wall,
        "p50_ms": statistics.median(ordered) * 1000,
        "p99_ms": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000,
        "failures": failures,
        "generator_cpu_ms_per_request": cpu / requests * 1000,
        "generator_share_of_one_core": cpu / wall,
    }


async def _queued(base: str) -> float:
    async with httpx.AsyncClient(timeout=30) as client:
        page = (await client.get(f"{base}/metrics")).text
    return next(float(line.split()[-1]) for line in page.splitlines() if line.startswith("cutis_jobs_queued "))


async def _drain(base: str, key: str, submissions: int, concurrency: int, label: str) -> dict[str, float]:
    """Submit `submissions` with `concurrency` in flight; the workers' rate is the jobs still queued when the last
    submit answered over the time until none is (the submit rate does not bound it)."""
    query = operation("SubmitEncounter")
    numbers = iter(range(submissions))
    started = time.perf_counter()
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=120) as client:

        async def one_client() -> None:
            for number in numbers:
                body = {"query": query, "variables": {"input": encounter_input(external_id=f"DRAIN-{label}-{number}")}}
                response = await client.post(f"{base}/graphql", json=body)
                assert "errors" not in response.json(), response.text

        await asyncio.gather(*(one_client() for _ in range(concurrency)))
    submitted = time.perf_counter()
    queued_then = await _queued(base)
    while await _queued(base) > 0:
        await asyncio.sleep(0.1)
    empty = time.perf_counter()
    return {
        "per_second": queued_then / (empty - submitted) if empty > submitted else 0.0,
        "queued_after_submit": queued_then,
        "submit_seconds": submitted - started,
        "overall_per_second": submissions / (empty - started),
    }


def _demo_key(topology: Topology) -> str:
    environment = topology.environment()
    subprocess.run([*CUTIS, "demo", "seed"], cwd=REPO, env=environment, check=True, capture_output=True, timeout=300)
    key = subprocess.run(
        [*CUTIS, "demo", "key"], cwd=REPO, env=environment, check=True, capture_output=True, text=True, timeout=300
    )
    return key.stdout.strip()


def run(requests: int, concurrency: int, submissions: int) -> dict[str, Any]:
    name, owner_url, app_url = create_database()
    redis = PrivateRedis()
    redis.start()
    results: dict[str, Any] = {"code": {}, "drain": {}}
    try:
        with tempfile.TemporaryDirectory(prefix="cutis-scale-") as folder:
            # one API key sends all the load: the per-credential rate limit (600 a minute) would measure itself
            unlimited = {"CUTIS_RATE_LIMIT_PER_MINUTE": "1000000"}
            topology = Topology(app_url, owner_url, redis.url, Path(folder), servers=4, workers=2, settings=unlimited)
            with topology:
                results["ready_seconds"] = topology.wait_ready(seconds=600)
                key = _demo_key(topology)
                bases = [process.base for process in topology.api]
                asyncio.run(_code_load(bases, key, min(requests, 20), concurrency))  # warm every server
                for servers in (1, 2, 4):
                    results["code"][servers] = asyncio.run(_code_load(bases[:servers], key, requests, concurrency))
                    print(f"codeEncounter, {servers} API: {results['code'][servers]}", flush=True)
                for workers in (2, 1):
                    if workers == 1:
                        second = topology.worker_processes[1].popen
                        second.terminate()
                        second.wait(timeout=30)
                    results["drain"][workers] = asyncio.run(
                        _drain(bases[0], key, submissions, concurrency, str(workers))
                    )
                    print(f"submitEncounter drain, {workers} workers: {results['drain'][workers]}", flush=True)
    finally:
        redis.cleanup()
        drop_database(name)
    return results


def table(results: dict[str, Any], requests: int, concurrency: int, submissions: int) -> str:
    rows = [
        f"codeEncounter: {requests} requests, {concurrency} in flight, {os.cpu_count()} cores "
        f"(topology ready in {results['ready_seconds']:.0f} s)",
        "| API processes | codings/s | p50 ms | p99 ms | failed | generator CPU ms/request | generator core share |",
        "|---|---|---|---|---|---|---|",
    ]
    for servers, figures in results["code"].items():
        rows.append(
            f"| {servers} | {figures['per_second']:.1f} | {figures['p50_ms']:.0f} | {figures['p99_ms']:.0f} | "
            f"{figures['failures']:.0f} | {figures['generator_cpu_ms_per_request']:.2f} | "
            f"{figures['generator_share_of_one_core']:.0%} |"
        )
    rows += [
        "",
        f"submitEncounter drain: {submissions} submissions through one API process",
        "| workers | drained/s (queue after the last submit) | queued then | submit s | submitted to empty/s |",
        "|---|---|---|---|---|",
    ]
    for workers, figures in sorted(results["drain"].items()):
        rows.append(
            f"| {workers} | {figures['per_second']:.1f} | {figures['queued_after_submit']:.0f} | "
            f"{figures['submit_seconds']:.1f} | {figures['overall_per_second']:.1f} |"
        )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--submissions", type=int, default=100)
    arguments = parser.parse_args()
    results = run(arguments.requests, arguments.concurrency, arguments.submissions)
    print(table(results, arguments.requests, arguments.concurrency, arguments.submissions))


if __name__ == "__main__":
    main()
