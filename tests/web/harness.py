"""A real `cutis serve` on a free port over a fresh seeded SQLite database, and Debian's Chromium.

Used by the browser tests, `scripts/screenshots` and `benchmarks/editor_bench.py`, so that all
three see the product exactly as a practice manager does: the built web app at `/`, GraphQL at
`/graphql`, the demo clinic with its three payer rulebook drafts.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
WEB_DIR = REPO_ROOT / "web"
CHROMIUM = os.environ.get("CUTIS_CHROMIUM", "/usr/bin/chromium")  # Debian's package
# Playwright cannot download its browsers here; these flags keep Debian's Chromium quiet
# and off the network (STACK-NOTES.md).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Seals second-factor secrets in the served database: the same key as the factories', so that a test
# can add people with authenticator secrets to the running server's clinic (tests/web/people.py).
TOTP_KEY = "test key that seals second factors"
DEMO_EMAIL = "manager@demo.cutis"
DEMO_PASSWORD = "demo-manager-password"


def cutis_executable() -> str:
    beside_python = Path(sys.executable).with_name("cutis")
    return str(beside_python) if beside_python.exists() else "cutis"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def web_build_is_current() -> bool:
    index = WEB_DIR / "dist" / "index.html"
    if not index.exists():
        return False
    built = index.stat().st_mtime
    sources = [WEB_DIR / "index.html", WEB_DIR / "package.json", *(WEB_DIR / "src").rglob("*")]
    sources += (REPO_ROOT / "graphql" / "operations").glob("*.graphql")
    return all(path.stat().st_mtime <= built for path in sources if path.is_file())


def build_web_app() -> None:
    """Build web/dist when it is missing or older than its sources (as `scripts/setup` does)."""
    if web_build_is_current():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is needed to build the web app (apt-get install nodejs npm)")
    if not (WEB_DIR / "node_modules").is_dir():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=WEB_DIR, check=True)
    subprocess.run([npm, "run", "build", "--silent"], cwd=WEB_DIR, check=True)


@dataclass(frozen=True)
class RunningServer:
    base_url: str
    data_dir: Path
    log_path: Path

    @property
    def database_url(self) -> str:
        return f"sqlite+aiosqlite:///{self.data_dir / 'cutis.sqlite3'}"

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@contextmanager
def running_server(startup_timeout_s: float = 60.0) -> Iterator[RunningServer]:
    """Serve a temporary SQLite database (migrated by `cutis serve`, seeded by `cutis demo seed`), then stop."""
    with tempfile.TemporaryDirectory(prefix="cutis-web-") as temporary:
        data_dir = Path(temporary)
        port = free_port()
        env = {
            **os.environ,
            "CUTIS_DATABASE_URL": f"sqlite+aiosqlite:///{data_dir / 'cutis.sqlite3'}",
            "CUTIS_DATA_DIR": str(data_dir),
            "CUTIS_PORT": str(port),
            "CUTIS_HOST": "127.0.0.1",
            "CUTIS_SECRET_KEY": "browser-test-secret",
            "CUTIS_RATE_LIMIT_PER_MINUTE": "100000",
            "CUTIS_TOTP_KEY": TOTP_KEY,
            # this checkout's code and web/dist, even when `cutis` was installed editable from another
            # worktree (an editable install's finder comes after PYTHONPATH)
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
        }
        env.pop("CUTIS_REDIS_URL", None)
        cutis = cutis_executable()
        log_path = data_dir / "serve.log"
        with log_path.open("wb") as log:
            # `serve` migrates the new database before it listens; the demo is seeded once it answers.
            process = subprocess.Popen(
                [cutis, "serve", "--upgrade", "--port", str(port)],
                env=env,
                cwd=REPO_ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        server = RunningServer(base_url=f"http://127.0.0.1:{port}", data_dir=data_dir, log_path=log_path)
        try:
            _wait_until_healthy(server, process, startup_timeout_s)
            subprocess.run([cutis, "demo", "seed"], env=env, check=True, capture_output=True, cwd=REPO_ROOT)
            yield server
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_healthy(server: RunningServer, process: subprocess.Popen[bytes], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"cutis serve exited with {process.returncode}:\n{server.log_tail()}")
        try:
            with urllib.request.urlopen(f"{server.base_url}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"cutis serve did not answer within {timeout_s:.0f} s:\n{server.log_tail()}")


def chromium_problem() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if not Path(CHROMIUM).exists():
        return f"Chromium is not installed at {CHROMIUM} (run scripts/install-browser)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed in this environment (run scripts/install-browser)"
    return None
