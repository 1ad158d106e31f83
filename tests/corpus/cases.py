"""The hostile corpus: every case the Sources product must get right, generated in code.

Each case says which bytes land in S3, how the courier reads them, the feed they load into,
the good file loaded into that feed first, and what a user must then see: exact values loaded,
a refusal that names the place (file, line, field, block, member, key, setting), or good rows
loaded with the bad rows listed. ``all_cases()`` is the list the harness runs.
"""

from __future__ import annotations

import datetime as dt
import json
import tarfile
import zlib
from decimal import Decimal
from typing import Any

import cramjam
import pyarrow as pa

from tests.corpus import builders as b
from tests.corpus.model import Case, F, Loads, NothingToLoad, Obj, PartlyLoads, Refused, Where

UTC = dt.UTC
CSV = {"file/content-type": "text/csv"}
TSV = {"file/content-type": "text/tab-separated-values"}
PSV = {"file/content-type": "text/pipe-separated-values"}
JSON = {"file/content-type": "application/json"}
NDJSON = {"file/content-type": "application/x-ndjson"}
AVRO = {"file/content-type": "application/avro"}
PARQUET = {"file/content-type": "application/x-parquet"}

# Limits the corpus runs under (the worker's environment and the review page's settings), so
# that small files can stand for bombs.
LIMITS = {
    "SOURCES_MAX_DECOMPRESSED_BYTES": 1_000_000,
    "SOURCES_MAX_COMPRESSION_RATIO": 100,
    "SOURCES_COMPRESSION_RATIO_AFTER_BYTES": 100_000,  # the ratio is judged past this output
    "SOURCES_MAX_ARCHIVE_MEMBERS": 1_000,
}
BOMB_SETTINGS = ["SOURCES_MAX_DECOMPRESSED_BYTES", "SOURCES_MAX_COMPRESSION_RATIO"]
BOMB_BYTES = 20_000_000  # 20x the decompressed limit, 200x the ratio
INTEGRITY = ["integrity", "mdc", "modified", "manipulated", "tampered"]

PEOPLE = [F("id", "integer"), F("name")]
PEOPLE_GOOD = [{"id": 1, "name": "Ann"}, {"id": 2, "name": "Bob"}]


def _columns(fields: list[F]) -> list[str]:
    return [f.source for f in fields]


def _by_source(fields: list[F], rows: list[dict]) -> list[dict]:
    """Rows keyed by incoming column names (what a file holds) instead of field names."""
    return [{f.source: r.get(f.name) for f in fields if f.name in r} for r in rows]


def good_csv(fields: list[F], rows: list[dict]) -> tuple[str, bytes, dict]:
    return "good.csv", b.csv_of(_by_source(fields, rows), _columns(fields)), CSV


def good_ndjson(fields: list[F], rows: list[dict]) -> tuple[str, bytes, dict]:
    return "good.ndjson", b.ndjson_of(_by_source(fields, rows)), NDJSON


def case(
    id: str,
    area: str,
    key: str,
    body: Any,
    expect,
    *,
    fields: list[F] = PEOPLE,
    good_rows: list[dict] | None = None,
    good: tuple[str, Any, dict] | None = None,
    land_as: dict | None = None,
    objects: list[Obj] | None = None,
    **kwargs: Any,
) -> Case:
    good_rows = PEOPLE_GOOD if good_rows is None else good_rows
    good_key, good_body, good_land_as = good or good_csv(fields, good_rows)
    return Case(
        id=id,
        area=area,
        key=key,
        expect=expect,
        fields=fields,
        good_key=good_key,
        good_land_as=good_land_as,
        good_rows=good_rows,
        objects=objects if objects is not None else [Obj(key, body)],
        good_objects=[Obj(good_key, good_body)],
        land_as=CSV if land_as is None else land_as,
        **kwargs,
    )


def rows(*pairs: tuple[int, str]) -> list[dict]:
    return [{"id": i, "name": n} for i, n in pairs]


