"""Settings from environment variables, with safe defaults for the embedded mode."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from tenants.secrets import SecretBox

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = REPO_ROOT / "var"


def _default_database_url() -> str:
    return f"sqlite+aiosqlite:///{DEFAULT_DATA_DIR / 'cutis.sqlite3'}"


@dataclass(frozen=True)
class Settings:
    """Everything the app factory needs; no module-level engine or app exists."""

    database_url: str = field(default_factory=_default_database_url)
    migration_database_url: str | None = None
    redis_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    secret_key: str = field(default_factory=lambda: secrets.token_hex(32))
    environment: str = "development"
    data_dir: Path = DEFAULT_DATA_DIR
    web_dist: Path = REPO_ROOT / "web" / "dist"
    public_url: str = "http://127.0.0.1:8000"
    rate_limit_per_minute: int = 600
    cookie_secure: bool = True
    totp_key: str | None = None
    cpu_processes: int | None = None  # CPU worker processes; None: one per core
    # Wall-clock seconds one CPU-heavy operation may take in its worker; the costliest legitimate
    # call (a 1 MB rulebook, a 100,000-character note) takes about 2 s on a quiet core.
    cpu_budget_seconds: float = 15.0

    @property
    def owner_database_url(self) -> str:
        """Where migrations run: the tables' owner (the app itself connects as `cutis_app`)."""
        return self.migration_database_url or self.database_url

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    def secret_box(self) -> SecretBox:
        """What seals TOTP secrets at rest: CUTIS_TOTP_KEY; in development a key file kept in the data
        folder (created once, readable by its owner only); production refuses to start without one."""
        if self.totp_key:
            return SecretBox(self.totp_key)
        if self.is_production:
            raise SystemExit("CUTIS_TOTP_KEY is required in production (it seals second-factor secrets at rest)")
        path = self.data_dir / "totp.key"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            try:
                descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:  # another process made it first
                pass
            else:
                with os.fdopen(descriptor, "w") as handle:
                    handle.write(secrets.token_urlsafe(32))
        return SecretBox(path.read_text().strip())

    @property
    def uses_redis(self) -> bool:
        return bool(self.redis_url)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        defaults = cls()
        return cls(
            database_url=env.get("CUTIS_DATABASE_URL") or defaults.database_url,
            migration_database_url=env.get("CUTIS_MIGRATION_DATABASE_URL") or None,
            redis_url=env.get("CUTIS_REDIS_URL") or None,
            host=env.get("CUTIS_HOST", defaults.host),
            port=int(env.get("CUTIS_PORT", defaults.port)),
            secret_key=env.get("CUTIS_SECRET_KEY") or defaults.secret_key,
            environment=env.get("CUTIS_ENV", defaults.environment),
            data_dir=Path(env.get("CUTIS_DATA_DIR", str(defaults.data_dir))),
            public_url=env.get("CUTIS_PUBLIC_URL") or f"http://127.0.0.1:{int(env.get('CUTIS_PORT', defaults.port))}",
            cookie_secure=env.get("CUTIS_COOKIE_SECURE", "1") not in ("0", "false", "no"),
            rate_limit_per_minute=int(env.get("CUTIS_RATE_LIMIT_PER_MINUTE", defaults.rate_limit_per_minute)),
            totp_key=env.get("CUTIS_TOTP_KEY") or None,
            cpu_processes=int(env["CUTIS_CPU_PROCESSES"]) if env.get("CUTIS_CPU_PROCESSES") else None,
            cpu_budget_seconds=float(env.get("CUTIS_CPU_BUDGET_SECONDS") or defaults.cpu_budget_seconds),
        )
