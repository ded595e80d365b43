"""The HubSpot preset: CRM exports (companies, contacts, deals, calls, meetings, e-mails).

HubSpot exports one CSV per object view (``hubspot-crm-exports-<view>-<date>.csv``), with each
property's label in the exporting user's language as the header. Which file is which object is
read from its columns; every column name goes through ``LABELS`` (English and Spanish; add a
language by adding its labels there).

* Owners are exported by name, so the reps are the owner names found anywhere in the export (a
  rep's id is their name as written).
* Companies -> accounts; contacts -> contacts (seniority read from the job title); deals ->
  opportunities; calls, meetings and e-mails the rep sent -> activities (call durations are in
  milliseconds); incoming e-mails -> replies and completed meetings -> meetings held (buyer
  events). Associations use the first id of ``Associated Company IDs (Primary)`` and the like.
* Won and lost come from ``Is Closed Won`` and ``Is Deal Closed?`` when the export has them,
  else from a stage map, per pipeline, in a TOML file given with ``--mapping``::

      [stages."Sales Pipeline"]
      "Closed Won" = "won"
      "Closed Lost" = "lost"
      "Contract sent" = "open"

  A stage the map does not name stops the import with the list of stages found.
* Times are ``YYYY-MM-DD HH:mm`` in the portal's time zone: they are read in the workspace's.
"""

from __future__ import annotations

import csv
import tomllib
from collections.abc import Iterable
from pathlib import Path

from brightspots import schema
from brightspots.ingest.aliases import fold, seniority_sql
from brightspots.ingest.encoding import sniff
from brightspots.ingest.errors import IngestError
from brightspots.ingest.mapping import AuxFile, ColumnSpec, Mapping, TableMap
from brightspots.ingest.sql import ident, lit

NAME = "hubspot"
PREFIX = "hubspot-crm-exports-"

#: field -> the header labels HubSpot gives it (English, Spanish), compared folded
LABELS: dict[str, tuple[str, ...]] = {
    "id": ("record id", "id de registro"),
    "deal_name": ("deal name", "nombre del negocio"),
    "deal_stage": ("deal stage", "etapa del negocio"),
    "pipeline": ("pipeline",),
    "amount": (
        "amount in company currency",
        "importe en la moneda de la empresa",
        "amount",
        "valor",
        "importe",
    ),
    "close_date": ("close date", "fecha de cierre"),
    "create_date": ("create date", "fecha de creacion"),
    "is_closed_won": ("is closed won", "cerrado ganado"),
    "is_closed": ("is deal closed?", "is closed", "el negocio esta cerrado?"),
    "deal_owner": ("deal owner", "propietario del negocio"),
    "source": ("original source", "fuente original", "original traffic source"),
    "company_name": ("company name", "nombre de la empresa"),
    "company_owner": (
        "company owner",
        "propietario de la empresa",
        "propietario del registro de empresa",
    ),
    "industry": ("industry", "sector"),
    "country": ("country/region", "pais/region", "country"),
    "employees": ("number of employees", "numero de empleados"),
    "revenue": ("annual revenue", "ingresos anuales"),
    "first_name": ("first name", "nombre"),
    "email": ("email", "correo"),
    "job_title": ("job title", "cargo"),
    "contact_owner": ("contact owner", "propietario del contacto"),
    "company_ids": (
        "associated company ids (primary)",
        "associated company id",
        "associated company ids",
        "company id",
    ),
    "contact_ids": ("associated contact ids", "associated contact id", "associated contact"),
    "deal_ids": ("associated deal ids", "associated deal id", "associated deal"),
    "assigned": (
        "activity assigned to",
        "hubspot owner",
        "actividad asignada a",
        "propietario de hubspot",
        "asignado a",
    ),
    "activity_date": ("activity date", "fecha de actividad"),
    "call_duration": ("call duration", "duracion de la llamada"),
    "call_direction": ("call direction", "direccion de la llamada"),
    "meeting_start": ("meeting start time", "hora de inicio de la reunion"),
    "meeting_end": ("meeting end time", "hora de finalizacion de la reunion"),
    "meeting_outcome": ("meeting outcome", "resultado de la reunion"),
    "first_conversion": ("first conversion date", "fecha de la primera conversion"),
    "recent_conversion": ("recent conversion date", "fecha de la conversion reciente"),
    "email_direction": (
        "email direction",
        "direccion del correo electronico",
        "direccion del correo",
    ),
}
#: which object a file is: the fields only its export has
KINDS: dict[str, tuple[str, ...]] = {
    "deals": ("deal_stage", "deal_name"),
    "contacts": ("first_name",),  # before companies: contacts carry a Company Name property
    "companies": ("company_name",),
    "calls": ("call_duration", "call_direction"),
    "meetings": ("meeting_outcome", "meeting_start"),
    "emails": ("email_direction",),
}
TRUE = ("true", "yes", "si", "sí", "1", "verdadero")


