"""Fault drill: submitEncounter over HTTP while the worker is SIGKILLed, Redis restarts and PostgreSQL restarts.

Everything runs privately (a throwaway PostgreSQL cluster and redis-server on free ports, an app
server and a `cutis worker` from this checkout); the machine's shared servers are never touched.

    .venv/bin/python benchmarks/faults.py [--count 10000] [--clients 8] [--kill-every 6] [--rate 15]

The 30-second target is about recovery, not capacity: when clients submit faster than the one
worker codes (restarts included), the queue grows and every item waits, faults or none. `--rate`
paces the clients below that capacity.

How a client tells a committed attempt from a refused one: after any refusal (connection error,
5xx, GraphQL error, RolledBack) it asks `encounters(filter: {externalId})` before sending again.
If a version exists, the refused attempt had committed (its answer was lost) and the item counts as
accepted, not sent again; only when none exists does it submit again. So every externalId should end
with exactly one version: a second version is a double, whatever caused it.

The delay of an item counts from its acceptance (the encounter row's created_at), or from the end of
the outage it was accepted in, to its coding's created_at, leaving out time during which the worker
(from SIGKILL to its new process saying "worker ready", warmed up), Redis or PostgreSQL was down:
"after the worker's return". The plain wall-clock maximum is printed beside it. The worker is killed
`--kill-every` seconds after each return.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.private_services import PrivatePostgres, PrivateRedis, free_port  # noqa: E402

ENCOUNTER = json.loads((REPO / "tests" / "fixtures" / "encounters" / "biopsy_em.json").read_text())
SUBMIT = (REPO / "graphql" / "operations" / "SubmitEncounter.graphql").read_text()
FIND = "query Find($externalId: String!) { encounters(filter: {externalId: $externalId}, first: 5) { nodes { id } } }"
CUTIS = [sys.executable, "-m", "server.cli"]  # this checkout's code, run from REPO


def _camel(value: Any) -> Any:
    if isinstance(value, dict):
        return {k.split("_")[0] + "".join(p.title() for p in k.split("_")[1:]): _camel(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_camel(v) for v in value]
    return value


@dataclass
class Outage:
    what: str  # "worker", "redis" or "postgres"
    began: float  # time.time()
    ended: float | None = None


@dataclass
class Refusal:
    external_id: str
    began: float
    ended: float
    why: str


@dataclass
class Drill:
    """What the clients and the chaos saw, in wall-clock seconds (time.time())."""

    count: int
    outages: list[Outage] = field(default_factory=list)
    refusals: list[Refusal] = field(default_factory=list)
    accepted: set[str] = field(default_factory=set)
    committed_despite_refusal: set[str] = field(default_factory=set)
    given_up: set[str] = field(default_factory=set)
    submitted: int = 0

    def down_during(self, what: set[str], began: float, ended: float) -> bool:
        return any(o.what in what and o.began <= ended and (o.ended is None or o.ended >= began) for o in self.outages)


@dataclass(frozen=True)
class Report:
    submitted: int
    accepted: int
    refused_while_postgres_down: int
    refused_while_postgres_up: int
    committed_despite_refusal: int
    coded_exactly_once: int
    lost: int
    lost_still_pending: int
    doubled: int
    worker_kills: int
    redis_restarts: int
    postgres_restarts: int
    longest_delay_after_return_seconds: float
    longest_delay_wall_seconds: float

    def lines(self) -> list[str]:
        refused = self.refused_while_postgres_down + self.refused_while_postgres_up
        return [
            f"submitted                                  {self.submitted}",
            f"accepted                                   {self.accepted}",
            f"refused during outages                     {refused}"
            f" (while PostgreSQL was down: {self.refused_while_postgres_down};"
            f" while it was up: {self.refused_while_postgres_up})",
            f"  of which had committed (answer lost)     {self.committed_despite_refusal}"
            " (found by externalId, not sent again)",
            f"coded exactly once                         {self.coded_exactly_once}",
            f"lost (accepted, never coded)               {self.lost}"
            f" (of which still pending in the outbox when the wait ended, i.e. backlog: {self.lost_still_pending})",
            f"doubled (>1 coding, or >1 version)         {self.doubled}",
            f"faults                                     {self.worker_kills} worker SIGKILLs,"
            f" {self.redis_restarts} Redis restart, {self.postgres_restarts} PostgreSQL restart",
            f"longest acceptance -> coding after the worker's return   {self.longest_delay_after_return_seconds:.1f} s"
            " (target <= 30 s)",
            f"longest acceptance -> coding, wall clock                 {self.longest_delay_wall_seconds:.1f} s",
        ]

    def meets_targets(self) -> bool:
        return (
            self.refused_while_postgres_up == 0
            and self.lost == 0
            and self.doubled == 0
            and self.coded_exactly_once == self.accepted == self.submitted
            and self.longest_delay_after_return_seconds <= 30
        )


class Stack:
    """Private PostgreSQL and Redis, the app server and the worker, each started and stopped by its own handle."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.postgres = PrivatePostgres()
        self.redis = PrivateRedis()
        self.port = free_port()
        self.server: subprocess.Popen[bytes] | None = None
        self.worker: subprocess.Popen[bytes] | None = None
        self.owner_url = ""
        self.env: dict[str, str] = {}

    def start(self) -> str:
        """Start everything; returns an API key of the demo clinic."""
        import psycopg

        from server.migrate import upgrade

        self.postgres.init()
        self.postgres.start()
        self.redis.start()
        with psycopg.connect(self.postgres.admin_url, autocommit=True) as connection:
            connection.execute('CREATE DATABASE "cutis_faults"')
        self.owner_url = self.postgres.admin_url.rsplit("/", 1)[0] + "/cutis_faults"
        upgrade(self.owner_url)
        app_url = f"postgresql://cutis_app@127.0.0.1:{self.postgres.port}/cutis_faults"
        self.env = {
            **os.environ,
            "CUTIS_DATABASE_URL": app_url,
            "CUTIS_MIGRATION_DATABASE_URL": self.owner_url,
            "CUTIS_REDIS_URL": self.redis.url,
            "CUTIS_PORT": str(self.port),
            "CUTIS_DATA_DIR": str(self.directory),
            "CUTIS_RATE_LIMIT_PER_MINUTE": "100000000",
        }
        key = subprocess.run(
            [*CUTIS, "demo", "key"], cwd=REPO, env=self.env, capture_output=True, text=True, check=True, timeout=120
        ).stdout.strip()
        self.server = subprocess.Popen(
            [*CUTIS, "serve", "--no-upgrade"],
            cwd=REPO,
            env=self.env,
            stdout=(self.directory / "server.log").open("ab"),
            stderr=subprocess.STDOUT,
        )
        self.start_worker()
        return key

    def start_worker(self) -> None:
        self.worker = subprocess.Popen(
            [*CUTIS, "worker"],
            cwd=REPO,
            env=self.env,
            stdout=(self.directory / "worker.log").open("ab"),
            stderr=subprocess.STDOUT,
        )

    def workers_ready(self) -> int:
        """How many times a worker has said it is ready (it logs that once warmed up and sweeping)."""
        log_file = self.directory / "worker.log"
        return log_file.read_bytes().count(b"worker ready") if log_file.exists() else 0

    def restart_worker(self) -> None:
        """SIGKILL the worker, start a new one and return once it is ready (bounded)."""
        self.kill_worker()
        ready_before = self.workers_ready()
        self.start_worker()
        deadline = time.monotonic() + 60
        while self.workers_ready() <= ready_before and time.monotonic() < deadline:
            time.sleep(0.05)

    def kill_worker(self) -> None:
        if self.worker is not None and self.worker.poll() is None:
            self.worker.send_signal(signal.SIGKILL)
            self.worker.wait(timeout=30)

    def stop(self) -> None:
        for process in (self.worker, self.server):
            if process is not None and process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=20)
        self.redis.cleanup()
        self.postgres.cleanup()


