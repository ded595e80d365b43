"""Mapping files: how any export's files and columns become the canonical tables.

A mapping file is TOML. ``[source]`` holds what is true of every file; each canonical table names
the file that feeds it and says where each of its columns comes from::

    [source]
    date_order = "day_first"        # how to read dates like 03/04/2024: "day_first" or
                                    # "month_first" (never guessed); ISO dates need nothing
    timezone = "Europe/Paris"       # times without an offset are local to this zone (else UTC)
    decimal = ","                   # amounts like 1.234,56 (default ".": 1,234.56)
    encoding = "cp1252"             # default: detected (UTF-8, UTF-8 with BOM, else cp1252)
    currency = "EUR"                # amounts are in this currency unless a row says otherwise

    [rates]                         # workspace currency per one unit of each other currency
    EUR = 1.08
    GBP = 1.27

    [tables.opportunities]
    file = "Deals.csv"
    skip = "\\"Pipeline\\" = 'Test'"   # rows left out (counted as skipped): SQL over the columns
    currency = "Currency"           # the column with each row's currency code

    [tables.opportunities.columns]
    opportunity_id = "Deal ID"                          # a column of the file
    owner_rep_id = { column = "Owner", rep = "name" }   # reps given by name (or "email")
    stage = { column = "Stage", values = { "Closed Won" = "won", "Closed Lost" = "lost" },
              default = "open" }                        # value map; others -> default (or as is)
    created_at = { column = "Created", format = "%d.%m.%Y %H:%M" }   # an explicit format
    source = { value = "inbound" }                      # a constant
    product = { sql = "upper(\\"Product line\\")" }       # an SQL expression over the columns
    account_id = { key = ["Company", "Country"] }       # a key made from the row's content

A table fed by several files is a list: ``[[tables.activities]]`` once per file. Column names are
matched trimmed and case-insensitively. Columns of the file that no mapping uses are kept as extra
columns, as in a canonical import, unless the table says ``extras = false`` (for a table read out
of another's file, e.g. the reps of a deals report, whose rows repeat). Everything here is
checked when the file is read: an error names the mapping file, the key
(``tables.opportunities.columns.stage``) and what is wrong. ``salesforce_id = true`` on a column
stores Salesforce ids (a report's 15 characters) in their 18-character form.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

from brightspots import schema
from brightspots.ingest.errors import IngestError

DATE_ORDERS = ("day_first", "month_first")
DECIMALS = (".", ",")
ENCODINGS = ("auto", "utf-8", "utf-8-sig", "cp1252", "latin-1")
REP_BY = ("name", "email")
_SPEC_KEYS = {
    "column",
    "values",
    "default",
    "format",
    "value",
    "sql",
    "key",
    "rep",
    "salesforce_id",
}
_TABLE_KEYS = {"file", "sheet", "skip", "columns", "currency", "extras"}
_SOURCE_KEYS = {"date_order", "timezone", "decimal", "encoding", "currency"}


class MappingError(IngestError):
    """A mapping file that cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class ColumnSpec:
    """Where one canonical column comes from: exactly one of column, value, sql or key."""

    target: str
    column: str | None = None
    value: str | None = None
    sql: str | None = None
    key: tuple[str, ...] = ()
    values: dict[str, str] = field(default_factory=dict)  # lower-cased source text -> value
    default: str | None = None
    format: str | None = None
    rep: str | None = None  # resolve reps by "name" or "email"
    where: str = ""  # the key in the mapping file, for messages
    #: presets only: ``sql`` is used as written, over ``n`` (the file's row, columns named as in
    #: its header) and the table map's joins
    verbatim: bool = False
    #: Salesforce ids (a report's 15 characters): stored in their 18-character form
    salesforce_id: bool = False


