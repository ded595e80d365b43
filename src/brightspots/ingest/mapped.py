"""Apply one table's mapping to a staged file: the file's rows as the table's columns, as text.

After ``stage`` has read a file into ``_bs_src(line, c0, c1, ...)``, :func:`apply` renames that
view ``_bs_file``, names its cells after the file's header in ``_bs_named`` (trimmed, empty =
NULL), and writes the mapped rows into ``_bs_mapped`` with the same shape the canonical import
reads: ``line`` and one text cell per column, canonical columns first, then the file's unused
columns (kept as extra columns). ``_bs_src`` then points at it, so every check, the quarantine
and the upsert work exactly as for a file in the contract; the quarantine keeps the row as the
file had it.

What becomes of a value, in order: the spec's source (column, constant, SQL expression or a key
made from the row), its value map, then what the target column's type needs:

* dates and timestamps: an explicit ``format``; else ISO text stays as it is, and dates like
  03/04/2024 or 03.04.2024 are read by ``[source] date_order``. When such dates occur and no
  order is stated, the import stops: the day and the month cannot be told apart from the file.
  Times without an offset are local to ``[source] timezone`` when it is given (else UTC).
* numbers: currency signs and codes, spaces and thousands separators are dropped and the
  ``[source] decimal`` mark becomes a point ("USD 1,200.50" -> 1200.50; "1.200,50 €" -> 1200.50
  with decimal ",").
* reps given by name or e-mail are matched (case-insensitively) to the reps of the workspace,
  this import's included. A name two reps share is not guessed: the row keeps the name, so it is
  quarantined as a missing reference, and the import warns about the clash.

A value that cannot be converted stays as written, so the checks quarantine it naming its text.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import sqlglot
from sqlglot import exp

from brightspots import schema
from brightspots.ingest.discover import Source
from brightspots.ingest.errors import IngestError
from brightspots.ingest.mapping import AuxFile, ColumnSpec, Mapping, TableMap, column_key
from brightspots.ingest.sql import ident, lit, normalized
from brightspots.ingest.stage import Staged, stage
from brightspots.ingest.tables import FILE, MAPPED, NAMED, SRC, drop_temps
from brightspots.schema import ColumnType
from brightspots.workspace import exhausted

#: non-ISO dates: d/m/y or m/d/y with /, . or - and a 2- or 4-digit year, an optional time
_LOCAL_DATE = r"^\s*[0-9]{1,2}[/.-][0-9]{1,2}[/.-][0-9]{2,4}([ T].*)?$"
_TIMES = ("", " %H:%M", " %H:%M:%S", " %I:%M %p", " %I:%M:%S %p")
# two-digit years first: DuckDB's %Y would read "24" as the year 24
_DAY_FIRST = ("%d/%m/%y", "%d.%m.%y", "%d-%m-%y", "%d/%m/%Y", "%d.%m.%Y", "%d-%m-%Y")
_MONTH_FIRST = ("%m/%d/%y", "%m.%d.%y", "%m-%d-%y", "%m/%d/%Y", "%m.%d.%Y", "%m-%d-%Y")
#: a number as written: an optional currency code or sign before or after, digits grouped by
#: three with the thousands mark, or not grouped; anything else is left for the checks to refuse
_CURRENCY_AROUND = (
    r"^(\(?)\s*(?:[A-Za-z]{3}|[A-Za-z]{0,2}\$|[$€£¥])?\s*(.*?)\s*(?:[A-Za-z]{3}|[$€£¥])?\s*(\)?)$"
)
_ISO_NAIVE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?)?$"


_FILE_COLUMN = re.compile(r'\bn\."([^"]+)"')


def _formats(order: str) -> list[str]:
    dates = _DAY_FIRST if order == "day_first" else _MONTH_FIRST
    return [d + t for d in dates for t in _TIMES]


def _sql_list(items: list[str]) -> str:
    return "[" + ", ".join(lit(i) for i in items) + "]"


class _Compiler:
    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        staged: Staged,
        tm: TableMap,
        mapping: Mapping,
        currency: str,
    ) -> None:
        self.con = con
        self.staged = staged
        self.tm = tm
        self.mapping = mapping
        self.label = staged.source.label
        self.by_key: dict[str, str] = {}
        for h in staged.header:
            name = h.strip()
            if name and column_key(name) not in self.by_key:
                self.by_key[column_key(name)] = name
        self.used: set[str] = set()
        self.joins: list[str] = list(tm.joins)
        self.warnings: list[str] = []
        self.workspace_currency = currency.upper()
        self.converting = not tm.verbatim and bool(tm.currency or mapping.currency or mapping.rates)
        self.code: str | None = None  # the row's currency, once a money column is converted
        self.rate: str | None = None

    # --------------------------------------------------------------- file columns
    def column(self, spec: ColumnSpec, name: str, *, direct: bool = True) -> str:
        """A file column; ``direct``: its value becomes the table column's (then it is not kept
        again as an extra column; columns only read by keys and expressions are)."""
        found = self.by_key.get(column_key(name))
        if found is None:
            raise self.mapping.fail(
                spec.where,
                f"{self.label} has no column {name!r}; its columns are: "
                + ", ".join(h.strip() for h in self.staged.header if h.strip()),
            )
        if direct:
            self.used.add(found)
        return f"n.{ident(found)}"

    def sql_columns(self, spec: ColumnSpec, sql: str) -> str:
        """The expression with its column names resolved to the file's (checked by DuckDB)."""
        tree = sqlglot.parse_one(sql, read="duckdb")
        for col in tree.find_all(exp.Column):
            col.set("table", None)
            found = self.by_key.get(column_key(col.name))
            if found is None:
                raise self.mapping.fail(
                    spec.where,
                    f"the expression reads {col.name!r}, which {self.label} does not have; its "
                    "columns are: " + ", ".join(h.strip() for h in self.staged.header if h.strip()),
                )
            col.set("this", exp.to_identifier(found, quoted=True))
            col.set("table", exp.to_identifier("n"))
        return tree.sql(dialect="duckdb")

    # --------------------------------------------------------------- one spec
    def base(self, spec: ColumnSpec) -> str:
        if spec.column is not None:
            return self.column(spec, spec.column)
        if spec.value is not None:
            return lit(spec.value)
        if spec.sql is not None:
            sql = spec.sql if spec.verbatim else self.sql_columns(spec, spec.sql)
            return normalized(f"CAST(({sql}) AS VARCHAR)")
        parts = ", ".join(f"coalesce({self.column(spec, k, direct=False)}, '')" for k in spec.key)
        self.warnings.append(
            f"{self.label}: {spec.target} made from each row's {', '.join(spec.key)} (the export "
            "has no id): the same row always gets the same id, so importing again adds nothing"
        )
        return f"'K' || left(sha256(concat_ws(chr(31), {parts})), 20)"

    def mapped_values(self, spec: ColumnSpec, v: str) -> str:
        if not spec.values:
            return v
        whens = " ".join(f"WHEN {lit(k)} THEN {lit(t)}" for k, t in spec.values.items())
        other = lit(spec.default) if spec.default is not None else v
        return f"CASE WHEN {v} IS NULL THEN NULL ELSE CASE lower({v}) {whens} ELSE {other} END END"

    def expression(self, spec: ColumnSpec) -> str:
        table = schema.BY_NAME[self.tm.table]
        if spec.target not in table.column_names:  # a preset's extra column
            return self.base(spec)
        col = table.column(spec.target)
        v = self.mapped_values(spec, self.base(spec))
        if spec.salesforce_id:
            v = salesforce_id(v)
        if spec.rep is not None:
            return self.rep(spec, v)
        if col.type in (ColumnType.DATE, ColumnType.TIMESTAMP):
            return self.when(spec, col.type, v)
        if col.type == ColumnType.MONEY and self.converting:
            return self.money(spec, v)
        if col.type in (ColumnType.MONEY, ColumnType.FLOAT, ColumnType.INT):
            return self.number(v)
        return v

    # --------------------------------------------------------------- types
    def when(self, spec: ColumnSpec, kind: ColumnType, v: str) -> str:
        out = "%Y-%m-%d" if kind == ColumnType.DATE else "%Y-%m-%dT%H:%M:%S"
        if spec.format is not None:
            parsed = f"try_strptime({v}, {lit(spec.format)})"
        else:
            self.check_date_order(spec, v)
            order = self.mapping.date_order
            local = (
                f"try_strptime({v}, {_sql_list(_formats(order))})" if order is not None else "NULL"
            )
            iso = (
                f"CASE WHEN regexp_full_match({v}, {lit(_ISO_NAIVE)}) "
                f"THEN TRY_CAST({v} AS TIMESTAMP) END"
            )
            parsed = f"coalesce({iso}, {local})"
        tz = self.mapping.timezone
        zoned = spec.format is not None and ("%z" in spec.format or "%Z" in spec.format)
        if kind == ColumnType.TIMESTAMP and tz is not None and not zoned:
            parsed = f"timezone('UTC', timezone({lit(tz)}, {parsed}))"
        converted = f"strftime({parsed}, {lit(out)})"
        if spec.format is None:
            # an ISO timestamp with an offset is already exact: leave it to the checks
            keep = (
                f"regexp_full_match({v}, {lit(_ISO_NAIVE)}) "
                f"OR regexp_matches({v}, {lit(_LOCAL_DATE)})"
            )
            return f"CASE WHEN {keep} THEN coalesce({converted}, {v}) ELSE {v} END"
        return f"coalesce({converted}, {v})"

    def check_date_order(self, spec: ColumnSpec, v: str) -> None:
        if self.mapping.date_order is not None:
            return
        row = self.con.execute(
            f"SELECT n.line, {v} FROM {NAMED} AS n {' '.join(self.joins)} "
            f"WHERE regexp_matches({v}, {lit(_LOCAL_DATE)}) ORDER BY n.line LIMIT 1"
        ).fetchall()
        if row:
            line, value = row[0]
            raise self.mapping.fail(
                spec.where,
                f"{self.label}, line {line}: a date written {value!r} could be day-first or "
                'month-first; say which with [source] date_order = "day_first" or "month_first", '
                'or give this column a format such as format = "%d/%m/%Y"',
            )

    def number(self, v: str) -> str:
        """A number as the contract writes it, from one as an export writes it: a currency
        code or sign around it is dropped, digits grouped by three lose the thousands mark
        ("," or a space; "." with a decimal comma), the decimal mark becomes a point, and
        "(1,200.00)" is -1200. Anything else (1,5 with a decimal point, 1.5M, 12-15) is left
        as written, so the checks quarantine it naming its text."""
        comma = self.mapping.decimal == ","
        dec, group = (",", "\\.") if comma else ("\\.", ",")
        body = f"regexp_extract(trim({v}), {lit(_CURRENCY_AROUND)}, 2)"
        neg = (
            f"(regexp_extract(trim({v}), {lit(_CURRENCY_AROUND)}, 1) = '(' AND "
            f"regexp_extract(trim({v}), {lit(_CURRENCY_AROUND)}, 3) = ')')"
        )
        grouped = rf"^[+-]?[0-9]{{1,3}}({group}[0-9]{{3}})+({dec}[0-9]+)?$"
        spaced = rf"^[+-]?[0-9]{{1,3}}( [0-9]{{3}})+({dec}[0-9]+)?$"
        plain = (
            r"^[+-]?[0-9]+(,[0-9]+)?$"
            if comma
            else r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$"
        )
        digits = f"regexp_replace({body}, '[ {group}]', '', 'g')"
        if comma:
            digits = f"replace({digits}, ',', '.')"
        sign = f"CASE WHEN {neg} THEN '-' ELSE '' END"
        return (
            f"CASE WHEN {v} IS NULL THEN NULL "
            + ("" if comma else f"WHEN regexp_full_match({v}, {lit(plain)}) THEN {v} ")
            + f"WHEN regexp_full_match({body}, {lit(plain)}) OR "
            f"regexp_full_match({body}, {lit(grouped)}) OR "
            f"regexp_full_match({body}, {lit(spaced)}) "
            f"THEN {sign} || {digits} ELSE {v} END"
        )

    # --------------------------------------------------------------- currencies
    def money(self, spec: ColumnSpec, v: str) -> str:
        """An amount in the workspace currency: its number times the rate of the row's currency
        (the currency column, else a code or sign in the value, else ``[source] currency``). An
        amount in a currency without a rate keeps its text and says so (then quarantined)."""
        number = self.number(v)
        # a written code first (CAD $100 is Canadian); a sign only when there is none, and a
        # dollar sign with letters before it (R$, A$, HK$) is not a US dollar
        signs = (
            f"coalesce(NULLIF(regexp_extract({v}, '(^|[^A-Za-z])([A-Z]{{3}})([^A-Za-z]|$)', 2), "
            f"''), CASE WHEN contains({v}, '€') THEN 'EUR' WHEN contains({v}, '£') THEN 'GBP' "
            f"WHEN contains({v}, '¥') THEN 'JPY' "
            f"WHEN regexp_matches({v}, '[A-Za-z]\\$') THEN '?' "
            f"WHEN contains({v}, '$') THEN 'USD' END)"
        )
        parts = []
        if self.tm.currency is not None:
            col = self.column(
                ColumnSpec(spec.target, where=f"{self.tm.where}.currency"), self.tm.currency
            )
            parts.append(f"NULLIF(upper(trim({col})), '')")
        parts.append(signs)
        parts.append(lit(self.mapping.currency or self.workspace_currency))
        code = f"coalesce({', '.join(parts)})"
        whens = " ".join(
            f"WHEN {lit(c)} THEN {r!r}"
            for c, r in self.mapping.rates.items()
            if c != self.workspace_currency
        )
        rate = f"CASE {code} WHEN {lit(self.workspace_currency)} THEN 1.0 {whens} ELSE NULL END"
        if self.code is None:
            self.code, self.rate = code, rate
        return (
            f"CASE WHEN {number} IS NULL OR NOT regexp_matches({number}, '^[+-]?[0-9.]') "
            f"THEN {number} WHEN ({rate}) IS NULL THEN {v} || ' (no rate for ' || {code} || ')' "
            f"ELSE coalesce(CAST(TRY_CAST({number} AS DOUBLE) * ({rate}) AS VARCHAR), {v}) END"
        )

    # --------------------------------------------------------------- reps by name
    def rep(self, spec: ColumnSpec, v: str) -> str:
        field = "name" if spec.rep == "name" else "email"
        alias = f"rep_{len(self.joins)}"
        self.joins.append(
            f"LEFT JOIN (SELECT lower(trim({field})) AS k, min(rep_id) AS rep_id, count(*) AS n "
            f"FROM reps WHERE {field} IS NOT NULL GROUP BY 1) AS {alias} "
            f"ON {alias}.k = lower({v})"
        )
        clash = self.con.execute(
            f"SELECT {v}, count(*), any_value({alias}.n) FROM {NAMED} AS n "
            f"{self.joins[-1]} WHERE {alias}.n > 1 GROUP BY 1 ORDER BY 1 LIMIT 5"
        ).fetchall()
        for name, rows, reps in clash:
            self.warnings.append(
                f"{self.label}: {rows} row(s) give {spec.target} {name!r}, a {field} {reps} reps "
                "share; not guessed (those rows are quarantined as a missing reference)"
            )
        return f"CASE WHEN {alias}.n = 1 THEN {alias}.rep_id ELSE {v} END"


