"""Bounded decompression: bombs are refused as soon as a limit is crossed, naming the file and
the setting; archives with too many, unsafe, duplicate, encrypted or lying members are refused."""

from __future__ import annotations

import io
import tarfile
import zipfile

import pytest

from feeds.readers import (
    FileSettings,
    ReaderError,
    list_archive_members,
    open_archive_member,
    open_reader,
    preview,
)
from feeds.readers.infer import infer_settings
from feeds.readers.streams import CountingStream
from tests.bad_archives import (
    DATA_CSV,
    bz2_bomb,
    encrypted_member_zip,
    gzip_bomb,
    lying_size_zip,
    many_members_zip,
    repeated_rows,
    tar_bomb,
    zip_bomb,
    zip_of,
    zstd_member_zip,
)

MiB = 1024 * 1024
CSV_GZ = FileSettings("text/csv", compression="gzip")


def read_all(stream, name: str, settings: FileSettings) -> int:
    with open_reader(stream, name, settings) as reader:
        return sum(batch.num_rows for batch in reader.batches())


def test_a_gzip_bomb_is_refused_by_ratio_before_it_is_read_through():
    bomb = gzip_bomb(64 * MiB)  # about 200 KB on the wire
    source = CountingStream(io.BytesIO(bomb))
    with pytest.raises(ReaderError) as refused:
        read_all(source, "export.csv.gz", CSV_GZ)
    message = str(refused.value)
    assert message.startswith("export.csv.gz")
    assert "more than 100 times" in message and "SOURCES_MAX_COMPRESSION_RATIO" in message
    assert source.count < len(bomb) / 2  # refused early, not after inflating all of it


def test_the_absolute_cap_names_its_setting(settings):
    settings.SOURCES_MAX_DECOMPRESSED_BYTES = 1 * MiB
    data = b"id,name\n" + b"".join(b"%d,%x\n" % (i, i * 7919) for i in range(200_000))
    with pytest.raises(ReaderError) as refused:
        read_all(io.BytesIO(gzip_bomb_of(data)), "export.csv.gz", CSV_GZ)
    assert str(refused.value).startswith("export.csv.gz")
    assert "decompresses to more than 1 MiB (setting SOURCES_MAX_DECOMPRESSED_BYTES)" in str(
        refused.value
    )


def gzip_bomb_of(data: bytes) -> bytes:
    import gzip

    return gzip.compress(data)


def test_a_small_very_compressible_file_is_read_whole():
    data = b"".join(repeated_rows(4 * MiB))  # about 1000:1, but only 4 MiB decompressed
    rows = read_all(io.BytesIO(gzip_bomb_of(data)), "small.csv.gz", CSV_GZ)
    assert rows == len(data.splitlines()) - 1


def test_the_ratio_limit_is_a_setting(settings):
    settings.SOURCES_MAX_COMPRESSION_RATIO = 2000
    rows = read_all(io.BytesIO(gzip_bomb(40 * MiB)), "export.csv.gz", CSV_GZ)
    assert rows > 900_000


def test_a_bz2_file_is_bounded_too():
    settings_bz2 = FileSettings("text/csv", compression="bzip2")
    with pytest.raises(ReaderError, match=r"export\.csv\.bz2: .*SOURCES_MAX_COMPRESSION_RATIO"):
        read_all(io.BytesIO(bz2_bomb(64 * MiB)), "export.csv.bz2", settings_bz2)
    assert infer_settings("export.csv.bz2", bz2_bomb(1000)[:200]).compression == "bzip2"


