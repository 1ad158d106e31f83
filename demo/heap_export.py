"""Demo data: a realistic Heap Connect for S3 export, and the ground truth it implies.

This module generates the rows and computes the ground truth; ``s3_writer`` writes them.

Used by the product's demo (``manage.py generate_heap_demo``), by the tests (as ground truth)
and by the benchmarks. Pure Python: boto3 + fastavro, no Django.

Two layouts (Heap Connect for S3, and Amperity's own dated example):

* ``sync`` (what real Heap buckets hold), written by :func:`write_heap_export`::

      manifests/sync_<dump_id>.json
      sync_<dump_id>/property_definitions.json
      sync_<dump_id>/<table>/part-0000N-<uuid>-c000.avro      (snappy Avro)

* ``dated`` (Amperity's own Heap example), written by :func:`write_dated_export`::

      path/to/users-YYYY-MM-dd.avro   (and sessions-…, pageviews-…), one file per table per day

What the dumps contain (``HeapExportSpec()`` defaults: 4 dumps, ids 850..853, one day apart):

* dump 0 – full first sync: every table ``incremental: false``; each table (but
  ``user_migrations``) split into at least two part files.
* dump k >= 1 – incremental: new rows for every table (about 25 % of the first dump's volume),
  plus re-deliveries: about 10 % of the existing users again with a newer ``last_modified``,
  a new email and (possibly) a new plan, anonymous users becoming identified; from dump 2 on,
  about 20 % of the users re-delivered in the previous dump are sent again as a *stale* copy
  of their older version (older ``last_modified``: "later dump wins" would get them wrong);
  about 3 % of the previous dump's events re-sent with a changed value (title / target text /
  revenue); about 1 % of this dump's new events sent twice in the same dump, the second copy
  (later in the stream, usually a later part) changed.
* dump ``min(2, dumps - 1)`` – ``sessions`` is a full resync (``incremental: false``): every
  session so far, about 5 % of the older ones dropped, missing cities filled in.
* last dump (``new_property=True``) – ``users`` gains the column ``initial_utm_source``
  (a new Heap user property). Rows loaded before have it as null.
* every dump – ``user_migrations`` (``from_user_id`` -> ``to_user_id``), always a full sync.

Apply rules (what :func:`expected_tables` computes): dumps in ``dump_id`` order;
``incremental: false`` replaces the table; otherwise upsert by key, where for ``users`` the
latest ``last_modified`` wins (ties: later delivery) and for every other table the later
delivery wins (later dump, later part, later row).

Values (from :func:`iter_dump_rows` and :func:`expected_tables`) are exactly what fastavro
reads back: ids are ``int`` (all odd and > 2**53, so a float
conversion would corrupt them), Avro timestamps are timezone-aware UTC ``datetime`` with
millisecond precision, ``checkout_completed.time`` is an ISO-8601 string
(``2024-03-01T12:34:56.789Z``). All times are UTC; rows new in the dump of day D have times
on day D.

The size knob ``rows`` is the approximate total number of rows written over all tables and
all dumps (within about 10 %; the summary reports the exact numbers). Generation is a pure
function of the spec, so ``expected_tables(spec)`` needs no S3, and rows are streamed into
part files of at most ``part_rows`` rows through temporary files: memory does not grow with
``rows``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

# --------------------------------------------------------------------------------------------
# Tables and their columns
# --------------------------------------------------------------------------------------------

ALL_TABLES: tuple[str, ...] = (
    "users",
    "sessions",
    "pageviews",
    "sign_up_click_link",
    "checkout_completed",
    "user_migrations",
)
DATED_TABLES: tuple[str, ...] = ("users", "sessions", "pageviews")
EVENT_TABLES: tuple[str, ...] = ("pageviews", "sign_up_click_link", "checkout_completed")

TABLE_KEYS: dict[str, str] = {
    "users": "user_id",
    "sessions": "session_id",
    "pageviews": "event_id",
    "sign_up_click_link": "event_id",
    "checkout_completed": "event_id",
    "user_migrations": "from_user_id",
}

NEW_USER_PROPERTY = "initial_utm_source"

# (name, type, nullable). "timestamp" = Avro long with logicalType timestamp-millis;
# "iso" = an ISO-8601 string holding a time.
_COLUMNS: dict[str, list[tuple[str, str, bool]]] = {
    "users": [
        ("user_id", "long", False),
        ("joindate", "timestamp", True),
        ("last_modified", "timestamp", True),
        ("identity", "string", True),
        ("handle", "string", True),
        ("email", "string", True),
        ("plan", "string", True),
        ("seats", "int", True),
    ],
    "sessions": [
        ("session_id", "long", False),
        ("user_id", "long", True),
        ("time", "timestamp", True),
        ("library", "string", True),
        ("platform", "string", True),
        ("device_type", "string", True),
        ("browser", "string", True),
        ("country", "string", True),
        ("region", "string", True),
        ("city", "string", True),
        ("referrer", "string", True),
        ("landing_page", "string", True),
        ("utm_source", "string", True),
    ],
    "pageviews": [
        ("event_id", "long", False),
        ("user_id", "long", True),
        ("session_id", "long", True),
        ("time", "timestamp", True),
        ("session_time", "timestamp", True),
        ("library", "string", True),
        ("platform", "string", True),
        ("device_type", "string", True),
        ("country", "string", True),
        ("domain", "string", True),
        ("path", "string", True),
        ("query", "string", True),
        ("title", "string", True),
        ("referrer", "string", True),
    ],
    "sign_up_click_link": [
        ("event_id", "long", False),
        ("user_id", "long", True),
        ("session_id", "long", True),
        ("time", "timestamp", True),
        ("path", "string", True),
        ("target_text", "string", True),
        ("href", "string", True),
    ],
    "checkout_completed": [
        ("event_id", "long", False),
        ("user_id", "long", True),
        ("session_id", "long", True),
        ("time", "iso", True),
        ("order_id", "string", True),
        ("revenue", "double", True),
        ("currency", "string", True),
        ("item_count", "int", True),
    ],
    "user_migrations": [
        ("from_user_id", "long", False),
        ("to_user_id", "long", False),
        ("time", "timestamp", True),
    ],
}


def table_columns(table: str, *, new_property: bool = False) -> list[str]:
    """Column names of ``table`` (``users`` with the new property column when asked)."""
    names = [name for name, _, _ in _COLUMNS[table]]
    if table == "users" and new_property:
        names.append(NEW_USER_PROPERTY)
    return names


def _column_defs(table: str, new_property: bool) -> list[tuple[str, str, bool]]:
    cols = list(_COLUMNS[table])
    if table == "users" and new_property:
        cols.append((NEW_USER_PROPERTY, "string", True))
    return cols


def avro_schema(table: str, new_property: bool) -> dict[str, Any]:
    fields = []
    for name, kind, nullable in _column_defs(table, new_property):
        if kind == "timestamp":
            avro_type: Any = {"type": "long", "logicalType": "timestamp-millis"}
        elif kind == "iso":
            avro_type = "string"
        else:
            avro_type = kind
        if nullable:
            fields.append({"name": name, "type": ["null", avro_type], "default": None})
        else:
            fields.append({"name": name, "type": avro_type})
    record_name = "".join(part.capitalize() for part in table.split("_"))
    return {"type": "record", "name": record_name, "namespace": "heap.connect", "fields": fields}


# --------------------------------------------------------------------------------------------
# The spec
# --------------------------------------------------------------------------------------------

# Rates (per mille where named _PM); part of the documented behaviour above.
_GROWTH = 0.25  # new rows in an incremental dump, relative to the first dump's volume
_USER_REDELIVER_PM = 100
_USER_STALE_PM = 200  # of the users re-sent in the previous dump
_EVENT_REDELIVER_PM = 30
_EVENT_DUP_PM = 10
_SESSION_DROP_PM = 50
_MIGRATE_PM = 30

# Share of the first dump's volume per table (user_migrations follows from the users).
_SHARES: dict[str, float] = {
    "users": 0.10,
    "sessions": 0.16,
    "pageviews": 0.46,
    "sign_up_click_link": 0.12,
    "checkout_completed": 0.10,
}


@dataclass(frozen=True)
class HeapExportSpec:
    """Everything that determines an export. Same spec, same bytes (apart from S3 metadata).

    rows: approximate total rows over all tables (``tables``) and all dumps.
    dumps: number of dumps (nightly syncs), ids ``first_dump_id, first_dump_id + 1, ...``.
    part_rows: most rows in one part file.
    resync_table: ``"sessions"``: sent as a full resync (``incremental: false``) in dump
        ``min(2, dumps - 1)``; None for no resync.
    new_property: the last dump adds the user property column ``initial_utm_source``.
    dates: the day of each dump (default: consecutive days from ``start_date``).
    tables: the tables written (generation always plans all of them, so ids stay stable).
    """

    rows: int = 10_000
    dumps: int = 4
    seed: int = 0
    first_dump_id: int = 850
    start_date: date = date(2024, 3, 1)
    part_rows: int = 100_000
    resync_table: str | None = "sessions"
    new_property: bool = True
    dates: tuple[date, ...] | None = None
    tables: tuple[str, ...] = ALL_TABLES

    def __post_init__(self) -> None:
        if self.dumps < 1:
            raise ValueError("dumps must be at least 1")
        if self.rows < 1:
            raise ValueError("rows must be at least 1")
        if self.part_rows < 1:
            raise ValueError("part_rows must be at least 1")
        if self.dates is not None and len(self.dates) != self.dumps:
            raise ValueError("dates must have one day per dump")
        unknown = set(self.tables) - set(ALL_TABLES)
        if unknown:
            raise ValueError(f"unknown tables: {sorted(unknown)}")
        if self.resync_table not in (None, "sessions"):
            raise ValueError("resync_table must be 'sessions' or None")

    @property
    def dump_ids(self) -> list[int]:
        return [self.first_dump_id + k for k in range(self.dumps)]

    @property
    def dump_dates(self) -> list[date]:
        if self.dates is not None:
            return list(self.dates)
        return [self.start_date + timedelta(days=k) for k in range(self.dumps)]

    @property
    def resync_index(self) -> int | None:
        """Index (0-based) of the dump that fully resyncs ``resync_table``."""
        if self.resync_table is None or self.dumps < 2:
            return None
        return min(2, self.dumps - 1)

    @property
    def new_property_index(self) -> int | None:
        """Index (0-based) of the first dump whose ``users`` has ``initial_utm_source``."""
        if not self.new_property or self.dumps < 2:
            return None
        return self.dumps - 1

    def incremental(self, table: str, k: int) -> bool:
        """The manifest's ``incremental`` flag for ``table`` in dump index ``k``."""
        if k == 0 or table == "user_migrations":
            return False
        return not (k == self.resync_index and table == self.resync_table)

    def has_new_property(self, k: int) -> bool:
        idx = self.new_property_index
        return idx is not None and k >= idx


