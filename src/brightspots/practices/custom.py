"""A workspace's own practices: ``[[practices.custom]]`` entries of brightspots.toml, each a SQL
SELECT over the practice views (see ``views`` for the views, their columns and meaning).

Example::

    [[practices.custom]]
    id = "champion_calls"
    description = "Calls with the buyer's executive."
    level = "opportunity"          # or "rep_period"
    higher_is_better = true
    kind = "count"                 # binary | count | rate | share | hours (default: count)
    phrase = "calls with an executive"   # optional: completes "Deals with more ..."
    unit = "calls"                 # optional
    absent = "zero"                # optional: a deal the SQL returns no row for is "zero" or
                                   # "undefined"; default zero for binary, count and rate
    keywords = ["champion", "executive sponsor"]  # optional: words that name it in a story
    sql = '''
      SELECT a.opportunity_id, count(*) AS value
      FROM activities a JOIN contacts c USING (contact_id)
      WHERE a.type = 'call' AND c.seniority = 'executive'
      GROUP BY 1
    '''

The SQL is DuckDB's dialect, transpiled by SQLGlot for Spark. An ``opportunity`` practice returns
``(opportunity_id, value)``, one row per deal at most; it runs twice, over the whole-deal views
and over the landmark views, giving ``whole__<id>`` and ``primary__<id>``. A ``rep_period``
practice returns ``(rep_id, period, value)`` with ``period`` a local calendar month
``"YYYY-MM"`` (e.g. ``strftime(occurred_local, '%Y-%m')``); it runs once over the whole-deal
views, and a deal gets its owner's value of the month before its creation month (undefined when
the SQL has no row for that rep and month). ``value`` is a number (true/false count as 1/0).

Everything that can be checked without data is checked when the config is read, before any
analysis: one SELECT, only the practice views and their columns, the output columns of the
practice's level and their types (DuckDB binds the query over empty views, which also catches
an unknown function), the fields and the id. On the engine, the first run also refuses two rows for
one deal (or one rep and month) and a period that is not ``"YYYY-MM"``, naming the practice.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import duckdb
import ibis
import ibis.expr.types as ir
import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError
from sqlglot.optimizer.qualify import qualify

from brightspots.practices.registry import KINDS, LEVELS, Practice, PracticeConfigError
from brightspots.practices.views import VIEW_COLUMNS, VIEW_NAMES, Views

READ_DIALECT = "duckdb"
REQUIRED = ("id", "description", "level", "higher_is_better", "sql")
OPTIONAL = ("kind", "phrase", "unit", "absent", "keywords")
OUTPUTS = {"opportunity": ("opportunity_id", "value"), "rep_period": ("rep_id", "period", "value")}
_ID = re.compile(r"^[a-z][a-z0-9_]{0,59}$")
_UNKNOWN_COLUMN = re.compile(r"Column '\"?(\w+)\"?' could not be resolved|Unknown column: (\w+)")
_OUTCOMES = {"stage", "amount", "closed_at"}
_PREFIX = "bs_practice_view_"  # the views' names inside the query run on the engine
_SQL_TYPES = {
    "string": "VARCHAR",
    "int64": "BIGINT",
    "float64": "DOUBLE",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
}
_NUMBERS = {
    "BOOLEAN",
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
    "UHUGEINT",
    "FLOAT",
    "DOUBLE",
    '"NULL"',
    "NULL",
}


def _fail(pid: str, what: str) -> PracticeConfigError:
    return PracticeConfigError(f"practice {pid!r} in brightspots.toml: {what}")


def _a(level: str) -> str:
    return f"an {level!r}" if level == "opportunity" else f"a {level!r}"


def _schema() -> dict[str, dict[str, str]]:
    return {v: {c: _SQL_TYPES[t] for c, t in cols.items()} for v, cols in VIEW_COLUMNS.items()}


def _views_list() -> str:
    return ", ".join(VIEW_NAMES)


# ------------------------------------------------------------------ the SQL


def _parse(pid: str, sql: str) -> exp.Query:
    try:
        statements = [s for s in sqlglot.parse(sql, read=READ_DIALECT) if s is not None]
    except ParseError as e:
        err = e.errors[0] if e.errors else {}
        where = f" (line {err['line']}, column {err['col']})" if "line" in err else ""
        raise _fail(
            pid, f"its sql does not parse as SQL: {err.get('description', str(e))}{where}"
        ) from None
    if len(statements) != 1:
        raise _fail(pid, f"its sql holds {len(statements)} statements; write a single SELECT")
    tree = statements[0]
    if not isinstance(tree, exp.Query):
        kind = tree.key.upper()
        article = "an" if kind[:1] in "AEIOU" else "a"
        raise _fail(pid, f"its sql is {article} {kind} statement; write a single SELECT")
    return tree


def _check_tables(pid: str, tree: exp.Query) -> None:
    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    for name in sorted(ctes & set(VIEW_NAMES)):
        raise _fail(
            pid,
            f"its sql defines a WITH table named {name!r}, the name of a practice view; "
            "give it another name",
        )
    for t in tree.find_all(exp.Table):
        if not isinstance(t.this, exp.Identifier):
            raise _fail(
                pid,
                f"its sql reads from {t.this.sql(READ_DIALECT)!r}, which is not one of the "
                f"practice views ({_views_list()})",
            )
        name = t.name.lower()
        if t.args.get("db") or t.args.get("catalog"):
            raise _fail(
                pid,
                f"its sql reads table {t.sql(READ_DIALECT)!r}; the practice views are plain "
                f"names ({_views_list()})",
            )
        if name not in VIEW_NAMES and name not in ctes:
            raise _fail(
                pid,
                f"its sql reads table {t.name!r}, which is not one of the practice views "
                f"({_views_list()})",
            )


def _qualified(pid: str, tree: exp.Query) -> exp.Query:
    try:
        return qualify(
            tree.copy(),
            schema=_schema(),
            dialect=READ_DIALECT,
            validate_qualify_columns=True,
            quote_identifiers=False,
        )
    except sqlglot.errors.SqlglotError as e:
        used = sorted({t.name.lower() for t in tree.find_all(exp.Table)} & set(VIEW_NAMES))
        cols = "; ".join(f"{v}: {', '.join(VIEW_COLUMNS[v])}" for v in used)
        found = _UNKNOWN_COLUMN.search(str(e))
        if found is None:
            raise _fail(pid, f"its sql does not fit the practice views: {e} ({cols})") from None
        name = found.group(1) or found.group(2)
        why = (
            f"; {name} is an outcome, left out of the opportunities view"
            if name.lower() in _OUTCOMES
            else ""
        )
        raise _fail(
            pid,
            f"its sql reads column {name!r}, which the views it reads do not have{why} ({cols})",
        ) from None


def _check_outputs(pid: str, level: str, tree: exp.Query) -> None:
    names = [n.lower() for n in tree.named_selects]
    want = OUTPUTS[level]
    if sorted(names) == sorted(want):
        return
    shown = ", ".join(names) or "no named column"
    for other, cols in OUTPUTS.items():
        if other != level and sorted(names) == sorted(cols):
            raise _fail(
                pid,
                f"its level is {level!r} but its sql returns ({shown}), the columns of "
                f"{_a(other)} practice; {_a(level)} practice returns ({', '.join(want)})",
            )
    raise _fail(
        pid,
        f"its sql returns ({shown}); {_a(level)} practice returns ({', '.join(want)}), "
        "named exactly so (use AS)",
    )


def _check_types(pid: str, tree: exp.Query) -> None:
    """The output columns' types, as DuckDB binds the query over empty views (exact, and the
    same whatever the version of the SQL parser's own type inference)."""
    con = duckdb.connect()
    try:
        for view, cols in _schema().items():
            body = ", ".join(f'"{c}" {t}' for c, t in cols.items())
            con.execute(f'CREATE TABLE "{view}" ({body})')
        try:
            rel = con.sql(tree.sql(READ_DIALECT))
        except duckdb.Error as e:
            first = str(e).strip().splitlines()[0]
            raise _fail(pid, f"its sql fails: {first}") from None
        types = {c.lower(): str(t).upper() for c, t in zip(rel.columns, rel.types, strict=True)}
    finally:
        con.close()
    value = types.get("value", "DOUBLE")
    if not (value in _NUMBERS or value.startswith("DECIMAL")):
        raise _fail(
            pid,
            f"its value column is {value}; a practice value must be a number (true/false count "
            "as 1/0)",
        )
    period = types.get("period")
    if period is not None and period != "VARCHAR":
        raise _fail(
            pid,
            f"its period column is {period}; a period is the text 'YYYY-MM' of a local month, "
            "e.g. strftime(occurred_local, '%Y-%m')",
        )


