"""Impact replay throughput: a draft against 100,000 stored encounters, over 1 and 2 arq workers.

Run: .venv/bin/python benchmarks/replay_bench.py [--encounters 100000] [--workers 1 2]
Needs PostgreSQL (CUTIS_TEST_POSTGRES_URL, default postgresql://postgres@127.0.0.1:5432/test) and
Redis (CUTIS_BENCH_REDIS_URL, default redis://127.0.0.1:6379/8, flushed first).

What runs is production's path: a fresh database migrated to head, a clinic seeded with the shipped
templates published, N encounter versions stored with their note analyses (the analyses of 2,000
generated encounters, computed here, stored round-robin under distinct external ids: the replay's
work per encounter is the same), the Aetna book's draft with its AK cap raised, then
`impact_replay.start` and its chunk jobs relayed to `cutis worker` processes (each with a CPU pool
of one process), timed from the start until every chunk is done. The baseline, measured in the
same run: what reading the notes again would cost (note analysis per encounter on a sample, times
N), which the stored analyses make unnecessary. Prints medians and ratios; asserts no time.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `benchmarks.*` when run as a script

REPO = Path(__file__).resolve().parents[1]
ADMIN_URL = os.environ.get("CUTIS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("CUTIS_BENCH_REDIS_URL", "redis://127.0.0.1:6379/8")
DISTINCT = 2_000
AETNA = "Aetna commercial (template)"


def analysed(count: int) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(payload, analysis) of `count` generated Aetna encounters with realistic notes (1,100 to
    2,000 characters, benchmarks/realistic_notes.py), each analysed once."""
    from benchmarks.engine_bench import generate
    from benchmarks.notes_bench import CORPUS
    from benchmarks.realistic_notes import realistic_notes
    from rulebooks.coding import code_encounter
    from rulebooks.notes.evaluation import load_corpus
    from rulebooks.replay import analysis_of
    from rulebooks.stack import library_stack

    fragments = [fragment.text for path in sorted(CORPUS.glob("*.jsonl")) for fragment in load_corpus(path)]
    notes = realistic_notes(count, fragments)
    stack = library_stack(AETNA)
    found = []
    for encounter, note in zip(generate(count, 17), notes, strict=True):
        coverage = encounter.coverage.model_copy(update={"payer": "AETNA"})
        encounter = encounter.model_copy(update={"coverage": coverage, "note": note})
        coded = code_encounter(encounter, encounter_id="bench", coded_at=dt.datetime.now(dt.UTC), stack=stack)
        found.append((encounter.model_dump(mode="json"), analysis_of(coded)))
    return found


def note_seconds_per_encounter(sample: list[tuple[dict[str, Any], dict[str, Any]]]) -> float:
    """The baseline: reading a note (documentation analysis alone), median seconds per encounter."""
    from rulebooks.models import Encounter
    from rulebooks.notes import check_documentation

    encounters = [Encounter.model_validate(payload) for payload, _ in sample]
    timings = []
    for _ in range(3):
        start = time.process_time()
        for encounter in encounters:
            check_documentation(encounter)
        timings.append((time.process_time() - start) / len(encounters))
    return sorted(timings)[1]


