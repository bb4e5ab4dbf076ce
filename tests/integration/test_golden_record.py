"""The golden record in the population database: the session's tiny country (built once by
the real path, tests/integration/conftest.py) synced into a population database of its own,
then read back through `ndc citizen show`."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from ndc.warehouse import connect, drop_database
from tests.conftest import PG_URL

pytestmark = pytest.mark.integration

VERSION = (
    "personal_id, attribute, value, valid_from, valid_to, source_system, source_entity, "
    "batch_id, record_key"
)


@pytest.fixture(scope="module")
def synced(built_warehouse):
    """A population database loaded from the country's baseline and synced from the built
    warehouse (the session's own population database is left as the other tests expect)."""
    from ndc.population import load_baseline, sync_citizens

    population_url = built_warehouse.population_url + "_golden"
    drop_database(population_url)
    load_baseline(population_url, built_warehouse.data / "population_db" / "baseline.parquet")
    first = sync_citizens(built_warehouse.url, population_url, full=True)
    yield built_warehouse.url, population_url, first
    drop_database(population_url)


def _rows(url: str, query: str, *params) -> list[tuple]:
    with connect(url) as conn:
        return conn.execute(query, params).fetchall()


def _mover(warehouse: str) -> tuple[str, list[tuple]]:
    """A person whose permanent residence moved between two 2025 communes, with their
    registrations (change date, commune) as the residence system sent them."""
    rows = _rows(
        warehouse,
        """
        select personal_id, change_date, commune_code_2025
        from staging.stg_residence__residence_changes
        where change_type_code = 'DK_THUONG_TRU' and quarantine_reason_code is null
            and commune_code_2025 is not null
            and personal_id in (
                select personal_id from staging.stg_residence__residence_changes
                where change_type_code = 'DK_THUONG_TRU' and commune_code_2025 is not null
                    and quarantine_reason_code is null
                group by personal_id having count(distinct commune_code_2025) = 2
                    and count(distinct change_date) = 2 and count(*) = 2)
        order by personal_id, change_date
        """,
    )
    assert rows, "the tiny country has no person who moved between two known communes"
    person = rows[0][0]
    return person, [(r[1], r[2]) for r in rows if r[0] == person]


def test_citizen_history_holds_every_attribute_version_with_source_and_batch(synced):
    warehouse, population, first = synced
    mart = _rows(warehouse, f"select {VERSION} from marts.citizen_attribute_versions")
    history = _rows(population, f"select {VERSION} from citizen_history")
    assert mart and sorted(history) == sorted(mart)
    assert {r[1] for r in history} >= {"commune_code", "province_code", "is_insured"}
    assert all(r[5] and r[7] for r in history), "a version without its source or batch"
    current = _rows(population, "select personal_id, attribute, value from citizen_attribute")
    assert sorted(current) == sorted((r[0], r[1], r[2]) for r in history if r[4] is None)
    assert first.history is not None and first.history.versions_sent == len(mart)
    # Nothing changed since: the next sync sends no version and writes nothing.
    from ndc.population import sync_citizens

    again = sync_citizens(warehouse, population)
    assert (again.history.versions_sent, again.history.history_written) == (0, 0)


def test_a_moved_person_has_two_residence_versions(synced):
    warehouse, population, _ = synced
    person, registrations = _mover(warehouse)
    (moved_in, old), (moved, new) = registrations
    versions = _rows(
        population,
        "select value, valid_from, valid_to, source_system from citizen_history "
        "where personal_id = %s and attribute = 'commune_code' order by valid_from",
        person,
    )
    assert versions == [(old, moved_in, moved, "residence"), (new, moved, None, "residence")]
    # The residence system is the authority for the commune: the citizen row follows it.
    assert _rows(population, "select commune_code from citizen where personal_id = %s", person) in (
        [(new,)],
        [],  # a person the population database does not hold keeps attributes only
    )


def test_citizen_show_prints_the_golden_record_with_provenance_and_logs_the_read(synced):
    from ndc.cli import main

    warehouse, population, _ = synced
    person, [(moved_in, old), (moved, new)] = _mover(warehouse)
    env = {"NDC_PG_URL": PG_URL, "NDC_POPULATION_URL": population}
    runner = CliRunner(env=env)
    now = runner.invoke(main, ["citizen", "show", person, "--json", "--requested-by", "clerk-42"])
    assert now.exit_code == 0, now.output
    record = json.loads(now.output)
    commune = record["attributes"]["commune_code"]
    assert (commune["value"], commune["valid_from"], commune["source_system"]) == (
        new,
        moved.isoformat(),
        "residence",
    )
    assert commune["batch_id"] and commune["record_key"]
    assert commune["authoritative_source"] == "residence"
    assert [v["value"] for v in record["history"] if v["attribute"] == "commune_code"] == [old, new]
    before = runner.invoke(
        main, ["citizen", "show", person, "--json", "--as-of", moved_in.isoformat()]
    )
    assert before.exit_code == 0, before.output
    assert json.loads(before.output)["attributes"]["commune_code"]["value"] == old
    reads = _rows(
        population,
        "select requested_by, as_of, command from audit.person_read where personal_id = %s "
        "order by id",
        person,
    )
    assert reads[0] == ("clerk-42", None, "ndc citizen show")
    assert reads[1][1] == moved_in and reads[1][0]  # the OS user when none is given
    missing = runner.invoke(main, ["citizen", "show", "001000000000"])
    assert missing.exit_code != 0 and "no citizen" in missing.output


@pytest.fixture
def versions_mart(pg_database):
    """A warehouse holding the two marts the sync reads, as dbt builds them (with their
    change markers), and an empty population database."""
    from ndc.population import ensure_population_db

    population = pg_database + "_pop"
    ensure_population_db(population)
    with connect(pg_database) as conn:
        conn.execute("""
            create schema marts;
            create table marts.citizens (personal_id varchar(12) primary key, full_name text,
                date_of_birth date, sex_code varchar(1), date_of_death date, is_deceased boolean,
                source_systems text, record_count integer, _changed_at timestamptz);
            insert into marts.citizens values
              ('001085000001', 'NGUYEN VAN AN', '1985-03-02', '1', null, false,
               'social_insurance', 1, now() - interval '1 hour');
            create table marts.citizen_attribute_versions (personal_id varchar(12),
                attribute text, value text, valid_from date, valid_to date, source_system text,
                source_entity text, batch_id text, source_row integer, record_key text,
                _built_at timestamptz);
            insert into marts.citizen_attribute_versions values
              ('001085000001', 'commune_code', '00004', '2010-05-01', null, 'residence',
               'residence_change', 'r1', 1, '11', now() - interval '1 hour'),
              ('001085000001', 'is_insured', 'true', '2015-01-01', null, 'social_insurance',
               'contribution_period', 's1', 4, 'P1', now() - interval '1 hour');
        """)
    with connect(population) as conn:
        conn.execute(
            "insert into citizen (personal_id, full_name, date_of_birth, sex_code, commune_code)"
            " values ('001085000001', 'Nguyễn Văn An', '1985-03-02', '1', '99999')"
        )
    yield pg_database, population
    drop_database(population)


def test_the_sync_writes_the_versions_of_changed_citizens_only(versions_mart):
    from datetime import date, timedelta

    from ndc.population import sync_citizens

    warehouse, population = versions_mart
    first = sync_citizens(warehouse, population, margin=timedelta(0))
    assert (first.history.versions_sent, first.history.citizens_updated) == (2, 1)
    # The residence system is the commune's authority; the name stays the master's.
    assert _rows(population, "select full_name, commune_code from citizen") == [
        ("Nguyễn Văn An", "00004")
    ]
    assert sync_citizens(warehouse, population, margin=timedelta(0)).history.versions_sent == 0
    # A move: the old version closes, a new one opens (a dbt run rewrites both rows).
    with connect(warehouse) as conn:
        conn.execute("""
            update marts.citizen_attribute_versions set valid_to = '2025-07-05', _built_at = now()
            where attribute = 'commune_code';
            insert into marts.citizen_attribute_versions values
              ('001085000001', 'commune_code', '00007', '2025-07-05', null, 'residence',
               'residence_change', 'r9', 2, '12', now());
        """)
    moved = sync_citizens(warehouse, population, margin=timedelta(0))
    assert (moved.history.versions_sent, moved.history.persons) == (3, 1)
    assert moved.changed and (moved.inserted, moved.updated) == (0, 0)
    assert _rows(
        population,
        "select value, valid_from, valid_to, batch_id, record_key from citizen_history "
        "where attribute = 'commune_code' order by valid_from",
    ) == [
        ("00004", date(2010, 5, 1), date(2025, 7, 5), "r1", "11"),
        ("00007", date(2025, 7, 5), None, "r9", "12"),
    ]
    assert _rows(population, "select value, batch_id from citizen_attribute order by 1") == [
        ("00007", "r9"),
        ("true", "s1"),
    ]
    assert _rows(population, "select commune_code from citizen") == [("00007",)]
    # A version that went away (its record corrected), nothing else of the citizen rewritten:
    # the dbt strategy logged the removed row, and the sync removes it too.
    with connect(warehouse) as conn:
        conn.execute("""
            create schema if not exists ops;
            create table if not exists ops.retired_rows (model text not null,
                retired_at timestamptz not null default now(), row jsonb not null);
            with retired as (
                delete from marts.citizen_attribute_versions where attribute = 'is_insured'
                returning *)
            insert into ops.retired_rows (model, row)
            select 'citizen_attribute_versions', to_jsonb(retired) from retired;
        """)
    gone = sync_citizens(warehouse, population, margin=timedelta(0))
    assert (gone.history.persons, gone.history.versions_sent) == (1, 2)
    assert _rows(population, "select attribute from citizen_attribute") == [("commune_code",)]
    assert _rows(
        population, "select count(*) from citizen_history where attribute = 'is_insured'"
    ) == [(0,)]
