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
