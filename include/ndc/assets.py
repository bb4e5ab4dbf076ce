"""Airflow Asset definitions: the interface between ndc's DAGs, defined once here.

Producers declare them as ``outlets``, consumers as ``schedule``.
"""

from __future__ import annotations

from airflow.sdk import Asset, AssetAny

from ndc.registry import Source

RAW_URI_PREFIX = "ndc://warehouse/raw/"


def raw_asset(source: str) -> Asset:
    """The raw tables of one source, updated by ``ingest_<source>``."""
    return Asset(name=f"raw__{source}", uri=f"{RAW_URI_PREFIX}{source}", group="raw")


MART_URI_PREFIX = "ndc://warehouse/marts/"


def mart_asset(model: str) -> Asset:
    """A mart the ``transform`` DAG publishes once its run balanced (``marts.<model>``)."""
    return Asset(name=f"marts__{model}", uri=f"{MART_URI_PREFIX}{model}", group="marts")


MART_CITIZENS = mart_asset("citizens")
# What the sharing products read (include/sharing/*.yaml, `reads`): the citizens with their
# current commune, a view over marts.citizens and marts.citizen_attribute_versions.
MART_SHARED_CITIZENS = mart_asset("shared_citizens")
# Every mart Asset the transform updates, by model: the share_<product> DAGs run on them.
TRANSFORM_MARTS = {"citizens": MART_CITIZENS, "shared_citizens": MART_SHARED_CITIZENS}
POPULATION_CITIZENS = Asset(
    name="population__citizen", uri="ndc://population/citizen", group="population"
)

# Records without a usable personal ID newly linked to a citizen after a transform's build
# (ndc.linkage.flow): the next transform takes them out of quarantine.
PERSON_LINKS = Asset(name="ops__person_links", uri="ndc://warehouse/ops/person_links", group="ops")


def transform_assets(sources: dict[str, Source]) -> AssetAny:
    """What the ``transform`` DAG runs on: any source's raw tables, or the population
    database's citizens changed by a sync (the rows that look citizens up are conformed again:
    the warehouse settles on the population database the sync just wrote), or records newly
    linked by the last transform's linkage step (they leave quarantine)."""
    return AssetAny(*(raw_asset(name) for name in sources), POPULATION_CITIZENS, PERSON_LINKS)


def reads_asset(model: str) -> Asset:
    """The Asset of the mart a sharing product reads; an error naming the model when the
    transform publishes none (a product that reads it would never run)."""
    try:
        return TRANSFORM_MARTS[model]
    except KeyError:
        raise KeyError(
            f"reads: {model!r}: the transform publishes no Asset for it "
            f"(ndc.assets.TRANSFORM_MARTS: {sorted(TRANSFORM_MARTS)})"
        ) from None