def check_sql(pid: str, sql: str, level: str) -> exp.Query:
    """The parsed SELECT of a custom practice, or ``PracticeConfigError`` saying what is wrong."""
    tree = _parse(pid, sql)
    _check_tables(pid, tree)
    qualified = _qualified(pid, tree)
    _check_outputs(pid, level, qualified)
    _check_types(pid, qualified)
    return tree


# ------------------------------------------------------------------ running it


def _dialect(backend: Any) -> str:
    return "spark" if backend.name == "pyspark" else backend.name


def _renamed(tree: exp.Query, suffix: str) -> exp.Query:
    """The user's SELECT reading the engine-side names of the views (aliases kept), its own
    WITH tables renamed too: an engine may lift every WITH table of the final query to one
    level (Spark does), where the two variants' queries must not share a name."""
    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    out = tree.copy()
    for cte in out.find_all(exp.CTE):
        alias = cte.args["alias"]
        alias.set("this", exp.to_identifier(f"{cte.alias_or_name.lower()}_{suffix}"))
    for t in out.find_all(exp.Table):
        name = t.name.lower()
        if name in ctes:
            new = f"{name}_{suffix}"
        elif name in VIEW_NAMES:
            new = f"{_PREFIX}{suffix}_{name}"
        else:
            continue
        if not t.alias:
            t.set("alias", exp.TableAlias(this=exp.to_identifier(name)))
        t.set("this", exp.to_identifier(new))
    return out


