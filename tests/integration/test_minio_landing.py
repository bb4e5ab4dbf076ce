"""The MinIO landing zone against an S3-compatible server on loopback (moto server mode)."""

import uuid

import pyarrow.parquet as pq
import pytest

from ndc.extract import extract_source
from ndc.landing import open_landing_zone
from ndc.load import load_source
from ndc.warehouse import bootstrap, connect
from tests.conftest import write_csv
from tests.unit.test_extract_files import HEADER, ROW

pytestmark = pytest.mark.integration


@pytest.fixture
def minio_landing(s3_server):
    endpoint, key, secret = s3_server
    return open_landing_zone(f"s3://ndc-landing-{uuid.uuid4().hex[:8]}/zone", endpoint, key, secret)


def test_put_list_get_round_trip(minio_landing, tmp_path):
    minio_landing.put_bytes("a/b/2025-06-01/x.manifest.json", b"{}")
    path = tmp_path / "f.bin"
    path.write_bytes(b"payload")
    minio_landing.put_file("a/b/2025-06-01/x.parquet", path)
    assert minio_landing.list("a/b/") == [
        "a/b/2025-06-01/x.manifest.json",
        "a/b/2025-06-01/x.parquet",
    ]
    assert minio_landing.exists("a/b/2025-06-01/x.parquet")
    assert not minio_landing.exists("a/b/2025-06-01/y.parquet")
    assert minio_landing.get_bytes("a/b/2025-06-01/x.parquet") == b"payload"
    assert minio_landing.uri("k").startswith("s3://ndc-landing-") and minio_landing.uri(
        "k"
    ).endswith("/zone/k")


def test_files_land_on_s3_and_load_into_postgres(registry, minio_landing, tmp_path, pg_database):
    inbox = tmp_path / "inbox"
    write_csv(inbox / "births_01_20250601.csv", HEADER, [ROW, ROW])
    source = registry["civil_registration"]
    landed = extract_source(source, str(inbox), minio_landing, "2025-06-01").landed
    assert [m.rows_landed for m in landed] == [2]
    with minio_landing.local_path(landed[0].key) as path:
        assert pq.read_metadata(path).num_rows == 2
    assert extract_source(source, str(inbox), minio_landing, "2025-06-02").landed == []

    bootstrap(pg_database, registry)
    assert load_source(pg_database, minio_landing, source).rows == 2
    with connect(pg_database) as conn:
        assert conn.execute("select count(*) from raw.civil_registration__birth").fetchone()[0] == 2


def test_a_second_load_from_s3_lists_only_the_new_batch(
    registry, minio_landing, tmp_path, pg_database
):
    inbox = tmp_path / "inbox"
    source = registry["civil_registration"]
    bootstrap(pg_database, registry)
    write_csv(inbox / "births_01_20250601.csv", HEADER, [ROW])
    extract_source(source, str(inbox), minio_landing, "2025-06-01")
    assert len(minio_landing.pending("civil_registration")) == 1
    assert load_source(pg_database, minio_landing, source).rows == 1
    assert minio_landing.pending("civil_registration") == []
    write_csv(inbox / "births_01_20250602.csv", HEADER, [ROW, ROW])
    (new,) = extract_source(source, str(inbox), minio_landing, "2025-06-02").landed
    assert [m.batch_id for m in minio_landing.pending("civil_registration")] == [new.batch_id]
    assert load_source(pg_database, minio_landing, source).loaded == [(new.batch_id, 2)]
    assert load_source(pg_database, minio_landing, source).loaded == []


def test_s3_down_while_a_file_lands_fails_the_extract_and_sets_nothing_aside(
    registry, s3_server, tmp_path
):
    """The landing zone's server going away while a batch is put is the platform's trouble,
    not the file's: the extract fails naming the landing zone and the object (the task's retry
    finds the zone back), and the file is not set aside: it lands on the next extract."""
    from ndc.landing import LandingZoneError, MinioLandingZone
    from ndc.reliability.outage import TcpGate

    endpoint, key, secret = s3_server
    gate = TcpGate(("127.0.0.1", int(endpoint.rsplit(":", 1)[1])))
    zone = open_landing_zone(f"s3://ndc-landing-{uuid.uuid4().hex[:8]}/zone", gate.url, key, secret)

    class ServerGoneOnPut(MinioLandingZone):
        def put_file(self, k, path):
            if k.endswith(".parquet"):  # the batch's data: the server goes away now
                gate.down()
            super().put_file(k, path)

    inbox = tmp_path / "inbox"
    write_csv(inbox / "births_01_20250601.csv", HEADER, [ROW, ROW])
    source = registry["civil_registration"]
    struck = ServerGoneOnPut(zone.client, zone.bucket, "zone")
    try:
        with pytest.raises(LandingZoneError, match=r"landing zone: put s3://ndc-landing-.*parquet"):
            extract_source(source, str(inbox), struck, "2025-06-01")
    finally:
        gate.up()
    landed = extract_source(source, str(inbox), zone, "2025-06-01")
    assert [m.rows_landed for m in landed.landed] == [2] and landed.set_aside == []
    gate.down()
