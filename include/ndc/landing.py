"""The landing zone: immutable Parquet batches and their manifests, in a folder or on MinIO/S3.

Keys follow ``<source>/<entity>/<yyyy-mm-dd>/<batch_id>.parquet`` with a
``<batch_id>.manifest.json`` beside it. The manifest is written last: a batch without a
manifest is not landed and is written again by the next attempt.

Beside the batches, ``_pending/<source>/<entity>/<day>/<batch_id>@<sha256>.json`` marks every
batch version landed and not yet loaded: written just before the manifest, deleted by the load once
that version is in the warehouse. The load lists these markers, so its cost follows the new
batches, not every manifest ever written. The marker is written first, so no landed batch is
ever without one; a marker whose manifest is missing (the extract stopped in between) is
kept until the batch is landed. ``_pending/<source>/_indexed`` records that the markers cover
the source: a landing zone written before markers existed is listed in full once.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlparse

MANIFEST_SUFFIX = ".manifest.json"
PENDING_PREFIX = "_pending"
PENDING_SUFFIX = ".json"
INDEXED_MARKER = "_indexed"


@dataclass(frozen=True)
class Manifest:
    """What a landed batch holds; the reconciliation starts from these counts."""

    source: str
    entity: str
    batch_id: str
    key: str  # landing key of the Parquet file
    rows_extracted: int
    rows_landed: int
    sha256: str
    columns: list[str]
    source_file: str | None = None
    source_sha256: str | None = None
    encoding: str | None = None
    watermark_column: str | None = None
    watermark_from: str | None = None
    watermark_to: str | None = None
    extracted_at: str | None = None  # the data interval the batch belongs to (ISO date)
    extra: dict = field(default_factory=dict)
    # The source's own count of the batch's rows, taken apart from the extractor (a count
    # query, a second parse of the file, the API's total: ndc.extract.source_count); None for
    # batches landed before it was counted.
    rows_at_source: int | None = None

    @property
    def manifest_key(self) -> str:
        return manifest_key_for(self.key)

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), ensure_ascii=False, indent=2, sort_keys=True).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Manifest:
        return cls(**json.loads(data))


def batch_key(source: str, entity: str, day: str, batch_id: str) -> str:
    """Deterministic landing key of a batch's Parquet file; each part one safe component."""
    for part in (source, entity, day, batch_id):
        if not part or "/" in part or "\\" in part or part in (".", "..") or not part.isprintable():
            raise ValueError(f"invalid landing key component {part!r}")
    return f"{source}/{entity}/{day}/{batch_id}.parquet"


def manifest_key_for(parquet_key: str) -> str:
    return parquet_key.removesuffix(".parquet") + MANIFEST_SUFFIX


def batch_id_of(manifest_key: str) -> str:
    return manifest_key.rsplit("/", 1)[-1].removesuffix(MANIFEST_SUFFIX)


def pending_key(manifest: Manifest) -> str:
    """The marker of one landed, not yet loaded version (batch and bytes) of a batch."""
    return f"{PENDING_PREFIX}/{manifest.key.removesuffix('.parquet')}@{manifest.sha256}.json"


@dataclass(frozen=True)
class PendingMarker:
    """A ``_pending`` marker: the batch version it stands for and the manifest to read."""

    key: str
    entity: str
    batch_id: str
    sha256: str
    manifest_key: str

    @classmethod
    def parse(cls, key: str) -> PendingMarker:
        base, _, sha256 = (
            key.removeprefix(f"{PENDING_PREFIX}/").removesuffix(".json").rpartition("@")
        )
        parts = base.split("/")
        return cls(key, parts[1], parts[-1], sha256, base + MANIFEST_SUFFIX)