def _query(pid: str, tree: exp.Query, level: str, views: Views) -> tuple[Any, str]:
    backend = ibis.get_backend(views.opportunities)
    dialect = _dialect(backend)
    suffix = f"{views.variant}_{pid}"
    used = sorted({t.name.lower() for t in tree.find_all(exp.Table)} & set(VIEW_NAMES))
    ctes = ", ".join(f"{_PREFIX}{suffix}_{v} AS ({backend.compile(views.table(v))})" for v in used)
    alias = exp.TableAlias(this=exp.to_identifier(f"bs_q_{suffix}"))
    q = exp.Subquery(this=_renamed(tree, suffix), alias=alias)
    casts = [
        exp.cast(exp.column(c), "double" if c == "value" else "text").as_(c) for c in OUTPUTS[level]
    ]
    outer = exp.select(*casts).from_(q).sql(dialect)
    return backend, (f"WITH {ctes} " if ctes else "") + outer


def _engine_check(pid: str, backend: Any, t: ir.Table, level: str, variant: str) -> None:
    keys = list(OUTPUTS[level][:-1])
    dup = t.group_by(keys).agg(n=t.count())
    dup = dup.filter(dup.n > 1).order_by([ibis.desc("n"), *keys]).limit(1)
    checks = {"repeat": dup}
    if level == "rep_period":
        bad = t.filter(~t.period.re_search(r"^[0-9]{4}-[0-9]{2}$"))
        checks["period"] = bad.order_by("period").limit(1)
    try:
        found = {k: backend.execute(e) for k, e in checks.items()}
    except Exception as e:  # the engine's own error: name the practice that caused it
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise _fail(pid, f"its sql fails on {backend.name} ({variant} views): {first}") from None
    if len(found["repeat"]):
        row = found["repeat"].iloc[0]
        key = ", ".join(f"{k} {row[k]!r}" for k in keys)
        raise _fail(
            pid,
            f"its sql returns {int(row['n'])} rows for {key} ({variant} views); return at most "
            "one row per " + ("opportunity" if level == "opportunity" else "rep and period"),
        )
    if level == "rep_period" and len(found["period"]):
        raise _fail(
            pid,
            f"its sql returns period {found['period'].iloc[0]['period']!r}; a period is the "
            "text 'YYYY-MM' of a local month, e.g. strftime(occurred_local, '%Y-%m')",
        )


def _builder(pid: str, tree: exp.Query, level: str) -> Callable[[Views], ir.Table]:
    def build(views: Views) -> ir.Table:
        backend, query = _query(pid, tree, level, views)
        types = {c: ("float64" if c == "value" else "string") for c in OUTPUTS[level]}
        try:
            t = backend.sql(query, schema=ibis.schema(types))
        except Exception as e:
            raise _fail(pid, f"its sql fails on {backend.name}: {e}") from None
        _engine_check(pid, backend, t, level, views.variant)
        return t

    return build


