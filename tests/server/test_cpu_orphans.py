"""A server killed outright (SIGKILL: a crash, an OOM kill, a supervisor's restart) takes its CPU pool
along: its fork server and pool workers must not live on as orphans holding a warm engine each."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.server.test_cli import CUTIS, REPO, _free_port, _wait_healthy

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")


def _descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, pending = set(), [pid]
    while pending:
        for child in children.get(pending.pop(), []):
            found.add(child)
            pending.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_a_killed_server_leaves_no_pool_processes_behind(tmp_path: Path) -> None:
    env = {
        "CUTIS_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cutis.sqlite3'}",
        "CUTIS_DATA_DIR": str(tmp_path),
        "CUTIS_PORT": str(_free_port()),
        "CUTIS_CPU_PROCESSES": "1",
    }
    environment = {k: v for k, v in os.environ.items() if k != "CUTIS_REDIS_URL"}
    subprocess.run([*CUTIS, "db", "upgrade"], cwd=REPO, env={**environment, **env}, check=True, timeout=120)
    process = subprocess.Popen(
        [*CUTIS, "serve"], cwd=REPO, env={**environment, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        _wait_healthy(f"http://127.0.0.1:{env['CUTIS_PORT']}", process)
        pool = _descendants(process.pid)
        assert pool, "the server starts its CPU pool (a fork server and a worker) before it answers"
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=20)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and any(_alive(pid) for pid in pool):
        time.sleep(0.2)
    assert not [pid for pid in pool if _alive(pid)], "orphaned CPU pool processes"
