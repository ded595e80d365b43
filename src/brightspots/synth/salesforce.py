"""Write a synthetic organisation as a Salesforce Data Export (one ``<Object>.csv`` per object).

The canonical tables become the objects the Salesforce preset reads, with API field names, every
value quoted, 18-character ids and UTC times in the export's style. What Salesforce has no
standard field for is left out: a rep's hire date, a deal's product, contacts' seniority (the
preset reads it from the title), and buyer events other than replies (written as incoming
e-mails). ``write_salesforce`` returns the canonical id -> Salesforce id of every record, so
tests can compare what a preset import gives with the canonical data.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
PREFIX = {
    "teams": "00E",
    "reps": "005",
    "accounts": "001",
    "contacts": "003",
    "opportunities": "006",
    "history": "008",
    "tasks": "00T",
    "events": "00U",
    "emails": "02s",
    "relations": "0RE",
}


def sf18(id15: str) -> str:
    """The 18-character form of a 15-character Salesforce id."""
    suffix = ""
    for k in range(3):
        bits = sum(1 << j for j in range(5) if "A" <= id15[5 * k + j] <= "Z")
        suffix += _ALPHABET[bits]
    return id15 + suffix


def _ids(kind: str, n: int) -> list[str]:
    out = []
    for i in range(n):
        body, x = "", i + 1
        for _ in range(9):
            body = _DIGITS[x % 62] + body
            x //= 62
        out.append(sf18(f"{PREFIX[kind]}Hs{body}"[:15].ljust(15, "0")))
    return out


def _time(ts: object) -> str:
    if ts is None or pd.isna(ts):
        return ""
    return pd.Timestamp(ts).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _num(x: object) -> str:
    if x is None or pd.isna(x):
        return ""
    return repr(float(x))


def _text(x: object) -> str:
    return "" if x is None or (not isinstance(x, str) and pd.isna(x)) else str(x)


def _write(path: Path, frame: pd.DataFrame) -> None:
    frame.to_csv(path, index=False, quoting=csv.QUOTE_ALL, lineterminator="\n")


def _read(folder: Path, table: str) -> pd.DataFrame:
    for ext in ("parquet", "csv"):
        p = folder / f"{table}.{ext}"
        if p.exists():
            return pd.read_parquet(p) if ext == "parquet" else pd.read_csv(p)
    return pd.DataFrame()


def write_salesforce(folder: Path, out: Path) -> dict[str, str]:
    """Read the canonical tables in ``folder`` and write them as a Data Export into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    t = {
        name: _read(folder, name)
        for name in (
            "teams",
            "reps",
            "accounts",
            "contacts",
            "opportunities",
            "activities",
            "buyer_events",
        )
    }
    ids: dict[str, str] = {}

    def assign(kind: str, keys: pd.Series) -> pd.Series:
        made = dict(zip(keys, _ids(kind, len(keys)), strict=True))
        ids.update(made)
        return keys.map(made)

    def ref(values: pd.Series) -> pd.Series:
        return values.map(lambda v: ids.get(v, "") if isinstance(v, str) else "")

    teams = t["teams"]
    role_id = assign("teams", teams["team_id"])
    _write(
        out / "UserRole.csv",
        pd.DataFrame(
            {
                "Id": role_id,
                "Name": teams["name"],
                "ParentRoleId": ref(teams["parent_team_id"]),
                "DeveloperName": teams["team_id"].str.replace("-", "_"),
            }
        ),
    )
    reps = t["reps"]
    user_id = assign("reps", reps["rep_id"])
    names = reps["name"].fillna("").str.split(" ", n=1)
    _write(
        out / "User.csv",
        pd.DataFrame(
            {
                "Id": user_id,
                "FirstName": names.str[0],
                "LastName": names.str[1].fillna(""),
                "Name": reps["name"],
                "Email": reps["email"].map(_text),
                "IsActive": "true",
                "UserRoleId": ref(reps["team_id"]),
                "ManagerId": ref(reps["manager_rep_id"]),
                "Title": reps["role"].map(_text),
                "Division": reps["region"].map(_text),
                "UserType": "Standard",
            }
        ),
    )
    acc = t["accounts"]
    account_id = assign("accounts", acc["account_id"])
    _write(
        out / "Account.csv",
        pd.DataFrame(
            {
                "Id": account_id,
                "IsDeleted": "false",
                "Name": acc["name"],
                "Type": acc["segment"].map(_text),
                "Industry": acc["industry"].map(_text),
                "BillingCountry": acc["region"].map(_text),
                "AnnualRevenue": acc["annual_potential"].map(_num),
                "NumberOfEmployees": acc["employees"].map(
                    lambda v: "" if pd.isna(v) else str(int(v))
                ),
                "OwnerId": ref(acc["owner_rep_id"]),
                "CreatedDate": acc["created_at"].map(_time),
            }
        ),
    )
    con = t["contacts"]
    contact_id = assign("contacts", con["contact_id"])
    email = con["contact_id"].str.lower() + "@buyer.example"
    _write(
        out / "Contact.csv",
        pd.DataFrame(
            {
                "Id": contact_id,
                "IsDeleted": "false",
                "AccountId": ref(con["account_id"]),
                "LastName": con["contact_id"],
                "Title": con["title"].map(_text),
                "Email": email,
            }
        ),
    )
    contact_email = dict(zip(con["contact_id"], email, strict=True))
    opp = t["opportunities"]
    opp_id = assign("opportunities", opp["opportunity_id"])
    stage = opp["stage"].map({"won": "Closed Won", "lost": "Closed Lost"}).fillna("Prospecting")
    closed = opp["stage"].isin(["won", "lost"])
    _write(
        out / "Opportunity.csv",
        pd.DataFrame(
            {
                "Id": opp_id,
                "IsDeleted": "false",
                "AccountId": ref(opp["account_id"]),
                "Name": opp["opportunity_id"],
                "StageName": stage,
                "Amount": opp["amount"].map(_num),
                "CloseDate": opp["closed_at"].map(lambda v: "" if pd.isna(v) else str(v)[:10]),
                "IsClosed": np.where(closed, "true", "false"),
                "IsWon": np.where(opp["stage"] == "won", "true", "false"),
                "LeadSource": opp["source"].map(_text),
                "OwnerId": ref(opp["owner_rep_id"]),
                "CreatedDate": opp["created_at"].map(_time),
            }
        ),
    )
    # stage history: the deal as created, then the change that closed it
    first = pd.DataFrame(
        {
            "OpportunityId": opp_id,
            "StageName": "Prospecting",
            "Amount": opp["initial_amount"].map(_num),
            "CreatedDate": opp["created_at"].map(_time),
        }
    )
    last = pd.DataFrame(
        {
            "OpportunityId": opp_id[closed],
            "StageName": stage[closed],
            "Amount": opp["amount"][closed].map(_num),
            "CreatedDate": opp["closed_at"][closed].map(_time),
        }
    )
    hist = pd.concat([first, last], ignore_index=True)
    hist.insert(0, "Id", _ids("history", len(hist)))
    hist["IsDeleted"] = "false"
    _write(out / "OpportunityHistory.csv", hist)

    act = t["activities"]
    is_event = act["type"].isin(["meeting", "demo"])
    what = act["opportunity_id"].where(act["opportunity_id"].notna(), act["account_id"])
    tasks = act[~is_event]
    kind = tasks["type"]
    bulk = tasks["is_bulk"].fillna(False).astype(bool)
    task_id = assign("tasks", tasks["activity_id"])
    subtype = np.where(kind == "call", "Call", np.where(kind == "email", "Email", "Task"))
    subtype = np.where(bulk, "ListEmail", subtype)
    _write(
        out / "Task.csv",
        pd.DataFrame(
            {
                "Id": task_id,
                "IsDeleted": "false",
                "WhoId": ref(tasks["contact_id"]),
                "WhatId": ref(what[~is_event]),
                "AccountId": ref(tasks["account_id"]),
                "OwnerId": ref(tasks["rep_id"]),
                "Subject": kind.str.capitalize(),
                "Status": "Completed",
                "IsClosed": "true",
                "Type": kind.map({"call": "Call", "email": "Email", "proposal": "Proposal"}).fillna(
                    ""
                ),
                "TaskSubtype": subtype,
                "CallDurationInSeconds": np.where(
                    kind == "call", tasks["duration_minutes"].map(lambda m: _num(m * 60)), ""
                ),
                "CreatedDate": tasks["occurred_at"].map(_time),
                "CompletedDateTime": tasks["occurred_at"].map(_time),
            }
        ),
    )
    events = act[is_event]
    event_id = assign("events", events["activity_id"])
    _write(
        out / "Event.csv",
        pd.DataFrame(
            {
                "Id": event_id,
                "IsDeleted": "false",
                "WhoId": ref(events["contact_id"]),
                "WhatId": ref(what[is_event]),
                "AccountId": ref(events["account_id"]),
                "OwnerId": ref(events["rep_id"]),
                "Subject": events["type"].map({"demo": "Demo", "meeting": "Meeting"}),
                "StartDateTime": events["occurred_at"].map(_time),
                "DurationInMinutes": events["duration_minutes"].map(_num),
                "IsChild": "false",
                "Type": "Meeting",
            }
        ),
    )
    ev = t["buyer_events"]
    replies = ev[ev["type"] == "reply"]
    mail_id = assign("emails", replies["event_id"])
    related = replies["opportunity_id"].where(
        replies["opportunity_id"].notna(), replies["account_id"]
    )
    _write(
        out / "EmailMessage.csv",
        pd.DataFrame(
            {
                "Id": mail_id,
                "IsDeleted": "false",
                "RelatedToId": ref(related),
                "FromAddress": replies["contact_id"].map(
                    lambda c: (
                        contact_email.get(c, "someone@buyer.example")
                        if isinstance(c, str)
                        else "someone@buyer.example"
                    )
                ),
                "Incoming": "true",
                "MessageDate": replies["occurred_at"].map(_time),
            }
        ),
    )
    return ids