class LandingZone(ABC):
    """Where extracted batches land. Keys are '/'-separated relative paths."""

    @abstractmethod
    def put_file(self, key: str, path: Path) -> None: ...

    @abstractmethod
    def put_bytes(self, key: str, data: bytes) -> None: ...

    @abstractmethod
    def get_bytes(self, key: str) -> bytes: ...

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove an object; removing a missing one is not an error."""

    @abstractmethod
    def list(self, prefix: str) -> list[str]:
        """Keys under a prefix, sorted."""

    @abstractmethod
    @contextmanager
    def local_path(self, key: str) -> Iterator[Path]:
        """A local file holding the object, for readers that need a path (Parquet)."""

    @abstractmethod
    def uri(self, key: str) -> str: ...

    # Shared logic on top of the primitives.
    def write_manifest(self, manifest: Manifest) -> None:
        """Land a batch: its pending marker, then the manifest (the batch counts from here)."""
        body = manifest.to_json()
        self.put_bytes(pending_key(manifest), body)
        self.put_bytes(manifest.manifest_key, body)

    def pending(self, source: str) -> list[PendingMarker]:
        """Markers of the batch versions of a source landed and not yet loaded (a listing of
        the new batches only: no manifest is read)."""
        return [
            PendingMarker.parse(k)
            for k in self.list(f"{PENDING_PREFIX}/{source}/")
            if k.endswith(".json")
        ]

    def clear_pending(self, manifest: Manifest) -> None:
        """The batch version is in the warehouse: drop its marker."""
        self.delete(pending_key(manifest))

    def pending_indexed(self, source: str) -> bool:
        """True once every landed batch of the source is known to have a marker."""
        return self.exists(f"{PENDING_PREFIX}/{source}/{INDEXED_MARKER}")

    def mark_pending_indexed(self, source: str) -> None:
        self.put_bytes(f"{PENDING_PREFIX}/{source}/{INDEXED_MARKER}", b"")

    def read_manifest(self, key: str) -> Manifest:
        return Manifest.from_json(self.get_bytes(key))

    def manifests(self, source: str, entity: str) -> list[str]:
        """Manifest keys of every landed batch of an entity, oldest day first."""
        return [k for k in self.list(f"{source}/{entity}/") if k.endswith(MANIFEST_SUFFIX)]

    def landed_batch_ids(self, source: str, entity: str) -> set[str]:
        return {batch_id_of(k) for k in self.manifests(source, entity)}

    def watermarks(self, source: str, entity: str) -> list[str]:
        """The upper watermark of every landed batch of an entity.

        Every manifest is read, not just the newest day's: a backfill run lands under an
        older day and may hold the highest watermark.
        """
        marks = (self.read_manifest(k).watermark_to for k in self.manifests(source, entity))
        return [m for m in marks if m is not None]


class LocalLandingZone(LandingZone):
    """A folder on a local or shared file system."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        """The file of a key, never outside the root: an absolute key, a ``..`` part, a
        backslash or a NUL is refused."""
        if key.startswith("/") or ".." in key.split("/") or "\\" in key or "\0" in key:
            raise ValueError(f"invalid landing key {key!r}")
        return self.root / key

    def _atomic_write(self, key: str, writer) -> None:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                writer(fh)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def put_file(self, key: str, path: Path) -> None:
        def copy(fh):
            with open(path, "rb") as src:
                shutil.copyfileobj(src, fh, 1 << 20)

        self._atomic_write(key, copy)

    def put_bytes(self, key: str, data: bytes) -> None:
        self._atomic_write(key, lambda fh: fh.write(data))

    def get_bytes(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def list(self, prefix: str) -> list[str]:
        base = self._path(prefix.rstrip("/")) if prefix.strip("/") else self.root
        if not base.exists():
            return []
        keys = (
            p.relative_to(self.root).as_posix()
            for p in base.rglob("*")
            if p.is_file() and not p.name.startswith(".tmp-")
        )
        return sorted(k for k in keys if k.startswith(prefix))

    @contextmanager
    def local_path(self, key: str) -> Iterator[Path]:
        yield self._path(key)

    def uri(self, key: str) -> str:
        return self._path(key).resolve().as_uri()


class LandingZoneError(RuntimeError):
    """The landing zone could not be read or written (its server down, refused, erring): the
    platform's trouble, not the source file's. The task fails and its retry finds the zone
    back; a file being landed is never set aside for it."""


@contextmanager
def _landing_errors(action: str, uri: str) -> Iterator[None]:
    """Raise LandingZoneError, naming the action and the object, for what the S3 client or
    its connection raises."""
    from minio.error import MinioException
    from urllib3.exceptions import HTTPError

    try:
        yield
    except (MinioException, HTTPError, OSError) as exc:
        raise LandingZoneError(f"landing zone: {action} {uri} failed: {exc!r}") from exc


class MinioLandingZone(LandingZone):
    """A bucket on MinIO or any S3-compatible server, through the ``minio`` client. What the
    client raises reaches the caller as LandingZoneError."""

    def __init__(self, client, bucket: str, prefix: str = ""):
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""

    @classmethod
    def connect(
        cls, endpoint: str, access_key: str, secret_key: str, bucket: str, prefix: str = ""
    ) -> MinioLandingZone:
        """Connect to ``http(s)://host:port`` and create the bucket if it is missing."""
        from minio import Minio

        parsed = urlparse(endpoint if "://" in endpoint else f"http://{endpoint}")
        client = Minio(
            parsed.netloc,
            access_key=access_key,
            secret_key=secret_key,
            secure=parsed.scheme == "https",
        )
        if not client.bucket_exists(bucket):
            client.make_bucket(bucket)
        return cls(client, bucket, prefix)

    def _name(self, key: str) -> str:
        return self.prefix + key

    def put_file(self, key: str, path: Path) -> None:
        with _landing_errors("put", self.uri(key)):
            self.client.fput_object(self.bucket, self._name(key), str(path))

    def put_bytes(self, key: str, data: bytes) -> None:
        with _landing_errors("put", self.uri(key)):
            self.client.put_object(self.bucket, self._name(key), io.BytesIO(data), len(data))

    def get_bytes(self, key: str) -> bytes:
        with _landing_errors("get", self.uri(key)):
            response = self.client.get_object(self.bucket, self._name(key))
            try:
                return response.read()
            finally:
                response.close()
                response.release_conn()

    def exists(self, key: str) -> bool:
        from minio.error import S3Error

        with _landing_errors("stat", self.uri(key)):
            try:
                self.client.stat_object(self.bucket, self._name(key))
            except S3Error as exc:
                if exc.code in ("NoSuchKey", "NoSuchObject", "NotFound"):
                    return False
                raise
        return True

    def delete(self, key: str) -> None:
        with _landing_errors("delete", self.uri(key)):
            self.client.remove_object(self.bucket, self._name(key))

    def list(self, prefix: str) -> list[str]:
        with _landing_errors("list", self.uri(prefix)):
            objects = self.client.list_objects(
                self.bucket, prefix=self._name(prefix), recursive=True
            )
            return sorted(o.object_name[len(self.prefix) :] for o in objects)

    @contextmanager
    def local_path(self, key: str) -> Iterator[Path]:
        with tempfile.TemporaryDirectory(prefix="ndc-landing-") as tmp:
            path = Path(tmp) / key.rsplit("/", 1)[-1]
            with _landing_errors("get", self.uri(key)):
                self.client.fget_object(self.bucket, self._name(key), str(path))
            yield path

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._name(key)}"


def open_landing_zone(
    url: str,
    endpoint: str | None = None,
    access_key: str | None = None,
    secret_key: str | None = None,
) -> LandingZone:
    """``file:///path`` -> folder; ``s3://bucket/prefix`` -> MinIO/S3 at ``endpoint``."""
    parsed = urlparse(url)
    if parsed.scheme in ("", "file"):
        root = Path(parsed.path if parsed.scheme else url)
        root.mkdir(parents=True, exist_ok=True)
        return LocalLandingZone(root)
    if parsed.scheme == "s3":
        if not (endpoint and access_key and secret_key):
            raise ValueError(
                f"landing zone {url}: set NDC_S3_ENDPOINT, NDC_S3_ACCESS_KEY and NDC_S3_SECRET_KEY"
            )
        return MinioLandingZone.connect(
            endpoint, access_key, secret_key, parsed.netloc, parsed.path
        )
    raise ValueError(f"landing zone {url}: unsupported scheme {parsed.scheme!r} (file or s3)")


def landing_from_settings(settings=None) -> LandingZone:
    from ndc import settings as settings_mod

    s = settings or settings_mod.load()
    return open_landing_zone(s.landing_url, s.s3_endpoint, s.s3_access_key, s.s3_secret_key)
