"""Defaults every ndc DAG shares (owner, retries, start date)."""

from __future__ import annotations

from datetime import timedelta

import pendulum

START_DATE = pendulum.datetime(2025, 7, 1, tz="UTC")

DEFAULT_ARGS = {
    "owner": "ndc-data-engineering",
    "retries": 2,
    "retry_delay": timedelta(seconds=30),
    "retry_exponential_backoff": True,
}

# Slots: a DAG runs at most MAX_ACTIVE_TASKS_PER_DAG tasks at once (AIRFLOW__CORE__..., set by
# ndc.airflow_runtime for a 2-core machine), and the transform's model watchers poke in a pool
# of one slot fewer, so its dbt producer (and a retry of it) always finds a slot.
MAX_ACTIVE_TASKS_PER_DAG = 6
WATCHER_POOL = "ndc_dbt_watchers"
WATCHER_POOL_SLOTS = MAX_ACTIVE_TASKS_PER_DAG - 1
WATCHER_POOL_ARGS = (
    WATCHER_POOL,
    str(WATCHER_POOL_SLOTS),
    "the transform's dbt model watchers: one slot fewer than a DAG's, kept for the producer",
)
