"""``brightspots map``: look at an export's files and write a mapping to review.

Each file is matched to a table by its name and its columns (``aliases``), each table column to
a file column by the names exports use for it. Values are sampled to propose what a person would
otherwise work out by hand: the stage labels that mean won and lost, the activity types, the
order of day and month in dates, the decimal mark, whether owners are given by name or e-mail,
and a key made from the row's content when a file has no id column. Every such guess is marked
``# guess: review``; a date order the data cannot tell is left for the user to state (the import
refuses to guess it). The result is a valid mapping file (``ingest.mapping``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from brightspots import schema
from brightspots.ingest.aliases import (
    ACTIVITY_WORDS,
    COLUMN_ALIASES,
    STAGE_WORDS,
    TABLE_WORDS,
    fold,
)
from brightspots.ingest.discover import FORMATS, Source
from brightspots.ingest.errors import IngestError
from brightspots.ingest.stage import stage
from brightspots.ingest.tables import SRC

SAMPLE = 2000  # rows looked at per file
GUESS = "  # guess: review"
_DMY = re.compile(r"^\s*(\d{1,2})[/.-](\d{1,2})[/.-](\d{2,4})")
_DECIMAL_COMMA = re.compile(r"^[^0-9]*-?\d{1,3}(\.\d{3})*,\d+\D*$|^[^0-9]*-?\d+,\d{1,2}\D*$")
_DECIMAL_POINT = re.compile(r"^[^0-9]*-?\d{1,3}(,\d{3})*\.\d+\D*$")


@dataclass
class FileLook:
    path: Path
    header: list[str]
    values: dict[str, list[str]]  # column -> sampled non-empty values
    table: str | None = None
    columns: dict[str, str] = field(default_factory=dict)  # table column -> file column


def _look(con: duckdb.DuckDBPyConnection, path: Path) -> FileLook:
    fmt = FORMATS[path.suffix.lower()]
    sheet = None
    if fmt == "xlsx":
        import openpyxl

        wb = openpyxl.load_workbook(path, read_only=True)
        sheet = wb.sheetnames[0]
        wb.close()
    staged = stage(con, Source("reps", path, fmt, sheet))
    header = [h.strip() or f"column{i + 1}" for i, h in enumerate(staged.header)]
    rows = con.execute(f"SELECT * EXCLUDE (line) FROM {SRC} LIMIT {SAMPLE}").fetchall()
    values = {
        h: [str(r[i]).strip() for r in rows if r[i] and str(r[i]).strip()]
        for i, h in enumerate(header)
    }
    return FileLook(path, header, values)


def _table_score(look: FileLook, table: str) -> float:
    words = set(re.split(r"[^a-z0-9]+", fold(look.path.stem)))
    by_name = 3.0 if words & set(TABLE_WORDS[table]) else 0.0
    heads = {fold(h) for h in look.header}
    cols = [c for (t, c) in COLUMN_ALIASES if t == table]
    hits = sum(1 for c in cols if heads & ({c} | set(COLUMN_ALIASES[(table, c)])))
    return by_name + hits / max(len(cols), 1) * 2


def _match_columns(look: FileLook) -> None:
    assert look.table is not None
    t = schema.BY_NAME[look.table]
    by_fold = {fold(h): h for h in look.header}
    taken: set[str] = set()
    for col in t.column_names:
        names = (col, col.replace("_", " "), *COLUMN_ALIASES.get((t.name, col), ()))
        for n in names:
            h = by_fold.get(fold(n))
            if h is not None and h not in taken:
                look.columns[col] = h
                taken.add(h)
                break


def _date_order(looks: list[FileLook]) -> str | None | bool:
    """'day_first' / 'month_first' when the data show it, False when dates are ambiguous,
    None when there are no such dates."""
    day = month = found = False
    for look in looks:
        for vals in look.values.values():
            for v in vals:
                m = _DMY.match(v)
                if not m:
                    continue
                found = True
                a, b = int(m.group(1)), int(m.group(2))
                day |= a > 12
                month |= b > 12
    if not found:
        return None
    if day != month:
        return "day_first" if day else "month_first"
    return False


def _decimal(looks: list[FileLook]) -> str | None:
    comma = point = 0
    for look in looks:
        for col in ("amount", "annual_potential", "initial_amount"):
            h = look.columns.get(col)
            for v in look.values.get(h, []) if h else []:
                comma += bool(_DECIMAL_COMMA.match(v))
                point += bool(_DECIMAL_POINT.match(v))
    if comma > point:
        return ","
    return None


def _words_map(values: list[str], words: dict[str, tuple[str, ...]]) -> dict[str, str]:
    out = {}
    for v in sorted(set(values), key=str.casefold)[:50]:
        f = fold(v).replace(" ", "")
        for target, ws in words.items():
            if any(w.replace(" ", "") in f for w in ws):
                out[v] = target
                break
    return out


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _column_lines(look: FileLook) -> list[str]:
    assert look.table is not None
    t = schema.BY_NAME[look.table]
    lines = []
    for col, h in look.columns.items():
        vals = look.values.get(h, [])
        if col == "stage":
            mapped = _words_map(vals, STAGE_WORDS)
            pairs = ", ".join(f"{_q(k)} = {_q(v)}" for k, v in mapped.items())
            values = f", values = {{ {pairs} }}" if pairs else ""
            lines.append(f'{col} = {{ column = {_q(h)}{values}, default = "open" }}{GUESS}')
        elif col == "type" and look.table == "activities":
            mapped = _words_map(vals, ACTIVITY_WORDS)
            pairs = ", ".join(f"{_q(k)} = {_q(v)}" for k, v in mapped.items())
            values = f", values = {{ {pairs} }}" if pairs else ""
            lines.append(f'{col} = {{ column = {_q(h)}{values}, default = "other" }}{GUESS}')
        elif col.endswith("rep_id") and col != t.key and vals:
            by = (
                "email"
                if all("@" in v for v in vals[:50])
                else ("name" if all(" " in v for v in vals[:50]) else None)
            )
            if by:
                lines.append(f"{col} = {{ column = {_q(h)}, rep = {_q(by)} }}{GUESS}")
            else:
                lines.append(f"{col} = {_q(h)}")
        else:
            exact = fold(h) in (fold(col), fold(col.replace("_", " ")))
            lines.append(f"{col} = {_q(h)}" + ("" if exact else GUESS))
    if t.key not in look.columns and look.table == "reps" and "email" in look.columns:
        lines.insert(
            0,
            f"rep_id = {_q(look.columns['email'])}  # guess: review: no id column, the e-mail "
            "serves (owners given by e-mail then match too)",
        )
    elif t.key not in look.columns:
        named = [h for h in look.header if h not in look.columns.values()][:3] or look.header[:3]
        keys = ", ".join(_q(h) for h in named)
        lines.insert(
            0,
            f"{t.key} = {{ key = [{keys}] }}  # guess: review: no id column, a key from the "
            "row's content",
        )
    missing = [c.name for c in t.columns if not c.nullable and c.name not in look.columns]
    for c in missing:
        if c != t.key:
            lines.append(f'# {c} = "..."  # REQUIRED: which column holds it?')
    return lines


def propose(path: Path) -> tuple[str, list[str]]:
    """The proposed mapping file's text, and one line per file saying what was matched."""
    path = Path(path)
    if not path.is_dir():
        raise IngestError(f"{path}: not a folder; map looks at a folder of exported files")
    files = sorted(
        p
        for p in path.iterdir()
        if p.is_file() and p.suffix.lower() in FORMATS and not p.name.startswith((".", "~$"))
    )
    if not files:
        raise IngestError(f"{path}: no .csv, .parquet or .xlsx files")
    con = duckdb.connect()
    try:
        looks = [_look(con, p) for p in files]
    finally:
        con.close()
    summary = []
    for look in looks:
        scores = {t: _table_score(look, t) for t in schema.IMPORT_ORDER}
        best = max(scores, key=lambda t: scores[t])
        if scores[best] >= 1.0:
            look.table = best
            _match_columns(look)
            summary.append(
                f"{look.path.name} -> {best} ({len(look.columns)} of "
                f"{len(schema.BY_NAME[best].columns)} columns matched)"
            )
        else:
            summary.append(f"{look.path.name}: not matched to a table (left out)")
    used = [lk for lk in looks if lk.table is not None]
    out = [
        "# Mapping proposed by `brightspots map`. Lines marked `guess: review` are guesses:",
        "# check them, then import with `brightspots import FOLDER --mapping THIS_FILE`.",
        "",
        "[source]",
    ]
    order = _date_order(used)
    if order is False:
        out.append(
            '# date_order = "day_first"  # STATE THIS: dates like 03/04/2024 occur and the data '
            "cannot tell day from month"
        )
    elif order:
        out.append(f"date_order = {_q(order)}{GUESS}")
    decimal = _decimal(used)
    if decimal:
        out.append(f"decimal = {_q(decimal)}{GUESS}")
    out.append('# timezone = "Europe/Paris"  # when times without an offset are not UTC')
    for look in sorted(used, key=lambda lk: schema.IMPORT_ORDER.index(lk.table or "")):
        assert look.table is not None
        several = sum(1 for lk in used if lk.table == look.table) > 1
        head = f"[[tables.{look.table}]]" if several else f"[tables.{look.table}]"
        out += ["", head, f"file = {_q(look.path.name)}", ""]
        out.append(f"[tables.{look.table}.columns]")  # in an array: its last element's
        out += _column_lines(look)
    return "\n".join(out) + "\n", summary
