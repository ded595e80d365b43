"""The Salesforce preset: a Data Export (or Data Loader export) folder into the contract.

The weekly Data Export holds one ``<Object>.csv`` per object with API field names. Which objects
feed which table, and how:

* ``UserRole`` -> teams (a role is a team; ``ParentRoleId`` its parent); ``User`` -> reps (role as
  team, ``ManagerId`` as manager, ``Title`` as role, ``Division`` as region).
* ``Account`` -> accounts (``Type`` as segment, ``BillingCountry`` as region, ``AnnualRevenue`` as
  annual potential); ``Contact`` -> contacts (seniority read from the title's words).
* ``Opportunity`` (+ ``OpportunityHistory``, ``CurrencyType``) -> opportunities. Won and lost come
  from ``IsWon`` and ``IsClosed``, never from stage labels (they are per org and translated).
  ``closed_at`` is the last time the deal entered its final stage in the history (deals reopen),
  else ``CloseDate``; ``initial_amount`` the amount of the first history row. Amounts in other
  currencies are converted to the corporate currency with ``CurrencyType`` (the rate is kept with
  the row, as extra columns ``currency`` and ``conversion_rate``).
* ``Task`` and ``Event`` -> activities. Links route on the id prefix (006 opportunity, 001
  account, 003 contact); the account comes from ``AccountId``, else the opportunity's or the
  contact's. The type comes from ``TaskSubtype``, ``Type``, ``CallType`` or the subject, in that
  order. List and mass e-mails are kept and marked ``is_bulk`` (never a rep's touch). Open tasks
  (not done), child copies of group events and deleted rows are skipped and counted.
* ``EmailMessage`` (incoming e-mails: replies) and ``EventRelation`` (invitations a contact
  accepted) -> buyer events. The import says which of these it found.

Ids: 15- and 18-character ids are the same record; every id is stored in its 18-character form
(the case-checksum suffix recomputed from the first 15 characters, which are compared case-
sensitively), and the empty-lookup id ``000000000000000AAA`` is no reference at all. Times are
UTC (the export's), booleans ``true``/``false`` or ``1``/``0``.
"""

from __future__ import annotations

import csv
from pathlib import Path

from brightspots import schema
from brightspots.ingest.aliases import seniority_sql
from brightspots.ingest.mapping import AuxFile, ColumnSpec, Mapping, TableMap
from brightspots.ingest.sql import lit

NAME = "salesforce"
#: the objects that make a folder a Salesforce export
SIGNATURE = ("account.csv", "opportunity.csv", "user.csv")
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


def suffix_sql(x: str) -> str:
    """SQL for the 3-character case checksum of a 15-character id ``x``."""
    chunks = []
    for k in range(3):
        bits = " + ".join(
            f"(CASE WHEN ascii(substr({x}, {5 * k + j + 1}, 1)) BETWEEN 65 AND 90 "
            f"THEN {1 << j} ELSE 0 END)"
            for j in range(5)
        )
        chunks.append(f"substr({lit(_ALPHABET)}, ({bits}) + 1, 1)")
    return " || ".join(chunks)


SETUP = (
    "CREATE OR REPLACE TEMP MACRO bs_sf_id(x) AS CASE "
    "WHEN x IS NULL OR length(x) NOT IN (15, 18) OR left(x, 15) = '000000000000000' THEN "
    "CASE WHEN x IS NULL OR left(x, 15) = '000000000000000' THEN NULL ELSE x END "
    f"ELSE left(x, 15) || {suffix_sql('left(x, 15)')} END",
    "CREATE OR REPLACE TEMP MACRO bs_sf_true(x) AS coalesce(lower(x) IN ('true', '1', 'yes'), "
    "false)",
    "CREATE OR REPLACE TEMP MACRO bs_sf_prefix(x) AS left(bs_sf_id(x), 3)",
)


def _f(column: str) -> str:
    """A file column of the row being mapped."""
    return f'n."{column}"'


def _id(column: str) -> str:
    return f"bs_sf_id({_f(column)})"


def _spec(target: str, sql: str) -> ColumnSpec:
    return ColumnSpec(target, sql=sql, verbatim=True, where=f"{NAME} preset, {target}")