def create_database() -> tuple[str, str, str]:
    import psycopg

    from server.migrate import upgrade

    name = f"cutis_replay_bench_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    owner_url = f"{ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    upgrade(owner_url)
    parsed = urlparse(owner_url)
    return name, owner_url, f"postgresql://cutis_app@{parsed.hostname}:{parsed.port or 5432}/{name}"


def drop_database(name: str) -> None:
    import psycopg

    with psycopg.connect(ADMIN_URL, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def seed(app_url: str, data_dir: Path) -> tuple[uuid.UUID, uuid.UUID]:
    """A clinic with the templates published, and the Aetna draft with its AK cap raised."""
    from sqlalchemy import select

    from server import rulebook_versions
    from server.db import create_engine, create_session_factory, global_session, tenant_session
    from server.demo import demo_fee_rows
    from server.models import FeeScheduleEntry, RulebookRecord
    from server.settings import Settings
    from tenants import accounts

    engine = create_engine(Settings(database_url=app_url, data_dir=data_dir, secret_key="bench"))
    factory = create_session_factory(engine)
    try:
        async with global_session(factory) as session:
            tenant_id = await accounts.create_clinic(session, f"bench-{uuid.uuid4().hex[:6]}", "Bench clinic")
        async with tenant_session(factory, tenant_id) as session:
            for fee in demo_fee_rows():
                session.add(
                    FeeScheduleEntry(tenant_id=tenant_id, schedule=fee["schedule"], code=fee["code"], fee=fee["fee"])
                )
            for template in rulebook_versions.templates():
                await rulebook_versions.seed_template(session, tenant_id, template)
            row = (await session.execute(select(RulebookRecord).where(RulebookRecord.name == AETNA))).scalar_one()
            row.draft_text = row.draft_text.replace("service.count > 10 lesions", "service.count > 14 lesions")
            row.draft_text = row.draft_text.replace("at 10 lesions", "at 14 lesions")
            row.draft_revision += 1
            return tenant_id, row.id
    finally:
        await engine.dispose()


def store(
    owner_url: str, tenant_id: uuid.UUID, analyses: list[tuple[dict[str, Any], dict[str, Any]]], count: int
) -> None:
    """`count` encounter versions with their analyses, by COPY (the owner: RLS is the app's)."""
    import psycopg

    now = dt.datetime.now(dt.UTC)
    with psycopg.connect(owner_url) as connection, connection.cursor() as cursor:
        columns = (
            "id, tenant_id, external_id, version, payer_code, date_of_service, status, payload, analysis, created_at"
        )
        with cursor.copy(f"COPY encounters ({columns}) FROM STDIN") as copy:
            for number in range(count):
                payload, analysis = analyses[number % len(analyses)]
                payload = {**payload, "external_id": f"BENCH-{number}"}
                copy.write_row(
                    (
                        uuid.uuid4(),
                        tenant_id,
                        payload["external_id"],
                        1,
                        "AETNA",
                        payload["date_of_service"],
                        "coded",
                        json.dumps(payload),
                        json.dumps(analysis),
                        now - dt.timedelta(microseconds=number),
                    )
                )


async def replay_once(
    app_url: str, data_dir: Path, tenant_id: uuid.UUID, rulebook_id: uuid.UUID, count: int, workers: int
) -> tuple[float, int, dict[str, Any]]:
    """Start the replay, relay its chunks to `workers` worker processes, wait until done."""
    import redis.asyncio as redis

    from server import impact_replay
    from server.cpu import InlineCpu
    from server.db import SessionAlone, create_engine, create_session_factory, tenant_session
    from server.jobs import ArqQueue, OutboxRef, relay
    from server.settings import Settings
    from tenants.keys import Principal

    client = redis.from_url(REDIS_URL)
    await client.flushdb()
    await client.aclose()
    env = {
        **os.environ,
        "CUTIS_DATABASE_URL": app_url,
        "CUTIS_REDIS_URL": REDIS_URL,
        "CUTIS_DATA_DIR": str(data_dir),
        "CUTIS_CPU_PROCESSES": "1",
    }
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "server.cli", "worker"],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(workers)
    ]
    engine = create_engine(Settings(database_url=app_url, data_dir=data_dir, secret_key="bench"))
    factory = create_session_factory(engine)
    queue = ArqQueue(REDIS_URL)
    try:
        await asyncio.sleep(8)  # the workers start their CPU pools (the notes pipeline, the library stacks)
        started = time.perf_counter()
        async with tenant_session(factory, tenant_id) as session:
            replay, messages = await impact_replay.start(
                SessionAlone(session), InlineCpu(), Principal(tenant_id=tenant_id), rulebook_id, count
            )
        await relay(factory, queue, [OutboxRef(message.id, tenant_id) for message in messages])
        while True:
            async with tenant_session(factory, tenant_id) as session:
                progress = await impact_replay.progress(session, replay.id)
            if progress.replay.status != "running":
                break
            await asyncio.sleep(0.2)
        seconds = time.perf_counter() - started
        return seconds, progress.done, progress.impact.to_dict()
    finally:
        await queue.close()
        await engine.dispose()
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encounters", type=int, default=100_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    import tempfile

    analyses = analysed(DISTINCT)
    per_note = note_seconds_per_encounter(analyses[:300])
    name, owner_url, app_url = create_database()
    try:
        with tempfile.TemporaryDirectory() as data:
            data_dir = Path(data)
            tenant_id, rulebook_id = asyncio.run(seed(app_url, data_dir))
            started = time.perf_counter()
            store(owner_url, tenant_id, analyses, args.encounters)
            stored = time.perf_counter() - started
            print(f"stored {args.encounters:,} encounter versions with their analyses in {stored:.1f} s")
            notes = per_note * args.encounters
            print(
                f"baseline: reading every note again would take {notes:.0f} CPU-seconds ({per_note * 1000:.2f} ms each)"
            )
            for workers in args.workers:
                seconds, done, impact = asyncio.run(
                    replay_once(app_url, data_dir, tenant_id, rulebook_id, args.encounters, workers)
                )
                total = impact["total"]
                met = "met" if seconds < 60 * args.encounters / 100_000 else "NOT met"
                print(
                    f"{workers} worker(s): {done:,} encounters in {seconds:.1f} s = {done / seconds:,.0f} encounters/s "
                    f"(target: 100,000 in under 60 s -> {met}); {total['changed']:,} code differently, "
                    f"charges up {total['charges_up']}, down {total['charges_down']}; "
                    f"reading every note again would take {notes / seconds:.1f}x as long on one core"
                )
    finally:
        drop_database(name)


if __name__ == "__main__":
    main()