@dataclass(frozen=True)
class TableMap:
    table: str
    file: str
    sheet: str | None
    skip: str | None
    columns: dict[str, ColumnSpec]
    where: str  # "tables.opportunities" or "tables.activities[2]"
    skip_reason: str = "rows matching skip"  # said when rows are skipped
    #: presets only: SQL joins to the import's auxiliary tables (see ``Mapping.aux``), the skip
    #: rule written over them as it is, and whether unused file columns are kept as extras
    joins: tuple[str, ...] = ()
    verbatim: bool = False
    keep_extras: bool = True
    #: presets only: file columns without which the file cannot be read
    requires: tuple[str, ...] = ()
    #: presets only: the rows come from this SQL over the auxiliary tables (a ``line`` column,
    #: then named text columns) instead of a file; ``file`` is then only its name in reports
    query: str | None = None
    #: the file column holding each row's currency code (amounts are converted with ``rates``)
    currency: str | None = None
    #: what a snapshot calls this feed (default ``where``): records are flagged deleted only
    #: when the same feed is delivered without them
    origin: str = ""


@dataclass(frozen=True)
class AuxFile:
    name: str
    file: str
    columns: tuple[str, ...]  # columns the joins read (present even when the file lacks them)
    required: bool = False
    missing: str = ""  # what it means when the (optional) file is not there; "" says nothing


@dataclass(frozen=True)
class Mapping:
    path: Path
    date_order: str | None = None
    timezone: str | None = None
    decimal: str = "."
    encoding: str = "auto"
    tables: tuple[TableMap, ...] = ()
    #: the files' currency when a row does not say (``[source] currency``), and the rates:
    #: workspace currency per one unit of each currency (``[rates]``)
    currency: str | None = None
    rates: dict[str, float] = field(default_factory=dict)
    #: presets only: files read whole before the tables, as ``_bs_aux_<name>`` (a ``line``
    #: column and one text column per header name), for the table maps' joins; a missing
    #: optional file is an empty table with the named columns
    aux: tuple[AuxFile, ...] = ()
    #: presets only: SQL run once before the tables (e.g. macros the expressions use)
    setup: tuple[str, ...] = ()
    name: str = ""  # the preset's name, when a preset made it

    def fail(self, where: str, what: str) -> MappingError:
        return MappingError(f"{self.path.name}, {where}: {what}")


def _fail(path: Path, where: str, what: str) -> MappingError:
    return MappingError(f"{path.name}, {where}: {what}")


def _text(path: Path, where: str, v: Any) -> str:
    if not isinstance(v, str) or not v.strip():
        raise _fail(path, where, f"{v!r} must be text")
    return v.strip()


def _choice(path: Path, where: str, v: Any, allowed: tuple[str, ...]) -> str:
    if v not in allowed:
        raise _fail(path, where, f"{v!r} is not one of {', '.join(map(repr, allowed))}")
    return str(v)


def check_expression(path: Path, where: str, sql: str) -> None:
    """One SQL expression (no statement, no subquery): parsed now, bound when imported."""
    try:
        parsed = sqlglot.parse_one(f"SELECT {sql}", read="duckdb")
    except ParseError as e:
        first = str(e).splitlines()[0]
        raise _fail(path, where, f"not a valid SQL expression ({first})") from None
    nested = [s for s in parsed.find_all(exp.Select) if s is not parsed]
    if (
        not isinstance(parsed, exp.Select)
        or len(parsed.expressions) != 1
        or parsed.args.get("from") is not None
        or nested
    ):
        raise _fail(
            path,
            where,
            'must be one SQL expression over the file\'s columns, e.g. upper("Product")',
        )


