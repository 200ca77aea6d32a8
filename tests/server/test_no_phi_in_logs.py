"""PHI never reaches the logs: not on success, not on a validation failure, not on a crash."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from server.cpu import InlineCpu
from server.logs import JsonFormatter
from tests.factories import make_clinic
from tests.server.graphql_ops import encounter_input, gql, operation

PATIENT_ID = "MRN-ZX-998877"
NOTE_MARKER = "Quixotically-Named Patient"


def _phi_encounter() -> dict[str, Any]:
    encounter = encounter_input(note=f"{NOTE_MARKER} reports a bleeding lesion on the left forearm.")
    encounter["patient"]["id"] = PATIENT_ID
    return encounter


@contextmanager
def json_lines() -> Iterator[io.StringIO]:
    """What `cutis serve` writes: every record formatted as it is logged (the ids are read then)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logging.getLogger().addHandler(handler)
    try:
        yield stream
    finally:
        logging.getLogger().removeHandler(handler)


async def test_no_phi_in_logs(app_client, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    clinic = await make_clinic(app_client.app_services.session_factory)
    caplog.set_level(logging.DEBUG)
    with json_lines() as stream:
        await _every_path(app_client, clinic, monkeypatch)
    logged = "\n".join(record.getMessage() + str(record.exc_text or "") for record in caplog.records)
    assert caplog.records, "the test must see the log records it checks"
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert len(lines) == len(caplog.records), "every record is one JSON line"
    for text in (logged, stream.getvalue()):
        assert NOTE_MARKER not in text
        assert PATIENT_ID not in text
        assert "bleeding lesion" not in text
    crash = [line for line in lines if line["message"] == "unexpected error in codeEncounter: RuntimeError"]
    assert crash, "the crash is logged, by its type"
    assert crash[0]["tenant_id"] == str(clinic.tenant_id), "a request's lines name its clinic"
    assert len(crash[0]["request_id"]) == 32, "and its request"
    requests = [line for line in lines if line["logger"] == "cutis.http"]
    assert [line["message"].split()[:3] for line in requests] == [["POST", "/graphql", "200"]] * 4
    assert {line["tenant_id"] for line in requests} == {str(clinic.tenant_id)}, "each request's own line too"
    assert crash[0]["request_id"] == requests[-1]["request_id"]


async def _every_path(app_client, clinic, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    await gql(app_client, operation("CodeEncounter"), {"input": _phi_encounter()}, clinic.key)
    await gql(app_client, operation("SubmitEncounter"), {"input": _phi_encounter()}, clinic.key)
    await app_client.app_services.queue.drain()
    invalid = _phi_encounter()
    invalid["diagnoses"] = [NOTE_MARKER]
    await gql(app_client, operation("CodeEncounter"), {"input": invalid}, clinic.key)

    def explode(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"crash while reading {NOTE_MARKER} / {PATIENT_ID}")

    monkeypatch.setattr("server.encounters.code_encounter", explode)
    # the engine is patched in this process, so the coding runs here rather than in a CPU pool worker
    monkeypatch.setattr(app_client.app_services, "cpu", InlineCpu())
    body = await gql(app_client, operation("CodeEncounter"), {"input": _phi_encounter()}, clinic.key)
    assert body["errors"][0]["message"] == "internal error"
