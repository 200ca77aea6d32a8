"""Load benchmark: `codeEncounter` over GraphQL vs a bare Litestar JSON route doing the same work.

Both servers run on PostgreSQL (a fresh database), one uvicorn process each, and are driven in
the same run by the same loopback load generator (which shares the machine's cores). The bare
route stores the encounter, codes it and stores the coding, exactly like the mutation, but with
no GraphQL, no authentication, no audit row: the ratio is the API's own overhead.

    .venv/bin/python benchmarks/api_load.py [--requests 1500] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
ADMIN_URL = os.environ.get("CUTIS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
ENCOUNTER = json.loads((REPO / "tests" / "fixtures" / "encounters" / "biopsy_em.json").read_text())
CODE_ENCOUNTER = (REPO / "graphql" / "operations" / "CodeEncounter.graphql").read_text()


def bare_app(database_url: str, tenant_id: str) -> Any:
    """The same work as codeEncounter behind a plain JSON route: parse, store, code, store."""
    from litestar import Litestar, post

    from server.cpu import CpuPool
    from server.db import create_engine, create_session_factory, tenant_session
    from server.encounters import code_stored_encounter, parse_encounter, store_encounter
    from server.settings import Settings

    settings = Settings(database_url=database_url)
    engine = create_engine(settings)
    factory = create_session_factory(engine)
    tenant = uuid.UUID(tenant_id)
    cpu = CpuPool(settings.data_dir, budget_seconds=settings.cpu_budget_seconds)  # as the app codes: off the loop

    @post("/bare/encounters")
    async def code_encounter(data: dict[str, Any]) -> dict[str, Any]:
        encounter = parse_encounter(data)
        async with tenant_session(factory, tenant) as session:
            record = await store_encounter(session, tenant, encounter)
            coding, _ = await code_stored_encounter(session, record, cpu=cpu)
        return coding.model_dump(mode="json")

    return Litestar(route_handlers=[code_encounter])


def _camel(value: Any) -> Any:
    if isinstance(value, dict):
        return {k.split("_")[0] + "".join(p.title() for p in k.split("_")[1:]): _camel(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_camel(v) for v in value]
    return value


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _drive(url: str, make_request: Any, requests: int, concurrency: int) -> tuple[float, list[float], int]:
    import httpx

    latencies: list[float] = []
    failures = 0
    counter = iter(range(requests))

    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=concurrency)) as client:

        async def worker() -> None:
            nonlocal failures
            for index in counter:
                body, headers = make_request(index)
                started = time.perf_counter()
                response = await client.post(url, json=body, headers=headers)
                latencies.append(time.perf_counter() - started)
                if response.status_code >= 300 or (b'"errors"' in response.content):
                    failures += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return elapsed, latencies, failures


def _wait(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("a server exited early")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("a server did not start")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=1500)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()

    import psycopg

    from server.migrate import upgrade

    name = f"cutis_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    owner_url = ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    app_url = f"postgresql://cutis_app@127.0.0.1:5432/{name}"
    processes: list[subprocess.Popen[bytes]] = []
    try:
        upgrade(owner_url)
        env = {
            **os.environ,
            "CUTIS_DATABASE_URL": app_url,
            "CUTIS_MIGRATION_DATABASE_URL": owner_url,
            "CUTIS_RATE_LIMIT_PER_MINUTE": "1000000",
            "PYTHONPATH": str(REPO),
        }
        env.pop("CUTIS_REDIS_URL", None)
        cutis = str(Path(sys.executable).parent / "cutis")
        key = subprocess.run([cutis, "demo", "key"], env=env, capture_output=True, text=True, check=True).stdout.strip()
        tenant_id = (
            subprocess.run([cutis, "demo", "seed"], env=env, capture_output=True, text=True, check=True)
            .stdout.strip()
            .rsplit(" ", 1)[-1]
        )
        graphql_port, bare_port, scaled_port = _free_port(), _free_port(), _free_port()
        processes.append(
            subprocess.Popen(
                [cutis, "serve", "--no-upgrade", "--port", str(graphql_port)],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        processes.append(
            subprocess.Popen(
                [cutis, "serve", "--no-upgrade", "--workers", str(os.cpu_count() or 2), "--port", str(scaled_port)],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        bare = (
            f"import sys; sys.path.insert(0, {str(REPO)!r}); import uvicorn; "
            f"from benchmarks.api_load import bare_app; "
            f"uvicorn.run(bare_app({app_url!r}, {tenant_id!r}), host='127.0.0.1', port={bare_port}, "
            f"log_level='warning')"
        )
        processes.append(
            subprocess.Popen(
                [sys.executable, "-c", bare], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
        )
        _wait(graphql_port, processes[0])
        _wait(scaled_port, processes[1])
        _wait(bare_port, processes[2])

        def graphql_request(index: int) -> tuple[dict[str, Any], dict[str, str]]:
            payload = {**ENCOUNTER, "external_id": f"G-{index}"}
            return (
                {"query": CODE_ENCOUNTER, "variables": {"input": _camel(payload)}},
                {"Authorization": f"Bearer {key}"},
            )

        def bare_request(index: int) -> tuple[dict[str, Any], dict[str, str]]:
            return {**ENCOUNTER, "external_id": f"B-{index}"}, {}

        results = {}
        for label, url, make in (
            ("bare Litestar route", f"http://127.0.0.1:{bare_port}/bare/encounters", bare_request),
            ("GraphQL codeEncounter", f"http://127.0.0.1:{graphql_port}/graphql", graphql_request),
            (f"GraphQL, {os.cpu_count()} workers", f"http://127.0.0.1:{scaled_port}/graphql", graphql_request),
        ):
            asyncio.run(_drive(url, make, 100, args.concurrency))  # warm-up
            elapsed, latencies, failures = asyncio.run(_drive(url, make, args.requests, args.concurrency))
            latencies.sort()
            results[label] = {
                "throughput": args.requests / elapsed,
                "p50_ms": statistics.median(latencies) * 1000,
                "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
                "failures": failures,
            }
        print(
            f"PostgreSQL, {args.requests} requests, concurrency {args.concurrency}, generator on the same "
            f"{os.cpu_count()} cores; the first two are one server process each (the overhead ratio)"
        )
        for label, figures in results.items():
            print(
                f"  {label:<24} {figures['throughput']:7.1f} req/s   p50 {figures['p50_ms']:6.1f} ms   "
                f"p99 {figures['p99_ms']:6.1f} ms   failures {figures['failures']}"
            )
        bare_figures, graphql_figures = results["bare Litestar route"], results["GraphQL codeEncounter"]
        print(
            f"  GraphQL + auth overhead: {bare_figures['throughput'] / graphql_figures['throughput']:.2f}x "
            f"throughput, {graphql_figures['p50_ms'] / bare_figures['p50_ms']:.2f}x p50 latency (target <= 1.5x)"
        )
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=20)
        with psycopg.connect(ADMIN_URL, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