def _spec(path: Path, where: str, target: str, raw: Any) -> ColumnSpec:
    if isinstance(raw, str):
        return ColumnSpec(target, column=_text(path, where, raw), where=where)
    if not isinstance(raw, dict):
        raise _fail(path, where, 'must be a column name or a table such as { column = "..." }')
    unknown = sorted(set(raw) - _SPEC_KEYS)
    if unknown:
        raise _fail(
            path,
            where,
            f"unknown field(s) {', '.join(map(repr, unknown))}; use any of "
            + ", ".join(sorted(_SPEC_KEYS)),
        )
    sources = [k for k in ("column", "value", "sql", "key") if k in raw]
    if len(sources) != 1:
        raise _fail(
            path,
            where,
            "give exactly one of column, value, sql or key"
            + (f" (found {', '.join(sources)})" if sources else ""),
        )
    values: dict[str, str] = {}
    if "values" in raw:
        if not isinstance(raw["values"], dict) or not raw["values"]:
            raise _fail(path, f"{where}.values", "must be a table of text = text")
        for k, v in raw["values"].items():
            values[str(k).strip().lower()] = _text(path, f"{where}.values.{k}", v)
    key: tuple[str, ...] = ()
    if "key" in raw:
        if not isinstance(raw["key"], list) or not raw["key"]:
            raise _fail(path, f"{where}.key", "must be a list of column names")
        key = tuple(_text(path, f"{where}.key", k) for k in raw["key"])
    sql = raw.get("sql")
    if sql is not None:
        sql = _text(path, f"{where}.sql", sql)
        check_expression(path, f"{where}.sql", sql)
    value = raw.get("value")
    if value is not None and not isinstance(value, str | int | float | bool):
        raise _fail(path, f"{where}.value", "must be text, a number or true/false")
    rep = raw.get("rep")
    if rep is not None:
        rep = _choice(path, f"{where}.rep", rep, REP_BY)
    fmt = raw.get("format")
    if fmt is not None:
        fmt = _text(path, f"{where}.format", fmt)
        if "%" not in fmt:
            raise _fail(path, f"{where}.format", f'{fmt!r} has no %-codes (e.g. "%d/%m/%Y")')
    default = raw.get("default")
    if default is not None:
        default = _text(path, f"{where}.default", default)
    sfid = raw.get("salesforce_id", False)
    if not isinstance(sfid, bool):
        raise _fail(path, f"{where}.salesforce_id", f"{sfid!r} must be true or false")
    return ColumnSpec(
        target,
        column=_text(path, f"{where}.column", raw["column"]) if "column" in raw else None,
        value=None
        if value is None
        else str(value).lower()
        if isinstance(value, bool)
        else str(value),
        sql=sql,
        key=key,
        values=values,
        default=default,
        format=fmt,
        rep=rep,
        where=where,
        salesforce_id=sfid,
    )


def _table(path: Path, name: str, where: str, raw: Any) -> TableMap:
    if not isinstance(raw, dict):
        raise _fail(path, where, "must be a table with file = ... and [columns]")
    unknown = sorted(set(raw) - _TABLE_KEYS)
    if unknown:
        raise _fail(
            path,
            where,
            f"unknown field(s) {', '.join(map(repr, unknown))}; use any of "
            + ", ".join(sorted(_TABLE_KEYS)),
        )
    if "file" not in raw:
        raise _fail(path, where, 'no file = "...": which file feeds this table?')
    table = schema.BY_NAME[name]
    cols = raw.get("columns", {})
    if not isinstance(cols, dict):
        raise _fail(path, f"{where}.columns", "must be a table of column = source")
    known = set(table.column_names)
    specs: dict[str, ColumnSpec] = {}
    for target, spec in cols.items():
        if target not in known:
            raise _fail(
                path,
                f"{where}.columns.{target}",
                f"{name} has no column {target!r}; its columns are: "
                + ", ".join(table.column_names),
            )
        specs[target] = _spec(path, f"{where}.columns.{target}", target, spec)
    skip = raw.get("skip")
    if skip is not None:
        skip = _text(path, f"{where}.skip", skip)
        check_expression(path, f"{where}.skip", skip)
    sheet = raw.get("sheet")
    currency = raw.get("currency")
    extras = raw.get("extras", True)
    if not isinstance(extras, bool):
        raise _fail(path, f"{where}.extras", f"{extras!r} must be true or false")
    return TableMap(
        table=name,
        file=_text(path, f"{where}.file", raw["file"]),
        sheet=_text(path, f"{where}.sheet", sheet) if sheet is not None else None,
        skip=skip,
        columns=specs,
        where=where,
        currency=_text(path, f"{where}.currency", currency) if currency is not None else None,
        keep_extras=extras,
    )