def _table(
    table: str,
    file: str,
    cols: dict[str, str],
    *,
    skip: str,
    why: str,
    joins: tuple[str, ...] = (),
    extras: dict[str, str] | None = None,
    requires: tuple[str, ...] = ("Id",),
) -> TableMap:
    specs = {t: _spec(t, sql) for t, sql in cols.items()}
    for name, sql in (extras or {}).items():
        specs[name] = _spec(name, sql)
    return TableMap(
        table=table,
        file=file,
        sheet=None,
        skip=skip,
        columns=specs,
        where=f"{NAME} preset, {file}",
        skip_reason=why,
        joins=joins,
        verbatim=True,
        keep_extras=False,
        requires=requires,
    )


DELETED = f"bs_sf_true({_f('IsDeleted')})"


def _account_of(what: str, who: str) -> tuple[str, tuple[str, ...]]:
    """An activity's account: its AccountId, else what it is related to (an account, or an
    opportunity's account), else its contact's account."""
    sql = (
        f"coalesce({_id('AccountId')}, "
        f"CASE WHEN bs_sf_prefix({_f(what)}) = '001' THEN {_id(what)} END, "
        f"ao.account_id, ac.account_id)"
    )
    joins = (
        _account_lookup("opportunity", "ao", f"bs_sf_prefix({_f(what)}) = '006'", what),
        _account_lookup("contact", "ac", f"bs_sf_prefix({_f(who)}) = '003'", who),
    )
    return sql, joins


def _account_lookup(aux: str, alias: str, when: str, column: str) -> str:
    """A join to an auxiliary object's account by id: ``alias.account_id`` for the row whose
    ``column`` holds that object's id (and ``when`` holds)."""
    return (
        'LEFT JOIN (SELECT bs_sf_id("Id") AS id, bs_sf_id(any_value("AccountId")) AS '
        f"account_id FROM _bs_aux_{aux} GROUP BY 1) AS {alias} "
        f"ON {when} AND {alias}.id = {_id(column)}"
    )


def _links(what: str, who: str) -> dict[str, str]:
    return {
        "opportunity_id": f"CASE WHEN bs_sf_prefix({_f(what)}) = '006' THEN {_id(what)} END",
        "contact_id": f"CASE WHEN bs_sf_prefix({_f(who)}) = '003' THEN {_id(who)} END",
    }


def _word(column: str, pattern: str) -> str:
    return f"regexp_matches(lower(coalesce({_f(column)}, '')), {lit(pattern)})"


def _task_type() -> str:
    return (
        "CASE "
        f"WHEN lower({_f('TaskSubtype')}) IN ('call') THEN 'call' "
        f"WHEN lower({_f('TaskSubtype')}) IN ('email', 'listemail', 'list email') THEN 'email' "
        f"WHEN {_word('Type', '(call|phone)')} THEN 'call' "
        f"WHEN {_word('Type', 'e-?mail')} THEN 'email' "
        f"WHEN {_word('Type', 'demo')} THEN 'demo' "
        f"WHEN {_word('Type', '(meeting|visit)')} THEN 'meeting' "
        f"WHEN {_word('Type', '(proposal|quote)')} THEN 'proposal' "
        f"WHEN {_f('CallType')} IS NOT NULL THEN 'call' "
        f"WHEN {_word('Subject', '^(call|phone|llamada)')} THEN 'call' "
        f"WHEN {_word('Subject', '^(e-?mail|re:|fw:|fwd:|correo)')} THEN 'email' "
        f"WHEN {_word('Subject', 'demo')} THEN 'demo' "
        f"WHEN {_word('Subject', '(proposal|quote|propuesta)')} THEN 'proposal' "
        f"WHEN {_word('Subject', '(meeting|reunion|reunión)')} THEN 'meeting' "
        "ELSE 'other' END"
    )


def _event_type() -> str:
    return (
        "CASE "
        f"WHEN {_word('Type', 'demo')} OR {_word('Subject', 'demo')} THEN 'demo' "
        f"WHEN {_word('Type', '(call|phone)')} THEN 'call' "
        f"WHEN {_word('Subject', '(proposal|quote|propuesta)')} THEN 'proposal' "
        "ELSE 'meeting' END"
    )