# ================================================================== CSV / TSV / PSV
def text_cases() -> list[Case]:
    cases: list[Case] = []

    def add(id: str, body: bytes | str, expect, *, key: str = "", **kw: Any) -> None:
        data = body.encode() if isinstance(body, str) else body
        kw.setdefault("area", "text")
        area = kw.pop("area")
        cases.append(case(id, area, key or f"{id}.csv", data, expect, **kw))

    partly = {"error_threshold": 100.0}
    add("csv-baseline", "id,name\n2,Bobby\n3,Cyd\n", Loads(rows((2, "Bobby"), (3, "Cyd"))))
    add(
        "csv-quoting",
        'id,name\n3,"Smith, Jane"\n4,"He said ""hi"""\n',
        Loads(rows((3, "Smith, Jane"), (4, 'He said "hi"'))),
    )
    add(
        "csv-newlines-in-quotes",
        'id,name\n3,"line one\nline two"\n4,"crlf\r\ninside"\n5,Eve\n',
        Loads(rows((3, "line one\nline two"), (4, "crlf\r\ninside"), (5, "Eve"))),
        review_shows=["Eve"],
    )
    add("csv-bom", b"\xef\xbb\xbfid,name\n3,Cyd\n", Loads(rows((3, "Cyd"))))
    add("csv-crlf", "id,name\r\n3,Cyd\r\n4,Dee\r\n", Loads(rows((3, "Cyd"), (4, "Dee"))))
    add("csv-cr-only", "id,name\r3,Cyd\r4,Dee\r", Loads(rows((3, "Cyd"), (4, "Dee"))))
    add("csv-blank-lines", "id,name\n\n3,Cyd\n\n\n4,Dee\n", Loads(rows((3, "Cyd"), (4, "Dee"))))
    add(
        "tsv-baseline",
        "id\tname\n3\tCyd, Jr.\n4\tDee; Sr.\n",
        Loads(rows((3, "Cyd, Jr."), (4, "Dee; Sr."))),
        key="tsv-baseline.tsv",
        land_as=TSV,
    )
    add(
        "psv-baseline",
        'id|name\n3|"a|b"\n4|Dee\n',
        Loads(rows((3, "a|b"), (4, "Dee"))),
        key="psv-baseline.psv",
        land_as=PSV,
    )
    add(
        "csv-unicode",
        "id,name\n3,Zoë\n4,東京\n5,🙂 smile\n",
        Loads(rows((3, "Zoë"), (4, "東京"), (5, "🙂 smile"))),
    )
    add(
        "csv-whitespace-kept",
        'id,name\n3,"  padded  "\n4,Dee\n',
        Loads(rows((3, "  padded  "), (4, "Dee"))),
        review_shows=["Dee"],
    )
    add(
        "csv-spreadsheet-injection",
        'id,name\n3,"=HYPERLINK(""http://evil.example"",""click"")"\n4,+1+1\n5,-2+3\n6,@SUM(A1:A2)\n',
        Loads(
            rows(
                (3, '=HYPERLINK("http://evil.example","click")'),
                (4, "+1+1"),
                (5, "-2+3"),
                (6, "@SUM(A1:A2)"),
            )
        ),
    )
    add(
        "csv-delimiter-absent",
        "id;name\n3;Cyd\n4;Dee\n",
        Refused(["line 1", "delimiter"], any_of=[";", "semicolon"]),
        land_as={**CSV, "file/separator": ","},
        review_settings={"delimiter": ","},
    )
    add(
        "csv-unterminated-quote",
        'id,name\n3,Cyd\n4,"Dee\n5,Eve\n',
        Refused(["line 3"]),
    )
    add("csv-ragged-row", "id,name\n3,Cyd\n4,Dee,extra\n", Refused(["line 3"]))
    add(
        "csv-nul-byte",
        "id,name\n3,Cy\x00d\n4,Dee\n",
        PartlyLoads(rows((4, "Dee")), rejected=[(1, "name")]),
        **partly,
    )
    # The review page guesses latin-1 for bytes that are not UTF-8 (and shows that setting);
    # read as the courier says (UTF-8), the page refuses the file as the run does.
    add(
        "csv-invalid-utf8",
        b"id,name\n3,Cyd\n4,D\xffe\n",
        Refused(["line 3", "name"]),  # file line 3 (the header is line 1)
        review_settings={"encoding": "utf-8"},
    )
    # A repeated header name is kept and made unique (name_2, an extra column here), with a
    # note on the review page: the product's decision (csv_reader.clean_column_names).
    add(
        "csv-duplicate-header",
        "id,name,name\n3,Cyd,Other\n",
        Loads(rows((3, "Cyd"))),
        review_shows=["Cyd", 'Column 3 repeats the name "name": it is read as name_2.'],
    )
    add("csv-empty-header-name", "id,,name\n3,x,Cyd\n", Loads(rows((3, "Cyd"))))
    add("csv-extra-columns", "id,name,extra\n3,Cyd,zzz\n", Loads(rows((3, "Cyd"))))
    add("csv-columns-reordered", "name,id\nCyd,3\n", Loads(rows((3, "Cyd"))))
    add(
        "csv-duplicate-keys-last-wins",
        "id,name\n3,First\n3,Second\n",
        Loads(rows((3, "First"), (3, "Second"))),
    )
    # A column name can have at most 200 characters (a feed's incoming name holds no more), so
    # a longer one is refused: more likely a data line than a header (the text readers' choice).
    long_name = "c" * 250
    add(
        "csv-column-name-250",
        f"id,name,{long_name}\n3,Cyd,t3\n",
        Refused(["line 1", "column 3", "250 characters"], any_of=["at most 200 characters"]),
    )
    add(
        "csv-very-long-line",
        "id,name\n3," + "x" * 300_000 + "\n4,Dee\n",
        Loads(rows((3, "x" * 300_000), (4, "Dee"))),
        review_shows=["Dee"],
    )
    add("csv-empty-file", b"", NothingToLoad())
    add("csv-header-only", "id,name\n", NothingToLoad())
    add(
        "csv-key-missing",
        "id,name\n,NoKey\n4,Dee\n",
        PartlyLoads(rows((4, "Dee")), rejected=[(1, "id")]),
        **partly,
    )

    # Columns a file lacks.
    city = [*PEOPLE, F("city")]
    city_good = [
        {"id": 1, "name": "Ann", "city": "Paris"},
        {"id": 2, "name": "Bob", "city": "Oslo"},
    ]
    add(
        "csv-missing-required-column",
        "id,name\n3,Cyd\n",
        Refused(["city"], file_level=False),
        fields=[*PEOPLE, F("city", required=True)],
        good_rows=city_good,
        area="load-path",
    )
    add(
        "csv-missing-optional-column",
        "id,name\n1,Annie\n3,Cyd\n",
        Loads(rows((1, "Annie"), (3, "Cyd"))),  # id 1 keeps city Paris; id 3 has none
        fields=city,
        good_rows=city_good,
        area="load-path",
    )

    # Numbers.
    n_int = [F("id", "integer"), F("n", "integer")]
    n_good = [{"id": 1, "n": 1}, {"id": 2, "n": 2}]
    add(
        "csv-int-64-bit-limits",
        f"id,n\n3,{2**53 + 1}\n4,{2**63 - 1}\n5,{-(2**63)}\n",
        Loads([{"id": 3, "n": 2**53 + 1}, {"id": 4, "n": 2**63 - 1}, {"id": 5, "n": -(2**63)}]),
        fields=n_int,
        good_rows=n_good,
    )
    add(
        "csv-int-2p64-in-integer",
        f"id,n\n3,{2**64}\n4,5\n",
        PartlyLoads([{"id": 4, "n": 5}], rejected=[(1, "n")]),
        fields=n_int,
        good_rows=n_good,
        **partly,
    )
    n_dec = [F("id", "integer"), F("n", "decimal")]
    add(
        "csv-int-2p64-in-decimal",
        f"id,n\n3,{2**64}\n4,{-(2**64)}\n5,123456789012345678901234567890\n",
        Loads(
            [
                {"id": 3, "n": Decimal(2**64)},
                {"id": 4, "n": Decimal(-(2**64))},
                {"id": 5, "n": Decimal("123456789012345678901234567890")},
            ]
        ),
        fields=n_dec,
        good_rows=[{"id": 1, "n": Decimal(1)}],
    )
    d38 = [F("id", "integer"), F("d", "decimal", precision=38, scale=0),
           F("e", "decimal", precision=38, scale=10)]  # fmt: skip
    add(
        "csv-decimal-38-digits",
        f"id,d,e\n3,{b.D38},{b.D38_10}\n4,-{b.D38},-{b.D38_10}\n",
        Loads([{"id": 3, "d": b.D38, "e": b.D38_10}, {"id": 4, "d": b.D38_NEG, "e": b.D38_10_NEG}]),
        fields=d38,
        good_rows=[{"id": 1, "d": Decimal(1), "e": Decimal("0.5")}],
    )
    add(
        "csv-integer-specials",
        "id,n\n3,1e400\n4,NaN\n5,Infinity\n6,1.5\n7,7\n",
        PartlyLoads([{"id": 7, "n": 7}], rejected=[(1, "n"), (2, "n"), (3, "n"), (4, "n")]),
        fields=n_int,
        good_rows=n_good,
        **partly,
    )
    add(
        "csv-decimal-specials",
        "id,n\n3,NaN\n4,Infinity\n5,-Infinity\n6,12.5\n",
        PartlyLoads([{"id": 6, "n": Decimal("12.5")}], rejected=[(1, "n"), (2, "n"), (3, "n")]),
        fields=n_dec,
        good_rows=[{"id": 1, "n": Decimal(1)}],
        **partly,
    )
    add(
        "csv-decimal-1e400-exact",
        "id,n\n3,1e400\n4,-1E-400\n",
        Loads([{"id": 3, "n": Decimal("1e400")}, {"id": 4, "n": Decimal("-1e-400")}]),
        fields=n_dec,
        good_rows=[{"id": 1, "n": Decimal(1)}],
    )
    add(
        "csv-decimal-scale-overflow",
        "id,n\n3,1e400\n4,1.234\n5,12345678.91\n",
        PartlyLoads([{"id": 5, "n": Decimal("12345678.91")}], rejected=[(1, "n"), (2, "n")]),
        fields=[F("id", "integer"), F("n", "decimal", precision=10, scale=2)],
        good_rows=[{"id": 1, "n": Decimal("1.00")}],
        **partly,
    )
    add(
        "csv-float-overflow",
        "id,f\n3,1e400\n4,-1e400\n5,1.5\n",
        PartlyLoads([{"id": 5, "f": 1.5}], rejected=[(1, "f"), (2, "f")]),
        fields=[F("id", "integer"), F("f", "float")],
        good_rows=[{"id": 1, "f": 0.25}],
        **partly,
    )
    add(
        "csv-too-many-rejects",
        "id,seats\n3,lots\n4,5\n",
        Refused(["seats", "lots"], file_level=False),
        fields=[F("id", "integer"), F("seats", "integer")],
        good_rows=[{"id": 1, "seats": 1}],
        area="load-path",
    )

    # Dates, times, booleans.
    dates = [F("id", "integer"), F("d", "date")]
    dates_good = [{"id": 1, "d": dt.date(2024, 1, 1)}]
    add(
        "csv-dates-out-of-range",
        "id,d\n3,0000-01-01\n4,10000-01-01\n5,2024-13-01\n6,2024-02-30\n7,2024-02-29\n",
        PartlyLoads(
            [{"id": 7, "d": dt.date(2024, 2, 29)}],
            rejected=[(1, "d"), (2, "d"), (3, "d"), (4, "d")],
        ),
        fields=dates,
        good_rows=dates_good,
        **partly,
    )
    add(
        "csv-date-bounds",
        "id,d\n3,0001-01-01\n4,9999-12-31\n",
        Loads([{"id": 3, "d": dt.date(1, 1, 1)}, {"id": 4, "d": dt.date(9999, 12, 31)}]),
        fields=dates,
        good_rows=dates_good,
    )
    add(
        "csv-datetimes",
        "id,t\n3,2024-06-01T12:00:00+02:00\n4,2024-06-01 12:00:00\n5,2024-01-01T25:00:00\n"
        "6,2024-06-01T12:00:00.1234567\n",
        PartlyLoads(
            [
                {"id": 3, "t": dt.datetime(2024, 6, 1, 10, tzinfo=UTC)},
                {"id": 4, "t": dt.datetime(2024, 6, 1, 12, tzinfo=UTC)},
            ],
            rejected=[(3, "t"), (4, "t")],
        ),
        fields=[F("id", "integer"), F("t", "datetime")],
        good_rows=[{"id": 1, "t": dt.datetime(2024, 1, 1, tzinfo=UTC)}],
        **partly,
    )
    add(
        "csv-bad-booleans",
        "id,ok\n3,maybe\n4,2\n5,yes\n6,F\n7,TRUE\n",
        PartlyLoads(
            [{"id": 5, "ok": True}, {"id": 6, "ok": False}, {"id": 7, "ok": True}],
            rejected=[(1, "ok"), (2, "ok")],
        ),
        fields=[F("id", "integer"), F("ok", "boolean")],
        good_rows=[{"id": 1, "ok": False}],
        **partly,
    )
    return cases