# --------------------------------------------------------------------------------------------
# Deterministic randomness: a splitmix64-style hash of integers
# --------------------------------------------------------------------------------------------

_M64 = (1 << 64) - 1


def _mix(*parts: int) -> int:
    h = 0x9E3779B97F4A7C15
    for p in parts:
        h = ((h ^ (p & _M64)) * 0xBF58476D1CE4E5B9) & _M64
        h ^= h >> 31
        h = (h * 0x94D049BB133111EB) & _M64
        h ^= h >> 29
    return h


def _mix1(h: int, x: int) -> int:
    """One round of :func:`_mix`: ``_mix1(_mix(a, b), c) == _mix(a, b, c)``."""
    h = ((h ^ x) * 0xBF58476D1CE4E5B9) & _M64
    h ^= h >> 31
    h = (h * 0x94D049BB133111EB) & _M64
    return h ^ (h >> 29)


# Salts: one per stream of decisions.
_S_USER, _S_USER_RE, _S_USER_STALE, _S_USER_K = 1, 2, 3, 4
_S_SESSION, _S_SESSION_DROP = 10, 11
_S_EVENT = {"pageviews": 20, "sign_up_click_link": 21, "checkout_completed": 22}
_S_EVENT_RE, _S_EVENT_DUP = 25, 26
_S_MIG, _S_MIG_TO = 30, 31
_S_PARTS = 40

