"""couriers.s3 against the S3 endpoint over HTTP: paged folders, pattern listing, ranged reads."""

import http.client
import os
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from urllib.parse import urlsplit

import pytest

from couriers.patterns import FilePattern
from couriers.s3 import RangedFile, S3Error, head, list_folder, list_matching, open_stream


def _put_many(endpoint: str, bucket: str, keys: list[str], s3) -> None:
    """Plain unsigned PUTs when the endpoint allows them (moto: ~3x faster than boto3's
    signing), else boto3."""
    url = urlsplit(endpoint)

    def put_range(start: int) -> None:
        conn = http.client.HTTPConnection(url.hostname, url.port)
        for key in keys[start::4]:
            conn.request("PUT", f"/{bucket}/{key}", body=b"id\n1\n")
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                for rest in keys[start::4]:
                    s3.put_object(Bucket=bucket, Key=rest, Body=b"id\n1\n")
                return

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(put_range, range(4)))


@pytest.fixture
def big_prefix(s3_endpoint, s3, bucket):
    """1,500 small objects under one prefix, plus two sub-folders."""
    keys = [f"big/part-{i:05d}.csv" for i in range(1500)] + ["big/a/x.csv", "big/b/y.csv"]
    _put_many(s3_endpoint, bucket, keys, s3)
    return bucket


def test_a_big_folder_answers_one_page_at_a_time(s3, big_prefix):
    started = time.monotonic()
    first = list_folder(s3, big_prefix, "big/", page_size=200)
    assert time.monotonic() - started < 2
    assert first.folders == ["big/a/", "big/b/"]
    assert len(first.folders) + len(first.files) == 200 and first.next_token  # MaxKeys counts both
    assert first.files[0].key == "big/part-00000.csv" and first.files[0].size == 5
    assert first.files[0].last_modified is not None

    second = list_folder(s3, big_prefix, "big/", token=first.next_token, page_size=200)
    assert second.files[0].key == "big/part-00198.csv"
    assert not {f.key for f in first.files} & {f.key for f in second.files}

    sub = list_folder(s3, big_prefix, "big/a/")
    assert [f.name for f in sub.files] == ["x.csv"] and sub.next_token is None


def test_list_matching_finds_the_days_files_only(s3, bucket):
    for key in ("files/2020/04/10/customers-1.csv", "files/2020/04/10/customers-2.csv",
                "files/2020/04/11/customers-1.csv", "files/2020/04/10/orders.csv"):  # fmt: skip
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    pattern = FilePattern("'files/'yyyy'/'MM'/'dd'/customers-*.csv'")
    day = [f.key for f in list_matching(s3, bucket, pattern, date(2020, 4, 10), "files/")]
    assert day == ["files/2020/04/10/customers-1.csv", "files/2020/04/10/customers-2.csv"]
    assert len(list(list_matching(s3, bucket, pattern, None, "", page_size=2))) == 3
    # A pattern outside the courier's prefix finds nothing.
    assert list(list_matching(s3, bucket, pattern, None, "other/")) == []


def test_ranged_file_seeks_and_reads_ahead(s3, bucket):
    data = os.urandom(3 * 1024 * 1024 + 17)
    s3.put_object(Bucket=bucket, Key="blob.bin", Body=data)
    f = RangedFile(s3, bucket, "blob.bin", read_ahead=1024 * 1024)
    assert f.size == len(data) and f.seekable()
    assert f.read(100) == data[:100]
    assert f.read(1000) == data[100:1100]
    assert f.requests == 1  # served from the read-ahead buffer
    f.seek(-10, os.SEEK_END)
    assert f.read() == data[-10:] and f.read(5) == b""
    f.seek(2 * 1024 * 1024)
    assert f.tell() == 2 * 1024 * 1024
    assert f.read(2 * 1024 * 1024) == data[2 * 1024 * 1024 :]
    f.seek(0)
    assert f.read() == data


def test_streams_and_errors_in_words(s3, bucket):
    s3.put_object(Bucket=bucket, Key="a.csv", Body=b"id\n1\n")
    assert open_stream(s3, bucket, "a.csv").read() == b"id\n1\n"
    assert head(s3, bucket, "a.csv").size == 5
    with pytest.raises(S3Error) as missing:
        head(s3, bucket, "nope.csv")
    assert missing.value.problem.code == "missing_file"
    with pytest.raises(S3Error) as no_bucket:
        list_folder(s3, "no-such-bucket-here", "")
    assert no_bucket.value.problem.code == "no_such_bucket"
    assert "no-such-bucket-here" in no_bucket.value.problem.message