def _header(path: Path) -> list[str]:
    encoding = sniff(path)
    with path.open(encoding="utf-8-sig" if encoding == "utf-8" else encoding, newline="") as f:
        return next(csv.reader(f), [])


def _fields(header: Iterable[str]) -> dict[str, str]:
    """field -> the file's column that holds it (the first label found, in LABELS order)."""
    by_fold = {fold(h): h.strip() for h in header}
    out = {}
    for field, labels in LABELS.items():
        for label in labels:
            if label in by_fold:
                out[field] = by_fold[label]
                break
    return out


def kind_of(header: list[str]) -> str | None:
    fields = _fields(header)
    for kind, marks in KINDS.items():
        if any(m in fields for m in marks):
            return kind
    return None


def files_in(folder: Path) -> dict[str, tuple[Path, dict[str, str]]]:
    """kind -> (file, its fields), for the CSV files that look like HubSpot exports."""
    found: dict[str, tuple[Path, dict[str, str]]] = {}
    for p in sorted(folder.iterdir()):
        if not p.is_file() or p.suffix.lower() != ".csv":
            continue
        header = _header(p)
        fields = _fields(header)
        if "id" not in fields:
            continue
        kind = kind_of(header)
        if kind is None:
            continue
        if kind in found:
            raise IngestError(
                f"{folder}: {found[kind][0].name} and {p.name} are both HubSpot {kind} exports; "
                "import them one at a time"
            )
        found[kind] = (p, fields)
    return found


def looks_like(folder: Path) -> bool:
    names = [p.name.lower() for p in folder.iterdir() if p.is_file()]
    return any(n.startswith(PREFIX) for n in names)


def _col(fields: dict[str, str], field: str) -> str:
    return f"n.{ident(fields[field])}" if field in fields else "NULL"


def _first(fields: dict[str, str], field: str) -> str:
    """The first of a ';'-separated list of ids."""
    c = _col(fields, field)
    return "NULL" if c == "NULL" else f"NULLIF(trim(split_part({c}, ';', 1)), '')"


def _spec(target: str, sql: str) -> ColumnSpec:
    return ColumnSpec(target, sql=sql, verbatim=True, where=f"{NAME} preset, {target}")


def _table(
    table: str,
    file: Path,
    cols: dict[str, str],
    *,
    kind: str,
    skip: str | None = None,
    why: str = "",
    joins: tuple[str, ...] = (),
    query: str | None = None,
) -> TableMap:
    return TableMap(
        table=table,
        file=file.name,
        sheet=None,
        skip=skip,
        columns={t: _spec(t, sql) for t, sql in cols.items()},
        where=f"{NAME} preset, {file.name}",
        # export file names carry the date: a snapshot knows the feed by its kind of file
        origin=f"{NAME}:{kind}:{table}",
        skip_reason=why,
        joins=joins,
        verbatim=True,
        keep_extras=False,
        requires=(),
        query=query,
    )


def _fold_sql(c: str) -> str:
    """``aliases.fold`` in SQL: no accents, lower case, single spaces."""
    return f"regexp_replace(trim(strip_accents(lower({c}))), '\\s+', ' ', 'g')"


def _true(c: str) -> str:
    return f"coalesce(lower(trim({c})) IN ({', '.join(lit(t) for t in TRUE)}), false)"


