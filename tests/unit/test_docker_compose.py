"""docker-compose.yaml, the full deployment, is validated here, not run: this machine has no
container engine. check-jsonschema (requirements.txt) validates it against the compose-spec
JSON schema that it ships (vendored, read offline), which catches a misspelt key, a wrong type
or an unknown depends_on condition; the other tests check what a schema cannot: references
between services, health checks, the registry's connections, and .env.example."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ndc.registry import load_registry
from ndc.settings import POPULATION_CONN_ID, REPO_ROOT, WAREHOUSE_CONN_ID

COMPOSE = REPO_ROOT / "docker-compose.yaml"
ENV_EXAMPLE = REPO_ROOT / ".env.example"
# ${VAR}, ${VAR:-default}, ${VAR:?error}; not $${VAR}, which the container's shell expands.
VARIABLE = re.compile(r"(?<!\$)\$\{([A-Z_][A-Z0-9_]*)")
SECRET = re.compile(r"PASSWORD|SECRET|FERNET")


def validate(path: Path) -> subprocess.CompletedProcess:
    """check-jsonschema against the compose-spec schema it ships."""
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec"]
        + [str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def _env_example() -> dict[str, str]:
    values = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def test_compose_file_matches_the_compose_spec():
    result = validate(COMPOSE)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    "good, bad, error",
    [
        ("    healthcheck:", "    healthchek:", "'healthchek' was unexpected"),
        ("condition: service_healthy", "condition: service_ready", "depends_on"),
        ("    image: redis:7.4-alpine", "    image: [redis]", "is not of type"),
    ],
)
def test_a_broken_compose_file_fails(tmp_path, good, bad, error):
    text = COMPOSE.read_text()
    assert good in text
    broken = tmp_path / "docker-compose.yaml"
    broken.write_text(text.replace(good, bad, 1))
    result = validate(broken)
    assert result.returncode != 0 and error in result.stdout, result.stdout + result.stderr


def test_the_deployment_has_every_part(compose):
    services = compose["services"]
    commands = {name: " ".join(s.get("command", [])) for name, s in services.items()}
    for component in ("api-server", "scheduler", "dag-processor", "triggerer"):
        assert f"airflow {component}" in commands.values(), component
    workers = [n for n, c in commands.items() if c == "airflow celery worker"]
    assert len(workers) == 2 and len({services[w]["hostname"] for w in workers}) == 2
    images = {name: s.get("image", "") for name, s in services.items()}
    assert images["redis"].startswith("redis:")
    assert images["minio"].startswith("minio/minio")
    assert images["airflow-db"].startswith("postgres:")
    assert images["warehouse-db"].startswith("postgres:")
    env = services["airflow-scheduler"]["environment"]
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert "@redis:6379" in env["AIRFLOW__CELERY__BROKER_URL"]
    assert "@airflow-db:" in env["AIRFLOW__CELERY__RESULT_BACKEND"]
    assert "@airflow-db:" in env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    assert "@warehouse-db:" in env["NDC_PG_URL"]
    assert env["NDC_LANDING_URL"].startswith("s3://") and "minio:9000" in env["NDC_S3_ENDPOINT"]
    # Every Airflow component runs the image built from this repository (DAGs, registry,
    # dbt project built in) with one environment.
    airflow = [n for n, c in commands.items() if c.startswith("airflow") or "airflow db" in c]
    assert len(airflow) == 7
    for name in airflow:
        assert services[name]["build"]["context"] == "."
        assert services[name]["environment"] == env, name


def test_every_service_is_checked_and_every_dependency_exists(compose):
    services = compose["services"]
    for name, service in services.items():
        if service.get("restart") != "no":  # a one-shot job (airflow-init) has no health
            assert service["healthcheck"]["test"], name
        for dependency, how in service.get("depends_on", {}).items():
            assert dependency in services, (name, dependency)
            if how["condition"] == "service_healthy":
                assert "healthcheck" in services[dependency], (name, dependency)
            if how["condition"] == "service_completed_successfully":
                assert services[dependency].get("restart") == "no", (name, dependency)
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            assert source.startswith((".", "/")) or source in compose["volumes"], (name, volume)


def test_its_celery_settings_are_the_ones_run_here(compose, monkeypatch):
    """The CeleryExecutor configuration the pipeline's end-to-end test runs (ndc.workers), less
    what only stacks sharing one machine's Redis need."""
    from ndc import settings as settings_mod
    from ndc import workers

    monkeypatch.setenv("NDC_EXECUTOR", "celery")
    monkeypatch.delenv("NDC_CELERY_CONCURRENCY", raising=False)
    here = workers.celery_env(settings_mod.load(), "postgresql+psycopg2://airflow@db/airflow")
    env = compose["services"]["airflow-scheduler"]["environment"]
    for key, value in here.items():
        if key == "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__GLOBAL_KEYPREFIX":
            assert key not in env
        elif key in ("AIRFLOW__CELERY__BROKER_URL", "AIRFLOW__CELERY__RESULT_BACKEND"):
            assert env[key].split(":")[0] == value.split(":")[0], key  # redis, db+postgresql
        elif key == "AIRFLOW__CELERY__WORKER_CONCURRENCY":
            assert env[key] == "${NDC_CELERY_CONCURRENCY:-4}" and value == "4"
        else:
            assert env[key] == value, key


def test_every_registry_source_has_its_connection(compose):
    env = compose["services"]["airflow-scheduler"]["environment"]
    conn_ids = [s.connection_id for s in load_registry().values()]
    for conn_id in conn_ids + [WAREHOUSE_CONN_ID, POPULATION_CONN_ID]:
        assert f"AIRFLOW_CONN_{conn_id.upper()}" in env, conn_id


def test_env_example_has_every_variable_and_no_secret():
    used = set(VARIABLE.findall(COMPOSE.read_text()))
    example = _env_example()
    assert used == set(example), (
        f"missing from .env.example: {sorted(used - set(example))}; "
        f"unused: {sorted(set(example) - used)}"
    )
    for key, value in example.items():
        if SECRET.search(key) or key.startswith("AIRFLOW_CONN_") and "@" in value:
            assert "CHANGE_ME" in value, key
    assert ".env" in (REPO_ROOT / ".gitignore").read_text().split()
