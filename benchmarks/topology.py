"""compose.yaml's topology as processes on this machine: a migration job, N `cutis serve`, M `cutis worker`.

One PostgreSQL and one Redis are given (URLs); every process is this checkout's `python -m server.cli`, with
the production settings compose gives them, its JSON log in a file of its own (read by the tests), and is
stopped by its own pid. Used by tests/server/test_topology.py and benchmarks/scale_out.py.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from benchmarks.private_services import free_port

REPO = Path(__file__).resolve().parent.parent
CUTIS = [sys.executable, "-m", "server.cli"]
TOTP_KEY = "topology test key that seals second factors"
METRICS_TOKEN = "topology-test-metrics-scraper-token"
# multiprocessing's resource tracker is a process of its own that writes to the shared stderr at exit, outside
# our logging: its warning about the CPU pool's semaphores (and the source line Python prints under it).
RESOURCE_TRACKER_WARNING = re.compile(r"multiprocessing/resource_tracker\.py:\d+: UserWarning|^\s+warnings\.warn\(")


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path
    port: int | None = None
    metrics_port: int | None = None  # a worker's metrics page (CUTIS_WORKER_METRICS_PORT)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_lines(self) -> list[dict[str, Any]]:
        """Its JSON log lines; a line that is not JSON is an error naming the process (every line must be JSON)."""
        lines = []
        for number, line in enumerate(self.log_path.read_text().splitlines(), 1):
            if RESOURCE_TRACKER_WARNING.search(line):
                continue
            try:
                lines.append(json.loads(line))
            except json.JSONDecodeError:
                raise ValueError(f"{self.name}, line {number} of its log is not JSON: {line[:200]!r}") from None
        return lines


@dataclass
class Topology:
    """Start with `with Topology(...) as topology: topology.wait_ready()`; everything stops on exit."""

    database_url: str  # the app role's
    owner_url: str  # the tables' owner's, for the migration job
    redis_url: str
    data_dir: Path
    servers: int = 2
    workers: int = 2
    cpu_processes: int = 1
    settings: dict[str, str] = field(default_factory=dict)  # more CUTIS_* variables for every process
    processes: list[Process] = field(default_factory=list)
    migration: Process | None = None

    def environment(self, **extra: str) -> dict[str, str]:
        inherited = {name: value for name, value in os.environ.items() if not name.startswith("CUTIS_")}
        return {
            **inherited,
            "CUTIS_ENV": "production",
            "CUTIS_DATABASE_URL": self.database_url,
            "CUTIS_MIGRATION_DATABASE_URL": self.owner_url,
            "CUTIS_REDIS_URL": self.redis_url,
            "CUTIS_DATA_DIR": str(self.data_dir),
            "CUTIS_TOTP_KEY": TOTP_KEY,
            "CUTIS_METRICS_TOKEN": METRICS_TOKEN,
            "CUTIS_CPU_PROCESSES": str(self.cpu_processes),
            "CUTIS_LOG_FORMAT": "json",
            **self.settings,
            **extra,
        }

    def _spawn(self, name: str, args: list[str], port: int | None = None, metrics_port: int | None = None) -> Process:
        log_path = self.data_dir / "logs" / f"{name}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        extra = {"CUTIS_PORT": str(port)} if port else {}
        if metrics_port:
            extra["CUTIS_WORKER_METRICS_PORT"] = str(metrics_port)
        with log_path.open("wb") as log:
            popen = subprocess.Popen(
                [*CUTIS, *args], cwd=REPO, env=self.environment(**extra), stdout=log, stderr=subprocess.STDOUT
            )
        return Process(name, popen, log_path, port, metrics_port)

    def start(self) -> Topology:
        """The migration job, the servers and the workers at once, as compose starts them (the servers are not
        ready until the migrations are at head: /readyz)."""
        self.migration = self._spawn("migrate", ["db", "upgrade"])
        for number in range(self.servers):
            self.processes.append(self._spawn(f"api-{number + 1}", ["serve", "--no-upgrade"], port=free_port()))
        for number in range(self.workers):
            self.processes.append(self._spawn(f"worker-{number + 1}", ["worker"], metrics_port=free_port()))
        return self

    @property
    def api(self) -> list[Process]:
        return [process for process in self.processes if process.port]

    @property
    def worker_processes(self) -> list[Process]:
        return [process for process in self.processes if not process.port]

    def wait_ready(self, seconds: float = 90) -> float:
        """Seconds until the migration job succeeded and every server's /readyz said ok; a process that exits
        first fails with the end of its log."""
        started = time.monotonic()
        deadline = started + seconds
        waiting = list(self.api)
        while waiting or (self.migration and self.migration.popen.poll() is None):
            for process in [*self.processes, *([self.migration] if self.migration else [])]:
                code = process.popen.poll()
                if code is not None and (process is not self.migration or code != 0):
                    raise RuntimeError(f"{process.name} exited with {code}:\n{process.log_path.read_text()[-3000:]}")
            for process in list(waiting):
                try:
                    if httpx.get(f"{process.base}/readyz", timeout=2).status_code == 200:
                        waiting.remove(process)
                except httpx.HTTPError:
                    pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"not ready within {seconds} s: {[process.name for process in waiting]}")
            time.sleep(0.2)
        return time.monotonic() - started

    def stop(self) -> dict[str, int]:
        """SIGTERM to each by its pid, then SIGKILL to any still running after 20 s; their exit codes."""
        for process in self.processes:
            if process.popen.poll() is None:
                process.popen.terminate()
        codes = {}
        for process in self.processes:
            try:
                codes[process.name] = process.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.popen.kill()
                codes[process.name] = process.popen.wait()
        return codes

    def __enter__(self) -> Topology:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    def all_log_lines(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """Every line the servers and workers logged (the migration job prints for a person)."""
        for process in self.processes:
            for line in process.log_lines():
                yield process.name, line
