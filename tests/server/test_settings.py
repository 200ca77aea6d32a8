"""Settings: every CUTIS_* variable typed and checked at start; README's table is generated from them."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from server.settings import Settings, SettingsError, settings_table

README = Path(__file__).resolve().parents[2] / "README.md"


class TestFromEnv:
    def test_reads_typed_values(self) -> None:
        settings = Settings.from_env(
            {
                "CUTIS_PORT": "8081",
                "CUTIS_COOKIE_SECURE": "0",
                "CUTIS_CPU_PROCESSES": "2",
                "CUTIS_ENV": "development",
                "CUTIS_REDIS_URL": "redis://127.0.0.1:6379/3",
                "CUTIS_DATABASE_URL": "postgresql+psycopg://cutis_app@db/cutis",
                "PATH": "/usr/bin",
            }
        )
        assert (settings.port, settings.cookie_secure, settings.cpu_processes) == (8081, False, 2)
        assert settings.public_url == "http://127.0.0.1:8081", "the mailed links follow the port by default"
        assert not settings.is_sqlite and settings.uses_redis

    def test_an_empty_variable_is_unset(self) -> None:
        settings = Settings.from_env({"CUTIS_REDIS_URL": "", "CUTIS_CPU_PROCESSES": ""})
        assert settings.redis_url is None and settings.cpu_processes is None

    def test_code_that_names_its_values_does_not_read_the_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("CUTIS_PORT", "9999")
        assert Settings(port=8001).port == 8001
        assert Settings().port == 8000
        assert Settings.from_env().port == 9999

    @pytest.mark.parametrize(
        ("environ", "message"),
        [
            pytest.param(
                {"CUTIS_PORT": "eighty"},
                "CUTIS_PORT: Input should be a valid integer, unable to parse string as an integer",
                id="a port that is not a number",
            ),
            pytest.param(
                {"CUTIS_PORT": "70000"}, "CUTIS_PORT: Input should be less than or equal to 65535", id="a port too big"
            ),
            pytest.param(
                {"CUTIS_DATABASE_URL": "mysql://root:hunter2@db/cutis"},
                "CUTIS_DATABASE_URL: names the driver 'mysql'; cutis speaks sqlite+aiosqlite:// or postgresql+psycopg://",
                id="a database cutis does not speak",
            ),
            pytest.param(
                {"CUTIS_DATABASE_URL": "db.internal:5432"},
                "CUTIS_DATABASE_URL: is not a database URL (expected DRIVER://USER@HOST/DATABASE)",
                id="not a URL",
            ),
            pytest.param(
                {"CUTIS_REDIS_URL": "http://redis:6379"},
                "CUTIS_REDIS_URL: is not a Redis URL (expected one starting redis://, rediss://, unix://)",
                id="not a Redis URL",
            ),
            pytest.param(
                {"CUTIS_METRICS_TOKEN": "hunter2"},
                "CUTIS_METRICS_TOKEN: String should have at least 16 characters",
                id="a metrics token too short to guess",
            ),
            pytest.param(
                {"CUTIS_WORKER_METRICS_PORT": "0"},
                "CUTIS_WORKER_METRICS_PORT: Input should be greater than or equal to 1",
                id="a worker metrics port out of range",
            ),
            pytest.param(
                {"CUTIS_ENV": "prod"},
                "CUTIS_ENV: Input should be 'development' or 'production'",
                id="an unknown environment",
            ),
            pytest.param(
                {"CUTIS_ENV": "production"},
                "CUTIS_TOTP_KEY is required in production (it seals second-factor secrets at rest)",
                id="production without its secret",
            ),
        ],
    )
    def test_a_bad_value_is_one_line_naming_the_variable(self, environ: dict[str, str], message: str) -> None:
        with pytest.raises(SettingsError) as refused:
            Settings.from_env(environ)
        assert str(refused.value) == message
        assert "hunter2" not in str(refused.value)


def test_a_bad_value_stops_the_cli_with_one_line(tmp_path: Path) -> None:
    """What an operator sees: one line on stderr and exit status 1, not a traceback."""
    environ = {"PATH": "/usr/bin:/bin", "CUTIS_PORT": "eighty", "CUTIS_DATA_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "server.cli", "settings"], env=environ, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "CUTIS_PORT: Input should be a valid integer, unable to parse string as an integer"
    ]


def test_replace_checks_again() -> None:
    settings = Settings(rate_limit_per_minute=5)
    assert settings.replace(rate_limit_per_minute=7).rate_limit_per_minute == 7
    with pytest.raises(ValueError, match="greater than or equal to 1"):
        settings.replace(rate_limit_per_minute=0)


def test_readme_documents_every_variable_with_the_generated_table() -> None:
    table = settings_table()
    assert table in README.read_text(), "README's table differs: paste the output of `cutis settings --markdown`"
    documented = set(re.findall(r"`(CUTIS_[A-Z_]+)`", table))
    read_by_code = {
        name
        for path in Path(__file__).resolve().parents[2].joinpath("server").rglob("*.py")
        for name in re.findall(r"CUTIS_[A-Z_]+", path.read_text())
    } - {"CUTIS_"}
    assert read_by_code <= documented, f"variables named in server/ but not in the table: {read_by_code - documented}"
