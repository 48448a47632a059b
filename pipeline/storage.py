"""Where a warehouse lives when it is not a local folder: an S3 bucket and prefix.

`PIPELINE_WAREHOUSE_DIR=s3://bucket/prefix` names one (any S3-compatible store:
AWS, MinIO, SeaweedFS, ...). The endpoint, region and credentials are read from the
usual AWS variables by `pipeline.settings.Settings` only, and handed to `S3Warehouse`;
nothing here reads the environment. Files are read and written through
`pyarrow.fs.S3FileSystem`.

The pipeline's own working state (`.state`, `.staging`, the locks, the DuckDB catalog
file) stays on local disk, in `local_dir`: see docs/DEPLOY.md.
"""
from __future__ import annotations

import hashlib
import hmac
import http.client
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote, urlsplit

import pyarrow.fs as pafs

SCHEME = "s3://"


def is_object_uri(value: str | Path | None) -> bool:
    return isinstance(value, str) and value.startswith(SCHEME)


def split_uri(uri: str) -> tuple[str, str]:
    """`s3://bucket/a/b/` -> (`bucket`, `a/b`)."""
    if not is_object_uri(uri):
        raise ValueError(f"not an s3:// address: {uri!r}")
    bucket, _, prefix = uri[len(SCHEME):].partition("/")
    if not bucket:
        raise ValueError(f"no bucket in {uri!r}")
    return bucket, prefix.strip("/")


@dataclass(frozen=True)
class S3Warehouse:
    bucket: str
    prefix: str
    local_dir: Path  # the state, staging, locks and catalog.duckdb of this warehouse, on local disk
    endpoint_url: str | None = None  # e.g. http://127.0.0.1:8333; None: AWS's own endpoint for the region
    region: str | None = None
    access_key: str | None = field(default=None, repr=False)
    secret_key: str | None = field(default=None, repr=False)

    @classmethod
    def from_uri(cls, uri: str, local_dir: Path, **options) -> "S3Warehouse":
        bucket, prefix = split_uri(uri)
        return cls(bucket, prefix, Path(local_dir), **options)

    @property
    def uri(self) -> str:
        return self.url()

    def key(self, *parts: str) -> str:
        """A path as pyarrow.fs names it: `bucket/prefix/part/...`."""
        return "/".join(p.strip("/") for p in (self.bucket, self.prefix, *parts) if p.strip("/"))

    def url(self, *parts: str) -> str:
        """The same path as an `s3://` address (DuckDB, pandas with a filesystem, BI tools)."""
        return SCHEME + self.key(*parts)

    def filesystem(self) -> pafs.S3FileSystem:
        options: dict = {"region": self.region or "us-east-1"}
        if self.endpoint_url:
            parts = urlsplit(self.endpoint_url if "://" in self.endpoint_url else f"https://{self.endpoint_url}")
            options.update(endpoint_override=parts.netloc, scheme=parts.scheme or "https")
        if self.access_key and self.secret_key:
            options.update(access_key=self.access_key, secret_key=self.secret_key)
        return pafs.S3FileSystem(**options)

    def __str__(self) -> str:
        return self.uri

    def request(self, method: str, *parts: str, body: bytes = b"", headers: dict | None = None):
        """One S3 request on the object `prefix/parts`, signed with AWS Signature V4
        (path-style), for what pyarrow.fs cannot send: conditional writes and deletes
        (`If-None-Match: *`, `If-Match: <etag>`). Returns (status, headers, body)."""
        endpoint = self.endpoint_url or f"https://s3.{self.region or 'us-east-1'}.amazonaws.com"
        url = urlsplit(endpoint if "://" in endpoint else f"https://{endpoint}")
        path = quote("/" + self.key(*parts), safe="/-_.~")
        now = datetime.now(timezone.utc)
        amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
        payload = hashlib.sha256(body).hexdigest()
        signed = {"host": url.netloc, "x-amz-content-sha256": payload, "x-amz-date": amz_date}
        out = {**signed, **(headers or {})}
        if self.access_key and self.secret_key:
            region = self.region or "us-east-1"
            names = ";".join(sorted(signed))
            canonical = "\n".join([method, path, "", *(f"{k}:{signed[k]}" for k in sorted(signed)), "", names, payload])
            scope = f"{day}/{region}/s3/aws4_request"
            to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
            key = ("AWS4" + self.secret_key).encode()
            for part in (day, region, "s3", "aws4_request"):
                key = hmac.new(key, part.encode(), hashlib.sha256).digest()
            signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
            out["authorization"] = (f"AWS4-HMAC-SHA256 Credential={self.access_key}/{scope}, "
                                    f"SignedHeaders={names}, Signature={signature}")
        conn_cls = http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
        conn = conn_cls(url.netloc, timeout=60)
        try:
            conn.request(method, path, body=body or None, headers=out)
            response = conn.getresponse()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        finally:
            conn.close()


def duckdb_filesystem(fs: pafs.FileSystem):
    """An fsspec view of a pyarrow filesystem that answers `s3://` paths, for
    `duckdb.DuckDBPyConnection.register_filesystem`: DuckDB then reads `s3://` without
    its httpfs extension (which must otherwise be downloaded at run time)."""
    from fsspec.implementations.arrow import ArrowFSWrapper

    class _S3(ArrowFSWrapper):
        protocol = ("s3", "s3a")

    return _S3(fs)
