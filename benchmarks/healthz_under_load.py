"""Does one costly request freeze the server? /healthz latency while the heaviest allowed requests run.

Starts the real server (`python -m server.cli serve`, embedded mode: SQLite, seeded demo tenant,
a temporary data folder) on a free loopback port. First polls GET /healthz every 20 ms with no
other load (the baseline), then sends the heaviest documents the query cost budget allows, several
at once, and polls /healthz every 20 ms until they are all answered:

- `validateRulebook` aliased up to the budget over one near-1 MB rulebook text (the finding's case);
- `checkDocumentation` aliased up to the budget over a dense 100,000-character note, every field selected.

Prints the /healthz p50, p99 and max of both phases, what the heavy requests got, and the target.
Everything stays on 127.0.0.1, and every loop is bounded.

    .venv/bin/python benchmarks/healthz_under_load.py [--rounds 2] [--senders 2] [--baseline-seconds 5]
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
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from rulebooks.models.encounter import MAX_NOTE_CHARS  # noqa: E402
from server.api.cost import FIELD_COSTS, QUERY_BUDGET  # noqa: E402
from server.rulebook_drafts import MAX_RULEBOOK_CHARS  # noqa: E402
from tests.server.graphql_ops import big_rulebook, encounter_input  # noqa: E402

POLL_EVERY_SECONDS = 0.02
TARGET_P99_MS = 100.0
CHECK_SELECTION = """{ __typename ... on DocumentationCheck {
  findings { label start end text context values }
  classifications { serviceId category criteria reasons { code message evidence { label start end text } }
                    query { serviceId topic text missing } }
  queries { serviceId topic text missing } } }"""


def dense_note(max_chars: int) -> str:
    """Corpus fragments (nearly every one a finding) back to back: the costliest note to analyse."""
    from rulebooks.notes.evaluation import load_corpus

    fragments = [
        f.text for path in sorted((REPO / "tests/rulebooks/notes/corpus").glob("*.jsonl")) for f in load_corpus(path)
    ]
    parts, length, index = [], 0, 0
    while length < max_chars:
        parts.append(fragments[index % len(fragments)])
        length += len(parts[-1]) + 1
        index += 1
    return " ".join(parts)[:max_chars]


def aliased(field: str, arguments: str, selection: str) -> str:
    """As many aliases of `field` as the cost budget allows."""
    count = QUERY_BUDGET // FIELD_COSTS[f"Query.{field}"]
    return " ".join(f"a{index}: {field}({arguments}) {selection}" for index in range(count))


def heavy_documents() -> list[tuple[str, str, dict[str, Any]]]:
    """(field, document, variables) of each heavy request."""
    rulebook = big_rulebook(MAX_RULEBOOK_CHARS - 10_000)
    encounter = encounter_input(note=dense_note(MAX_NOTE_CHARS))
    return [
        (
            "validateRulebook",
            f"query($t: String!) {{ {aliased('validateRulebook', 'text: $t', '{ severity code message }')} }}",
            {"t": rulebook},
        ),
        (
            "checkDocumentation",
            f"query($e: EncounterInput!) {{ {aliased('checkDocumentation', 'encounter: $e', CHECK_SELECTION)} }}",
            {"e": encounter},
        ),
    ]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cli(env: dict[str, str], *args: str) -> str:
    return subprocess.run(
        [sys.executable, "-m", "server.cli", *args], env=env, cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.strip()


def _wait_until_healthy(url: str, process: subprocess.Popen[bytes]) -> None:
    import httpx

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("the server exited early")
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("the server did not start")


class HealthPoller(threading.Thread):
    """GET /healthz every 20 ms from its own thread and connection, until stopped (or 10 minutes)."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.latencies_ms: list[float] = []
        self.failures = 0
        self.stopped = threading.Event()

    def run(self) -> None:
        import httpx

        with httpx.Client(timeout=60) as client:
            deadline = time.monotonic() + 600
            while not self.stopped.is_set() and time.monotonic() < deadline:
                started = time.perf_counter()
                try:
                    ok = client.get(f"{self.url}/healthz").status_code == 200
                except httpx.HTTPError:
                    ok = False
                elapsed = time.perf_counter() - started
                self.latencies_ms.append(elapsed * 1000)
                self.failures += not ok
                self.stopped.wait(max(0.0, POLL_EVERY_SECONDS - elapsed))


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def summary(label: str, poller: HealthPoller) -> str:
    values = poller.latencies_ms
    return (
        f"  /healthz {label:<22} n={len(values):4d}  p50 {statistics.median(values):7.1f} ms  "
        f"p99 {percentile(values, 0.99):7.1f} ms  max {max(values):7.1f} ms  failures {poller.failures}"
    )


