"""Run Airflow on this machine for ndc: environment, components, and a small REST client.

``make up`` and the end-to-end tests start the same four components (api-server, scheduler,
dag-processor, triggerer) with :func:`up`, and with ``NDC_EXECUTOR=celery`` (``make up
EXECUTOR=celery``) two Celery workers beside them (``ndc.workers``); ``make demo`` drives them
through the REST API.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from ndc import workers
from ndc.dag_defaults import MAX_ACTIVE_TASKS_PER_DAG, WATCHER_POOL_ARGS
from ndc.processes import Processes
from ndc.registry import Source
from ndc.settings import (
    DAGS_DIR,
    POPULATION_CONN_ID,
    REPO_ROOT,
    WAREHOUSE_CONN_ID,
    Settings,
    postgres_connection_json,
)

COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
ADMIN_USER = "admin"
TERMINAL_STATES = {"success", "failed"}


class AirflowError(RuntimeError):
    """Airflow did not start, or a DAG run did not succeed."""


def _secrets(home: Path) -> dict:
    """Secrets shared by the components (JWT, API), generated once per NDC_HOME."""
    path = home / "secrets.json"
    if path.exists():
        return json.loads(path.read_text())
    values = {
        "jwt_secret": secrets.token_urlsafe(32),
        "secret_key": secrets.token_urlsafe(32),
        "admin_password": secrets.token_urlsafe(9),
    }
    home.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(values))
    path.chmod(0o600)
    return values


def admin_password(settings: Settings) -> str:
    return _secrets(settings.airflow_home)["admin_password"]


def airflow_env(settings: Settings, sources: dict[str, Source]) -> dict[str, str]:
    """The environment every Airflow component and `airflow` CLI call of ndc runs with."""
    home = settings.airflow_home
    sec = _secrets(home)
    passwords = home / "passwords.json"
    if not passwords.exists():
        passwords.write_text(json.dumps({ADMIN_USER: sec["admin_password"]}))
    port = settings.airflow_port
    venv_bin = str(Path(sys.executable).parent)
    env = dict(os.environ)
    env.update(
        {
            "PATH": venv_bin + os.pathsep + env.get("PATH", ""),
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_DIR),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO_ROOT / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            # Sized for a small machine (2 cores): the transform's dbt producer plus the model
            # watchers that poke beside it (light processes, mostly asleep), with slots left for
            # other DAGs' tasks while a transform runs. On Celery the same 8 slots are the
            # workers' (2 x NDC_CELERY_CONCURRENCY 4 by default).
            "AIRFLOW__CORE__PARALLELISM": "8",
            "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": str(MAX_ACTIVE_TASKS_PER_DAG),
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN_USER}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": _sqlalchemy(settings.airflow_db_url),
            "AIRFLOW__API__PORT": str(port),
            "AIRFLOW__API__HOST": "0.0.0.0",
            "AIRFLOW__API__BASE_URL": f"http://localhost:{port}",
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API__SECRET_KEY": sec["secret_key"],
            "AIRFLOW__API_AUTH__JWT_SECRET": sec["jwt_secret"],
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "30",
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            # Nothing leaves this machine: no usage telemetry from Airflow, Cosmos or dbt.
            "AIRFLOW__USAGE_DATA_COLLECTION__ENABLED": "False",
            "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
            # By default Cosmos's watcher producer also writes every XCom it pushes (a node's
            # status, compiled SQL, dbt event) into one Airflow Variable holding all of them so
            # far, compressed and rewritten on each push: quadratic in the project's nodes (some
            # 900 pushes a build here). Off, the backup is written once, by the producer's
            # failure callback, which is what a retry restores from. Measured together with the
            # poking watchers (dags/transform.py), a full-refresh transform of a 300-person
            # country: api-server CPU 40-44 s -> 29-30 s, wall 110-121 s -> 78 s.
            "AIRFLOW__COSMOS__ENABLE_WATCHER_RELIABLE_RETRY": "False",
            # Cosmos's cache (dbt's partial parse) per ndc home, not shared with other stacks
            # on the machine; derived data, a task that finds none parses in full.
            "AIRFLOW__COSMOS__CACHE_DIR": str(home / "cosmos_cache"),
            "DO_NOT_TRACK": "1",
            "SCARF_NO_ANALYTICS": "true",
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
            "NDC_HOME": str(settings.home),
            "NDC_LANDING_URL": settings.landing_url,
            f"AIRFLOW_CONN_{WAREHOUSE_CONN_ID.upper()}": postgres_connection_json(
                settings.warehouse_url
            ),
            f"AIRFLOW_CONN_{POPULATION_CONN_ID.upper()}": postgres_connection_json(
                settings.population_url
            ),
        }
    )
    if settings.celery:
        env.update(workers.celery_env(settings, env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]))
    for source in sources.values():
        key = f"AIRFLOW_CONN_{source.connection_id.upper()}"
        if key not in os.environ:  # a connection set by the operator wins
            env[key] = settings.source_connection(source.name, source.kind.value)
    return env


def _sqlalchemy(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    return f"postgresql+psycopg2{sep}{rest}" if scheme in ("postgres", "postgresql") else url


def _processes(settings: Settings) -> Processes:
    return Processes(settings.airflow_home / "run", settings.airflow_home / "logs")


def components(settings: Settings) -> list[str]:
    """The processes of this stack's Airflow: the four components, and the Celery workers when
    ``NDC_EXECUTOR=celery``."""
    return list(COMPONENTS) + workers.names(settings)


def running(settings: Settings) -> dict[str, int]:
    """Components with a live process, by name."""
    procs = _processes(settings)
    return {c: pid for c in components(settings) if (pid := procs.pid(c)) is not None}


def migrate(env: dict[str, str]) -> None:
    """Create or upgrade Airflow's metadata database, and the transform watchers' pool."""
    airflow = shutil.which("airflow", path=env["PATH"]) or "airflow"
    for argv in ([airflow, "db", "migrate"], [airflow, "pools", "set", *WATCHER_POOL_ARGS]):
        proc = subprocess.run(argv, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            raise AirflowError(
                f"{' '.join(argv[:3])} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
            )


def check_broker(settings: Settings) -> None:
    """Fail with what to do when Celery's broker (Redis) does not answer."""
    from urllib.parse import urlparse

    import redis

    try:
        redis.Redis.from_url(settings.celery_broker_url, socket_timeout=3).ping()
    except redis.RedisError as exc:
        host = urlparse(settings.celery_broker_url).netloc
        raise AirflowError(
            f"NDC_EXECUTOR=celery: the broker {host} ({settings.celery_broker_url}) does not "
            f"answer ({exc}); start Redis (`make services` starts the machine's) or set "
            "NDC_CELERY_BROKER_URL"
        ) from exc