def _currency_rates(folder: Path) -> tuple[str | None, list[str]]:
    """The corporate currency of CurrencyType.csv (None without one), and notes."""
    files = {p.name.lower(): p for p in folder.iterdir() if p.is_file()}
    path = files.get("currencytype.csv")
    if path is None:
        return None, []
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as f:
        rows = list(csv.DictReader(f))
    corporate = [
        r.get("IsoCode") for r in rows if str(r.get("IsCorporate", "")).lower() in ("true", "1")
    ]
    main = corporate[0] if corporate else None
    rates = ", ".join(
        f"{r.get('IsoCode')} {r.get('ConversionRate')}"
        for r in rows
        if r.get("IsoCode") and r.get("IsoCode") != main
    )
    notes = (
        [
            f"salesforce: amounts converted to {main} with the rates of CurrencyType.csv "
            f"(units per one {main}): {rates}"
        ]
        if rates
        else []
    )
    return main, notes


def mapping(
    folder: Path, *, currency: str = "USD", encoding: str = "auto"
) -> tuple[Mapping, list[str]]:
    """The preset for the export in ``folder`` (a Mapping for ``import_path``), and notes."""
    files = {p.name.lower() for p in folder.iterdir() if p.is_file()}
    has = lambda name: f"{name.lower()}.csv" in files  # noqa: E731
    notes: list[str] = []
    corporate, rate_notes = _currency_rates(folder)
    notes += rate_notes
    if corporate is not None and corporate.upper() != currency.upper():
        notes.append(
            f"salesforce: amounts are converted to the corporate currency {corporate} "
            f"(CurrencyType.csv), but the workspace currency is {currency}; set "
            f'[workspace] currency = "{corporate}" or convert the rates'
        )
    rate = "cr.rate"
    convert = lambda col: (  # noqa: E731
        f"CASE WHEN {rate} IS NULL THEN {_f(col)} "
        f"ELSE CAST(TRY_CAST({_f(col)} AS DOUBLE) / {rate} AS VARCHAR) END"
    )
    currency_join = (
        'LEFT JOIN (SELECT upper("IsoCode") AS iso, '
        'any_value(TRY_CAST("ConversionRate" AS DOUBLE)) AS rate FROM _bs_aux_currencytype '
        f"GROUP BY 1) AS cr ON cr.iso = upper({_f('CurrencyIsoCode')})"
    )
    currency_extras = {
        "currency": f"upper({_f('CurrencyIsoCode')})",
        # like a mapping's: what the amount was multiplied by (1 / the rate per corporate unit)
        "conversion_rate": f"CAST(round(1.0 / {rate}, 10) AS VARCHAR)",
    }
    tables: list[TableMap] = []
    if has("UserRole"):
        tables.append(
            _table(
                "teams",
                "UserRole.csv",
                {
                    "team_id": _id("Id"),
                    "name": _f("Name"),
                    "parent_team_id": _id("ParentRoleId"),
                },
                skip=DELETED,
                why="deleted roles",
            )
        )
    tables.append(
        _table(
            "reps",
            "User.csv",
            {
                "rep_id": _id("Id"),
                "name": f"coalesce({_f('Name')}, trim(concat_ws(' ', {_f('FirstName')}, "
                f"{_f('LastName')})))",
                "team_id": _id("UserRoleId") if has("UserRole") else "NULL",
                "manager_rep_id": _id("ManagerId"),
                "role": _f("Title"),
                "region": _f("Division"),
                "email": _f("Email"),
            },
            skip=DELETED,
            why="deleted users",
        )
    )
    tables.append(
        _table(
            "accounts",
            "Account.csv",
            {
                "account_id": _id("Id"),
                "name": _f("Name"),
                "owner_rep_id": _id("OwnerId"),
                "segment": _f("Type"),
                "industry": _f("Industry"),
                "region": _f("BillingCountry"),
                "employees": _f("NumberOfEmployees"),
                "annual_potential": convert("AnnualRevenue"),
                "created_at": _f("CreatedDate"),
            },
            skip=DELETED,
            why="deleted accounts",
            joins=(currency_join,),
        )
    )
    if has("Contact"):
        tables.append(
            _table(
                "contacts",
                "Contact.csv",
                {
                    "contact_id": _id("Id"),
                    "account_id": _id("AccountId"),
                    "title": _f("Title"),
                    "seniority": seniority_sql(_f("Title")),
                },
                skip=f"{DELETED} OR {_id('AccountId')} IS NULL",
                why="deleted or private contacts (no AccountId)",
            )
        )
    history = (
        "LEFT JOIN (SELECT oid, stage, max(changed) AS entered FROM ("
        'SELECT bs_sf_id("OpportunityId") AS oid, "StageName" AS stage, "CreatedDate" AS changed, '
        '"StageName" IS DISTINCT FROM lag("StageName") OVER (PARTITION BY '
        'bs_sf_id("OpportunityId") ORDER BY "CreatedDate", line) AS entry '
        'FROM _bs_aux_opportunityhistory WHERE NOT bs_sf_true("IsDeleted")) '
        "WHERE entry GROUP BY 1, 2) AS h "
        f"ON h.oid = {_id('Id')} AND h.stage = {_f('StageName')}",
        'LEFT JOIN (SELECT bs_sf_id("OpportunityId") AS oid, '
        'arg_min("Amount", ("CreatedDate", line)) AS amount FROM _bs_aux_opportunityhistory '
        'WHERE NOT bs_sf_true("IsDeleted") GROUP BY 1) AS fh '
        f"ON fh.oid = {_id('Id')}",
    )
    stage = (
        f"CASE WHEN bs_sf_true({_f('IsWon')}) THEN 'won' WHEN bs_sf_true({_f('IsClosed')}) "
        "THEN 'lost' ELSE 'open' END"
    )
    tables.append(
        _table(
            "opportunities",
            "Opportunity.csv",
            {
                "opportunity_id": _id("Id"),
                "account_id": _id("AccountId"),
                "owner_rep_id": _id("OwnerId"),
                "created_at": _f("CreatedDate"),
                "closed_at": f"CASE WHEN bs_sf_true({_f('IsClosed')}) THEN "
                f"coalesce(h.entered, {_f('CloseDate')}) END",
                "stage": stage,
                "amount": convert("Amount"),
                "initial_amount": (
                    "CASE WHEN cr.rate IS NULL THEN fh.amount "
                    "ELSE CAST(TRY_CAST(fh.amount AS DOUBLE) / cr.rate AS VARCHAR) END"
                ),
                "source": _f("LeadSource"),
            },
            skip=DELETED,
            why="deleted opportunities",
            joins=(*history, currency_join),
            extras=currency_extras,
            requires=("Id", "AccountId", "OwnerId", "CreatedDate", "IsClosed", "IsWon"),
        )
    )
    if has("Task"):
        account, joins = _account_of("WhatId", "WhoId")
        tables.append(
            _table(
                "activities",
                "Task.csv",
                {
                    "activity_id": _id("Id"),
                    "rep_id": _id("OwnerId"),
                    "account_id": account,
                    **_links("WhatId", "WhoId"),
                    "type": _task_type(),
                    "occurred_at": f"coalesce({_f('CompletedDateTime')}, {_f('CreatedDate')}, "
                    f"{_f('ActivityDate')})",
                    "duration_minutes": f"CAST(TRY_CAST({_f('CallDurationInSeconds')} AS DOUBLE) "
                    "/ 60 AS VARCHAR)",
                    "is_bulk": f"CASE WHEN lower({_f('TaskSubtype')}) IN ('listemail', "
                    f"'list email') OR {_word('Type', '(mass|list) ?e-?mail')} THEN 'true' "
                    "ELSE 'false' END",
                },
                skip=f"{DELETED} OR NOT (bs_sf_true({_f('IsClosed')}) OR "
                f"lower(coalesce({_f('Status')}, '')) = 'completed')",
                why="deleted or open (not done) tasks",
                joins=joins,
            )
        )
    if has("Event"):
        account, joins = _account_of("WhatId", "WhoId")
        tables.append(
            _table(
                "activities",
                "Event.csv",
                {
                    "activity_id": _id("Id"),
                    "rep_id": _id("OwnerId"),
                    "account_id": account,
                    **_links("WhatId", "WhoId"),
                    "type": _event_type(),
                    "occurred_at": f"coalesce({_f('StartDateTime')}, {_f('ActivityDateTime')}, "
                    f"{_f('ActivityDate')})",
                    "duration_minutes": _f("DurationInMinutes"),
                    "is_bulk": "'false'",
                },
                skip=f"{DELETED} OR bs_sf_true({_f('IsChild')})",
                why="deleted events or invitees' copies of group events",
                joins=joins,
            )
        )
    signals = []
    if has("EmailMessage"):
        signals.append("incoming e-mails (EmailMessage.csv) as replies")
        tables.append(
            _table(
                "buyer_events",
                "EmailMessage.csv",
                {
                    "event_id": _id("Id"),
                    "account_id": "coalesce(CASE WHEN bs_sf_prefix(n.\"RelatedToId\") = '001' "
                    'THEN bs_sf_id(n."RelatedToId") END, ao.account_id, tk.account_id)',
                    "opportunity_id": "CASE WHEN bs_sf_prefix(n.\"RelatedToId\") = '006' THEN "
                    'bs_sf_id(n."RelatedToId") END',
                    "contact_id": "ce.contact_id",
                    "type": "'reply'",
                    "occurred_at": f"coalesce({_f('MessageDate')}, {_f('CreatedDate')})",
                },
                skip=f"{DELETED} OR NOT bs_sf_true({_f('Incoming')})",
                why="deleted or outgoing e-mails (the rep's e-mails are Tasks)",
                joins=(
                    _account_lookup(
                        "opportunity",
                        "ao",
                        "bs_sf_prefix(n.\"RelatedToId\") = '006'",
                        "RelatedToId",
                    ),
                    _account_lookup("task", "tk", "true", "ActivityId"),
                    'LEFT JOIN (SELECT lower(trim("Email")) AS email, min(bs_sf_id("Id")) AS '
                    'contact_id FROM _bs_aux_contact WHERE "Email" IS NOT NULL GROUP BY 1) AS ce '
                    'ON ce.email = lower(trim(n."FromAddress"))',
                ),
            )
        )
    if has("EventRelation"):
        signals.append("accepted invitations (EventRelation.csv) as meetings accepted")
        tables.append(
            _table(
                "buyer_events",
                "EventRelation.csv",
                {
                    "event_id": _id("Id"),
                    "account_id": "coalesce(ev.account_id, ac.account_id)",
                    "opportunity_id": "CASE WHEN left(ev.what, 3) = '006' THEN ev.what END",
                    "contact_id": f"CASE WHEN bs_sf_prefix({_f('RelationId')}) = '003' THEN "
                    f"{_id('RelationId')} END",
                    "type": "'meeting_accepted'",
                    "occurred_at": f"coalesce({_f('RespondedDate')}, ev.start)",
                },
                skip=f"{DELETED} OR lower(coalesce({_f('Status')}, '')) <> 'accepted' OR "
                f"bs_sf_prefix({_f('RelationId')}) <> '003'",
                why="invitations not accepted by a contact",
                joins=(
                    'LEFT JOIN (SELECT bs_sf_id("Id") AS id, bs_sf_id(any_value("AccountId")) '
                    'AS account_id, bs_sf_id(any_value("WhatId")) AS what, '
                    'any_value(coalesce("StartDateTime", "ActivityDateTime")) AS start '
                    'FROM _bs_aux_event GROUP BY 1) AS ev ON ev.id = bs_sf_id(n."EventId")',
                    _account_lookup("contact", "ac", "true", "RelationId"),
                ),
            )
        )
    if signals:
        notes.append("salesforce: buyer events from " + " and ".join(signals) + ".")
    missing = [f for f in ("EmailMessage", "EventRelation") if not has(f)]
    if missing:
        notes.append(
            "salesforce: no "
            + " or ".join(f"{m}.csv" for m in missing)
            + " in the export: "
            + (
                "no buyer events at all, so effort versus buyer impact will be empty "
                if len(missing) == 2
                else "those buyer signals are missing "
            )
            + "(include them in the Data Export to see which touches reach buyers)"
        )
    tables.sort(key=lambda t: schema.IMPORT_ORDER.index(t.table))  # referenced first
    aux = (
        AuxFile("opportunity", "Opportunity.csv", ("Id", "AccountId")),
        AuxFile("contact", "Contact.csv", ("Id", "AccountId", "Email")),
        AuxFile("task", "Task.csv", ("Id", "AccountId")),
        AuxFile(
            "event", "Event.csv", ("Id", "AccountId", "WhatId", "StartDateTime", "ActivityDateTime")
        ),
        AuxFile(
            "opportunityhistory",
            "OpportunityHistory.csv",
            ("OpportunityId", "StageName", "CreatedDate", "Amount", "IsDeleted"),
            missing="deals close on their CloseDate and have no amount at creation (the "
            "case-mix model then uses the current amount, with a warning)",
        ),
        AuxFile(
            "currencytype",
            "CurrencyType.csv",
            ("IsoCode", "ConversionRate"),
            missing="amounts are taken as they are, in one currency",
        ),
    )
    return (
        Mapping(
            path=folder / "(salesforce preset)",
            encoding=encoding,
            tables=tuple(tables),
            aux=aux,
            setup=SETUP,
            name=NAME,
        ),
        notes,
    )