async def _wait_for_server(base: str, seconds: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + seconds
    async with httpx.AsyncClient(timeout=2) as client:
        while time.monotonic() < deadline:
            try:
                if (await client.get(f"{base}/healthz")).status_code in (200, 503):
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError("the app server did not start")


async def _client(drill: Drill, http: Any, key: str, run: str, indices: Any, deadline: float, pace: Any = None) -> None:
    """One clinic system: submit each item until accepted; after a refusal, look before sending again."""
    headers = {"Authorization": f"Bearer {key}"}
    for index in indices:
        if pace is not None:
            await asyncio.sleep(max(0.0, pace(index) - time.monotonic()))
        external_id = f"{run}-{index:06d}"
        drill.submitted += 1
        payload = {"query": SUBMIT, "variables": {"input": _camel({**ENCOUNTER, "external_id": external_id})}}
        refused_before = False
        while time.monotonic() < deadline:
            if refused_before:
                found = await _find(http, headers, external_id)
                if found is None:  # cannot tell yet (PostgreSQL down?): look again a little later
                    await asyncio.sleep(0.3 + random.random() * 0.4)
                    continue
                if found:
                    drill.accepted.add(external_id)
                    drill.committed_despite_refusal.add(external_id)
                    break
            began = time.time()
            why = await _submit(http, headers, payload)
            if why is None:
                drill.accepted.add(external_id)
                break
            drill.refusals.append(Refusal(external_id, began, time.time(), why))
            refused_before = True
            await asyncio.sleep(0.3 + random.random() * 0.4)
        else:
            drill.given_up.add(external_id)


async def _submit(http: Any, headers: dict[str, str], payload: dict[str, Any]) -> str | None:
    """None when accepted, else why it was refused."""
    import httpx

    try:
        response = await http.post("/graphql", json=payload, headers=headers)
    except httpx.HTTPError as error:
        return type(error).__name__
    if response.status_code != 200:
        return f"HTTP {response.status_code}"
    body = response.json()
    if body.get("errors") or not body.get("data"):
        return "GraphQL error"
    typename = body["data"]["submitEncounter"]["__typename"]
    return None if typename == "SubmittedEncounter" else typename


async def _find(http: Any, headers: dict[str, str], external_id: str) -> bool | None:
    """Whether a version of this externalId is stored; None when the server cannot say right now."""
    import httpx

    try:
        response = await http.post(
            "/graphql", json={"query": FIND, "variables": {"externalId": external_id}}, headers=headers
        )
    except httpx.HTTPError:
        return None
    if response.status_code != 200:
        return None
    body = response.json()
    if body.get("errors") or not body.get("data"):
        return None
    return bool(body["data"]["encounters"]["nodes"])


async def _chaos(drill: Drill, stack: Stack, kill_every_seconds: float, stop: asyncio.Event) -> None:
    """SIGKILL the worker every few seconds of its being ready; restart Redis at a quarter, PostgreSQL at half way."""
    redis_done = postgres_done = False
    next_kill = time.monotonic() + kill_every_seconds
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), timeout=0.1)
            break
        except TimeoutError:
            pass
        progress = len(drill.accepted) / drill.count
        if not redis_done and progress >= 1 / 4:
            redis_done = True
            await _outage(drill, "redis", stack.redis.kill, stack.redis.start)
        elif not postgres_done and progress >= 1 / 2:
            postgres_done = True
            await _outage(drill, "postgres", lambda: stack.postgres.stop("fast"), stack.postgres.start)
        elif time.monotonic() >= next_kill:  # the worker has been up (ready) for kill_every_seconds
            await _outage(drill, "worker", lambda: None, stack.restart_worker, down_seconds=0)
            next_kill = time.monotonic() + kill_every_seconds


