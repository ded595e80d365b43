"""The Salesforce preset on a committed Data Export fixture (tests/fixtures/salesforce)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from brightspots.ingest import IngestError, import_path
from brightspots.ingest.presets import detect
from brightspots.workspace import init_workspace

FIXTURE = Path(__file__).parent / "fixtures" / "salesforce"
ANA, BEN, MARIA = "005Hs0a0B000001IIA", "005Hs0a0B000002IIA", "005Hs0a0B000003IIA"
ACME, BOREALIS = "001Hs0a0B000001IIA", "001Hs0a0B000002IIA"
O1, O2 = "006Hs0a0B000001IIA", "006Hs0a0B000002IIA"


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    path = tmp_path_factory.mktemp("sf") / "ws"
    ws = init_workspace(path)
    cfg = ws.config
    cfg["workspace"]["currency"] = "EUR"
    ws.save_config(cfg)
    result = import_path(ws, FIXTURE)
    yield ws, result
    ws.close()


def _by(ws, table, key):
    return ws.read(table).set_index(key)


def test_the_export_is_recognised_and_every_file_counted(imported):
    ws, result = imported
    assert result.format == "salesforce"
    assert result.warnings[0].startswith("read as a salesforce export")
    counts = {f.file: (f.read, f.inserted, f.skipped, f.quarantined) for f in result.files}
    assert counts == {
        "UserRole.csv": (2, 2, 0, 0),
        "User.csv": (3, 3, 0, 0),
        "Account.csv": (4, 3, 1, 0),  # one IsDeleted
        "Contact.csv": (4, 3, 1, 0),  # one private contact (no AccountId)
        "Opportunity.csv": (4, 3, 1, 0),
        "Task.csv": (7, 5, 2, 0),  # one deleted, one not done
        "Event.csv": (3, 2, 1, 0),  # one invitee's copy of a group event
        "EmailMessage.csv": (3, 2, 1, 0),  # one outgoing
        "EventRelation.csv": (3, 1, 2, 0),  # one declined, one a user's own acceptance
    }
    said = " ".join(result.warnings)
    assert "Task.csv: 2 deleted or open (not done) tasks skipped" in said
    assert (
        "salesforce: amounts converted to EUR with the rates of CurrencyType.csv (units per one "
        "EUR): GBP 0.850000" in said
    )
    assert "buyer events from incoming e-mails (EmailMessage.csv)" in said


def test_ids_are_18_characters_and_the_empty_lookup_is_no_reference(imported):
    ws, _ = imported
    reps = _by(ws, "reps", "rep_id")
    # Ben's manager is given in its 15-character form, María's is 000000000000000AAA
    assert reps.loc[BEN, "manager_rep_id"] == MARIA
    assert pd.isna(reps.loc[MARIA, "manager_rep_id"])
    assert reps.loc[ANA, "team_id"] == "00EHs0a0B000001MIA"
    assert _by(ws, "teams", "team_id").loc["00EHs0a0B000001MIA", "parent_team_id"] == (
        "00EHs0a0B000002MIA"
    )
    assert _by(ws, "contacts", "contact_id").loc["003Hs0a0B000003IIA", "account_id"] == BOREALIS


def test_won_and_lost_come_from_the_flags_and_closing_from_the_history(imported):
    ws, _ = imported
    opps = _by(ws, "opportunities", "opportunity_id")
    # O1 entered Closed Won on 10 March, reopened, and was won again on 28 March
    assert opps.loc[O1, "stage"] == "won"
    assert str(opps.loc[O1, "closed_at"]) == "2024-03-28 16:40:05"
    # a translated stage label ("Cerrada perdida") is lost by IsClosed = 1, IsWon = 0; its
    # history never shows it entering that stage, so CloseDate is used
    assert (
        opps.loc[O2, "stage"] == "lost" and str(opps.loc[O2, "closed_at"]) == "2024-02-20 00:00:00"
    )
    # amounts in GBP are converted to the corporate EUR at 0.85, from the first history row too
    assert opps.loc[O1, "amount"] == pytest.approx(48000 / 0.85)
    assert opps.loc[O1, "initial_amount"] == pytest.approx(40000 / 0.85)
    extras = ws.read("extra_columns")
    kept = extras[(extras["table_name"] == "opportunities") & (extras["key"] == O1)]
    # the amount was multiplied by 1 / 0.85, as a mapping would say
    assert json.loads(kept.iloc[0]["data"]) == {
        "currency": "GBP",
        "conversion_rate": "1.1764705882",
    }
    accounts = _by(ws, "accounts", "account_id")
    assert accounts.loc[ACME, "annual_potential"] == pytest.approx(5_000_000 / 0.85)
    assert accounts.loc["001Hs0a0B000003IIA", "name"] == "Café Zürich GmbH"  # cp1252 file


def test_activities_route_on_prefixes_and_list_emails_are_bulk(imported):
    ws, _ = imported
    acts = _by(ws, "activities", "activity_id")
    call = acts.loc["00THs0a0B000001MIA"]
    assert (call["type"], call["opportunity_id"], call["contact_id"]) == (
        "call",
        O1,
        "003Hs0a0B000001IIA",
    )
    assert call["duration_minutes"] == pytest.approx(412 / 60)
    assert str(call["occurred_at"]) == "2024-01-10 14:10:12"  # when it was completed
    # no AccountId: the account of the opportunity it is related to (a 15-character WhatId)
    assert acts.loc["00THs0a0B000004MIA", "account_id"] == BOREALIS
    assert acts.loc["00THs0a0B000004MIA", "type"] == "proposal"  # from Type
    # related to nothing: the contact's account; the type from the (Spanish) subject
    assert acts.loc["00THs0a0B000007MIA", "account_id"] == BOREALIS
    assert acts.loc["00THs0a0B000007MIA", "type"] == "call"
    assert bool(acts.loc["00THs0a0B000003MIA", "is_bulk"])  # ListEmail
    assert acts.loc["00UHs0a0B000001MIA", "type"] == "demo"  # an Event by its subject
    assert acts.loc["00UHs0a0B000003MIA", "type"] == "meeting"


def test_buyer_events_from_incoming_emails_and_accepted_invitations(imported):
    ws, _ = imported
    events = _by(ws, "buyer_events", "event_id")
    reply = events.loc["02sHs0a0B000001IIA"]
    # the contact found by the sender's address, the account by the related opportunity
    assert (reply["type"], reply["account_id"], reply["contact_id"]) == (
        "reply",
        ACME,
        "003Hs0a0B000002IIA",
    )
    accepted = events[events["type"] == "meeting_accepted"]
    assert len(accepted) == 1 and accepted.iloc[0]["opportunity_id"] == O1


def test_without_buyer_signals_the_import_says_so(tmp_path):
    folder = tmp_path / "export"
    shutil.copytree(FIXTURE, folder)
    (folder / "EmailMessage.csv").unlink()
    (folder / "EventRelation.csv").unlink()
    with init_workspace(tmp_path / "ws") as ws:
        result = import_path(ws, folder)
    said = " ".join(result.warnings)
    assert "no EmailMessage.csv or EventRelation.csv in the export: no buyer events at all" in said
    assert "workspace currency is USD" in said  # the corporate currency is EUR


def test_detection_and_ambiguity(tmp_path):
    assert detect(FIXTURE)[0] == "salesforce"
    folder = tmp_path / "both"
    shutil.copytree(FIXTURE, folder)
    (folder / "reps.csv").write_text("rep_id,name\nR1,Ann\n", encoding="utf-8")
    with pytest.raises(IngestError, match="could be read two ways .*--preset salesforce or"):
        detect(folder)
    with init_workspace(tmp_path / "ws") as ws:
        result = import_path(ws, folder, preset="salesforce")
        assert result.format == "salesforce" and ws.row_count("reps") == 3


def test_a_missing_required_column_names_the_file(tmp_path):
    folder = tmp_path / "export"
    shutil.copytree(FIXTURE, folder)
    text = (folder / "Opportunity.csv").read_text(encoding="utf-8")
    (folder / "Opportunity.csv").write_text(text.replace('"IsWon"', '"Won"'), encoding="utf-8")
    with init_workspace(tmp_path / "ws") as ws:
        with pytest.raises(IngestError, match=r"^Opportunity\.csv: no IsWon column"):
            import_path(ws, folder)
        assert ws.row_count("reps") == 0


def test_a_zip_and_zip_parts_are_read_like_the_folder(tmp_path):
    import zipfile

    one = tmp_path / "WE_00DHs0000000001AAA_1.ZIP"
    with zipfile.ZipFile(one, "w") as z:
        for p in sorted(FIXTURE.iterdir()):
            z.write(p, p.name)
    with init_workspace(tmp_path / "ws1") as ws:
        result = import_path(ws, one)
        assert result.format == "salesforce" and ws.row_count("activities") == 7
    # the weekly export in two parts, Task.csv continuing in the second
    parts = tmp_path / "parts"
    parts.mkdir()
    task = (FIXTURE / "Task.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    with zipfile.ZipFile(parts / "WE_00DHs0000000001AAA_1.ZIP", "w") as z:
        for p in sorted(FIXTURE.iterdir()):
            z.writestr(p.name, "".join(task[:4]) if p.name == "Task.csv" else p.read_bytes())
    with zipfile.ZipFile(parts / "WE_00DHs0000000001AAA_2.ZIP", "w") as z:
        z.writestr("Task.csv", task[0] + "".join(task[4:]))
    with init_workspace(tmp_path / "ws2") as ws:
        result = import_path(ws, parts)
        tasks = {f.file: f for f in result.files}["Task.csv"]
        assert (tasks.read, tasks.inserted, tasks.skipped) == (7, 5, 2)
        assert any(
            "Task.csv continues in WE_00DHs0000000001AAA_2.ZIP" in w for w in result.warnings
        )


def test_the_data_loader_variant_reads_the_same(imported, tmp_path):
    # Data Loader up to v60: upper-case headers; times with a +0000 offset; a BOM on every file
    folder = tmp_path / "loader"
    folder.mkdir()
    for p in FIXTURE.iterdir():
        raw = p.read_bytes()
        text = raw.decode("cp1252" if p.name == "Account.csv" else "utf-8-sig")
        head, _, rest = text.partition("\n")
        rest = rest.replace(".000Z", ".000+0000")
        (folder / p.name).write_bytes(("\ufeff" + head.upper() + "\n" + rest).encode("utf-8"))
    ws, _ = imported
    with init_workspace(tmp_path / "ws") as other:
        cfg = other.config
        cfg["workspace"]["currency"] = "EUR"
        other.save_config(cfg)
        import_path(other, folder)
        for table in ("reps", "accounts", "opportunities", "activities", "buyer_events"):
            key = ws.read(table).columns[0]
            want = ws.read(table).sort_values(key).reset_index(drop=True)
            got = other.read(table).sort_values(key).reset_index(drop=True)
            pd.testing.assert_frame_equal(got, want, obj=table)


def test_a_snapshot_flags_what_the_export_no_longer_holds(tmp_path):
    folder = tmp_path / "export"
    shutil.copytree(FIXTURE, folder)
    with init_workspace(tmp_path / "ws") as ws:
        import_path(ws, folder)
        before = ws.fingerprint()
        lines = (folder / "Opportunity.csv").read_text(encoding="utf-8").splitlines(keepends=True)
        # the next export no longer holds O3 (merged away in the CRM), and O1 became deleted
        kept = [ln for ln in lines if not ln.startswith('"006Hs0a0B000003')]
        kept = [
            ln.replace('"006Hs0a0B000001IIA","false"', '"006Hs0a0B000001IIA","true"') for ln in kept
        ]
        (folder / "Opportunity.csv").write_text("".join(kept), encoding="utf-8")
        plain = import_path(ws, folder)  # not a snapshot: nothing is flagged
        assert not any("flagged deleted" in w for w in plain.warnings)
        assert ws.execute(ws.table("opportunities").count()) == 3
        result = import_path(ws, folder, snapshot=True)
        assert (
            "snapshot of salesforce: 2 opportunities no longer in the export are flagged "
            "deleted (kept, and left out of analysis)" in result.warnings
        )
        assert ws.row_count("opportunities") == 3  # kept in the store
        live = ws.execute(ws.table("opportunities").select("opportunity_id"))["opportunity_id"]
        assert sorted(live) == [O2]  # left out of analysis
        assert ws.fingerprint() != before
        # delivered again: live again
        shutil.copy(FIXTURE / "Opportunity.csv", folder / "Opportunity.csv")
        import_path(ws, folder, snapshot=True)
        assert ws.execute(ws.table("opportunities").count()) == 3
        # an export without Task.csv says nothing about tasks: only Event.csv's feed is judged
        (folder / "Task.csv").unlink()
        result = import_path(ws, folder, snapshot=True)
        assert not any("activities no longer" in w for w in result.warnings)
        assert ws.execute(ws.table("activities").count()) == 7


def test_a_report_export_with_a_mapping(tmp_path):
    # field labels, 15-character ids, "48,000.00", US dates and the report's footer
    report = FIXTURE.parent / "salesforce_report"
    with init_workspace(tmp_path / "ws") as ws:
        result = import_path(ws, report, mapping=report / "mapping.toml")
        counts = {f.file: (f.read, f.inserted, f.repeats, f.quarantined) for f in result.files}
        assert counts == {
            "report.csv (reps)": (3, 2, 1, 0),  # a rep's second deal repeats their row
            "report.csv (accounts)": (3, 2, 1, 0),
            "report.csv (opportunities)": (3, 3, 0, 0),
        }
        assert any("2 report footer line(s) dropped" in w for w in result.warnings)
        opps = ws.read("opportunities").set_index("opportunity_id")
        # the same ids the Data Export gives (18 characters from the report's 15)
        won = opps.loc["006Hs00001Tz7LmIAJ"]
        assert won["account_id"] == "001Hs00002QmXyZIAV"
        assert won["amount"] == 48_000 and won["stage"] == "won"
        assert str(won["closed_at"]) == "2024-03-28 00:00:00"
        assert pd.isna(opps.loc["006Hs00001Tz7LnIAJ", "closed_at"])


def test_a_footer_is_dropped_from_any_csv(tmp_path):
    folder = tmp_path / "f"
    folder.mkdir()
    (folder / "reps.csv").write_text(
        'rep_id,name\nR1,Ann\nR2,Bob\n\n"Grand Totals (2 records)"\n"Confidential Information - '
        'Do Not Distribute"\n',
        encoding="utf-8",
    )
    (folder / "accounts.csv").write_text("account_id,name\nA1,Acme\n", encoding="utf-8")
    (folder / "opportunities.csv").write_text(
        "opportunity_id,account_id,owner_rep_id,created_at,stage\nO1,A1,R1,2024-01-02,open\n",
        encoding="utf-8",
    )
    with init_workspace(tmp_path / "ws") as ws:
        result = import_path(ws, folder)
        reps = {f.file: f for f in result.files}["reps.csv"]
        assert (reps.read, reps.inserted) == (2, 2)
        assert "reps.csv: 2 report footer line(s) dropped (Grand Totals (2 records); " in " ".join(
            result.warnings
        )


def test_a_last_row_that_starts_like_a_footer_is_kept(tmp_path):
    folder = tmp_path / "f"
    folder.mkdir()
    (folder / "reps.csv").write_text("rep_id,name\nR1,Ann\n", encoding="utf-8")
    (folder / "accounts.csv").write_text(
        "account_id,name\nA1,Acme\n\nA2,Total Wine & More\n", encoding="utf-8"
    )
    (folder / "opportunities.csv").write_text(
        "opportunity_id,account_id,owner_rep_id,created_at,stage\nO1,A1,R1,2024-01-02,open\n",
        encoding="utf-8",
    )
    with init_workspace(tmp_path / "ws") as ws:
        result = import_path(ws, folder)
        assert ws.row_count("accounts") == 2
        assert not any("footer" in w for w in result.warnings)


def test_passwords_never_show():
    from brightspots.ingest.database import shown

    assert shown("postgresql://bob:p@ss@db/x") == "postgresql://bob:***@db/x"
    assert shown("postgresql://db/x?user=bob&password=hunter2") == (
        "postgresql://db/x?user=bob&password=***"
    )
    assert shown("duckdb:///tmp/a.duckdb") == "duckdb:///tmp/a.duckdb"


def test_zip_parts_without_a_final_line_break_or_with_another_header(tmp_path):
    import zipfile

    task = (FIXTURE / "Task.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    parts = tmp_path / "parts"
    parts.mkdir()
    with zipfile.ZipFile(parts / "WE_1.ZIP", "w") as z:
        for p in sorted(FIXTURE.iterdir()):
            data = "".join(task[:4]).rstrip("\n") if p.name == "Task.csv" else p.read_bytes()
            z.writestr(p.name, data)
    with zipfile.ZipFile(parts / "WE_2.ZIP", "w") as z:
        z.writestr("Task.csv", task[0] + "".join(task[4:]))
    with init_workspace(tmp_path / "ws") as ws:
        tasks = {f.file: f for f in import_path(ws, parts).files}["Task.csv"]
        assert (tasks.read, tasks.inserted) == (7, 5)  # no row glued to the next part's
    with zipfile.ZipFile(parts / "WE_2.ZIP", "w") as z:
        z.writestr("Task.csv", "".join(task[4:]))  # a part without the header
    with init_workspace(tmp_path / "ws2") as ws, pytest.raises(IngestError, match="not the header"):
        import_path(ws, parts)


def test_a_zip_bomb_is_refused_before_anything_is_unpacked(tmp_path):
    import zipfile

    from brightspots.ingest.archive import unpacked

    bomb = tmp_path / "export.zip"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("Account.csv", b"Id\n" + b"0" * (8 << 20))  # 8 MB of one byte: ~1000x
    with pytest.raises(IngestError, match="expands .* times"), unpacked(bomb, []):
        pass
