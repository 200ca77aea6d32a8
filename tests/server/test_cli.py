"""The `cutis` command as a user runs it: a subprocess, real files, a real HTTP server."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.server.graphql_ops import FIXTURES, encounter_input, operation

REPO = Path(__file__).resolve().parents[2]
# `cutis` as `python -m server.cli` from this checkout: the console script imports whichever checkout
# the virtualenv was installed from, which need not be the one under test.
CUTIS = [sys.executable, "-m", "server.cli"]
ENCOUNTER = FIXTURES / "biopsy_em.json"


def cutis(*args: str, env: dict[str, str] | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [*CUTIS, *args], cwd=REPO, capture_output=True, text=True, timeout=120, env={**os.environ, **(env or {})}
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


@pytest.mark.parametrize(
    "command",
    [
        pytest.param([], id="cutis"),
        pytest.param(["serve"], id="serve"),
        pytest.param(["worker"], id="worker"),
        pytest.param(["db", "upgrade"], id="db upgrade"),
        pytest.param(["demo", "seed"], id="demo seed"),
        pytest.param(["demo", "key"], id="demo key"),
        pytest.param(["code"], id="code"),
        pytest.param(["tenant", "list"], id="tenant list"),
        pytest.param(["user", "list"], id="user list"),
        pytest.param(["user", "remove"], id="user remove"),
        pytest.param(["key", "list"], id="key list"),
        pytest.param(["key", "revoke"], id="key revoke"),
    ],
)
def test_every_command_has_help(command: list[str]) -> None:
    result = cutis(*command, "--help")
    assert "Usage:" in result.stdout


def test_version_names_the_package_and_the_engine_release() -> None:
    from rulebooks.engine.release import ENGINE_RELEASE

    result = cutis("--version")
    assert re.fullmatch(rf"cutis \d+\.\d+\.\d+ \(engine {re.escape(ENGINE_RELEASE)}\)\n", result.stdout), result.stdout


def test_code_prints_the_coding_as_json(snapshot) -> None:  # type: ignore[no-untyped-def]
    result = cutis("code", str(ENCOUNTER), "--format", "json", "--coded-at", "2026-11-02T12:00:00+00:00")
    coding = json.loads(result.stdout)
    assert [(line["code"], line["units"], line["modifiers"]) for line in coding["claim_lines"]] == [
        ("11104", 1, []),
        ("11103", 2, []),
        ("99214", 1, ["25"]),
    ]
    assert coding == snapshot


def test_code_payer_override_and_table(tmp_path: Path) -> None:
    result = cutis("code", str(ENCOUNTER), "--payer", "UHC", "--explain", "--format", "table")
    assert "11104" in result.stdout and "why: select_biopsies" in result.stdout
    as_json = json.loads(cutis("code", str(ENCOUNTER), "--payer", "UHC", "--format", "json").stdout)
    assert as_json["encounter_id"] == "DEMO-0001"


def test_code_refuses_a_payer_the_clinic_does_not_have_and_names_its_payers() -> None:
    """An unknown code would code with the national base alone, silently: one line and exit 1 instead."""
    result = cutis("code", str(ENCOUNTER), "--payer", "ACME", check=False)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        "Error: unknown payer 'ACME': the demo clinic's payers are "
        "AETNA, BCBS, CIGNA, MA-HUMANA, MEDICAID, MEDICARE, SELF, UHC\n"
    )


def test_code_reports_malformed_json_with_line_and_column(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{\n  "external_id": "X",\n  "services": [\n}\n')
    result = cutis("code", str(broken), check=False)
    assert result.returncode != 0
    assert "line 4, column 1" in result.stderr


def test_code_reports_invalid_encounter_fields(tmp_path: Path) -> None:
    payload = json.loads(ENCOUNTER.read_text())
    payload["services"][0]["kind"] = "laser"
    del payload["coverage"]["plan_type"]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(payload))
    result = cutis("code", str(bad), check=False)
    assert result.returncode == 1
    assert "services[0].kind" in result.stderr
    assert "coverage.plan_type: Field required" in result.stderr


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_healthy(base: str, process: subprocess.Popen[str]) -> dict:  # type: ignore[type-arg]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited: {process.stdout.read() if process.stdout else ''}")
        try:
            response = httpx.get(f"{base}/healthz", timeout=2)
            return response.json()  # type: ignore[no-any-return]
        except httpx.HTTPError:
            time.sleep(0.2)
    raise AssertionError("server did not start")


def test_embedded_server_end_to_end_over_http(tmp_path: Path) -> None:
    """db upgrade, demo seed, demo key, serve; then codeEncounter over real HTTP with that key."""
    env = {
        "CUTIS_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cutis.sqlite3'}",
        "CUTIS_DATA_DIR": str(tmp_path),
        "CUTIS_PORT": str(_free_port()),
    }
    env.pop("CUTIS_REDIS_URL", None)
    cutis("db", "upgrade", env=env)
    assert "demo tenant ready" in cutis("demo", "seed", env=env).stdout
    assert "demo tenant ready" in cutis("demo", "seed", env=env).stdout  # again: nothing twice
    # The demo clinic published the templates: `code --tenant` codes with its versions, as the API does.
    coded = json.loads(cutis("code", str(ENCOUNTER), "--tenant", "demo", "--format", "json", env=env).stdout)
    assert [ref["name"] for ref in coded["rulebooks"]] == ["National base", "Aetna commercial (template)"]
    assert all(ref["version_id"] for ref in coded["rulebooks"]), coded["rulebooks"]
    unknown = cutis("code", str(ENCOUNTER), "--tenant", "no-such-clinic", env=env, check=False)
    assert unknown.returncode != 0 and "no clinic with the slug 'no-such-clinic'" in unknown.stderr
    wrong_payer = cutis("code", str(ENCOUNTER), "--tenant", "demo", "--payer", "ACME", env=env, check=False)
    assert (wrong_payer.returncode, wrong_payer.stdout) == (1, "")
    assert wrong_payer.stderr == (
        "Error: unknown payer 'ACME': the clinic 'demo''s payers are "
        "AETNA, BCBS, CIGNA, MA-HUMANA, MEDICAID, MEDICARE, SELF, UHC\n"
    )
    key = cutis("demo", "key", env=env).stdout.strip()
    assert key.startswith("cutis_")
    assert cutis("demo", "key", env=env).stdout.strip() != key  # a NEW key each time
    process = subprocess.Popen(
        [*CUTIS, "serve"],
        cwd=REPO,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{env['CUTIS_PORT']}"
        health = _wait_healthy(base, process)
        assert health["database"] == "ok" and health["status"] == "ok"
        response = httpx.post(
            f"{base}/graphql",
            headers={"Authorization": f"Bearer {key}"},
            timeout=30,
            json={"query": operation("CodeEncounter"), "variables": {"input": encounter_input()}},
        )
        result = response.json()["data"]["codeEncounter"]
        assert {line["code"] for line in result["coding"]["claimLines"]} == {"11104", "11103", "99214"}
        submitted = httpx.post(
            f"{base}/graphql",
            headers={"Authorization": f"Bearer {key}"},
            timeout=30,
            json={"query": operation("SubmitEncounter"), "variables": {"input": encounter_input()}},
        )
        encounter_id = submitted.json()["data"]["submitEncounter"]["encounter"]["id"]
        for _ in range(100):  # in-process jobs: the same job function, run by the server itself
            fetched = httpx.post(
                f"{base}/graphql",
                headers={"Authorization": f"Bearer {key}"},
                timeout=30,
                json={"query": operation("Encounter"), "variables": {"id": encounter_id}},
            )
            encounter = fetched.json()["data"]["encounter"]
            if encounter["status"] == "coded":
                break
            time.sleep(0.1)
        assert encounter["status"] == "coded" and encounter["version"] == 2
    finally:
        process.terminate()
        process.wait(timeout=20)
    # The Aetna draft is the published version: replayed against both stored versions, nothing changes.
    replayed = cutis(
        "rules", "replay", "--tenant", "demo", "--rulebook", "Aetna commercial (template)", "--format", "json", env=env
    )
    found = json.loads(replayed.stdout)
    assert found["status"] == "done" and found["total"]["encounters"] == 2 and found["total"]["changed"] == 0
    assert "replaying" in replayed.stderr  # the progress bar
    missing = cutis("rules", "replay", "--tenant", "demo", "--rulebook", "Nope", env=env, check=False)
    assert missing.returncode != 0 and "no rulebook named 'Nope'" in missing.stderr


@pytest.mark.postgres
@pytest.mark.redis
def test_cutis_worker_process_codes_submitted_encounters(postgres_database, redis_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Production mode: server and a separate `cutis worker --burst` process over PostgreSQL and Redis."""
    import redis as redis_sync

    redis_sync.Redis.from_url(redis_url).flushdb()
    env = {
        "CUTIS_DATABASE_URL": postgres_database.app_url,
        "CUTIS_MIGRATION_DATABASE_URL": postgres_database.owner_url,
        "CUTIS_REDIS_URL": redis_url,
        "CUTIS_PORT": str(_free_port()),
        "CUTIS_DATA_DIR": str(tmp_path),
    }
    key = cutis("demo", "key", env=env).stdout.strip()
    process = subprocess.Popen(
        [*CUTIS, "serve", "--no-upgrade"],
        cwd=REPO,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{env['CUTIS_PORT']}"
        health = _wait_healthy(base, process)
        assert health == {"status": "ok", "database": "ok", "redis": "ok"}
        submitted = httpx.post(
            f"{base}/graphql",
            headers={"Authorization": f"Bearer {key}"},
            timeout=30,
            json={"query": operation("SubmitEncounter"), "variables": {"input": encounter_input()}},
        )
        encounter_id = submitted.json()["data"]["submitEncounter"]["encounter"]["id"]
        cutis("worker", "--burst", env=env)
        fetched = httpx.post(
            f"{base}/graphql",
            headers={"Authorization": f"Bearer {key}"},
            timeout=30,
            json={"query": operation("Encounter"), "variables": {"id": encounter_id}},
        )
        encounter = fetched.json()["data"]["encounter"]
        assert encounter["status"] == "coded"
        assert {line["code"] for line in encounter["coding"]["claimLines"]} == {"11104", "11103", "99214"}
    finally:
        process.terminate()
        process.wait(timeout=20)


def _worktree_cli(*args: str) -> list[str]:
    return [*CUTIS, *args]


def _wait_until_coded(base: str, key: str, encounter_id: str, seconds: float) -> dict:  # type: ignore[type-arg]
    deadline = time.monotonic() + seconds
    while True:
        encounter = httpx.post(
            f"{base}/graphql",
            headers={"Authorization": f"Bearer {key}"},
            timeout=30,
            json={"query": operation("Encounter"), "variables": {"id": encounter_id}},
        ).json()["data"]["encounter"]
        if encounter["status"] == "coded" or time.monotonic() > deadline:
            return encounter  # type: ignore[no-any-return]
        time.sleep(0.2)


def _submit(base: str, key: str, external_id: str) -> str:
    response = httpx.post(
        f"{base}/graphql",
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
        json={"query": operation("SubmitEncounter"), "variables": {"input": encounter_input(external_id=external_id)}},
    )
    return response.json()["data"]["submitEncounter"]["encounter"]["id"]  # type: ignore[no-any-return]


@pytest.mark.postgres
@pytest.mark.slow
def test_cutis_worker_outlives_a_redis_restart(postgres_database, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """`cutis worker` stays up while Redis is gone, and codes what is submitted after Redis returns.

    A private redis-server (no persistence) is killed and started again on the same port."""
    from benchmarks.private_services import PrivateRedis

    redis = PrivateRedis()
    redis.start()
    env = {
        **os.environ,
        "CUTIS_DATABASE_URL": postgres_database.app_url,
        "CUTIS_MIGRATION_DATABASE_URL": postgres_database.owner_url,
        "CUTIS_REDIS_URL": redis.url,
        "CUTIS_PORT": str(_free_port()),
        "CUTIS_DATA_DIR": str(tmp_path),
    }
    processes: list[subprocess.Popen[str]] = []
    try:
        key = subprocess.run(
            _worktree_cli("demo", "key"), cwd=REPO, env=env, capture_output=True, text=True, check=True, timeout=120
        ).stdout.strip()
        server = subprocess.Popen(
            _worktree_cli("serve", "--no-upgrade"),
            cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        processes.append(server)
        worker = subprocess.Popen(
            _worktree_cli("worker"), cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        processes.append(worker)
        base = f"http://127.0.0.1:{env['CUTIS_PORT']}"
        _wait_healthy(base, server)
        before = _submit(base, key, "RESTART-BEFORE")
        assert _wait_until_coded(base, key, before, 60)["status"] == "coded"

        redis.kill()
        during = _submit(base, key, "RESTART-DURING")  # accepted: Redis is not a dependency of accepting work
        time.sleep(4)
        assert worker.poll() is None, "the worker exited when Redis went away"
        redis.start()
        after = _submit(base, key, "RESTART-AFTER")
        assert _wait_until_coded(base, key, after, 30)["status"] == "coded"
        assert _wait_until_coded(base, key, during, 30)["status"] == "coded"
        assert worker.poll() is None
        worker.terminate()
        output, _ = worker.communicate(timeout=30)
        assert worker.returncode is not None
        assert redis.url not in output and f"127.0.0.1:{redis.port}" not in output  # errors by type only
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
        redis.cleanup()


def test_a_publish_is_seen_by_every_server_process_at_once(tmp_path: Path) -> None:
    """Two `cutis serve` processes on one database: each has coded with Aetna's version 1 (and kept
    its compiled stack); once version 2 is published, the next coding of either names version 2."""
    import asyncio
    import uuid

    from tests.server.test_rulebook_lifecycle import aetna_encounter, raised_threshold

    database = f"sqlite+aiosqlite:///{tmp_path / 'cutis.sqlite3'}"
    env = {"CUTIS_DATABASE_URL": database, "CUTIS_DATA_DIR": str(tmp_path)}
    env.pop("CUTIS_REDIS_URL", None)
    cutis("db", "upgrade", env=env)
    cutis("demo", "seed", env=env)
    key = cutis("demo", "key", env=env).stdout.strip()
    ports = [_free_port(), _free_port()]
    servers = [
        subprocess.Popen(
            [*CUTIS, "serve"],
            cwd=REPO,
            env={**os.environ, **env, "CUTIS_PORT": str(port)},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for port in ports
    ]

    def code_on(port: int, number: int) -> dict:  # type: ignore[type-arg]
        response = httpx.post(
            f"http://127.0.0.1:{port}/graphql",
            headers={"Authorization": f"Bearer {key}"},
            timeout=60,
            json={"query": operation("CodeEncounter"), "variables": {"input": aetna_encounter(f"AK-{number}", 12)}},
        )
        coding = response.json()["data"]["codeEncounter"]["coding"]
        aetna = [ref["versionId"] for ref in coding["rulebooks"] if ref["name"].startswith("Aetna")]
        return {"version": aetna, "lines": {(line["code"], line["units"]) for line in coding["claimLines"]}}

    try:
        for port, server in zip(ports, servers, strict=True):
            _wait_healthy(f"http://127.0.0.1:{port}", server)
        before = [code_on(port, number) for number, port in enumerate(ports)]
        assert before[0]["version"] == before[1]["version"] and ("17003", 9) in before[0]["lines"]

        async def publish_version_2() -> str:
            from sqlalchemy import select

            from rulebooks import publishing
            from server.db import create_engine, create_session_factory, global_session, tenant_session
            from server.models import RulebookRecord, RulebookVersion
            from server.settings import Settings
            from tenants import accounts

            engine = create_engine(Settings(database_url=database, data_dir=tmp_path, secret_key="t"))
            factory = create_session_factory(engine)
            try:
                async with global_session(factory) as session:
                    clinic = await accounts.clinic_by_slug(session, "demo")
                assert clinic is not None
                async with tenant_session(factory, clinic.id) as session:
                    book = (
                        await session.execute(select(RulebookRecord).where(RulebookRecord.payer_code == "AETNA"))
                    ).scalar_one()
                    prepared = publishing.prepare(raised_threshold(book.draft_text), "payer", "AETNA", {})
                    version = RulebookVersion(
                        id=uuid.uuid4(),
                        tenant_id=clinic.id,
                        rulebook_id=book.id,
                        number=2,
                        status="published",
                        name=prepared.name,
                        layer="payer",
                        payer_code="AETNA",
                        content_hash=prepared.content_hash,
                        canonical_text=prepared.canonical_text,
                        extends=[pin.to_dict() for pin in prepared.extends],
                        effective_from=prepared.effective_from,
                        draft_revision=2,
                    )
                    session.add(version)
                    return str(version.id)
            finally:
                await engine.dispose()

        published = asyncio.run(publish_version_2())
        after = [code_on(port, number + 10) for number, port in enumerate(ports)]
        from server.api.ids import from_global_id

        for coded in after:
            assert [str(from_global_id(v, "RulebookVersion")) for v in coded["version"]] == [published]
            assert ("17003", 11) in coded["lines"]
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=20)


@pytest.fixture(
    params=[pytest.param("sqlite", id="sqlite"), pytest.param("postgres", id="postgres", marks=pytest.mark.postgres)]
)
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no cutis tables at all: an empty SQLite file, or a new PostgreSQL database (dropped after)."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.sqlite3'}"
        return
    import psycopg

    from tests.conftest import POSTGRES_ADMIN_URL, need_service

    need_service("PostgreSQL", POSTGRES_ADMIN_URL)
    name = f"cutis_empty_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{POSTGRES_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}"')


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(["tenant", "create", "lakeside", "--name", "Lakeside"], id="tenant create"),
        pytest.param(["demo", "seed"], id="demo seed"),
        pytest.param(["code", str(ENCOUNTER), "--tenant", "demo"], id="code --tenant"),
    ],
)
def test_a_database_not_migrated_yet_says_to_run_db_upgrade(
    empty_database: str, command: list[str], tmp_path: Path
) -> None:
    env = {"CUTIS_DATABASE_URL": empty_database, "CUTIS_DATA_DIR": str(tmp_path)}
    result = cutis(*command, env=env, check=False)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        "Error: the database is not migrated to this release of cutis: run `cutis db upgrade` first\n"
    )


def test_a_tenant_slug_that_exists_is_one_line_and_exit_1(tmp_path: Path) -> None:
    env = {"CUTIS_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cutis.sqlite3'}", "CUTIS_DATA_DIR": str(tmp_path)}
    cutis("db", "upgrade", env=env)
    assert cutis("tenant", "create", "lakeside", "--name", "Lakeside", env=env).stdout.startswith("clinic lakeside")
    again = cutis("tenant", "create", "lakeside", "--name", "Lakeside again", env=env, check=False)
    assert (again.returncode, again.stdout) == (1, "")
    assert again.stderr == "Error: a clinic with slug 'lakeside' exists: choose another slug\n"


def test_a_coded_at_in_the_wrong_format_is_one_line_and_exit_1() -> None:
    result = cutis("code", str(ENCOUNTER), "--coded-at", "02/11/2026", check=False)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.startswith(
        "Error: --coded-at '02/11/2026' is not an ISO timestamp such as 2026-11-02T09:30:00+00:00 ("
    )
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def _sqlite_env(tmp_path: Path) -> dict[str, str]:
    env = {"CUTIS_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cutis.sqlite3'}", "CUTIS_DATA_DIR": str(tmp_path)}
    cutis("db", "upgrade", env=env)
    return env


def test_keys_are_listed_and_revoked_by_their_prefix(tmp_path: Path) -> None:
    env = _sqlite_env(tmp_path)
    cutis("tenant", "create", "lakeside", "--name", "Lakeside", env=env)
    plaintext = cutis("key", "create", "--tenant", "lakeside", "--name", "EHR feed", env=env).stdout.strip()
    prefix = plaintext.split("_")[1]
    listed = cutis("key", "list", "--tenant", "lakeside", env=env).stdout.splitlines()
    assert listed[0].split() == ["prefix", "name", "scopes", "created", "expires", "revoked", "last", "used"]
    assert listed[1].startswith(f"{prefix}  EHR feed  *  ") and listed[1].endswith("-        -        -")
    assert plaintext.split("_")[2] not in "\n".join(listed)  # the secret is never shown again

    revoked = cutis("key", "revoke", prefix, "--tenant", "lakeside", env=env)
    assert revoked.stdout.startswith(f"key {prefix} (EHR feed) revoked at ")
    (row,) = cutis("key", "list", "--tenant", "lakeside", env=env).stdout.splitlines()[1:]
    assert re.search(r"-\s+\d{4}-\d\d-\d\d \d\d:\d\d\s+-$", row), row  # expires -, revoked now, never used

    unknown = cutis("key", "revoke", "nope", "--tenant", "lakeside", env=env, check=False)
    assert (unknown.returncode, unknown.stdout) == (1, "")
    assert unknown.stderr == "Error: no API key with prefix 'nope' in lakeside (see `cutis key list`)\n"
    elsewhere = cutis("key", "list", "--tenant", "nowhere", env=env, check=False)
    assert (elsewhere.returncode, elsewhere.stderr) == (1, "Error: no clinic with slug 'nowhere'\n")


def test_tenants_and_people_are_listed_and_a_person_removed(tmp_path: Path) -> None:
    env = _sqlite_env(tmp_path)
    assert cutis("tenant", "list", env=env).stdout == "(none)\n"
    cutis("tenant", "create", "lakeside", "--name", "Lakeside Dermatology", env=env)
    cutis("tenant", "create", "hillcrest", "--name", "Hillcrest Skin", env=env)
    tenants = cutis("tenant", "list", env=env).stdout.splitlines()
    assert [line.split()[0] for line in tenants] == ["slug", "hillcrest", "lakeside"]
    assert "Lakeside Dermatology" in tenants[2]

    cutis("user", "add", "ana@lakeside.test", "--tenant", "lakeside", "--role", "biller", env=env)
    people = cutis("user", "list", "--tenant", "lakeside", env=env).stdout.splitlines()
    assert [line.split() for line in people] == [["email", "role", "since"], ["ana@lakeside.test", "biller", "pending"]]
    assert cutis("user", "list", "--tenant", "hillcrest", env=env).stdout == "(none)\n"

    removed = cutis("user", "remove", "Ana@Lakeside.test", "--tenant", "lakeside", env=env)
    assert removed.stdout == "Ana@Lakeside.test removed from lakeside\n"
    assert cutis("user", "list", "--tenant", "lakeside", env=env).stdout == "(none)\n"
    again = cutis("user", "remove", "ana@lakeside.test", "--tenant", "lakeside", env=env, check=False)
    assert (again.returncode, again.stdout, again.stderr) == (1, "", "Error: ana@lakeside.test is not in lakeside\n")


@pytest.mark.parametrize(
    ("command", "name"),
    [  # name: the argument, and "File" or "Path" as click words what it expects
        pytest.param(["code", "missing.json"], "FILE", id="code"),
        pytest.param(["check-documentation", "missing.json"], "FILE", id="check-documentation"),
        pytest.param(["rules", "check", "missing.rules"], "FILES...", id="rules check"),
        pytest.param(["codesets", "load", "hcpcs", "missing.txt", "--effective", "2026-01-01"], "FILE", id="codesets"),
        pytest.param(["import", "missing.hl7", "--tenant", "demo"], "PATH", id="import (a file or a folder)"),
    ],
)
def test_a_missing_file_is_one_line_naming_it_and_exit_1(command: list[str], name: str, tmp_path: Path) -> None:
    command = [str(tmp_path / part) if part.startswith("missing") else part for part in command]
    missing = next(part for part in command if "missing" in part)
    result = cutis(*command, env={"CUTIS_DATA_DIR": str(tmp_path)}, check=False)
    assert (result.returncode, result.stdout) == (1, "")
    kind = "Path" if name == "PATH" else "File"
    assert result.stderr == f"Error: Invalid value for '{name}': {kind} '{missing}' does not exist.\n", result.stderr


def test_every_command_and_option_says_what_it_is_for() -> None:
    import click

    from server.cli import main

    def commands(command: click.Command, path: str) -> list[tuple[str, click.Command]]:
        if isinstance(command, click.Group):
            return [found for name, sub in command.commands.items() for found in commands(sub, f"{path} {name}")]
        return [(path, command)]

    silent = [
        f"{path} {'/'.join(param.opts)}" if isinstance(param, click.Option) else path
        for path, command in commands(main, "cutis")
        for param in [None, *command.params]
        if (param is None and not command.help) or (isinstance(param, click.Option) and not param.help)
    ]
    assert silent == []
