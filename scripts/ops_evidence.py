"""The metrics page and one traced codeEncounter request, on a throwaway embedded database.

    .venv/bin/python scripts/ops_evidence.py OUT_DIR   # writes metrics.txt and trace.txt (the span tree)

docs/screenshots/ops-metrics.png is Chromium's screenshot of metrics.txt; ops-trace-codeEncounter.txt is trace.txt.
"""

import asyncio
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import httpx
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from server.migrate import upgrade
from server.settings import Settings
from server.tracing import configure_tracing
from tests.factories import TOTP_KEY, make_clinic
from tests.server.graphql_ops import encounter_input, operation


async def main(out: Path) -> None:
    exporter = InMemorySpanExporter()
    configure_tracing(None, "cutis-api", SimpleSpanProcessor(exporter))
    folder = Path(tempfile.mkdtemp())
    url = f"sqlite+aiosqlite:///{folder / 'c.sqlite3'}"
    upgrade(url)
    from server.app import create_app

    app = create_app(
        Settings(
            database_url=url,
            data_dir=folder,
            totp_key=TOTP_KEY,
            cpu_processes=1,
            otlp_endpoint="http://127.0.0.1:4318",
            web_dist=folder / "none",
        )
    )
    s = app.state.services
    clinic = await make_clinic(s.session_factory, "evidence")
    async with (
        app.lifespan(),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://cutis.test", timeout=120) as c,
    ):
        h = {"Authorization": f"Bearer {clinic.key}"}
        for i in range(5):
            await c.post(
                "/graphql",
                json={
                    "query": operation("CodeEncounter"),
                    "variables": {"input": encounter_input(external_id=f"E{i}")},
                },
                headers=h,
            )
        for i in range(3):
            await c.post(
                "/graphql",
                json={
                    "query": operation("SubmitEncounter"),
                    "variables": {"input": encounter_input(external_id=f"S{i}")},
                },
                headers=h,
            )
        await s.queue.drain()
        await c.post("/graphql", json={"query": "{ clinic { name } }"}, headers=h)
        exporter.clear()
        await c.post(
            "/graphql",
            json={"query": operation("CodeEncounter"), "variables": {"input": encounter_input(external_id="TRACED")}},
            headers=h,
        )
        spans = exporter.get_finished_spans()
        page = (await c.get("/metrics")).text
    (out / "metrics.txt").write_text(page)
    root = next(x for x in spans if x.parent is None)
    kids = {}
    for x in spans:
        if x.parent:
            kids.setdefault(x.parent.span_id, []).append(x)
    lines = [f"trace {root.context.trace_id:032x} (service cutis-api)"]

    def walk(x, depth):
        ms = (x.end_time - x.start_time) / 1e6
        offset = (x.start_time - root.start_time) / 1e6
        stmt = (x.attributes or {}).get("db.statement")
        label = x.name + (f"  [{stmt[:70]}]" if stmt else "")
        lines.append(f"{'  ' * depth}{label:<100} +{offset:7.1f} ms {ms:8.1f} ms")
        for k in sorted(kids.get(x.context.span_id, []), key=lambda k: k.start_time):
            walk(k, depth + 1)

    walk(root, 0)
    (out / "trace.txt").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1])))