async def _outage(drill: Drill, what: str, stop: Any, start: Any, down_seconds: float = 3) -> None:
    outage = Outage(what, time.time())
    drill.outages.append(outage)
    await asyncio.to_thread(stop)
    await asyncio.sleep(down_seconds)
    await asyncio.to_thread(start)
    outage.ended = time.time()


def _as_epoch(moment: dt.datetime) -> float:
    return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).timestamp()


def _wait_until_coded(owner_url: str, run: str, accepted: int, seconds: float) -> None:
    import psycopg

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with psycopg.connect(owner_url) as connection:
                coded = connection.execute(
                    "SELECT count(DISTINCT e.id) FROM encounters e JOIN codings c ON c.encounter_id = e.id "
                    "WHERE e.external_id LIKE %s",
                    (f"{run}-%",),
                ).fetchone()
            if coded is not None and coded[0] >= accepted:
                return
        except psycopg.Error:
            pass
        time.sleep(1)


def _report(drill: Drill, owner_url: str, run: str) -> Report:
    import psycopg

    with psycopg.connect(owner_url) as connection:
        versions = connection.execute(
            "SELECT external_id, id, created_at FROM encounters WHERE external_id LIKE %s", (f"{run}-%",)
        ).fetchall()
        codings = connection.execute(
            "SELECT c.encounter_id, count(*), min(c.created_at) FROM codings c JOIN encounters e"
            " ON e.id = c.encounter_id WHERE e.external_id LIKE %s GROUP BY c.encounter_id",
            (f"{run}-%",),
        ).fetchall()
        pending = {
            row[0]
            for row in connection.execute(
                "SELECT subject_id FROM outbox WHERE status = 'pending' AND subject_id IN"
                " (SELECT id FROM encounters WHERE external_id LIKE %s)",
                (f"{run}-%",),
            ).fetchall()
        }
        attempts = connection.execute(
            "SELECT status, attempts, error, count(*) FROM outbox GROUP BY 1, 2, 3 ORDER BY 1, 2"
        ).fetchall()
    if os.environ.get("CUTIS_FAULTS_KEEP_LOGS"):
        print(f"outbox rows by status, attempts, last error: {attempts}", file=sys.stderr)
    coded = {encounter_id: (count, _as_epoch(first)) for encounter_id, count, first in codings}
    versions_of = Counter(external_id for external_id, _, _ in versions)
    windows = [(o.began, o.ended) for o in drill.outages if o.ended is not None]
    exactly_once = lost = lost_still_pending = doubled = 0
    longest_after_return = longest_wall = 0.0
    slowest: list[tuple[float, float, float]] = []
    for external_id, encounter_id, created_at in versions:
        count, coded_at = coded.get(encounter_id, (0, 0.0))
        if external_id not in drill.accepted:
            continue
        if count == 0:
            lost += 1
            lost_still_pending += encounter_id in pending
            continue
        if count == 1:
            exactly_once += 1
        else:
            doubled += 1
        accepted_at = _as_epoch(created_at)
        start = max([accepted_at, *(ended for began, ended in windows if began <= accepted_at <= ended)])
        down = _union_overlap(windows, start, coded_at)
        longest_after_return = max(longest_after_return, coded_at - start - down)
        longest_wall = max(longest_wall, coded_at - accepted_at)
        slowest.append((coded_at - start - down, accepted_at, coded_at))
    if os.environ.get("CUTIS_FAULTS_KEEP_LOGS"):  # the slowest items' timelines, for whoever reads the logs
        origin = min(o.began for o in drill.outages) if drill.outages else 0.0
        for delay, accepted_at, coded_at in sorted(slowest)[-5:]:
            print(
                f"slow: {delay:.1f} s, accepted {accepted_at - origin:.1f}, coded {coded_at - origin:.1f}",
                file=sys.stderr,
            )
        for o in drill.outages:
            print(f"outage {o.what} {o.began - origin:.1f} .. {(o.ended or 0) - origin:.1f}", file=sys.stderr)
    doubled += sum(1 for n in versions_of.values() if n > 1)
    lost += len(drill.accepted - set(versions_of))  # accepted, yet no version stored (never seen)
    postgres = {"postgres"}
    return Report(
        submitted=drill.submitted,
        accepted=len(drill.accepted),
        refused_while_postgres_down=sum(1 for r in drill.refusals if drill.down_during(postgres, r.began, r.ended)),
        refused_while_postgres_up=sum(1 for r in drill.refusals if not drill.down_during(postgres, r.began, r.ended)),
        committed_despite_refusal=len(drill.committed_despite_refusal),
        coded_exactly_once=exactly_once,
        lost=lost,
        lost_still_pending=lost_still_pending,
        doubled=doubled,
        worker_kills=sum(1 for o in drill.outages if o.what == "worker"),
        redis_restarts=sum(1 for o in drill.outages if o.what == "redis"),
        postgres_restarts=sum(1 for o in drill.outages if o.what == "postgres"),
        longest_delay_after_return_seconds=longest_after_return,
        longest_delay_wall_seconds=longest_wall,
    )