async def send_heavy(
    url: str, key: str, documents: list[tuple[str, str, dict[str, Any]]], rounds: int, senders: int
) -> list[tuple[str, float, str]]:
    """`senders` clients per document, each sending it `rounds` times; (field, seconds, outcome) per request."""
    import httpx

    outcomes: list[tuple[str, float, str]] = []

    async def sender(client: httpx.AsyncClient, field: str, query: str, variables: dict[str, Any]) -> None:
        body = json.dumps({"query": query, "variables": variables})
        for _ in range(rounds):
            started = time.perf_counter()
            response = await client.post(
                f"{url}/graphql",
                content=body,
                headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
            )
            answer = response.json()
            codes = sorted({e.get("extensions", {}).get("code", "error") for e in answer.get("errors") or []})
            outcomes.append((field, time.perf_counter() - started, ",".join(codes) or "ok"))

    async with httpx.AsyncClient(timeout=600) as client:
        await asyncio.gather(
            *(sender(client, field, query, variables) for field, query, variables in documents for _ in range(senders))
        )
    return outcomes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2, help="times each sender sends its document")
    parser.add_argument("--senders", type=int, default=2, help="concurrent senders per heavy document")
    parser.add_argument("--baseline-seconds", type=float, default=5.0)
    parser.add_argument("--only", choices=["validateRulebook", "checkDocumentation"], help="one kind of heavy request")
    args = parser.parse_args()

    documents = [d for d in heavy_documents() if args.only in (None, d[0])]
    with tempfile.TemporaryDirectory(prefix="cutis-healthz-") as data_dir:
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            "CUTIS_DATA_DIR": data_dir,
            "CUTIS_PORT": str(port),
            "CUTIS_HOST": "127.0.0.1",
            "CUTIS_DATABASE_URL": f"sqlite+aiosqlite:///{data_dir}/cutis.sqlite3",
            "CUTIS_RATE_LIMIT_PER_MINUTE": "1000000",
            "PYTHONPATH": str(REPO),
        }
        for name in (
            "CUTIS_REDIS_URL",
            "CUTIS_MIGRATION_DATABASE_URL",
            "CUTIS_CPU_PROCESSES",
            "CUTIS_CPU_BUDGET_SECONDS",
        ):
            env.pop(name, None)
        _cli(env, "db", "upgrade")
        _cli(env, "demo", "seed")
        key = _cli(env, "demo", "key")
        server = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "serve", "--no-upgrade"],
            env=env,
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait_until_healthy(url, server)
            baseline = HealthPoller(url)
            baseline.start()
            time.sleep(args.baseline_seconds)
            baseline.stopped.set()
            baseline.join()

            loaded = HealthPoller(url)
            loaded.start()
            started = time.perf_counter()
            outcomes = asyncio.run(send_heavy(url, key, documents, args.rounds, args.senders))
            heavy_seconds = time.perf_counter() - started
            loaded.stopped.set()
            loaded.join()
        finally:
            server.terminate()
            server.wait(timeout=30)

    print(
        f"cutis serve (embedded, SQLite), {os.cpu_count()} cores shared with the load generator; "
        f"query cost budget {QUERY_BUDGET}"
    )
    for field, _, variables in documents:
        size = len(json.dumps(variables))
        mine = [o for o in outcomes if o[0] == field]
        print(
            f"  heavy: {QUERY_BUDGET // FIELD_COSTS['Query.' + field]} x {field} per request over {size:,} bytes "
            f"of variables; {len(mine)} requests ({args.senders} at a time), median "
            f"{statistics.median(o[1] for o in mine):.1f} s, outcomes {sorted({o[2] for o in mine})}"
        )
    print(f"  heavy load ran {heavy_seconds:.1f} s")
    print(summary("without load", baseline))
    print(summary("under heavy load", loaded))
    p99 = percentile(loaded.latencies_ms, 0.99)
    print(
        f"  target: p99 < {TARGET_P99_MS:.0f} ms under load -> {'met' if p99 < TARGET_P99_MS else 'NOT met'} "
        f"({p99:.1f} ms; baseline p99 {percentile(baseline.latencies_ms, 0.99):.1f} ms)"
    )


if __name__ == "__main__":
    main()
