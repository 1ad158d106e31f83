"""heap_run(): load every Heap dump not loaded yet, in dump_id order, then rebuild identity.

The rule, per dump and table: ``incremental: true`` upserts (users: the latest last_modified
wins; other tables: the later delivery), ``incremental: false`` replaces the table
(``user_migrations`` always). Parts load in part order.

Applying the new dumps one by one equals ONE load per table of their files in dump and part
order, starting at the last full sync (truncating in the same transaction) — later rows win
ties, and users keep the newest last_modified. So a run does one atomic load per table, then
records the dumps (HeapDump). If a run fails half-way, no dump is recorded and the next run
loads them all again: upserting or replacing with the same rows gives the same tables.
"""

from __future__ import annotations

from django.conf import settings
from django.db import IntegrityError

from amperity_sources.db import domain_connection
from couriers.feed_load import RunFailed, load_feed, run_s3_client, table_rows
from couriers.landing import land_object
from couriers.models import CourierRun, HeapDump, LandedFile, RunEvent
from couriers.s3 import list_prefix
from couriers.services.runs import run_event, run_heartbeat
from feeds.loading.identity import IdentitySource, heap_identity_refresh
from feeds.models import Feed
from feeds.readers.settings import AVRO

from .manifests import Manifest, ManifestError, ManifestTable, manifests_list
from .setup import heap_feeds

ALWAYS_REPLACED = {"user_migrations"}
IDENTITY_COLUMNS = ("user_id", "joindate", "last_modified", "identity", "handle", "email")


def heap_run(run: CourierRun) -> list[str]:
    """Load the new dumps; returns the run's warnings (new columns, skipped dumps)."""
    courier = run.courier
    client = run_s3_client(run)
    warnings: list[str] = []
    if run.mode != CourierRun.Mode.ALL:
        run_event(
            run,
            "Heap dumps load in dump order, so this run loads every new dump whatever its "
            "date (a day or period applies to dated files, not to Heap dumps)",
        )
    run_event(run, "Reading Heap manifests")
    loaded = dict(HeapDump.objects.filter(courier=courier).values_list("manifest_key", "dump_id"))
    try:
        new = manifests_list(client, courier.bucket, courier.prefix, skip=set(loaded))
    except ManifestError as exc:
        raise RunFailed(f"Cannot read a Heap manifest: {exc}") from None
    _refuse_reused_dump_ids(new, loaded)
    last = max(loaded.values(), default=None)
    done_ids = set(loaded.values())
    late = [m for m in new if last is not None and m.dump_id < last and m.dump_id not in done_ids]
    for m in late:
        warnings.append(
            f"Dump {m.dump_id} ({m.key}) appeared after dump {last} was loaded; it is older, so "
            "it was not applied (applying it now would undo newer data)."
        )
        run_event(run, warnings[-1], RunEvent.Level.WARNING)
    late_ids = {m.dump_id for m in late}
    new = [m for m in new if m.dump_id not in done_ids | late_ids]
    if not new:
        since = f" since dump {last}" if last is not None else ""
        run_event(run, f"No new Heap dumps{since}: nothing to load")
        return warnings
    run_event(
        run,
        f"{len(new)} new Heap dump{'s' * (len(new) != 1)} to load: "
        + ", ".join(str(m.dump_id) for m in new),
    )
    feeds = _active_feeds(courier)
    if run.ingest_only:
        for manifest in new:
            _land_dump(run, client, manifest, feeds)
        run_event(run, "Ingest only: files landed, nothing loaded, no dump marked loaded")
        return warnings
    run_heartbeat(
        run,
        files_total=sum(len(t.keys) for m in new for t in m.tables if t.name in feeds),
    )
    landed: dict[int, dict[str, list[LandedFile]]] = {}
    skipped: set[str] = set()
    reported: set[tuple[str, str]] = set()
    for manifest in new:
        when = f" (written {manifest.last_modified:%Y-%m-%d})" if manifest.last_modified else ""
        run_event(run, f"Dump {manifest.dump_id}{when}: {len(manifest.tables)} tables")
        landed[manifest.dump_id] = _land_dump(run, client, manifest, feeds)
        for table in manifest.tables:
            feed = feeds.get(table.name)
            if feed is None:
                if table.name not in skipped:
                    skipped.add(table.name)
                    run_event(run, f"Table {table.name} has no feed: skipped")
                continue
            for column in _new_columns(feed, table):
                if (table.name, column) not in reported:
                    reported.add((table.name, column))
                    warnings.append(
                        f"{feed.table_name}: new column {column} in dump {manifest.dump_id} — "
                        "add it in the Feed Editor (or with “Add new columns to feeds” on the "
                        "Heap courier page)"
                    )
                    run_event(run, warnings[-1], RunEvent.Level.WARNING)
    rows = 0
    for name, feed in feeds.items():
        files, replace, described = _table_plan(name, new, landed)
        if described:
            run_event(run, f"{feed.table_name}: {described}")
        if replace and not files:
            # A full sync listing no file for the table: never empty a table on no data.
            warnings.append(
                f"{feed.table_name}: {described}, but the dump lists no file for {name}; the "
                f"table was kept ({table_rows(feed)})"
            )
            run_event(run, warnings[-1], RunEvent.Level.WARNING)
        elif files:
            done = load_feed(run, feed, files, truncate=replace, rows_before=rows)
            rows += done.result.rows_read
            warnings += done.warnings
    try:
        HeapDump.objects.bulk_create(
            HeapDump(
                courier=courier,
                dump_id=m.dump_id,
                manifest_key=m.key,
                run=run,
                tables={t.name: _table_summary(t) for t in m.tables},
            )
            for m in new
        )
    except IntegrityError:
        raise RunFailed("Another run recorded these dumps meanwhile.") from None
    run_event(run, "Loaded dumps " + ", ".join(str(m.dump_id) for m in new))
    _refresh_identity(run, feeds)
    return warnings


