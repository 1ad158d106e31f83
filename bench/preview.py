"""Benchmark the review-file preview: a 1 GB object must preview about as fast as a 1 MB one.

    .venv/bin/python bench/preview.py

For CSV.gz, Avro (snappy) and Parquet (64k-row row groups) it puts a ~1 MB and a ~1 GB object
into S3 (once: objects already there are reused), then previews each the way the review page
does (couriers.s3.RangedFile → feeds.readers.infer_settings + preview, 200 rows), best of 3.

S3 endpoint: S3_ENDPOINT_URL if set; else this script starts moto's server itself. moto
answers a ranged GET by reading the *whole* object first (real S3 and MinIO do not), which
would make every request on a 1 GB object cost a 1 GB read and hide what this measures; the
server started here serves ranges from the stored bytes directly. (An S3_ENDPOINT_URL that
points at a stock moto shows moto's cost, not ours.)

The 1 GB objects are generated in streaming chunks and sent by multipart upload; memory stays
at a few tens of MB. The last line is machine-readable:
    preview_ratio=<1GB time / 1MB time, worst format> preview_1mb_ms=… preview_1gb_ms=…
"""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import fastavro
import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from couriers.s3 import RangedFile  # noqa: E402
from demo import make_s3_client  # noqa: E402
from feeds.readers import infer_settings, preview  # noqa: E402

BUCKET = "bench-preview"
MB = 1024 * 1024
SIZES = {"1MB": MB, "1GB": 1024 * MB}
PART = 16 * MB
ROW_GROUP = 64 * 1024
ROUNDS = 3


# ---------------------------------------------------------------- the S3 endpoint
def serve_moto(port: int) -> None:
    """Run moto's S3 server here, serving ranged GETs without reading the whole object."""
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer
    from moto.s3 import models, responses

    ranged = threading.local()

    class Slice:
        """The stored bytes of a key, read only where a Range asks."""

        def __init__(self, key) -> None:
            self.key = key

        def __len__(self) -> int:
            return self.key.size

        def __bool__(self) -> bool:
            return self.key.size > 0

        def __getitem__(self, item: slice) -> bytes:
            start, stop, _ = item.indices(self.key.size)
            with self.key.lock:
                self.key._value_buffer.seek(start)
                return self.key._value_buffer.read(max(0, stop - start))

    plain_value = models.FakeKey.value

    def value(self):
        return Slice(self) if getattr(ranged, "on", False) else plain_value.fget(self)

    models.FakeKey.value = property(value, plain_value.fset)
    plain_get = responses.S3Response.get_object

    def get_object(self):
        ranged.on = bool(self.headers.get("range"))
        try:
            return plain_get(self)
        finally:
            ranged.on = False

    responses.S3Response.get_object = get_object
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    threading.Event().wait()


def start_endpoint() -> tuple[str, subprocess.Popen | None]:
    url = os.environ.get("S3_ENDPOINT_URL")
    if url:
        return url, None
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(url + "/moto-api/", timeout=1)
            return url, process
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise SystemExit("moto server did not start") from None
            time.sleep(0.2)