# ------------------------------------------------------------------ the config entries


def _field(pid: str, entry: dict[str, Any], name: str, kind: type, default: Any = None) -> Any:
    value = entry.get(name, default)
    if not isinstance(value, kind) or (kind is str and name != "unit" and not value.strip()):
        shown = "text" if kind is str else "true or false" if kind is bool else kind.__name__
        raise _fail(pid, f"field {name!r} = {value!r} must be {shown}")
    return value


def _keywords(pid: str, entry: dict[str, Any]) -> tuple[str, ...]:
    """``keywords``: a list of words or phrases (each some text), kept as written, trimmed."""
    value = entry.get("keywords", [])
    if not isinstance(value, list) or not all(isinstance(w, str) and w.strip() for w in value):
        raise _fail(
            pid,
            f"keywords = {value!r} must be a list of words or phrases, e.g. "
            '["champion", "executive sponsor"]',
        )
    return tuple(dict.fromkeys(w.strip() for w in value))


def _choice(pid: str, entry: dict[str, Any], name: str, allowed: tuple[str, ...], default=None):
    value = entry.get(name, default)
    if value not in allowed:
        raise _fail(pid, f"{name} = {value!r}; use one of {', '.join(repr(a) for a in allowed)}")
    return value


def custom_practice(entry: Any, number: int, *, reserved: set[str]) -> Practice:
    """One ``[[practices.custom]]`` entry (``number`` counts from 1) as a validated practice."""
    where = f"[[practices.custom]] entry {number} in brightspots.toml"
    if not isinstance(entry, dict):
        raise PracticeConfigError(f"{where} is not a table of fields (id, description, ...)")
    if "id" not in entry:
        raise PracticeConfigError(f"{where} has no id; each practice needs an id")
    pid = entry["id"]
    if not isinstance(pid, str) or not _ID.match(pid):
        raise PracticeConfigError(
            f"practice {pid!r} in brightspots.toml: the id must be a lower-case identifier "
            "(a letter, then letters, digits or _; at most 60 characters)"
        )
    if pid in reserved:
        raise _fail(pid, f"{pid!r} is the id of a built-in practice; choose another id")
    unknown = sorted(set(entry) - set(REQUIRED) - set(OPTIONAL))
    if unknown:
        raise _fail(
            pid,
            f"unknown field {unknown[0]!r}; the fields are {', '.join(REQUIRED + OPTIONAL)}",
        )
    missing = [f for f in REQUIRED if f not in entry]
    if missing:
        raise _fail(
            pid,
            f"missing field {missing[0]!r} (each [[practices.custom]] needs {', '.join(REQUIRED)})",
        )
    description = _field(pid, entry, "description", str)
    level = _choice(pid, entry, "level", LEVELS)
    higher = _field(pid, entry, "higher_is_better", bool)
    kind = _choice(pid, entry, "kind", KINDS, "count")
    absent = _choice(
        pid,
        entry,
        "absent",
        ("zero", "undefined"),
        "undefined" if kind in ("share", "hours") else "zero",
    )
    phrase = _field(pid, entry, "phrase", str, description.strip().rstrip(".").lower())
    unit = _field(pid, entry, "unit", str, "")
    sql = _field(pid, entry, "sql", str)
    keywords = _keywords(pid, entry)
    tree = check_sql(pid, sql, level)
    return Practice(
        id=pid,
        description=description.strip(),
        level=level,
        higher_is_better=higher,
        kind=kind,
        primary="prior_period" if level == "rep_period" else "landmark",
        phrase=phrase,
        unit=unit,
        source="custom",
        build=_builder(pid, tree, level),
        absent=absent,
        sql=sql,
        keywords=keywords,
    )


def custom_practices(entries: Any, *, reserved: set[str]) -> list[Practice]:
    """``[practices] custom`` (a list of tables) as validated practices, in config order."""
    if not isinstance(entries, list):
        raise PracticeConfigError(
            "[practices] custom in brightspots.toml must be a list of [[practices.custom]] tables"
        )
    out: list[Practice] = []
    seen: dict[str, int] = {}
    for number, entry in enumerate(entries, start=1):
        p = custom_practice(entry, number, reserved=reserved)
        if p.id in seen:
            raise _fail(
                p.id,
                f"defined twice, by [[practices.custom]] entries {seen[p.id]} and {number}; "
                "give each practice its own id",
            )
        seen[p.id] = number
        out.append(p)
    return out
