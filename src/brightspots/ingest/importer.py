"""``import_path``: a folder (or workbook, or file) of canonical tables into a workspace.

The whole import is one write (``Workspace.writing``: a draft generation of the store, made
current only when every file is in): an error, or a kill, leaves every table exactly as it was.
Tables are imported in ``schema.IMPORT_ORDER``, so a row quarantined in one file makes
the rows of later files that point at it ``missing_reference``.

A reference into a table that is neither imported now nor holds rows in the workspace (e.g.
``reps.team_id`` with no teams at all) is not checked; the import says so in its warnings.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from brightspots import schema
from brightspots.ingest import database, mapped, presets
from brightspots.ingest.archive import unpacked
from brightspots.ingest.checks import Outcome, references
from brightspots.ingest.discover import Source, discover, discover_database, discover_mapped
from brightspots.ingest.encoding import KNOWN
from brightspots.ingest.errors import IngestError
from brightspots.ingest.layout import Layout, layout
from brightspots.ingest.mapping import Mapping, load_mapping
from brightspots.ingest.result import FileCounts, ImportResult
from brightspots.ingest.stage import stage
from brightspots.ingest.store import (
    Upserted,
    has_extras,
    log_import,
    mark_missing,
    record_quarantine,
    record_sources,
    upsert,
)
from brightspots.ingest.tables import drop_sources, drop_temps, ensure_tables
from brightspots.ingest.validate import Checked, run_checks
from brightspots.workspace import Workspace

Progress = Callable[[str, float], None]


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _weights(sources: list[Source]) -> list[float]:
    """Each source's share of the work, by bytes (a workbook's size split over its sheets)."""
    sheets = Counter(s.path for s in sources)
    sizes = [
        max(s.path.stat().st_size / sheets[s.path], 1.0) if s.path.exists() else 1.0
        for s in sources
    ]
    return [x / sum(sizes) for x in sizes]


def _check_required(ws: Workspace, path: Path, imported: set[str]) -> None:
    missing = [t for t in schema.REQUIRED_TABLES if t not in imported and not ws.row_count(t)]
    if missing:
        files = ", ".join(schema.table(t).file_name for t in missing)
        raise IngestError(
            f"{path}: no {files}; the workspace holds no {', '.join(missing)} yet "
            f"(required tables: {', '.join(schema.REQUIRED_TABLES)})"
        )


def _checked_references(
    ws: Workspace, lay: Layout, imported: set[str], label: str, warnings: list[str]
) -> set[str]:
    """Reference columns to verify: those into a table imported now or holding rows."""
    checked = set()
    for col in references(lay):
        target = col.references.split(".")[0]
        if target in imported or ws.row_count(target):
            checked.add(col.name)
        else:
            warnings.append(
                f"{label}: {col.name} not checked: no {target} in this import or the workspace"
            )
    return checked


def _counts(source: Source, rows: int, checked: Checked, up: Upserted) -> FileCounts:
    return FileCounts(
        file=source.label,
        table=source.table,
        read=rows,
        inserted=up.inserted,
        updated=up.updated,
        unchanged=up.unchanged,
        repeats=checked.count(Outcome.REPEAT),
        skipped=checked.count(Outcome.SKIPPED),
        quarantined=checked.count(Outcome.QUARANTINED),
    )


def _origin(source: Source) -> str:
    """The feed a source is (see ``store.mark_missing``)."""
    if source.mapped is not None:
        return source.mapped.origin or source.mapped.where
    return f"{source.table}:{source.path.name.lower()}"


def _prepare(con, path: Path, mapping: Mapping, warnings: list[str]) -> None:
    """A preset's setup SQL and auxiliary files, before any table."""
    for sql in mapping.setup:
        con.execute(sql)
    folder = path if path.is_dir() else path.parent
    for aux in mapping.aux:
        note = mapped.stage_aux(con, folder, aux, mapping)
        if note:
            warnings.append(f"{mapping.name}: {note}")