# ---------------------------------------------------------------- the data
def table(rows: int, seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    ids = np.arange(rows, dtype=np.int64) + seed * rows
    secs = 1_600_000_000 + rng.integers(0, 100_000_000, rows)
    tokens = rng.integers(0, 2**62, rows).astype("U20")  # random text: compresses like real data
    return pa.table(
        {
            "user_id": pa.array(ids),
            "email": pa.array(np.char.add(np.char.add("user", ids.astype("U20")), "@example.com")),
            "token": pa.array(tokens),
            "score": pa.array(rng.random(rows) * 100),
            "joindate": pa.array(secs.astype("datetime64[s]").astype("datetime64[us]")),
        }
    )


def repeat_until(first: bytes, block: bytes, size: int, tail: bytes = b"") -> Iterator[bytes]:
    yield first
    sent = len(first) + len(tail)
    while sent < size:
        yield block
        sent += len(block)
    if tail:
        yield tail


def csv_gz(size: int) -> Iterator[bytes]:
    """Concatenated gzip members (valid gzip): the header, then the same 10k rows again."""
    import gzip

    out = io.BytesIO()
    pacsv.write_csv(table(10_000, 1), out)
    text = out.getvalue()
    header, body = text.split(b"\n", 1)
    block = gzip.compress(body, compresslevel=6)
    return repeat_until(gzip.compress(header + b"\n" + body, compresslevel=6), block, size)


AVRO_SCHEMA = {
    "type": "record",
    "name": "users",
    "fields": [
        {"name": "user_id", "type": "long"},
        {"name": "email", "type": ["null", "string"]},
        {"name": "token", "type": ["null", "string"]},
        {"name": "score", "type": ["null", "double"]},
        {"name": "joindate", "type": ["null", {"type": "long", "logicalType": "timestamp-micros"}]},
    ],
}


def avro(size: int) -> Iterator[bytes]:
    """An Avro container (snappy): its header, then one 10k-record block repeated."""
    marker = os.urandom(16)
    head = io.BytesIO()
    fastavro.writer(head, AVRO_SCHEMA, [], codec="snappy", sync_marker=marker)
    full = io.BytesIO()
    records = table(10_000, 2).to_pylist()
    fastavro.writer(
        full, AVRO_SCHEMA, records, codec="snappy", sync_marker=marker, sync_interval=1 << 30
    )
    header = head.getvalue()
    block = full.getvalue()[len(header) :]
    return repeat_until(header + block, block, size)


def parquet(size: int) -> Iterator[bytes]:
    """A Parquet file written row group by row group (64k rows each) into a streaming sink."""
    chunks: list[bytes] = []

    class Sink(io.RawIOBase):
        written = 0

        def writable(self) -> bool:
            return True

        def write(self, data) -> int:
            chunks.append(bytes(data))
            self.written += len(data)
            return len(data)

        def tell(self) -> int:
            return self.written

    sink = Sink()
    rows = ROW_GROUP if size > 4 * MB else 20_000
    group = table(rows, 3)
    writer = pq.ParquetWriter(sink, group.schema, compression="snappy")
    while sink.written < size * 0.98:
        writer.write_table(group, row_group_size=ROW_GROUP)
        yield from chunks
        chunks.clear()
        if size <= 4 * MB:
            break
    writer.close()
    yield from chunks


FORMATS = {"csv.gz": csv_gz, "avro": avro, "parquet": parquet}


def upload(client, key: str, parts: Iterator[bytes]) -> int:
    """Multipart upload of a stream of chunks, PART bytes at a time."""
    upload_id = client.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
    done, buf, total = [], bytearray(), 0

    def send(data: bytes) -> None:
        number = len(done) + 1
        etag = client.upload_part(
            Bucket=BUCKET, Key=key, UploadId=upload_id, PartNumber=number, Body=data
        )["ETag"]
        done.append({"PartNumber": number, "ETag": etag})

    for chunk in parts:
        buf += chunk
        total += len(chunk)
        while len(buf) >= PART:
            send(bytes(buf[:PART]))
            del buf[:PART]
    if buf or not done:
        send(bytes(buf))
    client.complete_multipart_upload(
        Bucket=BUCKET, Key=key, UploadId=upload_id, MultipartUpload={"Parts": done}
    )
    return total


def ensure_objects(client) -> dict[tuple[str, str], str]:
    try:
        client.create_bucket(Bucket=BUCKET)
    except client.exceptions.ClientError:
        pass
    keys = {}
    for fmt, make in FORMATS.items():
        for label, size in SIZES.items():
            key = f"bench/{label}/users.{fmt}"
            keys[fmt, label] = key
            try:
                if client.head_object(Bucket=BUCKET, Key=key)["ContentLength"] >= size * 0.9:
                    continue
            except client.exceptions.ClientError:
                pass
            started = time.monotonic()
            total = upload(client, key, make(size))
            print(f"  put {key}: {total / MB:,.1f} MB in {time.monotonic() - started:.1f} s")
    return keys


# ---------------------------------------------------------------- the measurement
def preview_once(client, key: str) -> float:
    started = time.perf_counter()
    stream = RangedFile(client, BUCKET, key)
    head = stream.read(64 * 1024)
    stream.seek(0)
    result = preview(stream, key, infer_settings(key, head), limit=200)
    elapsed = time.perf_counter() - started
    assert len(result.rows) == 200, (key, len(result.rows))
    return elapsed


def main() -> None:
    url, server = start_endpoint()
    try:
        client = make_s3_client(
            url,
            os.environ.get("S3_ACCESS_KEY_ID", "test"),
            os.environ.get("S3_SECRET_ACCESS_KEY", "test-secret"),
        )
        print(f"S3 endpoint {url}")
        keys = ensure_objects(client)
        worst = (0.0, 0.0, 0.0)
        for fmt in FORMATS:
            best = {
                label: min(preview_once(client, keys[fmt, label]) for _ in range(ROUNDS))
                for label in SIZES
            }
            ratio = best["1GB"] / best["1MB"]
            print(
                f"{fmt:8s} 1 MB: {best['1MB'] * 1000:7.1f} ms   1 GB: {best['1GB'] * 1000:7.1f} ms"
                f"   ratio {ratio:.2f}"
            )
            if ratio > worst[0]:
                worst = (ratio, best["1MB"], best["1GB"])
        print(
            f"preview_ratio={worst[0]:.2f} preview_1mb_ms={worst[1] * 1000:.1f} "
            f"preview_1gb_ms={worst[2] * 1000:.1f}"
        )
    finally:
        if server is not None:
            server.terminate()
            server.wait(10)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--serve":
        serve_moto(int(sys.argv[2]))
    else:
        main()
