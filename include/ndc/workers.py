"""Celery workers of ndc's Airflow (``NDC_EXECUTOR=celery``): their Airflow configuration,
names and command lines, and the hostname each reports to Airflow.

The broker is Redis (``NDC_CELERY_BROKER_URL``, the machine's by default); Celery's results go
to Airflow's metadata database. Several ndc stacks can share one Redis (a developer's ``make
up`` beside the end-to-end tests): each stack's keys carry its database prefix and each
worker's Celery node name does too, so no stack takes another's tasks.
"""

from __future__ import annotations

import os
import socket

from ndc.settings import Settings

# Set in a worker's environment: the name its tasks report as their host (:func:`hostname`).
WORKER_NAME_VAR = "NDC_CELERY_WORKER"
QUEUE = "default"
PREFIX = "celery-worker-"


def names(settings: Settings) -> list[str]:
    """The worker components ``ndc airflow up`` starts: none on LocalExecutor."""
    if not settings.celery:
        return []
    return [f"{PREFIX}{i}" for i in range(1, settings.celery_workers + 1)]


def celery_env(settings: Settings, sql_alchemy_conn: str) -> dict[str, str]:
    """Airflow's configuration for CeleryExecutor, shared by every component."""
    return {
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CELERY__BROKER_URL": settings.celery_broker_url,
        # Results in Airflow's metadata database, not in the broker.
        "AIRFLOW__CELERY__RESULT_BACKEND": f"db+{sql_alchemy_conn}",
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(settings.celery_concurrency),
        "AIRFLOW__OPERATORS__DEFAULT_QUEUE": QUEUE,
        # Every Redis key of this stack under its own prefix (a shared Redis stays shared).
        "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__GLOBAL_KEYPREFIX": f"{settings.db_prefix}:",
    }


def argv(airflow: str, settings: Settings, name: str) -> list[str]:
    """``airflow celery worker`` for one worker of this stack."""
    return [
        airflow,
        "celery",
        "worker",
        "--celery-hostname",
        f"{settings.db_prefix}-{name}@%h",
        "--queues",
        QUEUE,
        "--concurrency",
        str(settings.celery_concurrency),
        # Each worker would serve its task logs on the same port (8793); the api-server reads
        # them from the shared log folder of this machine instead.
        "--skip-serve-logs",
        # Two workers on one host need no start-up synchronisation or heartbeat gossip.
        "--without-mingle",
        "--without-gossip",
    ]


def worker_env(env: dict[str, str], name: str) -> dict[str, str]:
    """A worker's environment: the stack's, plus the name its tasks report as their host."""
    return env | {
        WORKER_NAME_VAR: name,
        "AIRFLOW__CORE__HOSTNAME_CALLABLE": "ndc.workers.hostname",
    }


def hostname() -> str:
    """Airflow's ``hostname_callable`` on ndc's workers: ``<worker>.<host>``, so the task
    instances of two workers on one machine say which ran them (a task instance's
    ``hostname``); the machine's name alone elsewhere."""
    name = os.environ.get(WORKER_NAME_VAR)
    return f"{name}.{socket.getfqdn()}" if name else socket.getfqdn()


def drop_broker_keys(settings: Settings) -> int:
    """Delete this stack's keys from the broker (the teardown of a throw-away stack, as its
    databases are dropped); returns how many there were."""
    import redis

    client = redis.Redis.from_url(settings.celery_broker_url)
    keys = list(client.scan_iter(match=f"{settings.db_prefix}:*"))
    return client.delete(*keys) if keys else 0