def _union_overlap(intervals: list[tuple[float, float]], start: float, end: float) -> float:
    """Seconds of [start, end] covered by at least one interval.

    >>> _union_overlap([(0, 2), (1, 3), (5, 6)], 0.5, 5.5)
    3.0
    """
    clipped = sorted((max(a, start), min(b, end)) for a, b in intervals if b > start and a < end)
    total, reach = 0.0, start
    for a, b in clipped:
        if b > reach:
            total += b - max(a, reach)
            reach = b
    return total


async def run_drill(
    count: int = 10_000,
    clients: int = 8,
    kill_every_seconds: float = 6.0,
    settle_seconds: float | None = None,
    rate_per_second: float | None = None,
) -> Report:
    """Start the private stack, run the drill, wait (bounded) for the coding, and report."""
    import httpx

    directory = Path(tempfile.mkdtemp(prefix="cutis-faults-"))
    stack = Stack(directory)
    drill = Drill(count=count)
    run = f"FAULT-{uuid.uuid4().hex[:6]}"
    try:
        key = await asyncio.to_thread(stack.start)
        base = f"http://127.0.0.1:{stack.port}"
        await _wait_for_server(base)
        deadline = time.monotonic() + max(600, count * 0.2)  # bounded: every client loop ends by then
        stop = asyncio.Event()
        chaos = asyncio.create_task(_chaos(drill, stack, kill_every_seconds, stop))
        indices = iter(range(count))
        load_started = time.monotonic()
        pace = (lambda index: load_started + index / rate_per_second) if rate_per_second else None
        limits = httpx.Limits(max_connections=clients)
        async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as http:
            await asyncio.gather(*(_client(drill, http, key, run, indices, deadline, pace) for _ in range(clients)))
        stop.set()
        await chaos
        if stack.worker is None or stack.worker.poll() is not None:
            stack.start_worker()
        settle = settle_seconds if settle_seconds is not None else max(120.0, count * 0.03)
        await asyncio.to_thread(_wait_until_coded, stack.owner_url, run, len(drill.accepted), settle)
        return _report(drill, stack.owner_url, run)
    finally:
        await asyncio.to_thread(stack.stop)
        if os.environ.get("CUTIS_FAULTS_KEEP_LOGS"):
            print(f"logs kept in {directory}", file=sys.stderr)
        else:
            import shutil

            shutil.rmtree(directory, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=10_000, help="submitEncounter items (distinct externalIds)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients")
    parser.add_argument("--kill-every", type=float, default=6.0, help="seconds a worker is ready before SIGKILL")
    parser.add_argument("--settle", type=float, default=None, help="seconds to wait for the backlog after the load")
    parser.add_argument("--rate", type=float, default=None, help="submissions per second (default: as fast as served)")
    args = parser.parse_args()
    started = time.monotonic()
    report = asyncio.run(run_drill(args.count, args.clients, args.kill_every, args.settle, args.rate))
    for line in report.lines():
        print(line)
    print(f"drill took {time.monotonic() - started:.0f} s; targets {'met' if report.meets_targets() else 'MISSED'}")
    sys.exit(0 if report.meets_targets() else 1)


if __name__ == "__main__":
    main()
