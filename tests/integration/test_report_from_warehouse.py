"""`ndc report` counts the discrepancy marts dbt builds, per agency and kind."""

import pytest

from ndc.registry import load_registry
from ndc.report import DISCREPANCY_KINDS, build_report, format_report
from ndc.warehouse import connect

pytestmark = pytest.mark.integration

MART = """
create table marts.discrepancies_{source} (
    source text, entity text, record_key text, _batch_id text, _source_row bigint,
    personal_id text, discrepancy text, field text, source_value text, reference_value text,
    reference text, full_name text, received_at timestamptz
)
"""


def test_report_counts_each_agencys_discrepancies_by_kind(pg_database):
    with connect(pg_database) as conn:
        conn.execute("create schema marts")
        conn.execute(MART.format(source="residence"))
        conn.execute(MART.format(source="social_insurance"))
        conn.execute(
            """
            insert into marts.discrepancies_residence
                (source, entity, record_key, _batch_id, _source_row, personal_id, discrepancy,
                 field, source_value, reference_value, reference)
            values
                ('residence', 'household_member', '800008', 'rs-household-20250612', 1,
                 '001090000201', 'dead_still_active', 'den_ngay',
                 'household HO-01-000003 since 2015-04-01, no end date', '2025-06-08',
                 'civil_registration_death'),
                ('residence', 'household_member', '800009', 'rs-household-20250612', 2,
                 '001040000220', 'dead_still_active', 'den_ngay',
                 'household HO-01-000004 since 1995-03-01, no end date', '2024-12-01',
                 'population_db'),
                ('residence', 'residence_change', '700008', 'rs-change-20250703', 1,
                 '001092000211', 'admin_unit_ambiguous', 'ma_xa', '00007', '00008, 00025',
                 'admin_units_legacy_to_2025')
            """
        )
    report = build_report(pg_database, pg_database, load_registry())
    zeros = dict.fromkeys(DISCREPANCY_KINDS, 0)
    assert report["discrepancies"]["residence"] == {
        "total": 3,
        "by_kind": zeros | {"dead_still_active": 2, "admin_unit_ambiguous": 1},
    }
    # A mart that is built but empty, and one not built at all, both count zero.
    assert report["discrepancies"]["social_insurance"] == {"total": 0, "by_kind": zeros}
    assert report["discrepancies"]["education"] == {"total": 0, "by_kind": zeros}
    lines = format_report(report).splitlines()
    assert ["residence", "3", "0", "0", "0", "2", "0", "1"] in [line.split() for line in lines]