def apply(
    con: duckdb.DuckDBPyConnection,
    staged: Staged,
    tm: TableMap,
    mapping: Mapping,
    *,
    currency: str = "USD",
) -> tuple[Staged, list[str]]:
    """The staged file as ``tm.table``'s columns (see the module docstring), and warnings."""
    con.execute(f"ALTER VIEW {SRC} RENAME TO {FILE}")
    names: dict[str, int] = {}
    for i, h in enumerate(staged.header):
        name = h.strip() or f"column{i + 1}"
        if column_key(name) in {column_key(n) for n in names}:
            raise mapping.fail(
                tm.where, f"{staged.source.label}: column {name!r} appears twice; keep one"
            )
        names[name] = i
    cells = [f"{normalized(Staged.cell(i))} AS {ident(n)}" for n, i in names.items()]
    if tm.verbatim:
        # a preset reads columns some exports leave out (an org without multi-currency has no
        # CurrencyIsoCode): those are empty, except the ones it cannot do without
        have = {column_key(n) for n in names}
        text = " ".join([*(s.sql or "" for s in tm.columns.values()), tm.skip or "", *tm.joins])
        wanted = dict.fromkeys(_FILE_COLUMN.findall(text))
        lacking = [c for c in tm.requires if column_key(c) not in have]
        if lacking:
            raise IngestError(
                f"{staged.source.label}: no {', '.join(lacking)} column; the columns are: "
                + ", ".join(h.strip() for h in staged.header if h.strip())
            )
        cells += [f"NULL::VARCHAR AS {ident(c)}" for c in wanted if column_key(c) not in have]
    con.execute(f"CREATE TEMP VIEW {NAMED} AS SELECT line, {', '.join(cells)} FROM {FILE}")
    comp = _Compiler(con, staged, tm, mapping, currency)
    outputs = {target: comp.expression(spec) for target, spec in tm.columns.items()}
    if comp.code is not None and comp.rate is not None:  # kept beside the row
        outputs["currency"] = comp.code
        outputs["conversion_rate"] = f"CAST(({comp.rate}) AS VARCHAR)"
    table = schema.BY_NAME[tm.table]
    taken = {column_key(c) for c in table.column_names}
    for name in names if tm.keep_extras else ():
        if name in comp.used:
            continue
        key = column_key(name)
        if key in taken and key not in outputs:
            # already the contract's name: read like a mapped column (zone, dates, numbers)
            target = next(c for c in table.column_names if column_key(c) == key)
            outputs[target] = comp.expression(ColumnSpec(target, column=name, where=tm.where))
            comp.used.add(name)
        else:
            clash = key in taken or key in {column_key(o) for o in outputs}
            outputs[f"{name} (in file)" if clash else name] = f"n.{ident(name)}"
    skip = None
    if tm.skip is not None:
        skip = (
            tm.skip
            if tm.verbatim
            else comp.sql_columns(ColumnSpec(target="", where=f"{tm.where}.skip"), tm.skip)
        )
        outputs = {
            k: f"CASE WHEN coalesce(({skip}), false) THEN NULL ELSE {e} END"
            for k, e in outputs.items()
        }
    header = tuple(outputs)
    select = ", ".join(f"{e} AS {Staged.cell(i)}" for i, e in enumerate(outputs.values()))
    try:
        con.execute(
            f"CREATE TEMP TABLE {MAPPED} AS SELECT n.line, {select} FROM {NAMED} AS n "
            + " ".join(comp.joins)
        )
    except duckdb.Error as e:
        if exhausted(e):
            raise  # the machine's limit, not the mapping's fault: the import names it
        first = str(e).strip().splitlines()[0]
        raise mapping.fail(
            tm.where, f"{staged.source.label}: the mapping fails ({first})"
        ) from None
    con.execute(f"CREATE TEMP VIEW {SRC} AS SELECT * FROM {MAPPED}")
    if skip is not None:
        joins = " ".join(comp.joins)
        n = con.execute(
            f"SELECT count(*) FROM {NAMED} AS n {joins} WHERE coalesce(({skip}), false)"
        ).fetchall()[0][0]
        if n:
            comp.warnings.append(f"{staged.source.label}: {n:,} {tm.skip_reason} skipped")
    sources = {
        target: spec.column
        for target, spec in tm.columns.items()
        if spec.column is not None and column_key(spec.column) != column_key(target)
    }
    return (
        Staged(
            staged.source,
            header,
            staged.rows,
            original=tuple(names),
            sources=sources,
            notes=staged.notes,
        ),
        comp.warnings,
    )


