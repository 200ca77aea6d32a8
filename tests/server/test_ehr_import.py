"""Importing EHR messages into a clinic (server/ehr/imports.py) on SQLite and PostgreSQL: a visit's
messages make one encounter version queued for coding, the same import twice makes nothing new, a
bad message waits in quarantine and is retried once the clinic fixes what it lacked, and each
clinic sees only its own messages. Plus `cutis import` as a user runs it."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

from server.cpu import InlineCpu
from server.db import SessionAlone, tenant_session
from server.ehr.imports import Incoming, import_stream, messages_in, retry_message
from server.ehr.mllp import import_handler, serve_mllp
from server.models import EhrMessage, EhrVisit, EncounterRecord, OutboxMessage, Payer
from tests.factories import make_clinic

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ehr"
REPO = Path(__file__).resolve().parents[2]


class RecordingCpu(InlineCpu):
    """Runs inline and records what was sent to the pool (by function name)."""

    def __init__(self) -> None:
        self.dispatched: list[str] = []

    async def run(self, operation: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        self.dispatched.append(operation.__name__)
        return await super().run(operation, *args, **kwargs)


async def _map_aetna(factory: Any, tenant_id: uuid.UUID, ehr_payer_id: str = "60054") -> None:
    async with tenant_session(factory, tenant_id) as session:
        await session.execute(update(Payer).where(Payer.code == "AETNA").values(ehr_payer_id=ehr_payer_id))


async def _count(factory: Any, tenant_id: uuid.UUID, model: Any, *where: Any) -> int:
    async with tenant_session(factory, tenant_id) as session:
        return int((await session.execute(select(func.count()).select_from(model).where(*where))).scalar_one())


async def test_a_folder_of_visits_imports_once(session_factory) -> None:  # type: ignore[no-untyped-def]
    clinic = await make_clinic(session_factory)
    await _map_aetna(session_factory, clinic.tenant_id)
    cpu = RecordingCpu()
    messages = list(messages_in(FIXTURES))
    assert [m.format for m in messages] == ["fhir", "hl7v2", "hl7v2", "hl7v2", "hl7v2"]
    reports: list[int] = []
    tally = await import_stream(
        session_factory, cpu, clinic.tenant_id, "file", messages, progress=lambda done: reports.append(done.read)
    )
    assert tally.to_dict() == {"read": 5, "already": 0, "imported": 4, "waiting": 1, "quarantined": 0, "versions": 4}
    assert reports == [5]
    assert cpu.dispatched == ["parse_all", "assemble"]  # the CPU work went to the pool, not the loop
    async with tenant_session(session_factory, clinic.tenant_id) as session:
        versions = (
            await session.execute(
                select(EncounterRecord.external_id, EncounterRecord.version, EncounterRecord.status).order_by(
                    EncounterRecord.external_id, EncounterRecord.version
                )
            )
        ).all()
        visit = (await session.execute(select(EhrVisit).where(EhrVisit.visit_key == "V0001"))).scalar_one()
        latest = (
            await session.execute(select(EncounterRecord).where(EncounterRecord.id == visit.encounter_id))
        ).scalar_one()
    # the bundle is one version; V0001 gets one per message that changed it (charges, note, pathology)
    assert [tuple(row) for row in versions] == [
        ("22222222-2222-4222-8222-222222222222", 1, "queued"),
        ("V0001", 1, "queued"),
        ("V0001", 2, "queued"),
        ("V0001", 3, "queued"),
    ]
    assert latest.version == 3 and latest.payload["diagnoses"] == ["L40.0", "C44.519"]
    assert latest.payload["staff_codes"] == ["99213-25", "11102"]
    assert await _count(session_factory, clinic.tenant_id, OutboxMessage) == 4

    again = await import_stream(session_factory, cpu, clinic.tenant_id, "file", list(messages_in(FIXTURES)))
    assert again.to_dict() == {"read": 5, "already": 5, "imported": 0, "waiting": 0, "quarantined": 0, "versions": 0}
    assert await _count(session_factory, clinic.tenant_id, EncounterRecord) == 4
    assert await _count(session_factory, clinic.tenant_id, EhrMessage) == 5


async def test_the_same_visit_reexported_makes_no_new_version(session_factory) -> None:  # type: ignore[no-untyped-def]
    """A message with a new control id but the same facts is a new message and the same encounter."""
    clinic = await make_clinic(session_factory)
    await _map_aetna(session_factory, clinic.tenant_id)
    dft = (FIXTURES / "visit_hl7v2_dft_p03.hl7").read_text().replace("\n", "\r").strip()
    first = await import_stream(session_factory, InlineCpu(), clinic.tenant_id, "file", [Incoming("hl7v2", dft)])
    resent = dft.replace("|MSG00002|", "|MSG00002-RESENT|")
    second = await import_stream(session_factory, InlineCpu(), clinic.tenant_id, "file", [Incoming("hl7v2", resent)])
    assert (first.versions, second.imported, second.versions) == (1, 1, 0)


async def test_a_bad_message_is_quarantined_and_retried(session_factory) -> None:  # type: ignore[no-untyped-def]
    clinic = await make_clinic(session_factory)  # AETNA not mapped to the EHR's payer id yet
    bundle = (FIXTURES / "visit_fhir_bundle.json").read_text()
    broken = Incoming("hl7v2", "MSH|^~\\&|A\rPV1|garbage")
    tally = await import_stream(
        session_factory, InlineCpu(), clinic.tenant_id, "file", [Incoming("fhir", bundle), broken]
    )
    assert (tally.quarantined, tally.versions) == (2, 0)
    async with tenant_session(session_factory, clinic.tenant_id) as session:
        rows = (await session.execute(select(EhrMessage).order_by(EhrMessage.format))).scalars().all()
        assert [(r.format, r.status, r.error_where, r.error_why) for r in rows] == [
            (
                "fhir",
                "quarantined",
                "Bundle.entry[1].resource(Organization).identifier[0].value",
                "the payer id is not mapped to any of the clinic's payers (savePayer ehrPayerId)",
            ),
            ("hl7v2", "quarantined", "PV1-19 (visit number)", "required, and empty or missing"),
        ]
        fhir_id = rows[0].id
    assert await _count(session_factory, clinic.tenant_id, EhrVisit) == 0  # nothing half-stored
    assert await _count(session_factory, clinic.tenant_id, EncounterRecord) == 0

    await _map_aetna(session_factory, clinic.tenant_id)
    async with tenant_session(session_factory, clinic.tenant_id) as session:
        retried, _ = await retry_message(SessionAlone(session), InlineCpu(), clinic.tenant_id, fhir_id)
        assert (retried.status, retried.error_where, retried.attempts) == ("imported", None, 2)
    assert await _count(session_factory, clinic.tenant_id, EncounterRecord) == 1


async def test_a_clinic_sees_only_its_own_messages_and_visits(session_factory) -> None:  # type: ignore[no-untyped-def]
    """Two clinics whose EHRs use the same visit numbers and send the same message keep apart."""
    first, second = await make_clinic(session_factory, "a"), await make_clinic(session_factory, "b")
    for clinic in (first, second):
        await _map_aetna(session_factory, clinic.tenant_id)
        tally = await import_stream(session_factory, InlineCpu(), clinic.tenant_id, "file", list(messages_in(FIXTURES)))
        assert (tally.already, tally.versions) == (0, 4)  # the other clinic's copy is not "already imported"
    for clinic in (first, second):
        assert await _count(session_factory, clinic.tenant_id, EhrMessage) == 5
        assert await _count(session_factory, clinic.tenant_id, EhrVisit) == 2


def test_cutis_import_with_a_progress_bar_twice(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "CUTIS_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cutis.sqlite3'}",
        "CUTIS_DATA_DIR": str(tmp_path),
    }

    def cutis(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, "-m", "server.cli", *args], cwd=REPO, capture_output=True, text=True, env=env, timeout=120
        )
        assert not check or result.returncode == 0, result.stderr
        return result

    cutis("db", "upgrade")
    cutis("demo", "seed")  # the demo clinic maps Aetna's EHR payer id 60054
    first = cutis("import", str(FIXTURES), "--tenant", "demo")
    assert "importing" in first.stderr  # click draws the bar itself on a terminal
    assert first.stdout.startswith(
        "5 messages: 4 imported, 1 waiting for the rest of their visit, 0 already imported, 0 quarantined; "
        "4 new encounter versions"
    )
    second = json.loads(cutis("import", str(FIXTURES), "--tenant", "demo", "--format", "json").stdout)
    assert (second["read"], second["already"], second["versions"]) == (5, 5, 0)
    unknown = cutis("import", str(FIXTURES), "--tenant", "nobody", check=False)
    assert unknown.returncode != 0 and "no clinic with the slug 'nobody'" in unknown.stderr


async def test_the_mllp_listener_answers_ack_and_nak_over_a_socket(session_factory) -> None:  # type: ignore[no-untyped-def]
    clinic = await make_clinic(session_factory)
    await _map_aetna(session_factory, clinic.tenant_id)
    queue = RecordingQueue()
    server = await serve_mllp(
        "127.0.0.1",
        0,
        import_handler(session_factory, InlineCpu(), clinic.tenant_id, queue),  # type: ignore[arg-type]
    )
    port = server.sockets[0].getsockname()[1]
    dft = (FIXTURES / "visit_hl7v2_dft_p03.hl7").read_text().replace("\n", "\r").strip()
    broken = dft.replace("|CG|11102^", "|CG|1X102^").replace("||||11102^Tangential", "||||1X102^Tangential")
    broken = broken.replace("|MSG00002|", "|MSG00009|")
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)

        async def send(message: str) -> list[str]:
            writer.write(b"\x0b" + message.encode() + b"\x1c\x0d")
            await writer.drain()
            answer = await asyncio.wait_for(reader.readuntil(b"\x1c\x0d"), 10)
            assert answer.startswith(b"\x0b")
            return answer[1:-2].decode().split("\r")

        accepted = await send(dft)
        assert accepted[0].startswith("MSH|^~\\&|CUTIS|CUTIS|DERMEHR|SUNNYDERM|")
        assert "|ACK^P03^ACK|" in accepted[0]
        assert accepted[1:] == ["MSA|AA|MSG00002"]
        refused = await send(broken)  # on the same connection
        assert refused[1:] == [
            "MSA|AE|MSG00009",
            "ERR||||E||||FT1[2]-25 (procedure code): not a CPT or HCPCS code such as 11102",
        ]
        assert (await send(dft))[1:] == ["MSA|AA|MSG00002"]  # sent twice: stored once
        writer.close()
    finally:
        server.close()
        await server.wait_closed()
    assert await _count(session_factory, clinic.tenant_id, EncounterRecord) == 1
    assert await _count(session_factory, clinic.tenant_id, EhrMessage, EhrMessage.status == "quarantined") == 1
    assert len(queue.enqueued) == 1  # the one new version's coding, relayed after its message committed


def test_a_drop_folder_imports_each_file_once_it_is_written(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "CUTIS_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cutis.sqlite3'}",
        "CUTIS_DATA_DIR": str(tmp_path),
    }
    for args in (("db", "upgrade"), ("demo", "seed")):
        subprocess.run([sys.executable, "-m", "server.cli", *args], cwd=REPO, env=env, check=True, capture_output=True)
    drop = tmp_path / "drop"
    drop.mkdir()
    watcher = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "import", str(drop), "--tenant", "demo", "--watch", "--interval", "0.2"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        (drop / "visit.hl7").write_text((FIXTURES / "visit_hl7v2_dft_p03.hl7").read_text())
        (drop / "notes.txt").write_text("not a message file: left where it is")
        deadline = time.monotonic() + 60
        while not (drop / "done" / "visit.hl7").exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert (drop / "done" / "visit.hl7").exists()
        (drop / "visit.hl7").write_text((FIXTURES / "visit_hl7v2_dft_p03.hl7").read_text())  # the same file again
        while not (drop / "done" / "visit.1.hl7").exists() and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        watcher.send_signal(signal.SIGINT)
        out, err = watcher.communicate(timeout=30)
    assert "watching" in err
    assert out.splitlines() == [
        "visit.hl7: 1 messages, 1 imported, 0 waiting, 0 already imported, 0 quarantined, 1 new encounter versions",
        "visit.1.hl7: 1 messages, 0 imported, 0 waiting, 1 already imported, 0 quarantined, 0 new encounter versions",
    ]
    assert (drop / "notes.txt").exists() and not (drop / "visit.hl7").exists()


@pytest.mark.parametrize("command", [["import"], ["mllp"], ["pull"]], ids=["import", "mllp", "pull"])
def test_the_ehr_commands_have_help(command: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "server.cli", *command, "--help"], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0 and "--tenant" in result.stdout


class RecordingQueue:
    """The workers' queue as relay sees it: what was enqueued."""

    def __init__(self) -> None:
        self.enqueued: list[Any] = []

    async def enqueue(self, ref: Any) -> None:
        self.enqueued.append(ref)