def _stages(deals: Path, fields: dict[str, str]) -> list[tuple[str, str]]:
    """The (pipeline, stage) pairs of the deals export."""
    encoding = sniff(deals)
    pipe, stage = fields.get("pipeline"), fields["deal_stage"]
    found = set()
    with deals.open(encoding="utf-8-sig" if encoding == "utf-8" else encoding, newline="") as f:
        for row in csv.DictReader(f):
            s = (row.get(stage) or "").strip()
            if s:
                found.add(((row.get(pipe) or "").strip() if pipe else "", s))
    return sorted(found)


def _stage_map(path: Path | None) -> dict[tuple[str, str], str]:
    if path is None:
        return {}
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise IngestError(f"{Path(path).name}: not a readable stage map ({e})") from None
    out = {}
    for pipeline, stages in raw.get("stages", {}).items():
        if not isinstance(stages, dict):
            raise IngestError(f"{Path(path).name}, stages.{pipeline}: must be a table of stages")
        for stage, value in stages.items():
            if value not in ("won", "lost", "open"):
                raise IngestError(
                    f"{Path(path).name}, stages.{pipeline}.{stage}: {value!r} is not won, lost "
                    "or open"
                )
            out[(fold(pipeline), fold(stage))] = value
    return out


def _stage_sql(deals: Path, fields: dict[str, str], stage_map: Path | None) -> str:
    if "is_closed_won" in fields and "is_closed" in fields:
        won, closed = _col(fields, "is_closed_won"), _col(fields, "is_closed")
        return f"CASE WHEN {_true(won)} THEN 'won' WHEN {_true(closed)} THEN 'lost' ELSE 'open' END"
    if "deal_stage" not in fields:
        raise IngestError(f"{deals.name}: no Deal Stage column, and no Is Closed Won either")
    mapping = _stage_map(stage_map)
    found = _stages(deals, fields)
    missing = [(p, s) for p, s in found if (fold(p), fold(s)) not in mapping]
    if missing:
        lines = "\n".join(f'[stages."{p}"]\n"{s}" = "won | lost | open"' for p, s in missing[:12])
        raise IngestError(
            f"{deals.name}: the export has no Is Closed Won column, so each pipeline's stages "
            f"must be mapped to won, lost or open in a file given with --mapping; "
            f"{len(missing)} stage(s) are not mapped:\n{lines}"
        )
    pipe = _fold_sql(f"coalesce({_col(fields, 'pipeline')}, '')")
    stage = _fold_sql(_col(fields, "deal_stage"))
    whens = " ".join(
        f"WHEN {pipe} = {lit(p)} AND {stage} = {lit(s)} THEN {lit(v)}"
        for (p, s), v in mapping.items()
    )
    return f"CASE {whens} ELSE 'open' END"


def _owners_query(files: dict[str, tuple[Path, dict[str, str]]]) -> str:
    parts = []
    for kind, (_, fields) in files.items():
        for field in ("deal_owner", "company_owner", "contact_owner", "assigned"):
            if field in fields:
                parts.append(
                    f"SELECT trim({ident(fields[field])}) AS owner FROM "
                    f"_bs_aux_{kind} WHERE nullif(trim({ident(fields[field])}), '') IS NOT NULL"
                )
    if not parts:
        return "SELECT NULL::BIGINT AS line, NULL AS rep_id, NULL AS name WHERE false"
    union = " UNION ".join(parts)
    return (
        f"SELECT row_number() OVER (ORDER BY owner) + 1 AS line, owner AS rep_id, owner AS name "
        f"FROM ({union})"
    )