# Ids: odd numbers above 2**53, so a float64 round trip cannot preserve them.
_USER_BASE = 2**53 + 1
_SESSION_BASE = 2**54 + 1
_EVENT_BASE = 2**55 + 1
_EVENT_SLOT = {"pageviews": 0, "sign_up_click_link": 1, "checkout_completed": 2}


def user_id(i: int) -> int:
    return _USER_BASE + 2 * i


def session_id(j: int) -> int:
    return _SESSION_BASE + 2 * j


def event_id(table: str, e: int) -> int:
    return _EVENT_BASE + 2 * (4 * e + _EVENT_SLOT[table])


_FIRST = [
    "ada",
    "alan",
    "grace",
    "linus",
    "margaret",
    "ken",
    "barbara",
    "dennis",
    "frances",
    "edsger",
    "radia",
    "john",
    "katherine",
    "tim",
    "sophie",
    "guido",
]
_LAST = [
    "lovelace",
    "turing",
    "hopper",
    "torvalds",
    "hamilton",
    "thompson",
    "liskov",
    "ritchie",
    "allen",
    "dijkstra",
    "perlman",
    "mccarthy",
    "johnson",
    "berners",
    "wilson",
    "rossum",
]
_MAIL = ["example.com", "example.org", "mail.example.net", "corp.example"]
_PLANS = ["free", "starter", "pro", "enterprise"]
_SOURCES = ["google", "newsletter", "twitter", "linkedin", "partner", None]
_LIBS = [
    ("web", "Mac OS X", "Desktop"),
    ("web", "Windows", "Desktop"),
    ("web", "Linux", "Desktop"),
    ("ios", "iOS", "Mobile"),
    ("android", "Android", "Mobile"),
    ("web", "iOS", "Tablet"),
]
_BROWSERS = ["Chrome", "Safari", "Firefox", "Edge"]
_GEO = [
    ("United States", "California", "San Francisco"),
    ("United States", "Washington", "Seattle"),
    ("United States", "New York", "New York"),
    ("Canada", "Ontario", "Toronto"),
    ("United Kingdom", "England", "London"),
    ("Germany", "Berlin", "Berlin"),
    ("France", "Île-de-France", "Paris"),
    ("Japan", "Tokyo", "Tokyo"),
    ("Brazil", "São Paulo", "São Paulo"),
    ("Australia", "New South Wales", "Sydney"),
]
_REFERRERS = [
    "https://www.google.com/",
    "https://news.ycombinator.com/",
    "https://t.co/x1",
    None,
    None,
    "https://www.linkedin.com/",
]
_DOMAIN = "www.example-shop.com"
_PAGES = [
    ("/", "Example Shop — Home"),
    ("/pricing", "Pricing"),
    ("/docs", "Documentation"),
    ("/blog/heap-connect", "Heap Connect and you"),
    ("/signup", "Sign up"),
    ("/cart", "Your cart"),
    ("/products/widget", "Widget"),
    ("/products/gadget", "Gadget"),
    ("/about", "About us"),
    ("/checkout", "Checkout"),
]
_LINKS = [
    ("Start free trial", "/signup?plan=free"),
    ("Sign up with Google", "/auth/google"),
    ("Get started", "/signup"),
    ("Create account", "/signup?src=nav"),
]
_CURRENCIES = ["USD", "USD", "USD", "EUR", "GBP", "CAD"]

