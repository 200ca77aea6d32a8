"""OTLP export end to end: a real `cutis serve` with CUTIS_OTLP_ENDPOINT pointed at a tiny OTLP/HTTP receiver
on loopback (the protobuf decoded with opentelemetry-proto, as a collector would) codes an encounter; the
request's trace arrives with its SQL and its coding phases, the CPU pool's among them, and no PHI anywhere in
what was sent."""

from __future__ import annotations

import asyncio
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from benchmarks.private_services import free_port
from benchmarks.topology import CUTIS, REPO
from tests.factories import TOTP_KEY, make_clinic
from tests.server.graphql_ops import encounter_input, operation

PATIENT_ID = "MRN-OTLP-7781"
NOTE_MARKER = "Quillfeather-Exported Patient"


class Receiver:
    """An OTLP/HTTP traces endpoint (`POST /v1/traces`, protobuf) keeping every request's raw body."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.paths: list[str] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.paths.append(self.path)
                receiver.bodies.append(body)
                answer = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def spans(self) -> list[tuple[str, Any]]:
        """(service.name, span) for every span received so far."""
        found = []
        for body in self.bodies:
            request = ExportTraceServiceRequest()
            request.ParseFromString(body)
            for resource_spans in request.resource_spans:
                attributes = {item.key: item.value.string_value for item in resource_spans.resource.attributes}
                for scope in resource_spans.scope_spans:
                    found.extend((attributes.get("service.name", ""), span) for span in scope.spans)
        return found

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.close()


def _serve(sqlite_url: str, data_dir: Path, port: int, otlp: str) -> subprocess.Popen[bytes]:
    import os

    environment = {name: value for name, value in os.environ.items() if not name.startswith(("CUTIS_", "OTEL_"))}
    environment |= {
        "CUTIS_DATABASE_URL": sqlite_url,
        "CUTIS_DATA_DIR": str(data_dir),
        "CUTIS_PORT": str(port),
        "CUTIS_TOTP_KEY": TOTP_KEY,
        "CUTIS_CPU_PROCESSES": "1",
        "CUTIS_OTLP_ENDPOINT": otlp,
        "OTEL_BSP_SCHEDULE_DELAY": "100",  # the batch processor's export interval (ms): the test need not wait 5 s
    }
    log = (data_dir / "serve.log").open("wb")
    return subprocess.Popen([*CUTIS, "serve", "--no-upgrade"], cwd=REPO, env=environment, stdout=log, stderr=log)


def test_a_served_coding_is_exported_to_an_otlp_collector(sqlite_url: str, tmp_path: Path, receiver: Receiver) -> None:
    from server.db import create_engine, create_session_factory
    from server.settings import Settings

    async def clinic_key() -> str:
        engine = create_engine(Settings(database_url=sqlite_url, data_dir=tmp_path))
        try:
            return (await make_clinic(create_session_factory(engine), "otlp")).key
        finally:
            await engine.dispose()

    key = asyncio.run(clinic_key())
    port = free_port()
    server = _serve(sqlite_url, tmp_path, port, receiver.url)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, (tmp_path / "serve.log").read_text()[-3000:]
            try:
                if httpx.get(f"http://127.0.0.1:{port}/livez", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "cutis serve did not answer within 60 s"
            time.sleep(0.2)
        encounter = encounter_input()
        encounter["patient"]["id"] = PATIENT_ID
        encounter["note"] = f"{NOTE_MARKER} {encounter.get('note') or ''}"
        response = httpx.post(
            f"http://127.0.0.1:{port}/graphql",
            json={"query": operation("CodeEncounter"), "variables": {"input": encounter}},
            headers={"Authorization": f"Bearer {key}"},
            timeout=60,
        )
        assert response.json()["data"]["codeEncounter"]["__typename"] == "CodedEncounter", response.text

        deadline = time.monotonic() + 20
        while not any(span.name == "POST /graphql" and span.kind == 2 for _, span in receiver.spans()):
            assert time.monotonic() < deadline, f"no request span exported: {[s.name for _, s in receiver.spans()]}"
            time.sleep(0.2)
    finally:
        server.terminate()
        server.wait(timeout=30)

    assert set(receiver.paths) == {"/v1/traces"}
    spans = receiver.spans()
    assert {service for service, _ in spans} == {"cutis-api"}
    (request,) = [span for _, span in spans if span.name == "POST /graphql" and span.kind == 2]  # SPAN_KIND_SERVER
    in_trace = [span for _, span in spans if span.trace_id == request.trace_id]
    names = [span.name for span in in_trace]
    for phase in ("coding.resolve", "coding.run", "coding.store", "coding.notes", "coding.rules.classify"):
        assert names.count(phase) == 1, names
    assert any(attribute.key == "db.statement" for span in in_trace for attribute in span.attributes), names
    (run,) = [span for span in in_trace if span.name == "coding.run"]
    (notes,) = [span for span in in_trace if span.name == "coding.notes"]
    assert notes.parent_span_id == run.span_id
    assert run.start_time_unix_nano <= notes.start_time_unix_nano <= notes.end_time_unix_nano <= run.end_time_unix_nano

    print(_tree(in_trace, request))  # `pytest -s` shows the trace as the collector got it

    sent = b"".join(receiver.bodies)  # every byte the collector got: no PHI in a name, an attribute or an event
    for marker in (PATIENT_ID, NOTE_MARKER, "pigmented lesion", "triamcinolone"):
        assert marker.encode() not in sent, marker


def _tree(spans: list[Any], root: Any, depth: int = 0) -> str:
    """The trace as an indented list: each span's name and milliseconds, its children in the order they began."""
    milliseconds = (root.end_time_unix_nano - root.start_time_unix_nano) / 1e6
    lines = [f"{'  ' * depth}{root.name}  {milliseconds:.1f} ms"]
    children = sorted(
        (span for span in spans if span.parent_span_id == root.span_id), key=lambda span: span.start_time_unix_nano
    )
    lines.extend(_tree(spans, child, depth + 1) for child in children)
    return "\n".join(lines)
