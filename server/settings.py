"""Settings: every `CUTIS_*` variable, typed and checked once at start (pydantic-settings).

This class is the one place the environment is read. Code and tests build `Settings(...)` from the
values they name (the environment is not consulted then, so a test is hermetic); `Settings.from_env()`
reads `CUTIS_*` and turns a bad value into `SettingsError`, one line naming the variable and why,
which the CLI prints instead of a traceback. README's table of variables is generated from the fields
(`cutis settings --markdown`; a test keeps the two equal).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict
from pydantic_settings.sources.utils import parse_env_vars
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from tenants.secrets import SecretBox

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = REPO_ROOT / "var"
ENV_PREFIX = "CUTIS_"
# what server.db.async_url maps onto aiosqlite and psycopg 3
DATABASE_DRIVERS = ("sqlite", "sqlite+pysqlite", "sqlite+aiosqlite", "postgresql", "postgres", "postgresql+psycopg")
REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


class SettingsError(SystemExit):
    """A setting that cannot be used; the message names the variable and says why (no value echoed)."""


def _default_database_url() -> str:
    return f"sqlite+aiosqlite:///{DEFAULT_DATA_DIR / 'cutis.sqlite3'}"


class Settings(BaseSettings):
    """Everything the app factory, the worker and the CLI need; no module-level engine or app exists."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, frozen=True, extra="ignore", validate_default=True, validate_by_name=True
    )

    database_url: str = Field(
        default_factory=_default_database_url,
        description="SQLAlchemy URL the app connects with: `sqlite+aiosqlite:///FILE` or "
        "`postgresql+psycopg://cutis_app@HOST/DB` (the app role, never the owner)",
        json_schema_extra={"shown_default": "`sqlite+aiosqlite:///var/cutis.sqlite3`"},
    )
    migration_database_url: str | None = Field(
        None,
        description="the tables' owner's URL, for `cutis db upgrade` (see Database roles)",
        json_schema_extra={"shown_default": "`CUTIS_DATABASE_URL`"},
    )
    redis_url: str | None = Field(
        None,
        description="Redis for arq jobs and the shared rate limit (`redis://HOST:6379/0`)",
        json_schema_extra={"shown_default": "unset: jobs in-process"},
    )
    host: str = Field(
        "127.0.0.1",
        description="the interface `cutis serve` (and a worker's metrics) binds (`0.0.0.0` in a container)",
    )
    port: int = Field(8000, ge=1, le=65535, description="the port `cutis serve` listens on")
    secret_key: str = Field(
        default_factory=lambda: secrets.token_hex(32),
        description="signing key reserved for signed tokens; give every replica the same one",
        json_schema_extra={"shown_default": "random per process"},
    )
    environment: Literal["development", "production"] = Field(
        "development",
        validation_alias="CUTIS_ENV",
        description="`production` turns off the GraphQL IDE and requires `CUTIS_TOTP_KEY`",
    )
    data_dir: Path = Field(
        DEFAULT_DATA_DIR,
        description="the embedded database, the development key file, the mailbox folder, installed code sets",
        json_schema_extra={"shown_default": "`var/`"},
    )
    web_dist: Path = Field(
        REPO_ROOT / "web" / "dist",
        description="the built web app served at `/` (absent: the API alone)",
        json_schema_extra={"shown_default": "`web/dist/`"},
    )
    public_url: str = Field(
        "",
        description="the address in mailed links (password resets, invitations)",
        json_schema_extra={"shown_default": "`http://127.0.0.1:$CUTIS_PORT`"},
    )
    rate_limit_per_minute: int = Field(
        600,
        ge=1,
        description="requests per credential per moving minute (Redis-shared when configured; "
        "a local window while Redis does not answer)",
    )
    cookie_secure: bool = Field(
        True,
        description="`0` only for plain-HTTP development: session cookies are `Secure` otherwise",
        json_schema_extra={"shown_default": "`1`"},
    )
    totp_key: str | None = Field(
        None,
        min_length=16,
        description="seals second-factor secrets at rest (AES-GCM; 16 characters or more); keep it apart from the "
        "database backups",
        json_schema_extra={"shown_default": "development: a key file `var/totp.key` made once; production: required"},
    )
    # CPU worker processes; None: one per core
    cpu_processes: int | None = Field(
        None,
        ge=1,
        description="worker processes of each server (and `cutis worker`) for coding, note analysis and the "
        "rule editor's operations",
        json_schema_extra={"shown_default": "one per core"},
    )
    # Wall-clock seconds one CPU-heavy operation may take in its worker; the costliest legitimate
    # call (a 1 MB rulebook, a 100,000-character note) takes about 2 s on a quiet core.
    cpu_budget_seconds: float = Field(
        15.0,
        gt=0,
        description="how long one such operation may run before it is stopped with `OPERATION_TOO_COSTLY`",
    )
    log_format: Literal["json", "text"] = Field(
        "json", description="`json`: one JSON object per line with request and tenant ids; `text` for a terminal"
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", description="the lowest level logged")
    otlp_endpoint: str | None = Field(
        None,
        description="an OpenTelemetry collector's OTLP/HTTP address (`http://collector:4318`): traces of requests, "
        "SQL, jobs and coding phases are exported there",
        json_schema_extra={"shown_default": "unset: no traces"},
    )

    metrics_token: str | None = Field(
        None,
        min_length=16,
        description="the bearer token a Prometheus scraper sends for `/metrics` and the workers' metrics "
        "(`Authorization: Bearer ...`; 16 characters or more)",
        json_schema_extra={"shown_default": "unset: open in development, refused in production"},
    )
    worker_metrics_port: int | None = Field(
        None,
        ge=1,
        le=65535,
        description="the port where `cutis worker` serves its Prometheus metrics (jobs by name and outcome, "
        "their seconds), on `CUTIS_HOST`",
        json_schema_extra={"shown_default": "unset: none"},
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Only the values given: `from_env` is the one reader of the environment."""
        return (init_settings,)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """The settings of this process's `CUTIS_*` variables (empty means unset); SettingsError if one is bad."""
        values = _Environment(cls, os.environ if environ is None else environ)()
        try:
            return cls(**values)
        except ValidationError as error:
            raise SettingsError(_one_line(error)) from None

    @field_validator("database_url", "migration_database_url")
    @classmethod
    def _database_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            driver = make_url(value).drivername
        except ArgumentError:
            raise ValueError("is not a database URL (expected DRIVER://USER@HOST/DATABASE)") from None
        if driver not in DATABASE_DRIVERS:
            raise ValueError(f"names the driver {driver!r}; cutis speaks sqlite+aiosqlite:// or postgresql+psycopg://")
        return value

    @field_validator("otlp_endpoint")
    @classmethod
    def _otlp_endpoint(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("is not an http:// or https:// address of an OTLP collector")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(REDIS_SCHEMES):
            raise ValueError(f"is not a Redis URL (expected one starting {', '.join(REDIS_SCHEMES)})")
        return value

    @model_validator(mode="before")
    @classmethod
    def _public_url_from_port(cls, data: Any) -> Any:
        if isinstance(data, dict) and not data.get("public_url"):
            return {**data, "public_url": f"http://127.0.0.1:{data.get('port') or 8000}"}
        return data

    @model_validator(mode="after")
    def _production_needs_its_secrets(self) -> Settings:
        if self.is_production and not self.totp_key:
            raise ValueError("CUTIS_TOTP_KEY is required in production (it seals second-factor secrets at rest)")
        return self

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

    @property
    def uses_redis(self) -> bool:
        return bool(self.redis_url)

    def replace(self, **changes: Any) -> Settings:
        """A copy with some values changed, checked again like the original."""
        return type(self)(**{**self.model_dump(), **changes})

    def secret_box(self) -> SecretBox:
        """What seals TOTP secrets at rest: CUTIS_TOTP_KEY; in development a key file kept in the data
        folder (created once, readable by its owner only); production refuses to start without one."""
        if self.totp_key:
            return SecretBox(self.totp_key)
        if self.is_production:
            raise SettingsError("CUTIS_TOTP_KEY is required in production (it seals second-factor secrets at rest)")
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


class _Environment(EnvSettingsSource):
    """pydantic-settings' reader of `CUTIS_*` variables over a given mapping (a test passes its own)."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        self._environ = environ
        super().__init__(settings_cls, env_ignore_empty=True)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return parse_env_vars(self._environ, False, True, None)


def variable_name(field_name: str) -> str:
    """The environment variable of a field (`environment` is read from CUTIS_ENV)."""
    alias = Settings.model_fields[field_name].validation_alias
    return alias if isinstance(alias, str) else ENV_PREFIX + field_name.upper()


def _one_line(error: ValidationError) -> str:
    """`CUTIS_PORT: Input should be ...`; the value itself is left out (it may be a secret)."""
    problems = []
    for problem in error.errors(include_url=False, include_input=False):
        field = str(problem["loc"][0]) if problem["loc"] else ""
        message = problem["msg"].removeprefix("Value error, ")
        name = variable_name(field) if field in Settings.model_fields else field or "settings"
        problems.append(message if message.startswith(ENV_PREFIX) else f"{name}: {message}")
    return "; ".join(problems)


def settings_table() -> str:
    """README's table of every variable, from the fields' types, defaults and descriptions."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        shown = extra.get("shown_default")
        if shown is None:
            shown = f"`{field.default}`" if field.default not in (None, "") else "unset"
        rows.append(f"| `{variable_name(name)}` | {shown} | {field.description} |")
    return "\n".join(rows)