@pytest.mark.parametrize("method", [zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
def test_a_zip_bomb_member_is_refused_naming_archive_member_and_setting(method):
    bomb = zip_bomb(64 * MiB, method=method)
    assert list_archive_members(io.BytesIO(bomb), "drop.zip") == ["data.csv"]
    with pytest.raises(ReaderError) as refused:
        member = open_archive_member(io.BytesIO(bomb), "drop.zip", "data.csv")
        read_all(member, "data.csv", FileSettings("text/csv"))
    message = str(refused.value)
    assert "drop.zip" in message and "data.csv" in message
    assert "SOURCES_MAX_COMPRESSION_RATIO" in message


def test_a_zip_member_over_the_cap_is_refused(settings):
    settings.SOURCES_MAX_DECOMPRESSED_BYTES = 1 * MiB
    data = b"".join(b"%d,%x\n" % (i, i * 7919) for i in range(200_000))
    archive = zip_of({"data.csv": data})
    with pytest.raises(ReaderError, match=r"drop\.zip: member data\.csv decompresses to more "
                       r"than 1 MiB \(setting SOURCES_MAX_DECOMPRESSED_BYTES\)"):  # fmt: skip
        open_archive_member(io.BytesIO(archive), "drop.zip", "data.csv").read()


@pytest.mark.parametrize("compression", ["gz", "bz2"])
def test_a_tar_bomb_is_refused_while_listing(compression):
    name = f"drop.tar.{compression}"
    bomb = tar_bomb(64 * MiB, compression=compression)
    with pytest.raises(ReaderError) as refused:
        list_archive_members(io.BytesIO(bomb), name)
    assert str(refused.value).startswith(name)
    assert "SOURCES_MAX_COMPRESSION_RATIO" in str(refused.value)


def test_too_many_members_are_refused(settings):
    settings.SOURCES_MAX_ARCHIVE_MEMBERS = 50
    with pytest.raises(ReaderError) as refused:
        list_archive_members(io.BytesIO(many_members_zip(51)), "export.zip")
    assert str(refused.value) == (
        "export.zip: the archive holds more than 50 files (setting SOURCES_MAX_ARCHIVE_MEMBERS)"
    )
    assert len(list_archive_members(io.BytesIO(many_members_zip(50)), "export.zip")) == 50
    tar = tar_of({f"p{i}.csv": b"a\n1\n" for i in range(51)})
    with pytest.raises(ReaderError, match="more than 50 files.*SOURCES_MAX_ARCHIVE_MEMBERS"):
        list_archive_members(io.BytesIO(tar), "export.tar")


def tar_of(files: dict[str, bytes], extra: list[tarfile.TarInfo] = ()) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        for info in extra:
            archive.addfile(info)
    return out.getvalue()


def special(name: str, kind: bytes, target: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info


@pytest.mark.parametrize(
    ("files", "extra", "expected"),
    [
        ({"../evil.csv": b"a\n"}, [], 'member "../evil.csv" has a path outside the archive'),
        ({"/etc/evil.csv": b"a\n"}, [], 'member "/etc/evil.csv" has an absolute path'),
        ({}, [special("link.csv", tarfile.SYMTYPE, "/etc/passwd")], 'member "link.csv" is a symlink'),
        ({"a.csv": b"a\n"}, [special("b.csv", tarfile.LNKTYPE, "a.csv")], 'member "b.csv" is a hard link'),
        ({}, [special("dev.csv", tarfile.CHRTYPE)], 'member "dev.csv" is a device'),
    ],
)  # fmt: skip
def test_unsafe_tar_members_are_refused_and_named(files, extra, expected):
    with pytest.raises(ReaderError) as refused:
        list_archive_members(io.BytesIO(tar_of({"ok.csv": b"a\n", **files}, extra)), "in.tar")
    assert str(refused.value).startswith("in.tar: ")
    assert expected in str(refused.value) and "refused" in str(refused.value)


def test_unsafe_zip_members_are_refused_and_named():
    traversal = zip_of({"ok.csv": b"a\n", "../../evil.csv": b"a\n"})
    with pytest.raises(ReaderError, match='member "../../evil.csv" has a path outside'):
        list_archive_members(io.BytesIO(traversal), "in.zip")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        link = zipfile.ZipInfo("link.csv")
        link.external_attr = (0o120777 << 16) | 0
        archive.writestr(link, "/etc/passwd")
    with pytest.raises(ReaderError, match='in.zip: member "link.csv" is a symlink'):
        list_archive_members(io.BytesIO(out.getvalue()), "in.zip")


def test_duplicate_member_names_are_reported():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive, pytest.warns(UserWarning):
        archive.writestr("data.csv", b"a\n1\n")
        archive.writestr("data.csv", b"a\n2\n")
    with pytest.raises(ReaderError) as refused:
        list_archive_members(io.BytesIO(out.getvalue()), "in.zip")
    assert 'in.zip: member "data.csv" appears 2 times' in str(refused.value)
    twice = io.BytesIO()
    with tarfile.open(fileobj=twice, mode="w") as archive:
        for data in (b"a\n", b"b\n"):
            info = tarfile.TarInfo("x.csv")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    tar = twice.getvalue()
    with pytest.raises(ReaderError, match='in.tar: member "x.csv" appears 2 times'):
        list_archive_members(io.BytesIO(tar), "in.tar")


# ---------------------------------------------------------------- members zipfile cannot read
@pytest.mark.parametrize(
    ("archive", "expected"),
    [
        (encrypted_member_zip, "in.zip: member data.csv is encrypted: not supported"),
        (zstd_member_zip,
         "in.zip: member data.csv uses zstd compression (method 93), which is not supported"),
        (lambda: lying_size_zip(+1000),
         "in.zip: member data.csv is corrupt: its size does not match its header"),
        (lambda: lying_size_zip(-1000), "in.zip: member data.csv is corrupt: its size or its "
         "data does not match its header (CRC check failed)"),
    ],
)  # fmt: skip
def test_unreadable_zip_members_are_reader_errors(archive, expected):
    data = archive()
    assert list_archive_members(io.BytesIO(data), "in.zip") == ["data.csv"]
    with pytest.raises(ReaderError) as refused:
        member = open_archive_member(io.BytesIO(data), "in.zip", "data.csv")
        preview(member, "data.csv", FileSettings("text/csv"), limit=5000)
    assert str(refused.value) == expected


def test_an_honest_zip_member_reads_whole():
    member = open_archive_member(io.BytesIO(zip_of({"data.csv": DATA_CSV})), "in.zip", "data.csv")
    assert member.read() == DATA_CSV