# ================================================================== JSON / NDJSON
def json_cases() -> list[Case]:
    cases: list[Case] = []

    def add(id: str, body: bytes | str, expect, *, fields: list[F] = PEOPLE, **kw: Any) -> None:
        data = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
        good_rows = kw.pop("good_rows", PEOPLE_GOOD)
        land_as = kw.pop("land_as", NDJSON)
        ext = ".json" if land_as is JSON else ".ndjson"
        cases.append(
            case(id, kw.pop("area", "json"), id + ext, data, expect, fields=fields, good_rows=good_rows,
                 good=good_ndjson(fields, good_rows), land_as=land_as, **kw)
        )  # fmt: skip

    partly = {"error_threshold": 100.0}
    deep = "[" * 10_000 + "]" * 10_000
    add(
        "ndjson-baseline",
        '{"id":3,"name":"Cyd"}\n{"id":4,"name":"Dee"}\n',
        Loads(rows((3, "Cyd"), (4, "Dee"))),
    )
    add(
        "json-array-baseline",
        '[{"id":3,"name":"Cyd"},\n {"id":4,"name":"Dee"}]\n',
        Loads(rows((3, "Cyd"), (4, "Dee"))),
        land_as=JSON,
    )
    add(
        "ndjson-string-escapes",
        '{"id":3,"name":"tab\\there \\"q\\" \\\\ \\u00e9 \\u2028"}\n{"id":4,"name":"Dee"}\n',
        Loads(rows((3, 'tab\there "q" \\ é \u2028'), (4, "Dee"))),
        review_shows=["Dee"],
    )
    add(
        "ndjson-bom-crlf",
        '\ufeff{"id":3,"name":"Cyd"}\r\n{"id":4,"name":"Dee"}\r\n',
        Loads(rows((3, "Cyd"), (4, "Dee"))),
    )
    add(
        "ndjson-blank-lines",
        '\n{"id":3,"name":"Cyd"}\n\n   \n{"id":4,"name":"Dee"}\n\n',
        Loads(rows((3, "Cyd"), (4, "Dee"))),
    )
    add(
        "ndjson-nesting-10000",
        '{"id":3,"name":"Cyd"}\n{"id":4,"name":"x","deep":' + deep + "}\n",
        Refused(["SOURCES_MAX_JSON_DEPTH", "line 2"]),
    )
    add(
        "json-nesting-10000",
        '[{"id":3,"name":"Cyd"},\n{"id":4,"name":"x","deep":' + deep + "}]\n",
        Refused(["SOURCES_MAX_JSON_DEPTH", "line 2"]),
        land_as=JSON,
    )
    add(
        "ndjson-lone-surrogate",
        '{"id":3,"name":"Cyd"}\n{"id":4,"name":"\\ud800"}\n',
        Refused(["line 2", "name"]),
    )
    add(
        "json-lone-surrogate",
        '[{"id":3,"name":"Cyd"},\n{"id":4,"name":"bad \\udc00 half"}]\n',
        Refused(["line 2", "name"]),
        land_as=JSON,
    )
    attrs = [*PEOPLE, F("attrs", "json")]
    add(
        "ndjson-nested-object",
        '{"id":3,"name":"Cyd","attrs":{"a":1,"b":{"c":[1,2,null]},"s":"x"}}\n',
        Loads([{"id": 3, "name": "Cyd", "attrs": {"a": 1, "b": {"c": [1, 2, None]}, "s": "x"}}]),
        fields=attrs,
        good_rows=[{"id": 1, "name": "Ann", "attrs": {"tier": "gold"}}],
    )
    add(
        "ndjson-arrays",
        '{"id":3,"name":"Cyd","attrs":[1,"two",null,true,{"k":[]}]}\n'
        '{"id":4,"name":"Dee","attrs":[]}\n',
        Loads(
            [
                {"id": 3, "name": "Cyd", "attrs": [1, "two", None, True, {"k": []}]},
                {"id": 4, "name": "Dee", "attrs": []},
            ]
        ),
        fields=attrs,
        good_rows=[{"id": 1, "name": "Ann", "attrs": ["x"]}],
    )
    mixed = [F("id", "integer"), F("v")]
    values = ["1", '"x"', "true", "1.50", "null", '{"a":1}', "[1]"]
    add(
        "ndjson-mixed-types",
        "".join(f'{{"id":{i},"v":{v}}}\n' for i, v in enumerate(values, start=3)),
        Loads(
            [
                {"id": i, "v": v}
                for i, v in enumerate(["1", "x", "true", "1.50", None, '{"a":1}', "[1]"], start=3)
            ]
        ),
        fields=mixed,
        good_rows=[{"id": 1, "v": "a"}],
        review_shows=["1.50"],
    )
    add(
        "json-trailing-garbage",
        '[{"id":3,"name":"Cyd"}]\nxyz\n',
        Refused(["line 2"]),
        land_as=JSON,
    )
    add("ndjson-trailing-garbage", '{"id":3,"name":"Cyd"} xyz\n', Refused(["line 1"]))
    add(
        "json-truncated",
        '[{"id":3,"name":"Cyd"},\n{"id":4,"na',
        Refused(["line 2"]),
        land_as=JSON,
    )
    add("ndjson-truncated", '{"id":3,"name":"Cyd"}\n{"id":4,"na', Refused(["line 2"]))
    add("json-top-level-scalar", "42\n", Refused(["line 1"]), land_as=JSON)
    add("ndjson-scalar-line", '{"id":3,"name":"Cyd"}\n42\n', Refused(["line 2"]))
    add(
        "ndjson-duplicate-keys",
        '{"id":3,"name":"Cyd"}\n{"id":4,"name":"a","name":"b"}\n',
        Refused(["line 2", "name"]),
    )
    add(
        "ndjson-invalid-utf8",
        b'{"id":3,"name":"Cyd"}\n{"id":4,"name":"D\xffe"}\n',
        Refused(["line 2", "name"]),
        review_settings={"encoding": "utf-8"},  # as csv-invalid-utf8: the page guesses latin-1
    )
    add("json-empty-array", "[]\n", NothingToLoad(), land_as=JSON)
    big = [F("id", "integer"), F("big", "decimal")]
    add(
        "ndjson-huge-numbers",
        '{"id":3,"big":123456789012345678901234567890.123456789}\n{"id":4,"big":1e400}\n'
        '{"id":5,"big":-0.000000000000000000000000000001}\n',
        Loads(
            [
                {"id": 3, "big": Decimal("123456789012345678901234567890.123456789")},
                {"id": 4, "big": Decimal("1e400")},
                {"id": 5, "big": Decimal("-1e-30")},
            ]
        ),
        fields=big,
        good_rows=[{"id": 1, "big": Decimal(1)}],
    )
    add(
        "ndjson-int-overflow",
        f'{{"id":3,"n":{2**64}}}\n{{"id":4,"n":{2**63 - 1}}}\n',
        PartlyLoads([{"id": 4, "n": 2**63 - 1}], rejected=[(1, "n")]),
        fields=[F("id", "integer"), F("n", "integer")],
        good_rows=[{"id": 1, "n": 1}],
        **partly,
    )
    return cases