def _refuse_reused_dump_ids(new: list[Manifest], loaded: dict[str, int]) -> None:
    """A new manifest describing a dump already loaded from another manifest is not skipped
    as done: it may list other files, and which manifest is right only a person can tell."""
    loaded_from = {dump_id: key for key, dump_id in loaded.items()}
    for m in new:
        if m.dump_id in loaded_from:
            raise RunFailed(
                f"Cannot read a Heap manifest: {m.key} describes dump {m.dump_id}, which was "
                f"loaded from {loaded_from[m.dump_id]}; remove the manifest that is wrong. "
                "Nothing was loaded."
            )


def _active_feeds(courier) -> dict[str, Feed]:
    feeds = heap_feeds(courier)
    missing = [fid for fid in courier.load_operations if fid not in {f.pk for f in feeds.values()}]
    inactive = [f for f in feeds.values() if f.status != Feed.Status.ACTIVE]
    if missing or inactive:
        names = [f'"{fid}"' for fid in missing] + [
            f'"{f.pk}" ({f.table_name}, a draft)' for f in inactive
        ]
        raise RunFailed(
            "Error running load-operations task\nCannot find required feeds: "
            + ", ".join(names)
            + ". Review and activate the Heap feeds first."
        )
    return feeds


def _table_plan(
    name: str, new: list[Manifest], landed: dict[int, dict[str, list[LandedFile]]]
) -> tuple[list[LandedFile], bool, str]:
    """The files to load into one table for the new dumps, and whether to replace the table.

    Applying dumps one by one equals one load of their files in order: a full sync replaces
    everything before it, so the load starts at the last full sync (truncating); later
    deliveries come later in the load, so they win (users: by last_modified)."""
    carrying = [m for m in new if m.table(name) is not None]
    if not carrying:
        return [], False, ""
    full = [
        i
        for i, m in enumerate(carrying)
        if not m.table(name).incremental or name in ALWAYS_REPLACED
    ]
    start = full[-1] if full else 0
    used = carrying[start:]
    files = [f for m in used for f in landed[m.dump_id].get(name, [])]
    ids = ", ".join(str(m.dump_id) for m in used)
    if full:
        how = f"replaced by dump {used[0].dump_id}" + (
            f", then upserted from dumps {', '.join(str(m.dump_id) for m in used[1:])}"
            if len(used) > 1
            else ""
        )
        if start:
            how += f" (dumps before {used[0].dump_id} are superseded by its full sync)"
    else:
        how = f"upserted from dump{'s' * (len(used) > 1)} {ids}"
    return files, bool(full), how


def _table_summary(table: ManifestTable) -> dict:
    return {"columns": table.columns, "incremental": table.incremental, "files": len(table.keys)}


def _new_columns(feed: Feed, table: ManifestTable) -> list[str]:
    known = {f.incoming for f in feed.fields.all()}
    return [c for c in table.columns if c not in known]


def _land_dump(run, client, manifest: Manifest, feeds: dict) -> dict[str, list[LandedFile]]:
    """Record the dump's part files (tables with a feed) as landed files, in part order.

    One listing of the dump's folder gives each file's size and ETag; a file the manifest
    lists but the bucket lacks fails the run (the dump is not complete)."""
    wanted = [t for t in manifest.tables if t.name in feeds]
    keys = [k for t in wanted for k in t.keys]
    folders = {k.rsplit("/", 2)[0] + "/" for k in keys}
    objects = {
        obj.key: obj
        for folder in sorted(folders)
        for obj in list_prefix(client, run.courier.bucket, folder)
    }
    missing = [k for k in keys if k not in objects]
    if missing:
        raise RunFailed(
            f"Dump {manifest.dump_id} is incomplete: {manifest.key} lists {missing[0]}"
            + (f" and {len(missing) - 1} more files" if len(missing) > 1 else "")
            + " that the bucket does not hold."
        )
    landed: dict[str, list[LandedFile]] = {}
    for table in wanted:
        land_as = {"file/tag": table.name, "file/content-type": AVRO}
        landed[table.name] = [
            land_object(courier=run.courier, run=run, obj=objects[k], land_as=land_as)
            for k in table.keys
        ]
    return landed


def _refresh_identity(run: CourierRun, feeds: dict[str, Feed]) -> None:
    users, migrations = feeds.get("users"), feeds.get("user_migrations")
    if users is None or migrations is None:
        return
    by_incoming = {f.incoming: f.name for f in users.fields.all()}
    mig = {f.incoming: f.name for f in migrations.fields.all()}
    if "user_id" not in by_incoming or not {"from_user_id", "to_user_id"} <= set(mig):
        run_event(
            run,
            "Identity tables not rebuilt: the users or user_migrations feed lacks its ids",
            RunEvent.Level.WARNING,
        )
        return
    prefix = users.data_source.name
    source = IdentitySource(
        schema=settings.DOMAIN_SCHEMA,
        users_table=users.table_name,
        users={c: by_incoming.get(c) for c in IDENTITY_COLUMNS},
        migrations_table=migrations.table_name,
        from_user_id=mig["from_user_id"],
        to_user_id=mig["to_user_id"],
        identity_table=f"{prefix}:User identity",
        merged_table=f"{prefix}:Users merged",
    )
    with domain_connection() as conn:
        counts = heap_identity_refresh(conn, source)
    run_event(
        run,
        "Identity rebuilt: " + ", ".join(f"{name} {n:,} rows" for name, n in counts.items()),
    )
