"""Write a synthetic organisation as HubSpot CRM exports (``hubspot-crm-exports-*.csv``).

Companies, contacts, deals, calls, meetings and e-mails, with HubSpot's English column labels,
numeric record ids, owners by name, times to the minute (``YYYY-MM-DD HH:mm``), call durations in
milliseconds, and ``Is Closed Won`` / ``Is Deal Closed?``. Incoming e-mails carry the buyer's
replies; every meeting is completed. What these exports have no place for is left out: teams,
a rep's details, account segments, amounts at creation, demos (written as meetings), proposals,
other activities, bulk e-mails and buyer events other than replies. ``write_hubspot`` returns
canonical id -> HubSpot record id (reps: their names), so tests can compare an import with the
canonical data.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd

DATE = "2024-05-31"


def _time(ts: object) -> str:
    return "" if ts is None or pd.isna(ts) else pd.Timestamp(ts).strftime("%Y-%m-%d %H:%M")


def _num(x: object) -> str:
    return "" if x is None or pd.isna(x) else repr(float(x))


def _text(x: object) -> str:
    return "" if x is None or (not isinstance(x, str) and pd.isna(x)) else str(x)


def _read(folder: Path, table: str) -> pd.DataFrame:
    p = folder / f"{table}.parquet"
    return pd.read_parquet(p) if p.exists() else pd.read_csv(folder / f"{table}.csv")


def _write(out: Path, view: str, frame: pd.DataFrame) -> None:
    frame.to_csv(
        out / f"hubspot-crm-exports-{view}-{DATE}.csv",
        index=False,
        quoting=csv.QUOTE_ALL,
        lineterminator="\n",
    )


def write_hubspot(folder: Path, out: Path) -> dict[str, str]:
    """Read the canonical tables in ``folder`` and write HubSpot exports into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    ids: dict[str, str] = {}
    counter = iter(range(9_000_000_001, 10**12))

    def assign(keys: pd.Series) -> pd.Series:
        made = {k: str(next(counter)) for k in keys}
        ids.update(made)
        return keys.map(made)

    def ref(values: pd.Series) -> pd.Series:
        return values.map(lambda v: ids.get(v, "") if isinstance(v, str) else "")

    reps = _read(folder, "reps")
    owner = dict(zip(reps["rep_id"], reps["name"], strict=True))
    ids.update(owner)

    def by(values: pd.Series) -> pd.Series:
        return values.map(lambda v: owner.get(v, "") if isinstance(v, str) else "")

    acc = _read(folder, "accounts")
    _write(
        out,
        "all-companies",
        pd.DataFrame(
            {
                "Record ID": assign(acc["account_id"]),
                "Company name": acc["name"],
                "Company owner": by(acc["owner_rep_id"]),
                "Industry": acc["industry"].map(_text),
                "Country/Region": acc["region"].map(_text),
                "Number of Employees": acc["employees"].map(
                    lambda v: "" if pd.isna(v) else str(int(v))
                ),
                "Annual Revenue": acc["annual_potential"].map(_num),
                "Create Date": acc["created_at"].map(_time),
            }
        ),
    )
    con = _read(folder, "contacts")
    _write(
        out,
        "all-contacts",
        pd.DataFrame(
            {
                "Record ID": assign(con["contact_id"]),
                "First Name": "",
                "Job Title": con["title"].map(_text),
                "Associated Company IDs (Primary)": ref(con["account_id"]),
            }
        ),
    )
    opp = _read(folder, "opportunities")
    closed = opp["stage"].isin(["won", "lost"])
    _write(
        out,
        "all-deals",
        pd.DataFrame(
            {
                "Record ID": assign(opp["opportunity_id"]),
                "Deal Name": opp["opportunity_id"],
                "Pipeline": "Sales Pipeline",
                "Deal Stage": opp["stage"]
                .map({"won": "Closed Won", "lost": "Closed Lost"})
                .fillna("Contract sent"),
                "Amount": opp["amount"].map(_num),
                "Close Date": np.where(closed, opp["closed_at"].map(_time), ""),
                "Create Date": opp["created_at"].map(_time),
                "Deal owner": by(opp["owner_rep_id"]),
                "Associated Company IDs (Primary)": ref(opp["account_id"]),
                "Original Source": opp["source"].map(_text),
                "Is Closed Won": np.where(opp["stage"] == "won", "true", "false"),
                "Is Deal Closed?": np.where(closed, "true", "false"),
            }
        ),
    )
    act = _read(folder, "activities")
    act = act[~act["is_bulk"].fillna(False).astype(bool)]

    def links(frame: pd.DataFrame) -> dict[str, pd.Series]:
        return {
            "Activity assigned to": by(frame["rep_id"]),
            "Associated Contact IDs": ref(frame["contact_id"]),
            "Associated Deal IDs": ref(frame["opportunity_id"]),
            "Associated Company IDs": ref(frame["account_id"]),
        }

    calls = act[act["type"] == "call"]
    _write(
        out,
        "calls",
        pd.DataFrame(
            {
                "Record ID": assign(calls["activity_id"]),
                "Activity date": calls["occurred_at"].map(_time),
                "Call duration": calls["duration_minutes"].map(
                    lambda m: "" if pd.isna(m) else str(int(round(m * 60000)))
                ),
                **links(calls),
            }
        ),
    )
    meetings = act[act["type"].isin(["meeting", "demo"])]
    end = meetings["occurred_at"] + pd.to_timedelta(meetings["duration_minutes"], unit="m")
    _write(
        out,
        "meetings",
        pd.DataFrame(
            {
                "Record ID": assign(meetings["activity_id"]),
                "Meeting start time": meetings["occurred_at"].map(_time),
                "Meeting end time": end.map(_time),
                "Meeting outcome": "Completed",
                **links(meetings),
            }
        ),
    )
    emails = act[act["type"] == "email"]
    ev = _read(folder, "buyer_events")
    replies = ev[ev["type"] == "reply"]
    sent = pd.DataFrame(
        {
            "Record ID": assign(emails["activity_id"]),
            "Activity date": emails["occurred_at"].map(_time),
            "Email direction": "EMAIL",
            **links(emails),
        }
    )
    got = pd.DataFrame(
        {
            "Record ID": assign(replies["event_id"]),
            "Activity date": replies["occurred_at"].map(_time),
            "Email direction": "INCOMING_EMAIL",
            "Activity assigned to": "",
            "Associated Contact IDs": ref(replies["contact_id"]),
            "Associated Deal IDs": ref(replies["opportunity_id"]),
            "Associated Company IDs": ref(replies["account_id"]),
        }
    )
    _write(out, "emails", pd.concat([sent, got], ignore_index=True))
    return ids