def import_path(
    ws: Workspace,
    path: Path | str,
    *,
    progress: Progress | None = None,
    mapping: Path | Mapping | None = None,
    encoding: str | None = None,
    preset: str | None = None,
    source: str | None = None,
    snapshot: bool = False,
) -> ImportResult:
    """Import every table file under ``path`` into ``ws`` (see ``brightspots.ingest``).

    ``mapping``: a mapping file (see ``ingest.mapping``) saying which file feeds which table and
    how its columns become the table's; without one, files are named after the tables and hold
    the contract's columns. ``progress(message, fraction)`` is called as each file is read,
    checked and stored. ``path`` may be a ZIP, or a folder of ZIP parts (``archive``), or a
    database URL (``database``: tables named after the contract's, or a mapping's).
    ``encoding``: the CSV files' text encoding (see ``ingest.encoding``; default: the
    mapping's, else detected per file). ``preset``: the export's format
    ("generic", "salesforce", "hubspot"); without a mapping or a preset it is detected
    (``presets``). ``source``: the name of the system the files come from (default: the format,
    e.g. "salesforce", or "mapping:<file>"); ``snapshot``: the files are a full export of that
    source, so its records of the tables imported that they no longer hold are flagged deleted
    (kept, and left out of analysis). The import is one write (``Workspace.writing``): readers
    see all of it or none of it."""
    with (
        ws.limits_explained(f"the import of {path}", IngestError, progress, "starting") as said,
        ws.writing(),
    ):
        return _import_path(
            ws,
            path,
            progress=said,
            mapping=mapping,
            encoding=encoding,
            preset=preset,
            source=source,
            snapshot=snapshot,
        )


def _import_path(
    ws: Workspace,
    path: Path | str,
    *,
    progress: Progress | None,
    mapping: Path | Mapping | None,
    encoding: str | None,
    preset: str | None,
    source: str | None,
    snapshot: bool,
) -> ImportResult:
    notes: list[str] = []
    if database.is_url(str(path)):
        if preset not in (None, "generic"):
            raise IngestError(f"--preset {preset} reads files; a database is read with a mapping")
        return _import(
            ws,
            Path(database.shown(str(path))),
            progress=progress,
            mapping=mapping,
            encoding=encoding,
            preset="generic",
            shown=Path(database.shown(str(path))),
            notes=notes,
            source=source or "database",
            snapshot=snapshot,
            url=str(path),
        )
    with unpacked(Path(path), notes) as folder:
        return _import(
            ws,
            folder,
            progress=progress,
            mapping=mapping,
            encoding=encoding,
            preset=preset,
            shown=Path(path),
            notes=notes,
            source=source,
            snapshot=snapshot,
        )