def _rates(path: Path, raw: Any) -> dict[str, float]:
    if not isinstance(raw, dict):
        raise _fail(path, "rates", "must be a table of CODE = rate, e.g. EUR = 1.08")
    out = {}
    for code, rate in raw.items():
        if not re.fullmatch(r"[A-Za-z]{3}", code):
            raise _fail(path, f"rates.{code}", "is not a three-letter currency code")
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not rate > 0:
            raise _fail(path, f"rates.{code}", f"{rate!r} is not a rate above 0")
        out[code.upper()] = float(rate)
    return out


def load_mapping(path: Path) -> Mapping:
    """Read and check a mapping file (see the module docstring)."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MappingError(f"{path}: no such mapping file") from None
    except tomllib.TOMLDecodeError as e:
        raise MappingError(f"{path.name}: not valid TOML ({e})") from None
    except UnicodeDecodeError:
        raise MappingError(f"{path.name}: not UTF-8 text") from None
    unknown = sorted(set(raw) - {"source", "tables", "rates"})
    if unknown:
        raise _fail(
            path, unknown[0], "unknown section; a mapping has [source], [rates] and [tables.*]"
        )
    src = raw.get("source", {})
    if not isinstance(src, dict):
        raise _fail(path, "source", "must be a table")
    bad = sorted(set(src) - _SOURCE_KEYS)
    if bad:
        raise _fail(
            path,
            f"source.{bad[0]}",
            f"unknown setting; use any of {', '.join(sorted(_SOURCE_KEYS))}",
        )
    date_order = src.get("date_order")
    if date_order is not None:
        date_order = _choice(path, "source.date_order", date_order, DATE_ORDERS)
    tz = src.get("timezone")
    if tz is not None:
        from brightspots import timezones

        tz = _text(path, "source.timezone", tz)
        try:
            timezones.zone(tz)
        except Exception as e:  # noqa: BLE001 - the zone module's own error, reworded
            raise _fail(path, "source.timezone", str(e)) from None
    decimal = _choice(path, "source.decimal", src.get("decimal", "."), DECIMALS)
    encoding = _choice(path, "source.encoding", src.get("encoding", "auto"), ENCODINGS)
    currency = src.get("currency")
    if currency is not None and not re.fullmatch(r"[A-Za-z]{3}", str(currency)):
        raise _fail(path, "source.currency", f"{currency!r} is not a three-letter currency code")
    rates = _rates(path, raw.get("rates", {}))
    tables_raw = raw.get("tables", {})
    if not isinstance(tables_raw, dict) or not tables_raw:
        raise _fail(path, "tables", "no tables: add [tables.<name>] with file = ... and columns")
    tables: list[TableMap] = []
    for name in tables_raw:
        if name not in schema.BY_NAME:
            raise _fail(
                path,
                f"tables.{name}",
                f"not a table of the data contract; use any of {', '.join(schema.IMPORT_ORDER)}",
            )
    for name in schema.IMPORT_ORDER:  # every table after those it references
        if name not in tables_raw:
            continue
        entry = tables_raw[name]
        if isinstance(entry, list):
            for i, one in enumerate(entry, start=1):
                tables.append(_table(path, name, f"tables.{name}[{i}]", one))
        else:
            tables.append(_table(path, name, f"tables.{name}", entry))
    return Mapping(
        path,
        date_order,
        tz,
        decimal,
        encoding,
        tuple(tables),
        currency=currency.upper() if currency else None,
        rates=rates,
    )


_NAME = re.compile(r"\s+")


def column_key(name: str) -> str:
    """How file columns are matched: trimmed, inner spaces collapsed, case-insensitive."""
    return _NAME.sub(" ", name.strip()).lower()