def salesforce_id(v: str) -> str:
    """A Salesforce id in its 18-character form (the checksum of its first 15 characters); the
    empty-lookup id 000000000000000(AAA) is no id; other text is left as it is."""
    from brightspots.ingest.presets.salesforce import suffix_sql

    first = f"left({v}, 15)"
    return (
        f"CASE WHEN {first} = '000000000000000' THEN NULL "
        f"WHEN length({v}) IN (15, 18) AND regexp_full_match({v}, '[0-9A-Za-z]+') "
        f"THEN {first} || {suffix_sql(first)} ELSE {v} END"
    )


def aux_table(name: str) -> str:
    return f"_bs_aux_{name}"


def stage_aux(con: duckdb.DuckDBPyConnection, folder: Path, aux: AuxFile, mapping: Mapping) -> str:
    """Read ``aux``'s file whole into ``_bs_aux_<name>`` (see ``Mapping.aux``); a note when an
    optional file is missing."""
    table = aux_table(aux.name)
    files = {p.name.lower(): p for p in folder.iterdir() if p.is_file()}
    found = files.get(aux.file.lower())
    if found is None:
        if aux.required:
            raise IngestError(f"{folder}: no {aux.file}, which the {mapping.name} export needs")
        cols = ", ".join(f"NULL::VARCHAR AS {ident(c)}" for c in aux.columns)
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT NULL::BIGINT AS line, {cols} "
            "WHERE false"
        )
        return f"no {aux.file}: {aux.missing}" if aux.missing else ""
    source = Source("reps", found, "csv", None, None, mapping.encoding)
    staged = stage(con, source)
    header = {
        column_key(h.strip() or f"column{i + 1}"): (i, h.strip() or f"column{i + 1}")
        for i, h in reversed(list(enumerate(staged.header)))
    }
    cells = [f"{normalized(Staged.cell(i))} AS {ident(h)}" for i, h in header.values()]
    missing = [c for c in aux.columns if column_key(c) not in header]
    cells += [f"NULL::VARCHAR AS {ident(c)}" for c in missing]
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT line, {', '.join(cells)} FROM {SRC}"
    )
    drop_temps(con)
    return ""