# ================================================================== Avro
PEOPLE_SCHEMA_FIELDS = [{"name": "id", "type": "long"}, {"name": "name", "type": "string"}]


def _schema(*extra: dict, name: str = "people") -> dict:
    return {"type": "record", "name": name, "fields": [*PEOPLE_SCHEMA_FIELDS, *extra]}


def avro_cases() -> list[Case]:
    cases: list[Case] = []

    def add(
        id: str,
        expect,
        *,
        schema: dict | None = None,
        good: list[dict] | None = None,
        hostile: list[dict] | None = None,
        body: bytes | None = None,
        fields: list[F] = PEOPLE,
        codec: str = "null",
        good_schema: dict | None = None,
        **kw: Any,
    ) -> None:
        schema = schema or _schema()
        good = PEOPLE_GOOD if good is None else good
        if body is None:
            body = b.avro_of(schema, hostile or [], codec=codec)
        good_body = b.avro_of(good_schema or schema, good, codec=codec)
        good_rows = [{f.name: r.get(f.source) for f in fields} for r in good]
        cases.append(
            case(id, kw.pop("area", "avro"), f"{id}.avro", body, expect, fields=fields, good_rows=good_rows,
                 good=("good.avro", good_body, AVRO), land_as=AVRO, **kw)
        )  # fmt: skip

    people = rows((2, "Bobby"), (3, "Cyd"))
    for codec in ("null", "deflate", "snappy"):
        add(f"avro-{codec}-codec", Loads(people), hostile=people, codec=codec)

    nine = [{"id": i, "name": f"n{i}"} for i in range(3, 12)]
    snappy9 = b.avro_of(_schema(), nine, codec="snappy", block_records=3)
    blocks = b.avro_blocks(snappy9)
    add("avro-bad-magic", Refused([]), body=b"Obj\x02" + snappy9[4:], codec="snappy")
    add(
        "avro-wrong-sync-block-2",
        Refused(["block 2"]),
        body=snappy9[: blocks[1].sync] + b"X" * 16 + snappy9[blocks[1].sync + 16 :],
        codec="snappy",
    )
    add(
        "avro-snappy-crc-block-2",
        Refused(["block 2"]),
        body=b.flip(snappy9, blocks[1].sync - 1),
        codec="snappy",
    )
    deflate9 = b.avro_of(_schema(), nine, codec="deflate", block_records=3)
    dblocks = b.avro_blocks(deflate9)
    add(
        "avro-deflate-corrupt-block-2",
        Refused(["block 2"]),
        body=b.flip(deflate9, dblocks[1].payload + 2),
        codec="deflate",
    )
    plain9 = b.avro_of(_schema(), nine, block_records=3)
    pblocks = b.avro_blocks(plain9)
    add(
        "avro-truncated-in-block-2",
        Refused([], any_of=["block 2", "byte"]),
        body=plain9[: pblocks[1].payload + pblocks[1].size // 2],
    )
    add("avro-no-records", NothingToLoad(), body=b.avro_of(_schema(), []))

    node = {
        "type": "record",
        "name": "Node",
        "fields": [*PEOPLE_SCHEMA_FIELDS, {"name": "next", "type": ["null", "Node"]}],
    }
    # Refused, naming the record and the field path: the product's decision (a record that
    # contains itself has no table shape); the good file is the plain people schema.
    add(
        "avro-recursive-schema",
        Refused(["recursive Avro schema", "record Node", "field path next"]),
        schema=node,
        good_schema=_schema(),
        hostile=[{"id": 3, "name": "Cyd", "next": {"id": 30, "name": "kid", "next": None}}],
    )

    def typed(id: str, avro_type: Any, field: F, good_value: Any, values: list[Any], **kw: Any):
        schema = _schema({"name": field.name, "type": avro_type})
        hostile = [{"id": 3 + i, "name": f"n{3 + i}", field.name: v} for i, v in enumerate(values)]
        add(
            id,
            kw.pop("expect", Loads(hostile)),
            schema=schema,
            good=[{"id": 1, "name": "Ann", field.name: good_value}],
            hostile=hostile,
            fields=[*PEOPLE, field],
            **kw,
        )

    typed("avro-bytes", "bytes", F("blob", "bytes"), b"\x01", [b"\x00\xff\x10bin", b""])
    typed(
        "avro-fixed",
        {"type": "fixed", "name": "Four", "size": 4},
        F("blob", "bytes"),
        b"\x00\x00\x00\x00",
        [b"\x01\x02\x03\xff"],
    )
    address = {
        "type": "record",
        "name": "Address",
        "fields": [{"name": "city", "type": "string"}, {"name": "zip", "type": ["null", "string"]}],
    }
    typed(
        "avro-nested-record",
        address,
        F("address", "json"),
        {"city": "Paris", "zip": None},
        [{"city": "Oslo", "zip": "0150"}],
    )
    typed(
        "avro-array",
        {"type": "array", "items": "long"},
        F("scores", "json"),
        [1],
        [[2**53 + 1, -1, 0], []],
    )
    typed(
        "avro-map",
        {"type": "map", "values": "string"},
        F("props", "json"),
        {"a": "1"},
        [{"color": "red", "size": "L"}],
    )
    typed(
        "avro-time-millis",
        {"type": "int", "logicalType": "time-millis"},
        F("at", "time"),
        dt.time(0, 0),
        [dt.time(12, 34, 56, 789000)],
    )
    typed(
        "avro-time-micros",
        {"type": "long", "logicalType": "time-micros"},
        F("at", "time"),
        dt.time(0, 0),
        [dt.time(23, 59, 59, 999999)],
    )
    typed(
        "avro-local-timestamp-micros",
        {"type": "long", "logicalType": "local-timestamp-micros"},
        F("at", "timestamp"),
        dt.datetime(2024, 1, 1),
        [dt.datetime(2024, 2, 29, 23, 59, 59, 123456)],
    )
    typed(
        "avro-timestamp-millis",
        {"type": "long", "logicalType": "timestamp-millis"},
        F("at", "datetime"),
        dt.datetime(2024, 1, 1, tzinfo=UTC),
        [dt.datetime(2024, 2, 29, 23, 59, 59, 123000, tzinfo=UTC)],
    )
    typed(
        "avro-date",
        {"type": "int", "logicalType": "date"},
        F("day", "date"),
        dt.date(2024, 1, 1),
        [dt.date(1, 1, 1), dt.date(9999, 12, 31)],
    )
    typed(
        "avro-decimal-38-10",
        {"type": "bytes", "logicalType": "decimal", "precision": 38, "scale": 10},
        F("amount", "decimal", precision=38, scale=10),
        Decimal("0.0000000001"),
        [b.D38_10, b.D38_10_NEG],
    )
    typed(
        "avro-long-beyond-2p53",
        "long",
        F("n", "integer"),
        1,
        [2**53 + 1, 2**63 - 1, -(2**63)],
    )
    typed(
        "avro-union-with-null",
        ["null", "string"],
        F("email"),
        "a@example.com",
        [None, "c@example.com"],
    )
    typed(
        "avro-enum",
        {"type": "enum", "name": "Color", "symbols": ["RED", "GREEN"]},
        F("color"),
        "GREEN",
        ["RED"],
    )
    add(
        "avro-missing-required-field",
        Refused(["email"], file_level=False),
        good_schema=_schema({"name": "email", "type": "string"}),
        good=[{"id": 1, "name": "Ann", "email": "a@example.com"}],
        hostile=rows((3, "Cyd")),
        fields=[*PEOPLE, F("email", required=True)],
        area="load-path",
    )
    return cases


# ================================================================== Parquet
def parquet_cases() -> list[Case]:
    cases: list[Case] = []

    def add(id: str, expect, *, table: pa.Table | None = None, good: pa.Table | None = None,
            body: bytes | None = None, fields: list[F] = PEOPLE, **kw: Any) -> None:  # fmt: skip
        good = good if good is not None else pa.table({"id": [1, 2], "name": ["Ann", "Bob"]})
        if body is None:
            assert table is not None
            body = b.parquet_of(table, **kw.pop("write", {}))
        good_rows = kw.pop("good_rows", None) or [
            {f.name: r.get(f.source) for f in fields} for r in good.to_pylist()
        ]
        cases.append(
            case(id, kw.pop("area", "parquet"), f"{id}.parquet", body, expect, fields=fields,
                 good_rows=good_rows, good=("good.parquet", b.parquet_of(good), PARQUET),
                 land_as=PARQUET, **kw)
        )  # fmt: skip

    people = pa.table({"id": [2, 3], "name": ["Bobby", "Cyd"]})
    add("parquet-baseline", Loads(rows((2, "Bobby"), (3, "Cyd"))), table=people)
    add(
        "parquet-row-groups",
        Loads(rows((3, "a"), (4, "b"), (5, "c"))),
        table=pa.table({"id": [3, 4, 5], "name": ["a", "b", "c"]}),
        write={"row_group_size": 1},
    )
    whole = b.parquet_of(pa.table({"id": list(range(3, 500)), "name": ["x"] * 497}))
    add("parquet-truncated", Refused([]), body=whole[: len(whole) // 2])
    # The review page reads a file by its bytes first (this one as CSV); read as Parquet, as
    # the courier says, the page refuses it as the run does.
    add(
        "parquet-not-parquet",
        Refused(["not a Parquet file"]),
        body=b"id,name\n3,Cyd\n",
        review_settings={"content_type": PARQUET["file/content-type"]},
    )

    def typed(id: str, arrow: pa.Array, field: F, good_value: Any, **kw: Any) -> None:
        n = len(arrow)
        ids = list(range(3, 3 + n))
        table = pa.table({"id": ids, "name": [f"n{i}" for i in ids], field.name: arrow})
        good = pa.table(
            {"id": [1], "name": ["Ann"], field.name: pa.array([good_value], arrow.type)}
        )
        values = kw.pop("values", arrow.to_pylist())
        expect = kw.pop("expect", None) or Loads(
            [{"id": i, "name": f"n{i}", field.name: v} for i, v in zip(ids, values, strict=True)]
        )
        add(id, expect, table=table, good=good, fields=[*PEOPLE, field], **kw)

    struct = pa.struct([("a", pa.int64()), ("b", pa.string())])
    typed(
        "parquet-struct",
        pa.array([{"a": 1, "b": "x"}, {"a": None, "b": "y"}], struct),
        F("attrs", "json"),
        {"a": 0, "b": ""},
    )
    typed(
        "parquet-list",
        pa.array([[1, 2, 3], [None, 4], []], pa.list_(pa.int64())),
        F("attrs", "json"),
        [0],
    )
    typed(
        "parquet-map",
        pa.array([[("k", 1), ("j", 2)]], pa.map_(pa.string(), pa.int64())),
        F("attrs", "json"),
        [("z", 0)],
        values=[{"k": 1, "j": 2}],
        good_rows=[{"id": 1, "name": "Ann", "attrs": {"z": 0}}],
    )
    typed(
        "parquet-time64",
        pa.array([dt.time(1, 2, 3, 456789), dt.time(23, 59, 59, 999999)], pa.time64("us")),
        F("at", "time"),
        dt.time(0, 0),
    )
    typed(
        "parquet-time32-ms",
        pa.array([dt.time(12, 0, 0, 5000)], pa.time32("ms")),
        F("at", "time"),
        dt.time(0, 0),
    )
    typed(
        "parquet-timestamp-naive",
        pa.array([dt.datetime(2024, 2, 29, 12, 0, 0, 1)], pa.timestamp("us")),
        F("at", "timestamp"),
        dt.datetime(2024, 1, 1),
    )
    typed(
        "parquet-timestamp-utc",
        pa.array([dt.datetime(2024, 2, 29, 12, 0, 0, 1, tzinfo=UTC)], pa.timestamp("us", "UTC")),
        F("at", "datetime"),
        dt.datetime(2024, 1, 1, tzinfo=UTC),
    )
    typed(
        "parquet-timestamp-ns-not-exact",
        pa.array([1_709_208_000_000_000_001, 1_709_208_000_000_001_000], pa.timestamp("ns")),
        F("at", "timestamp"),
        dt.datetime(2024, 1, 1),
        expect=PartlyLoads(
            [{"id": 4, "name": "n4", "at": dt.datetime(2024, 2, 29, 12, 0, 0, 1)}],
            rejected=[(1, "at")],
        ),
        error_threshold=100.0,
    )
    typed(
        "parquet-decimal128-38-10",
        pa.array([b.D38_10, b.D38_10_NEG], pa.decimal128(38, 10)),
        F("amount", "decimal", precision=38, scale=10),
        Decimal("0.0000000001"),
    )
    typed(
        "parquet-uint64-to-decimal",
        pa.array([2**64 - 1, 2**63], pa.uint64()),
        F("n", "decimal"),
        1,
        values=[Decimal(2**64 - 1), Decimal(2**63)],
    )
    typed(
        "parquet-uint64-to-integer",
        pa.array([2**64 - 1, 5], pa.uint64()),
        F("n", "integer"),
        1,
        expect=PartlyLoads([{"id": 4, "name": "n4", "n": 5}], rejected=[(1, "n")]),
        error_threshold=100.0,
    )
    typed(
        "parquet-dictionary",
        pa.array(["red", "green", "red", None]).dictionary_encode(),
        F("color"),
        "blue",
    )
    typed(
        "parquet-binary",
        pa.array([b"\x00\xff", b"bin"], pa.binary()),
        F("blob", "bytes"),
        b"\x01",
    )
    return cases


# ================================================================== gzip / bz2
def compression_cases() -> list[Case]:
    csv_body = b"id,name\n3,Cyd\n4,Dee\n"
    expect = Loads(rows((3, "Cyd"), (4, "Dee")))
    long_csv = b"id,name\n" + b"".join(f"{i},name-{i}\n".encode() for i in range(3, 5000))
    cases = [
        case("gzip-good", "compression", "people.csv.gz", b.gz(csv_body), expect),
        case("bz2-good", "compression", "people.csv.bz2", b.bz(csv_body), expect),
        case(
            "gzip-ndjson",
            "compression",
            "people.ndjson.gz",
            b.gz(b'{"id":3,"name":"Cyd"}\n{"id":4,"name":"Dee"}\n'),
            expect,
            land_as=NDJSON,
        ),  # fmt: skip
        case(
            "gzip-concatenated-members",
            "compression",
            "people.csv.gz",
            b.gz(b"id,name\n3,Cyd\n") + b.gz(b"4,Dee\n"),
            expect,
        ),  # fmt: skip
        case("gzip-wrong-extension", "compression", "people.csv", b.gz(csv_body), expect),
        case(
            "gzip-truncated",
            "compression",
            "people.csv.gz",
            b.gz(long_csv)[: len(b.gz(long_csv)) // 2],
            Refused([]),
        ),  # fmt: skip
        case(
            "bz2-truncated",
            "compression",
            "people.csv.bz2",
            b.bz(long_csv)[: len(b.bz(long_csv)) // 2],
            Refused([]),
        ),  # fmt: skip
        case(
            "gzip-bad-crc",
            "compression",
            "people.csv.gz",
            b.flip(b.gz(csv_body), len(b.gz(csv_body)) - 6),
            Refused([]),
        ),  # fmt: skip
        case(
            "gzip-trailing-garbage",
            "compression",
            "people.csv.gz",
            b.gz(csv_body) + b"this is not gzip",
            Refused([]),
        ),  # fmt: skip
        case(
            "gzip-bomb",
            "compression",
            "people.csv.gz",
            lambda _: b.zeros_gzip(BOMB_BYTES),
            Refused([], any_of=BOMB_SETTINGS),
        ),  # fmt: skip
        case(
            "gzip-ratio-bomb",
            "compression",
            "people.csv.gz",
            lambda _: b.zeros_gzip(900_000),
            Refused(["SOURCES_MAX_COMPRESSION_RATIO"]),
        ),  # fmt: skip
        case(
            "bz2-bomb",
            "compression",
            "people.csv.bz2",
            lambda _: b.zeros_bz2(5_000_000),
            Refused([], any_of=BOMB_SETTINGS),
        ),  # fmt: skip
    ]
    return cases


# ================================================================== ZIP / TAR
def archive_cases() -> list[Case]:
    cases: list[Case] = []
    people = b"id,name\n3,Cyd\n4,Dee\n"
    expect = Loads(rows((3, "Cyd"), (4, "Dee")))

    def add(id: str, key: str, body, expect, *, member: str = "people.csv", **kw: Any) -> None:
        kw.setdefault("review_member", "" if "*" in member else member)
        cases.append(case(id, "archive", key, body, expect, member=member, **kw))

    add("zip-good", "drop.zip", b.zip_of({"people.csv": people}), expect)
    add("tar-good", "drop.tar", b.tar_of([("people.csv", people)]), expect)
    add("tgz-good", "drop.tar.gz", b.tar_of([("people.csv", people)], compress=True), expect)
    add(
        "zip-wildcard-members",
        "drop.zip",
        b.zip_of({"a.csv": b"id,name\n3,Cyd\n", "b.csv": b"id,name\n4,Dee\n"}),
        expect,
        member="*.csv",
    )
    add("zip-gzipped-member", "drop.zip", b.zip_of({"people.csv.gz": b.gz(people)}), expect,
        member="people.csv.gz")  # fmt: skip
    add(
        "zip-bomb", "drop.zip", lambda _: b.zip_bomb("people.csv", BOMB_BYTES),
        Refused(["people.csv"], any_of=BOMB_SETTINGS),
    )  # fmt: skip
    add(
        "tgz-bomb", "drop.tar.gz", lambda _: b.tar_bomb("people.csv", BOMB_BYTES),
        Refused([], any_of=BOMB_SETTINGS),
    )  # fmt: skip
    add(
        "zip-10000-members", "drop.zip", lambda _: b.zip_many(10_000),
        Refused(["SOURCES_MAX_ARCHIVE_MEMBERS"]), member="m00000.csv",
    )  # fmt: skip
    add(
        "tar-10000-members", "drop.tar", lambda _: b.tar_many(10_000),
        Refused(["SOURCES_MAX_ARCHIVE_MEMBERS"]), member="m00000.csv",
    )  # fmt: skip
    for kind, name in (("dotdot", "../evil.csv"), ("absolute", "/abs/evil.csv")):
        add(
            f"zip-{kind}-member", "drop.zip",
            b.raw_zip([b.zip_entry(name, people)]), Refused([name]), member="*.csv",
            review_member=name,
        )  # fmt: skip
        add(
            f"tar-{kind}-member", "drop.tar", b.tar_of([(name, people)]), Refused([name]),
            member="*.csv", review_member=name,
        )  # fmt: skip
    for kind, info in (
        ("symlink", b.tar_special("link.csv", tarfile.SYMTYPE, linkname="/etc/passwd")),
        ("hardlink", b.tar_special("link.csv", tarfile.LNKTYPE, linkname="people.csv")),
        ("device", b.tar_special("link.csv", tarfile.CHRTYPE, dev=(1, 3))),
    ):
        add(
            f"tar-{kind}-member", "drop.tar", b.tar_of([("people.csv", people), info]),
            Refused(["link.csv"]), member="*.csv", review_member="link.csv",
        )  # fmt: skip
    add(
        "zip-duplicate-names", "drop.zip",
        b.raw_zip([b.zip_entry("people.csv", people), b.zip_entry("people.csv", b"id,name\n9,Z\n")]),
        Refused(["people.csv"]),
    )  # fmt: skip
    add(
        "tar-duplicate-names", "drop.tar",
        b.tar_of([("people.csv", people), ("people.csv", b"id,name\n9,Z\n")]),
        Refused(["people.csv"]),
    )  # fmt: skip
    crc = zlib.crc32(people)
    add(
        "zip-encrypted-member", "drop.zip",
        b.raw_zip([b.ZipEntry("people.csv", b.zipcrypto_encrypt(people, b"secret", crc), crc,
                              len(people), b.ZIP_STORED, flags=0x1)]),
        Refused(["people.csv"]),
    )  # fmt: skip
    add(
        "zip-zstd-member", "drop.zip",
        b.raw_zip([b.ZipEntry("people.csv", bytes(cramjam.zstd.compress(people)), crc,
                              len(people), b.ZIP_ZSTD, version=63)]),
        Refused(["people.csv"], any_of=["93", "zstd"]),
    )  # fmt: skip
    lying = b.zip_entry("people.csv", people)
    lying.size = 10  # the headers say 10 bytes; the data inflates to more
    add("zip-lying-sizes", "drop.zip", b.raw_zip([lying]), Refused(["people.csv"]))
    bad_crc = b.zip_entry("people.csv", people, b.ZIP_STORED)
    bad_crc.crc ^= 0xFFFF
    add("zip-bad-crc", "drop.zip", b.raw_zip([bad_crc]), Refused(["people.csv"]))
    whole = b.zip_of({"people.csv": long_csv_bytes()})
    add("zip-truncated", "drop.zip", whole[: len(whole) // 2], Refused([]))
    add(
        "zip-missing-member", "drop.zip", b.zip_of({"other.csv": people}),
        Refused(["people.csv"]), review="any",
    )  # fmt: skip
    return cases


def long_csv_bytes() -> bytes:
    return b"id,name\n" + b"".join(f"{i},{'n' * 40}{i}\n".encode() for i in range(3, 3000))


# ================================================================== PGP
def pgp_cases() -> list[Case]:
    people = b"id,name\n3,Cyd\n4,Dee\n"
    expect = Loads(rows((3, "Cyd"), (4, "Dee")))

    def enc(**kw: Any):
        kw.setdefault("key", "locked")
        return lambda _: b.pgp().encrypt(people, **kw)

    def key_ids(name: str):
        return lambda: [
            b.pgp().keys[name].subkey_id,
            b.pgp().keys[name].fingerprint,
            b.pgp().keys[name].fingerprint[-16:],
        ]

    def add(id: str, body, expect, *, key: str = "people.csv.pgp", pgp: str | None = "locked",
            **kw: Any) -> Case:  # fmt: skip
        return case(id, "pgp", key, body, expect, pgp=pgp, **kw)

    # The courier's key has a passphrase, except in the one case about a key without one.
    return [
        add("pgp-key-with-passphrase", enc(), expect),
        add("pgp-key-without-passphrase", enc(key="open"), expect, pgp="open"),
        add("pgp-armored", enc(armor=True), expect),
        add("pgp-uncompressed", enc(compress="none"), expect),
        add("pgp-bzip2-inside", enc(compress="bzip2"), expect),
        add(
            "pgp-gzip-file-inside",
            lambda _: b.pgp().encrypt(b.gz(people), key="locked"),
            expect,
            key="people.csv.gz.pgp",
        ),
        add("pgp-wrong-key", enc(key="other"), Refused([], any_of=[key_ids("other")])),
        add(
            "pgp-tampered",
            lambda _: b.tamper_pgp(b.pgp().encrypt(people * 20, key="locked", compress="none")),
            Refused([], any_of=INTEGRITY),
        ),
        add(
            "pgp-corrupt-armor",
            lambda _: b.corrupt_armor(b.pgp().encrypt(people, key="locked", armor=True)),
            Refused([]),
        ),
        add("pgp-no-mdc", enc(mdc=False), Refused([], any_of=INTEGRITY)),
        add("pgp-not-encrypted", people, Refused([])),
        add(
            "pgp-truncated",
            lambda _: (lambda m: m[: len(m) // 2])(
                b.pgp().encrypt(people * 50, key="locked", compress="none")
            ),
            Refused([]),
        ),
        add("pgp-no-credential", enc(), Refused([]), pgp=None),
    ]


# ================================================================== S3 key names
def s3_cases() -> list[Case]:
    people = b"id,name\n3,Cyd\n4,Dee\n"
    expect = Loads(rows((3, "Cyd"), (4, "Dee")))
    names = {
        "s3-key-hash": "a#b.csv",
        "s3-key-question-mark": "a?b=c&d.csv",
        "s3-key-space": "a b  c.csv",
        "s3-key-percent": "100%25 real%.csv",
        "s3-key-plus": "a+b.csv",
        "s3-key-unicode": "données/naïve-🙂.csv",
        "s3-key-1000-bytes": "k" * 970 + ".csv",
    }
    cases = [case(id, "s3", name, people, expect) for id, name in names.items()]
    cases.append(
        case(
            "s3-key-hash-archive",
            "s3",
            "drop#1.zip",
            b.zip_of({"people.csv": people}),
            expect,
            member="people.csv",
            review_member="people.csv",
        )  # fmt: skip
    )
    cases.append(
        case(
            "s3-key-hash-in-member",
            "s3",
            "drop.zip",
            b.zip_of({"a#b.csv": people}),
            expect,
            member="a#b.csv",
            review_member="a#b.csv",
        )  # fmt: skip
    )
    outside = "corpus-elsewhere/s3-key-outside-prefix/people.csv"
    cases.append(
        case(
            "s3-key-outside-prefix",
            "s3",
            "/" + outside,
            people,
            Refused(["corpus/s3-key-outside-prefix/"]),
        )  # fmt: skip
    )
    return cases


# ================================================================== Heap manifests
USERS_SCHEMA = {
    "type": "record",
    "name": "users",
    "fields": [{"name": "user_id", "type": "long"}, {"name": "email", "type": ["null", "string"]}],
}
USERS_FIELDS = [F("user_id", "integer"), F("email")]
USERS_GOOD = [{"user_id": 1, "email": "a@example.com"}, {"user_id": 2, "email": "b@example.com"}]


def _part(dump: int, n: int = 0) -> str:
    return f"sync_{dump}/users/part-{n:05d}-0c4f-c000.avro"


def manifest(dump_id: Any, files: list[str], *, incremental: bool = True, columns=None):
    """A manifest body; ``files`` are keys relative to the courier's prefix (or s3:// URLs)."""

    def make(where: Where) -> bytes:
        urls = [f if f.startswith("s3://") else where.url(f) for f in files]
        table = {
            "name": "users",
            "columns": ["user_id", "email"] if columns is None else columns,
            "files": urls,
            "incremental": incremental,
        }
        return json.dumps(
            {"dump_id": dump_id, "tables": [table], "property_definitions": ""}
        ).encode()

    return make


def heap_cases() -> list[Case]:
    new_rows = [{"user_id": 1, "email": "new@example.com"}, {"user_id": 3, "email": None}]
    part2 = Obj(_part(2), b.avro_of(USERS_SCHEMA, new_rows, codec="snappy"))
    m2 = "manifests/dump-2.json"

    def add(id: str, expect, objects: list[Obj], **kw: Any) -> Case:
        good_objects = [
            Obj("manifests/dump-1.json", manifest(1, [_part(1)])),
            Obj(_part(1), b.avro_of(USERS_SCHEMA, USERS_GOOD, codec="snappy")),
        ]
        c = case(
            id, "heap", m2, None, expect, fields=USERS_FIELDS, good_rows=USERS_GOOD,
            good=("manifests/dump-1.json", None, {}), objects=objects, heap=True,
            primary_key=["user_id"], **kw,
        )  # fmt: skip
        c.good_objects = good_objects
        return c

    outside = "corpus-elsewhere/heap/users.avro"
    return [
        add(
            "heap-incremental-upsert",
            Loads(new_rows),
            [Obj(m2, manifest(2, [_part(2)])), part2],
            review_shows=["users"],
        ),  # fmt: skip
        add(
            "heap-full-sync-replaces",
            Loads(new_rows, replaces=True),
            [Obj(m2, manifest(2, [_part(2)], incremental=False)), part2],
            review_shows=["users"],
        ),  # fmt: skip
        add(
            "heap-malformed-manifest",
            Refused(["dump-2.json"], file_level=False),
            [Obj(m2, b'{"dump_id": 2, "tables": [')],
            review="refuses",
        ),  # fmt: skip
        add(
            "heap-manifest-lists-missing-file",
            Refused([_part(2, 1)], file_level=False),
            [Obj(m2, manifest(2, [_part(2), _part(2, 1)])), part2],
            review="any",
        ),  # fmt: skip
        add(
            "heap-dump-id-text",
            Refused(["dump-2.json", "dump_id"], file_level=False),
            [Obj(m2, manifest("two", [_part(2)])), part2],
            review="refuses",
        ),  # fmt: skip
        add(
            "heap-dump-id-float",
            Refused(["dump-2.json", "dump_id"], file_level=False),
            [Obj(m2, manifest(2.5, [_part(2)])), part2],
            review="refuses",
        ),  # fmt: skip
        add(
            "heap-table-without-columns",
            Refused(["dump-2.json", "users"], file_level=False),
            [Obj(m2, manifest(2, [_part(2)], columns=[])), part2],
            review="any",
        ),  # fmt: skip
        add(
            "heap-duplicate-dump-id",
            Refused(["dump-2.json", "dump-1.json"], file_level=False),
            [Obj(m2, manifest(1, [_part(2)])), part2],
            review="refuses",
        ),  # fmt: skip
        add(
            "heap-file-in-other-bucket",
            Refused(["corpus-other-bucket"], file_level=False),
            [Obj(m2, manifest(2, ["s3://corpus-other-bucket/" + _part(2)])), part2],
            review="any",
        ),  # fmt: skip
        add(
            "heap-file-outside-prefix",
            Refused([outside], file_level=False),
            [Obj(m2, manifest(2, ["/" + outside])), Obj("/" + outside, part2.body)],
            review="any",
        ),  # fmt: skip
        add(
            "heap-corrupt-part",
            Refused([_part(2)], file_level=False),
            [Obj(m2, manifest(2, [_part(2)])), Obj(_part(2), b"Obj\x01 not really avro")],
            review="any",
        ),  # fmt: skip
    ]


# ================================================================== all of them
def all_cases() -> list[Case]:
    cases = (
        text_cases()
        + json_cases()
        + avro_cases()
        + parquet_cases()
        + compression_cases()
        + archive_cases()
        + pgp_cases()
        + s3_cases()
        + heap_cases()
    )
    ids = [c.id for c in cases]
    assert len(ids) == len(set(ids)), "case ids must be unique"
    assert all(len(f"Corpus:{i}".encode()) <= 63 for i in ids), "a case id is too long"
    return cases