async def test_each_chunks_codings_are_relayed_once_it_commits(session_factory) -> None:  # type: ignore[no-untyped-def]
    clinic = await make_clinic(session_factory)
    await _map_aetna(session_factory, clinic.tenant_id)
    queue = RecordingQueue()
    tally = await import_stream(
        session_factory,
        InlineCpu(),
        clinic.tenant_id,
        "file",
        list(messages_in(FIXTURES)),
        queue=queue,  # type: ignore[arg-type]
    )
    async with tenant_session(session_factory, clinic.tenant_id) as session:
        outbox = (await session.execute(select(OutboxMessage))).scalars().all()
    assert tally.versions == 4
    assert sorted(ref.outbox_id for ref in queue.enqueued) == sorted(row.id for row in outbox)
    assert all(row.enqueued_at is not None for row in outbox)


class FailingOnceCpu(InlineCpu):
    """Fails the `fail_at`-th pool call, as a crash or a stop part way through an import would."""

    def __init__(self, fail_at: int) -> None:
        self.calls, self.fail_at = 0, fail_at

    async def run(self, operation: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        if self.calls == self.fail_at:
            raise RuntimeError("stopped part way")
        return await super().run(operation, *args, **kwargs)


async def test_an_import_cut_short_resumes_where_it_stopped(session_factory, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr("server.ehr.imports.CHUNK", 2)
    clinic = await make_clinic(session_factory)
    await _map_aetna(session_factory, clinic.tenant_id)
    messages = list(messages_in(FIXTURES))  # 5 messages: chunks of 2, 2 and 1
    with pytest.raises(RuntimeError, match="stopped part way"):
        await import_stream(session_factory, FailingOnceCpu(fail_at=3), clinic.tenant_id, "file", messages)
    assert await _count(session_factory, clinic.tenant_id, EhrMessage) == 2  # the first chunk, whole; no half
    resumed = await import_stream(session_factory, InlineCpu(), clinic.tenant_id, "file", messages)
    assert (resumed.already, resumed.imported + resumed.waiting) == (2, 3)
    assert await _count(session_factory, clinic.tenant_id, EhrMessage) == 5
    assert await _count(session_factory, clinic.tenant_id, EncounterRecord) == 4  # as one uninterrupted import