_DAY_MS = 86_400_000


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _dt(ms: int) -> datetime:
    """Epoch milliseconds -> aware UTC datetime (what fastavro reads back)."""
    return _EPOCH + timedelta(milliseconds=ms)


def _iso(ms: int) -> str:
    when = _dt(ms)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


# --------------------------------------------------------------------------------------------
# The plan: how many rows each table gets in each dump
# --------------------------------------------------------------------------------------------


def _volume_per_unit(spec: HeapExportSpec) -> float:
    """Expected rows written (for the spec's tables) when the first dump has volume 1.0."""
    k_n = spec.dumps
    total = 0.0
    users0 = _SHARES["users"]
    users_new = users0 * _GROWTH
    users_end = [users0 + users_new * k for k in range(k_n)]
    for table in spec.tables:
        if table == "user_migrations":
            # cumulative: each user migrates with rate _MIGRATE_PM, about when created
            total += sum(users_end[k] * _MIGRATE_PM / 1000 for k in range(k_n))
            continue
        n0 = _SHARES[table]
        nk = n0 * _GROWTH
        total += n0 + nk * (k_n - 1)
        if table == "users":
            rate = _USER_REDELIVER_PM / 1000
            total += sum(users_end[k - 1] * rate for k in range(1, k_n))
            total += sum(users_end[k - 2] * rate * _USER_STALE_PM / 1000 for k in range(2, k_n))
        elif table in EVENT_TABLES and k_n > 1:
            total += (n0 + nk * (k_n - 2)) * _EVENT_REDELIVER_PM / 1000
            total += nk * (k_n - 1) * _EVENT_DUP_PM / 1000
        if table == spec.resync_table and spec.resync_index is not None:
            r = spec.resync_index
            total += (n0 + nk * (r - 1)) * (1 - _SESSION_DROP_PM / 1000)
    return total