def mapping(
    folder: Path,
    *,
    currency: str = "USD",
    encoding: str = "auto",
    stage_map: Path | None = None,
    timezone: str = "UTC",
) -> tuple[Mapping, list[str]]:
    """The preset for the export in ``folder``; ``stage_map``: the TOML file of stages."""
    files = files_in(folder)
    if "deals" not in files or "companies" not in files:
        raise IngestError(
            f"{folder}: a HubSpot import needs the companies and deals exports; found: "
            + (", ".join(f"{k} ({p.name})" for k, (p, _) in files.items()) or "none")
        )
    notes = [
        "hubspot: owners are given by name, so each owner's name is their rep id; times are "
        f"read in the workspace time zone, {timezone} (set it to the portal's)"
    ]
    tables: list[TableMap] = []
    tables.append(
        _table(
            "reps",
            folder / "owners (from the export)",
            {"rep_id": "n.rep_id", "name": "n.name"},
            kind="owners",
            query=_owners_query(files),
        )
    )
    cp, cf = files["companies"]
    tables.append(
        _table(
            "accounts",
            cp,
            {
                "account_id": _col(cf, "id"),
                "name": _col(cf, "company_name"),
                "owner_rep_id": f"trim({_col(cf, 'company_owner')})",
                "industry": _col(cf, "industry"),
                "region": _col(cf, "country"),
                "employees": _col(cf, "employees"),
                "annual_potential": _col(cf, "revenue"),
                "created_at": _col(cf, "create_date"),
            },
            kind="companies",
        )
    )
    if "contacts" in files:
        p, f = files["contacts"]
        tables.append(
            _table(
                "contacts",
                p,
                {
                    "contact_id": _col(f, "id"),
                    "account_id": _first(f, "company_ids"),
                    "title": _col(f, "job_title"),
                    "seniority": seniority_sql(_col(f, "job_title")),
                },
                kind="contacts",
                skip=f"{_first(f, 'company_ids')} IS NULL",
                why="contacts without a company",
            )
        )
    forms = []
    if "contacts" in files:
        p, f = files["contacts"]
        for field, tag in (("first_conversion", "first"), ("recent_conversion", "recent")):
            if field not in f:
                continue
            forms.append(field)
            other = (
                f" OR {_col(f, field)} = {_col(f, 'first_conversion')}"
                if tag == "recent" and "first_conversion" in f
                else ""
            )
            tables.append(
                _table(
                    "buyer_events",
                    p,
                    {
                        "event_id": f"'form-{tag}-' || {_col(f, 'id')}",
                        "account_id": _first(f, "company_ids"),
                        "contact_id": _col(f, "id"),
                        "type": "'inbound_request'",
                        "occurred_at": _col(f, field),
                    },
                    kind="contacts",
                    skip=f"{_first(f, 'company_ids')} IS NULL OR {_col(f, field)} IS NULL{other}",
                    why=f"contacts without a company or a {tag} form submission",
                )
            )
    dp, df = files["deals"]
    stage = _stage_sql(dp, df, stage_map)
    tables.append(
        _table(
            "opportunities",
            dp,
            {
                "opportunity_id": _col(df, "id"),
                "account_id": _first(df, "company_ids"),
                "owner_rep_id": f"trim({_col(df, 'deal_owner')})",
                "created_at": _col(df, "create_date"),
                "closed_at": f"CASE WHEN ({stage}) <> 'open' THEN {_col(df, 'close_date')} END",
                "stage": stage,
                "amount": _col(df, "amount"),
                "source": _col(df, "source"),
            },
            kind="deals",
        )
    )
    contact_account = (
        'LEFT JOIN (SELECT "{id}" AS id, any_value(nullif(trim(split_part("{co}", \';\', 1)), '
        "'')) AS account_id FROM _bs_aux_contacts GROUP BY 1) AS ca ON ca.id = {first}"
    )
    deal_account = (
        'LEFT JOIN (SELECT "{id}" AS id, any_value(nullif(trim(split_part("{co}", \';\', 1)), '
        "'')) AS account_id FROM _bs_aux_deals GROUP BY 1) AS da ON da.id = {first}"
    )
    signals = []
    for kind, type_sql, when in (
        ("calls", "'call'", "activity_date"),
        ("meetings", "'meeting'", "meeting_start"),
        ("emails", "'email'", "activity_date"),
    ):
        if kind not in files:
            continue
        p, f = files[kind]
        joins = []
        account = [_first(f, "company_ids")]
        if "deal_ids" in f and "company_ids" in df:
            joins.append(
                deal_account.format(id=df["id"], co=df["company_ids"], first=_first(f, "deal_ids"))
            )
            account.append("da.account_id")
        if "contacts" in files and "contact_ids" in f and "company_ids" in files["contacts"][1]:
            cf2 = files["contacts"][1]
            joins.append(
                contact_account.format(
                    id=cf2["id"], co=cf2["company_ids"], first=_first(f, "contact_ids")
                )
            )
            account.append("ca.account_id")
        at = _col(f, when) if when in f else _col(f, "activity_date")
        cols = {
            "activity_id": _col(f, "id"),
            "rep_id": f"trim({_col(f, 'assigned')})",
            "account_id": f"coalesce({', '.join(account)})",
            "opportunity_id": _first(f, "deal_ids"),
            "contact_id": _first(f, "contact_ids"),
            "type": type_sql,
            "occurred_at": at,
            "duration_minutes": (
                f"CAST(TRY_CAST({_col(f, 'call_duration')} AS DOUBLE) / 60000 AS VARCHAR)"
                if kind == "calls"
                else "CAST(date_diff('minute', "
                f"TRY_CAST({_col(f, 'meeting_start')} AS TIMESTAMP), "
                f"TRY_CAST({_col(f, 'meeting_end')} AS TIMESTAMP)) AS VARCHAR)"
                if kind == "meetings"
                else "NULL"
            ),
        }
        skip = None
        why = ""
        if kind == "emails":
            direction = f"upper(coalesce({_col(f, 'email_direction')}, ''))"
            skip = f"{direction} NOT IN ('EMAIL', 'EMAIL SENT', 'CORREO ENVIADO', '')"
            why = "incoming or forwarded e-mails (not the rep's touch)"
        if kind == "meetings":
            outcome = f"lower(coalesce({_col(f, 'meeting_outcome')}, ''))"
            skip = f"{outcome} IN ('canceled', 'cancelled', 'cancelada', 'cancelado')"
            why = "canceled meetings"
        tables.append(
            _table("activities", p, cols, kind=kind, skip=skip, why=why, joins=tuple(joins))
        )
        if kind == "emails":
            signals.append("incoming e-mails as replies")
            ev = dict(cols)
            ev.pop("rep_id")
            ev.pop("duration_minutes")
            ev["event_id"] = ev.pop("activity_id")
            ev["type"] = "'reply'"
            tables.append(
                _table(
                    "buyer_events",
                    p,
                    ev,
                    kind=kind,
                    skip=f"upper(coalesce({_col(f, 'email_direction')}, '')) NOT IN "
                    "('INCOMING_EMAIL', 'INCOMING EMAIL', 'CORREO RECIBIDO')",
                    why="e-mails that are not incoming",
                    joins=tuple(joins),
                )
            )
        if kind == "meetings" and "meeting_outcome" in f:
            signals.append("completed meetings as meetings held")
            ev = dict(cols)
            ev.pop("rep_id")
            ev.pop("duration_minutes")
            ev.pop("activity_id")
            ev["event_id"] = f"'held-' || {_col(f, 'id')}"
            ev["type"] = "'meeting_held'"
            tables.append(
                _table(
                    "buyer_events",
                    p,
                    ev,
                    kind=kind,
                    skip=f"lower(coalesce({_col(f, 'meeting_outcome')}, '')) NOT IN "
                    "('completed', 'completada', 'completado')",
                    why="meetings not completed",
                    joins=tuple(joins),
                )
            )
    if forms:
        signals.append("form submissions (contacts' conversion dates) as inbound requests")
    if signals:
        notes.append("hubspot: buyer events from " + " and ".join(signals) + ".")
    else:
        notes.append(
            "hubspot: no e-mail or meeting exports with a direction or outcome: no buyer events, "
            "so effort versus buyer impact will be empty"
        )
    tables.sort(key=lambda t: schema.IMPORT_ORDER.index(t.table))  # referenced first
    aux = tuple(AuxFile(kind, p.name, ()) for kind, (p, _) in files.items())
    return (
        Mapping(
            path=folder / "(hubspot preset)",
            timezone=None if timezone == "UTC" else timezone,
            encoding=encoding,
            tables=tuple(tables),
            aux=aux,
            name=NAME,
        ),
        notes,
    )