def up(settings: Settings, env: dict[str, str], log: Callable[[str], None] = print) -> str:
    """Start the components that are not running; returns the UI URL once it answers."""
    procs = _processes(settings)
    wanted = components(settings)
    if settings.celery:
        check_broker(settings)
    if len(running(settings)) < len(wanted):
        log("airflow: migrating the metadata database")
        migrate(env)
    airflow = shutil.which("airflow", path=env["PATH"]) or "airflow"
    for component in wanted:
        if procs.pid(component) is None:
            if component in COMPONENTS:
                argv, component_env = [airflow, component], env
            else:
                argv = workers.argv(airflow, settings, component)
                component_env = workers.worker_env(env, component)
            pid = procs.start(component, argv, component_env, cwd=settings.airflow_home)
            log(f"airflow: started {component} (pid {pid}, log {procs.log_path(component)})")
    url = f"http://localhost:{settings.airflow_port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/api/v2/monitor/health", timeout=3).ok:
                return url
        except requests.RequestException:
            pass
        dead = [c for c in wanted if procs.pid(c) is None]
        if dead:
            raise AirflowError(f"airflow {', '.join(dead)} exited; see {procs.log_dir}")
        time.sleep(2)
    raise AirflowError(
        f"airflow api-server did not answer on {url} within 180 s; see {procs.log_dir}"
    )