class _Plan:
    """Row counts and index ranges; every generated row is a function of (plan, index)."""

    def __init__(self, spec: HeapExportSpec) -> None:
        self.spec = spec
        self.seed = spec.seed
        self.n_dumps = spec.dumps
        unit = spec.rows / _volume_per_unit(spec)
        self.n0: dict[str, int] = {}
        self.nk: dict[str, int] = {}
        for table, share in _SHARES.items():
            self.n0[table] = max(4, round(unit * share))
            self.nk[table] = max(2, round(unit * share * _GROWTH))
        # Times are generated as epoch milliseconds (fastavro writes those as they are);
        # iter_dump_rows / expected_tables turn them into datetimes.
        self.days = [
            (datetime.combine(d, time(), tzinfo=UTC) - _EPOCH) // timedelta(milliseconds=1)
            for d in spec.dump_dates
        ]
        # Hash states after (seed, salt[, dump]): a row's hash is then one more round.
        seed, dumps = self.seed, range(spec.dumps)
        self.h_user = _mix(seed, _S_USER)
        self.h_user_re = [_mix(seed, _S_USER_RE, k) for k in dumps]
        self.h_user_k = [_mix(seed, _S_USER_K, k) for k in dumps]
        self.h_user_stale = [_mix(seed, _S_USER_STALE, k) for k in dumps]
        self.h_session = _mix(seed, _S_SESSION)
        self.h_session_drop = _mix(seed, _S_SESSION_DROP)
        self.h_event = {t: _mix(seed, salt) for t, salt in _S_EVENT.items()}
        self.h_event_re = {
            t: [_mix(seed, _S_EVENT_RE, s, k) for k in dumps] for t, s in _S_EVENT.items()
        }
        self.h_event_dup = {t: _mix(seed, _S_EVENT_DUP, salt) for t, salt in _S_EVENT.items()}
        self.h_mig = _mix(seed, _S_MIG)
        self.h_mig_to = _mix(seed, _S_MIG_TO)

    def start(self, table: str, k: int) -> int:
        return 0 if k == 0 else self.n0[table] + self.nk[table] * (k - 1)

    def end(self, table: str, k: int) -> int:
        return self.n0[table] + self.nk[table] * k

    def created_in(self, table: str, idx: int) -> int:
        n0 = self.n0[table]
        return 0 if idx < n0 else 1 + (idx - n0) // self.nk[table]

    # --- users ------------------------------------------------------------------------------

    def user_redelivered(self, i: int, k: int) -> bool:
        return _mix1(self.h_user_re[k], i) % 1000 < _USER_REDELIVER_PM

    def user_delivered(self, i: int, k: int) -> bool:
        c = self.created_in("users", i)
        return k == c or (k > c and self.user_redelivered(i, k))

    def user_row(self, i: int, k: int, new_property: bool) -> dict[str, Any]:
        """User ``i`` as delivered in dump ``k`` (its creation dump or a re-delivery)."""
        c = self.created_in("users", i)
        r = _mix1(self.h_user, i)
        first = _FIRST[r % len(_FIRST)]
        last = _LAST[(r >> 8) % len(_LAST)]
        joindate = self.days[c] + (r >> 16) % (20 * 3_600_000)
        if k == c:
            last_modified = joindate + (r >> 40) % 3_600_000
            identified = (r >> 52) % 10 >= 4
            plan = _PLANS[(r >> 24) % 3]
            email = f"{first}.{last}{i}@{_MAIL[(r >> 32) % len(_MAIL)]}"
        else:
            rk = _mix1(self.h_user_k[k], i)
            last_modified = self.days[k] + rk % _DAY_MS
            identified = True
            plan = _PLANS[(rk >> 32) % len(_PLANS)]
            email = f"{first}.{last}{i}+{k}@{_MAIL[(rk >> 40) % len(_MAIL)]}"
        row: dict[str, Any] = {
            "user_id": user_id(i),
            "joindate": joindate,
            "last_modified": last_modified,
            "identity": f"cust-{i:08d}" if identified else None,
            "handle": f"{first}{last[0]}{i}" if identified else None,
            "email": email if identified else None,
            "plan": plan if identified else None,
            "seats": None if not identified or plan == "free" else 1 + (r >> 44) % 50,
        }
        if new_property:
            row[NEW_USER_PROPERTY] = _SOURCES[(r >> 56) % len(_SOURCES)]
        return row

    def iter_users(self, k: int) -> Iterator[dict[str, Any]]:
        newprop = self.spec.has_new_property(k)
        if k > 0:
            for i in range(self.end("users", k - 1)):
                if self.user_redelivered(i, k):
                    yield self.user_row(i, k, newprop)
                elif (
                    k >= 2
                    and _mix1(self.h_user_stale[k], i) % 1000 < _USER_STALE_PM
                    and self.created_in("users", i) < k - 1
                    and self.user_redelivered(i, k - 1)
                ):
                    # A stale copy: the version before the one re-sent in dump k-1. Its
                    # last_modified is older, so it must not win.
                    older = [d for d in range(k - 1) if self.user_delivered(i, d)]
                    yield self.user_row(i, older[-1], newprop)
        for i in range(self.start("users", k), self.end("users", k)):
            yield self.user_row(i, k, newprop)

    # --- sessions ---------------------------------------------------------------------------

    def session_row(self, j: int, resynced: bool) -> dict[str, Any]:
        c = self.created_in("sessions", j)
        r = _mix1(self.h_session, j)  # event_row derives the session's user and time alike
        library, platform, device = _LIBS[(r >> 8) % len(_LIBS)]
        country, region, city = _GEO[(r >> 12) % len(_GEO)]
        if not resynced and (r >> 50) % 4 == 0:
            city = None  # geo lookup incomplete; a resync fills it in
        page = _PAGES[(r >> 56) % len(_PAGES)]
        return {
            "session_id": session_id(j),
            "user_id": user_id(r % self.end("users", c)),
            "time": self.days[c] + (r >> 20) % (22 * 3_600_000),
            "library": library,
            "platform": platform,
            "device_type": device,
            "browser": _BROWSERS[(r >> 16) % len(_BROWSERS)] if library == "web" else None,
            "country": country,
            "region": region,
            "city": city,
            "referrer": _REFERRERS[(r >> 44) % len(_REFERRERS)],
            "landing_page": f"https://{_DOMAIN}{page[0]}",
            "utm_source": _SOURCES[(r >> 47) % len(_SOURCES)],
        }

    def session_dropped(self, j: int) -> bool:
        return _mix1(self.h_session_drop, j) % 1000 < _SESSION_DROP_PM

    def iter_sessions(self, k: int) -> Iterator[dict[str, Any]]:
        if k == self.spec.resync_index and self.spec.resync_table == "sessions":
            start = self.start("sessions", k)
            for j in range(self.end("sessions", k)):
                if j < start and self.session_dropped(j):
                    continue
                yield self.session_row(j, resynced=True)
            return
        for j in range(self.start("sessions", k), self.end("sessions", k)):
            yield self.session_row(j, resynced=False)

    # --- events -----------------------------------------------------------------------------

    def event_row(self, table: str, e: int, rev: int) -> dict[str, Any]:
        """Event ``e`` of ``table``; ``rev`` > 0 is a re-delivery with a changed value."""
        c = self.created_in(table, e)
        r = _mix1(self.h_event[table], e)
        # a session of the same dump, and that session's user and start time
        j = self.start("sessions", c) + r % self.nk_or_n0("sessions", c)
        sr = _mix1(self.h_session, j)
        s_time = self.days[c] + (sr >> 20) % (22 * 3_600_000)
        when = s_time + (r >> 20) % 1_800_000
        base = {
            "event_id": event_id(table, e),
            "user_id": user_id(sr % self.end("users", c)),
            "session_id": session_id(j),
        }
        if table == "pageviews":
            path, title = _PAGES[(r >> 8) % len(_PAGES)]
            library, platform, device = _LIBS[(r >> 12) % len(_LIBS)]
            return {
                **base,
                "time": when,
                "session_time": s_time,
                "library": library,
                "platform": platform,
                "device_type": device,
                "country": _GEO[(r >> 16) % len(_GEO)][0],
                "domain": _DOMAIN,
                "path": path,
                "query": f"?ref={(r >> 40) % 100}" if (r >> 50) % 3 == 0 else None,
                "title": title if rev == 0 else f"{title} (rev {rev})",
                "referrer": _REFERRERS[(r >> 52) % len(_REFERRERS)],
            }
        if table == "sign_up_click_link":
            text, href = _LINKS[(r >> 8) % len(_LINKS)]
            return {
                **base,
                "time": when,
                "path": _PAGES[(r >> 12) % len(_PAGES)][0],
                "target_text": text if rev == 0 else f"{text} (rev {rev})",
                "href": href,
            }
        # checkout_completed: time as an ISO-8601 string
        items = 1 + (r >> 8) % 5
        revenue = round(items * (5 + (r >> 16) % 9500 / 100) * (1 + rev / 100), 2)
        return {
            **base,
            "time": _iso(when),
            "order_id": f"ord-{e:06d}-{(r >> 32) % 10**4:04d}",
            "revenue": revenue,
            "currency": _CURRENCIES[(r >> 40) % len(_CURRENCIES)],
            "item_count": items,
        }

    def nk_or_n0(self, table: str, k: int) -> int:
        return self.n0[table] if k == 0 else self.nk[table]

    def iter_events(self, table: str, k: int) -> Iterator[dict[str, Any]]:
        h_re, h_dup = self.h_event_re[table][k], self.h_event_dup[table]
        if k > 0:
            for e in range(self.start(table, k - 1), self.end(table, k - 1)):
                if _mix1(h_re, e) % 1000 < _EVENT_REDELIVER_PM:
                    yield self.event_row(table, e, rev=k)
        for e in range(self.start(table, k), self.end(table, k)):
            yield self.event_row(table, e, rev=0)
        if k > 0:
            for e in range(self.start(table, k), self.end(table, k)):
                if _mix1(h_dup, e) % 1000 < _EVENT_DUP_PM:
                    yield self.event_row(table, e, rev=k)

    # --- user migrations --------------------------------------------------------------------

    def _is_from(self, i: int) -> bool:
        return _mix1(self.h_mig, i) % 1000 < _MIGRATE_PM

    def migration_dump(self, i: int) -> int | None:
        r = _mix1(self.h_mig, i)
        if r % 1000 >= _MIGRATE_PM:
            return None
        d = self.created_in("users", i) + (r >> 10) % 2
        return d if d < self.n_dumps else None

    def iter_migrations(self, k: int) -> Iterator[dict[str, Any]]:
        for i in range(self.end("users", k)):
            d = self.migration_dump(i)
            if d is None or d > k:
                continue
            n = self.end("users", d)
            j = _mix1(self.h_mig_to, i) % n
            for _ in range(n):
                if j != i and not self._is_from(j):
                    break
                j = (j + 1) % n
            yield {
                "from_user_id": user_id(i),
                "to_user_id": user_id(j),
                "time": self.days[d] + (_mix1(self.h_mig, i) >> 20) % _DAY_MS,
            }

    # --- dispatch ---------------------------------------------------------------------------

    def iter_rows(self, table: str, k: int) -> Iterator[dict[str, Any]]:
        if table == "users":
            return self.iter_users(k)
        if table == "sessions":
            return self.iter_sessions(k)
        if table == "user_migrations":
            return self.iter_migrations(k)
        return self.iter_events(table, k)

    def columns(self, table: str, k: int) -> list[str]:
        return table_columns(table, new_property=self.spec.has_new_property(k))