def _import(
    ws: Workspace,
    path: Path,
    *,
    progress: Progress | None,
    mapping: Path | Mapping | None,
    encoding: str | None,
    preset: str | None,
    shown: Path,
    notes: list[str],
    source: str | None,
    snapshot: bool,
    url: str | None = None,
) -> ImportResult:
    say: Progress = progress or (lambda message, fraction: None)
    options = None
    if mapping is not None and preset not in (None, "generic") and not isinstance(mapping, Mapping):
        options, mapping = Path(mapping), None  # a preset's own settings (HubSpot's stage map)
    if mapping is not None and not isinstance(mapping, Mapping):
        mapping = load_mapping(Path(mapping))
    form = "mapping" if mapping is not None else "generic"
    if url is None and mapping is None and path.is_dir():
        if preset is None:
            preset, why = presets.detect(path)
            if preset != "generic":
                notes.append(f"read as a {preset} export ({why}); --preset overrides")
        if preset != "generic":
            mapping, more = presets.build(
                preset,
                path,
                currency=ws.config["workspace"]["currency"],
                encoding=encoding or "auto",
                timezone=ws.timezone,
                options=options,
            )
            notes += more
            form = preset
    elif preset not in (None, "generic"):
        raise IngestError(f"--preset {preset} needs a folder of the export's files")
    if isinstance(mapping, Mapping) and mapping.rates:
        rates = ", ".join(f"{c} {r:g}" for c, r in mapping.rates.items())
        notes.append(
            f"amounts converted to {ws.config['workspace']['currency']} with the mapping's rates "
            f"(per one unit): {rates}"
        )
    if url is not None:
        found = discover_database(url, mapping if isinstance(mapping, Mapping) else None)
    else:
        found = discover(path) if mapping is None else discover_mapped(path, mapping)
    source_name = source or (
        f"mapping:{mapping.path.name}" if form == "mapping" and mapping is not None else form
    )
    if encoding is not None:
        if encoding not in KNOWN:
            raise IngestError(f"encoding {encoding!r}: use one of {', '.join(KNOWN)}")
        found = replace(found, sources=[replace(s, encoding=encoding) for s in found.sources])
    if not found.sources:
        known = ", ".join(t.file_name for t in schema.TABLES)
        where = database.shown(url) if url is not None else str(shown)
        raise IngestError(f"{where}: no table files found (expected some of: {known})")
    imported = {s.table for s in found.sources}
    _check_required(ws, Path(database.shown(url)) if url is not None else shown, imported)
    con = ws.duckdb()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")
    why = (
        f"not read by the {mapping.name} preset"
        if isinstance(mapping, Mapping) and mapping.name
        else "not a table of the data contract"
    )
    warnings = notes + [f"ignored {name}: {why}" for name in found.ignored]
    started = _now()
    import_id = started.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
    files: list[FileCounts] = []
    reasons: Counter[str] = Counter()
    done = 0.0
    cleared: set[str] = set()
    origins: dict[str, list[str]] = {}
    # One write (``ws.writing``): the draft generation is committed whole or dropped, so the
    # work is split into a transaction per step; DuckDB frees a dropped temporary table only
    # when its transaction ends, and one transaction for all files held every file's cells
    # until the end (4.7 GB on a 10M-row org instead of the largest file's).
    with ws.transaction() as con:
        ensure_tables(con)
        if isinstance(mapping, Mapping):
            _prepare(con, path, mapping, warnings)
    for source, weight in zip(found.sources, _weights(found.sources), strict=True):
        with ws.transaction() as con:
            say(f"reading {source.label}", done)
            staged = stage(con, source)
            warnings.extend(staged.notes)
            if source.mapped is not None:
                assert isinstance(mapping, Mapping)
                staged, notes = mapped.apply(
                    con,
                    staged,
                    source.mapped,
                    mapping,
                    currency=ws.config["workspace"]["currency"],
                )
                warnings.extend(notes)
            lay = layout(con, staged, schema.table(source.table))
            refs = _checked_references(ws, lay, imported, source.label, warnings)
            if lay.extras:
                warnings.append(
                    f"{source.label}: kept extra column(s) aside in extra_columns: "
                    + ", ".join(lay.extras)
                )
            say(f"checking {source.label}", done + 0.4 * weight)
            checked = run_checks(con, lay, refs, old_extras=has_extras(con, source.table))
            say(f"storing {source.label}", done + 0.7 * weight)
            record_quarantine(
                con, checked, staged, import_id, started, clear=source.table not in cleared
            )
            cleared.add(source.table)
            drop_sources(con)
        with ws.transaction() as con:
            up = upsert(con, checked)
            origin = _origin(source)
            origins.setdefault(source.table, []).append(origin)
            record_sources(con, checked, source=source_name, import_id=import_id, origin=origin)
            drop_temps(con)
        for k in checked.quarantine_codes():
            reasons[str(checked.checks[k - 1].reason)] += checked.counts.get(k, 0)
        files.append(_counts(source, staged.rows, checked, up))
        done += weight
    with ws.transaction() as con:
        if url is not None:
            database.detach(con)
        if snapshot:
            for table in [t for t in schema.IMPORT_ORDER if t in imported]:
                gone = mark_missing(
                    con,
                    table,
                    source=source_name,
                    import_id=import_id,
                    at=started,
                    origins=origins.get(table, []),
                )
                if gone:
                    warnings.append(
                        f"snapshot of {source_name}: {gone:,} {table} no longer in the export "
                        "are flagged deleted (kept, and left out of analysis)"
                    )
        if isinstance(mapping, Mapping):
            for aux in mapping.aux:
                con.execute(f"DROP TABLE IF EXISTS {mapped.aux_table(aux.name)}")
        by_reason = {r: n for r, n in sorted(reasons.items()) if n}
        result = ImportResult(import_id, files, by_reason, warnings, form)
        where = database.shown(url) if url is not None else str(shown.resolve())
        log_import(con, result, started_at=started, finished_at=_now(), path=where)
        say("committing", 0.99)
    say("done", 1.0)
    return result