def down(settings: Settings, log: Callable[[str], None] = print) -> None:
    """Stop every component and Celery worker (their whole process groups): every worker this
    stack started, whatever NDC_EXECUTOR says now."""
    procs = _processes(settings)
    started_workers = sorted(p.stem for p in procs.run_dir.glob(f"{workers.PREFIX}*.pid"))
    for component in procs.stop(list(COMPONENTS) + started_workers):
        log(f"airflow: stopped {component}")


class AirflowClient:
    """The few calls of Airflow's REST API (v2) that ndc needs."""

    def __init__(self, url: str, username: str, password: str):
        self.url = url.rstrip("/")
        self.session = requests.Session()
        # An api-server busy under a large run answers late now and then: idempotent calls
        # (GET, PUT, DELETE) are retried with backoff; a trigger (POST) never is.
        retry = Retry(total=4, backoff_factor=2, status_forcelist=(502, 503, 504))
        self.session.mount("http://", HTTPAdapter(max_retries=retry))
        r = self.session.post(
            f"{self.url}/auth/token", json={"username": username, "password": password}, timeout=30
        )
        if not r.ok:
            raise AirflowError(
                f"login to {self.url} as {username} failed: {r.status_code} {r.text}"
            )
        self.session.headers["Authorization"] = f"Bearer {r.json()['access_token']}"

    def _call(self, method: str, path: str, **kwargs) -> dict:
        r = self.session.request(method, f"{self.url}/api/v2{path}", timeout=60, **kwargs)
        if not r.ok:
            raise AirflowError(f"{method} {path}: {r.status_code} {r.text[:500]}")
        return r.json()

    def dag_ids(self) -> list[str]:
        return [d["dag_id"] for d in self._call("GET", "/dags", params={"limit": 100})["dags"]]

    def import_errors(self) -> list[dict]:
        return self._call("GET", "/importErrors")["import_errors"]

    def dag(self, dag_id: str) -> dict:
        return self._call("GET", f"/dags/{dag_id}")

    def unpause(self, dag_id: str) -> None:
        self._call("PATCH", f"/dags/{dag_id}", json={"is_paused": False})

    def trigger(self, dag_id: str, conf: dict | None = None) -> str:
        body: dict = {"logical_date": None}
        if conf:
            body["conf"] = conf
        return self._call("POST", f"/dags/{dag_id}/dagRuns", json=body)["dag_run_id"]

    def runs(self, dag_id: str) -> list[dict]:
        return self._call(
            "GET", f"/dags/{dag_id}/dagRuns", params={"order_by": "-run_after", "limit": 50}
        )["dag_runs"]

    def queued_asset_events(self, dag_id: str) -> list[dict]:
        """Asset events that will trigger a run of an Asset-scheduled DAG, whose run the
        scheduler has not created yet. (Airflow 3.3's list of Asset events answers 500 while an
        event's run is queued: its null start_date fails the response model.)"""
        return self._call("GET", f"/dags/{dag_id}/assets/queuedEvents")["queued_events"]

    def run(self, dag_id: str, run_id: str) -> dict:
        return self._call("GET", f"/dags/{dag_id}/dagRuns/{run_id}")

    def failed_tasks(self, dag_id: str, run_id: str) -> list[str]:
        tis = self._call("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances")["task_instances"]
        return [t["task_id"] for t in tis if t["state"] in ("failed", "upstream_failed")]

    def task_instances(self, dag_id: str = "~", run_id: str = "~") -> list[dict]:
        """Task instances of a run (``~``: of every run, of every DAG), page by page."""
        found: list[dict] = []
        while True:
            page = self._call(
                "GET",
                f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances",
                params={"limit": 100, "offset": len(found)},
            )
            found += page["task_instances"]
            if not page["task_instances"] or len(found) >= page["total_entries"]:
                return found

    def task_instance(self, dag_id: str, run_id: str, task_id: str) -> dict:
        return self._call("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}")

    def task_tries(self, dag_id: str, run_id: str, task_id: str) -> list[dict]:
        """Every try of a task instance, the current one included, oldest first."""
        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/tries"
        return sorted(self._call("GET", path)["task_instances"], key=lambda t: t["try_number"])

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int) -> list:
        """A try's log: its structured events (dicts with ``event``, ``level``)."""
        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs/{try_number}"
        return self._call("GET", path, params={"full_content": "true"})["content"]

    def fail_run(self, dag_id: str, run_id: str) -> None:
        """Mark a run failed (what an operator does with a run that cannot finish)."""
        self._call("PATCH", f"/dags/{dag_id}/dagRuns/{run_id}", json={"state": "failed"})

    def clear_failed(self, dag_id: str, run_id: str) -> None:
        """What an operator's "Clear" on a failed run does: its failed tasks run again."""
        self._call(
            "POST",
            f"/dags/{dag_id}/clearTaskInstances",
            json={"dry_run": False, "dag_run_id": run_id, "only_failed": True},
        )

    def task_state(self, dag_id: str, run_id: str, task_id: str) -> str | None:
        return self._call("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}")[
            "state"
        ]

    def wait_for_dags(self, expected: Iterable[str], timeout: float = 180) -> None:
        """Wait until the dag-processor has parsed every expected DAG."""
        expected = set(expected)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            errors = self.import_errors()
            if errors:
                raise AirflowError(
                    "DAG import errors:\n"
                    + "\n".join(f"{e['filename']}: {e['stack_trace']}" for e in errors)
                )
            if expected <= set(self.dag_ids()):
                return
            time.sleep(2)
        raise AirflowError(
            f"DAGs not parsed within {timeout} s: {sorted(expected - set(self.dag_ids()))}"
        )

    def wait_run(
        self, dag_id: str, run_id: str, timeout: float = 900, log: Callable[[str], None] = print
    ) -> dict:
        """Wait for a DAG run to finish; raise naming the failed tasks unless it succeeded."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            run = self.run(dag_id, run_id)
            if run["state"] != last:
                log(f"  {dag_id} {run_id}: {run['state']}")
                last = run["state"]
            if run["state"] in TERMINAL_STATES:
                if run["state"] != "success":
                    raise AirflowError(
                        f"{dag_id} run {run_id} {run['state']}; failed tasks: "
                        f"{self.failed_tasks(dag_id, run_id)} (see the task logs in the UI)"
                    )
                return run
            time.sleep(3)
        raise AirflowError(f"{dag_id} run {run_id} did not finish within {timeout} s")

    def wait_triggered_run(
        self, dag_id: str, after: str, timeout: float = 900, log: Callable[[str], None] = print
    ) -> dict:
        """Wait for the next Asset-triggered run of a DAG queued after ``after`` (ISO time)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            runs = [
                r
                for r in self.runs(dag_id)
                if r["run_type"] == "asset_triggered" and (r.get("queued_at") or "") >= after
            ]
            if runs:
                oldest = min(runs, key=lambda r: r["queued_at"])
                return self.wait_run(dag_id, oldest["dag_run_id"], deadline - time.monotonic(), log)
            time.sleep(3)
        raise AirflowError(f"no Asset-triggered {dag_id} run appeared within {timeout} s")

    def wait_idle(self, dag_ids: Iterable[str], timeout: float = 900) -> None:
        """Wait until no run of these DAGs is queued or running."""
        dag_ids = list(dag_ids)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            busy = [
                (d, r["dag_run_id"])
                for d in dag_ids
                for r in self.runs(d)
                if r["state"] not in TERMINAL_STATES
            ]
            if not busy:
                return
            time.sleep(3)
        raise AirflowError(f"runs still active after {timeout} s")