def iter_dump_rows(spec: HeapExportSpec, table: str, k: int) -> Iterator[dict[str, Any]]:
    """The rows of ``table`` in dump index ``k`` (0-based), in file order (parts concatenated).

    Each row is a dict of exactly the columns of that dump's file, valued as fastavro reads it.
    """
    if not 0 <= k < spec.dumps:
        raise IndexError(f"dump index {k} out of range")
    times = _TIME_COLUMNS[table]
    for row in _Plan(spec).iter_rows(table, k):
        yield _with_datetimes(row, times)


_TIME_COLUMNS = {
    table: [name for name, kind, _ in cols if kind == "timestamp"]
    for table, cols in _COLUMNS.items()
}


def _with_datetimes(row: dict[str, Any], times: list[str]) -> dict[str, Any]:
    for name in times:
        value = row[name]
        if value is not None:
            row[name] = _dt(value)
    return row


# --------------------------------------------------------------------------------------------
# Ground truth
# --------------------------------------------------------------------------------------------


def expected_tables(
    spec: HeapExportSpec, tables: Iterable[str] | None = None
) -> dict[str, dict[int, dict[str, Any]]]:
    """What applying every dump in ``dump_id`` order gives: ``{table: {key: row}}``.

    ``incremental: false`` replaces the table; otherwise upsert by ``TABLE_KEYS[table]``:
    ``users`` keeps the row with the latest ``last_modified`` (a tie goes to the later
    delivery), other tables keep the later delivery. Rows carry every column of the table's
    latest schema (columns a row's file lacked are None). Holds every row in memory: for big
    specs ask for one table at a time, or use :func:`expected_counts`.
    """
    plan = _Plan(spec)
    wanted = list(spec.tables if tables is None else tables)
    result: dict[str, dict[int, dict[str, Any]]] = {}
    for table in wanted:
        key = TABLE_KEYS[table]
        state: dict[int, dict[str, Any]] = {}
        for k in range(spec.dumps):
            if not spec.incremental(table, k):
                state = {}
            for row in plan.iter_rows(table, k):
                pk = row[key]
                if table == "users":
                    old = state.get(pk)
                    if old is not None and old["last_modified"] > row["last_modified"]:
                        continue
                state[pk] = row
        final_cols = plan.columns(table, spec.dumps - 1)
        times = _TIME_COLUMNS[table]
        for pk, row in state.items():
            if len(row) != len(final_cols):
                row = state[pk] = {c: row.get(c) for c in final_cols}
            _with_datetimes(row, times)
        result[table] = state
    return result


def expected_counts(spec: HeapExportSpec) -> dict[str, int]:
    """Row count per table after applying every dump (one table in memory at a time)."""
    return {t: len(expected_tables(spec, [t])[t]) for t in spec.tables}
