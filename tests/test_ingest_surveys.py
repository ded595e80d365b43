"""Import of survey answers and stories: the scale rules, references, story status and the
names exports give their columns, on small hand-written files.

Expected lines, columns and messages are worked out by hand from the text in each test.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from brightspots.ingest import ImportResult, IngestError, import_path
from brightspots.ingest.mapping import load_mapping
from brightspots.ingest.propose import propose
from brightspots.workspace import Workspace, init_workspace

REPS = "rep_id,name,manager_rep_id\nR1,Ann,\nR2,Bob,R1\n"
ACCOUNTS = "account_id,name,owner_rep_id\nA1,Acme,R1\nA2,Beta,R2\n"
OPPORTUNITIES = (
    "opportunity_id,account_id,owner_rep_id,created_at,closed_at,stage\n"
    "O1,A1,R1,2024-01-02,2024-02-01,won\n"
)
SURVEY_HEADER = (
    "response_id,survey,respondent_id,respondent_type,subject_rep_id,account_id,question_id,"
    "dimension,score,scale_min,scale_max,submitted_at"
)
MISSING = "(not in the workspace, not a valid row of this import)"


def folder(path: Path, **files: str) -> Path:
    """reps, accounts and opportunities as above, plus ``files`` (``survey_responses__csv``)."""
    path.mkdir(parents=True)
    texts = {"reps.csv": REPS, "accounts.csv": ACCOUNTS, "opportunities.csv": OPPORTUNITIES}
    texts.update({k.replace("__", "."): textwrap.dedent(v) for k, v in files.items()})
    for name, text in texts.items():
        (path / name).write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def ws(tmp_path):
    with init_workspace(tmp_path / "ws") as w:
        yield w


def quarantine(ws: Workspace) -> list[tuple[str, int, str, str, str]]:
    return (
        ws.duckdb()
        .execute('SELECT file, line, "column", reason, detail FROM quarantine ORDER BY file, line')
        .fetchall()
    )


def counts(result: ImportResult, file: str) -> tuple[int, ...]:
    """(read, inserted, updated, unchanged, repeats, skipped, quarantined) of one file."""
    (f,) = [f for f in result.files if f.file == file]
    return (f.read, f.inserted, f.updated, f.unchanged, f.repeats, f.skipped, f.quarantined)


def test_bad_survey_rows_are_quarantined_with_file_line_column_and_reason(ws, tmp_path):
    surveys = f"""\
        {SURVEY_HEADER}
        S1,onboarding,C1,customer,R1,A1,care_1,care,4,1,5,2024-03-01
        S2,onboarding,C1,customer,R1,A1,care_2,care,6,1,5,2024-03-01
        S3,onboarding,C1,customer,R1,A1,care_3,care,-1,,5,2024-03-01
        S4,onboarding,C2,customer,R2,A2,care_1,care,5,5,5,2024-03-02
        S5,pulse,,employee,R-9999,,mgr_1,care,3,1,5,2024-03-03
        S6,onboarding,C3,customer,R1,A-404,care_1,care,3,1,5,2024-03-04
        S7,onboarding,C3,customer,R1,A1,nps,,0,,10,2024-03-04
        S8,onboarding,C3,customer,R1,A1,care_2,care,5.5,1,5,2024-03-04
        S9,pulse,,employee,R1,,mgr_1,care,1,,0,2024-03-05
        S10,pulse,,employee,R2,,mgr_1,care,1,1,5,2024-03-05
        S11,onboarding,C4,customer,R2,A2,care_1,Care,1,1,5,2024-03-06
        S12,onboarding,C4,customer,R2,A2,nps,,10,0,10,2024-03-06
        S13,onboarding,C4,customer,R2,A2,care_2,care,0.5,,5,2024-03-06
        """
    result = import_path(ws, folder(tmp_path / "data", survey_responses__csv=surveys))

    f = "survey_responses.csv"
    assert quarantine(ws) == [
        (f, 3, "score", "score_out_of_scale", "score 6 is outside the scale 1 to 5"),
        (f, 4, "score", "score_out_of_scale", "score -1 is outside the scale 0 or 1 to 5"),
        (f, 5, "scale_max", "bad_scale", "scale_min 5 is not below scale_max 5"),
        (
            f,
            6,
            "subject_rep_id",
            "missing_reference",
            f"subject_rep_id 'R-9999' matches no rep_id of reps {MISSING}",
        ),
        (
            f,
            7,
            "account_id",
            "missing_reference",
            f"account_id 'A-404' matches no account_id of accounts {MISSING}",
        ),
        (f, 9, "score", "score_out_of_scale", "score 5.5 is outside the scale 1 to 5"),
        (
            f,
            10,
            "scale_max",
            "bad_scale",
            "scale_min (empty: 0 or 1) is not below scale_max 0",
        ),
    ]
    assert counts(result, f) == (13, 6, 0, 0, 0, 0, 7)
    assert result.quarantine_by_reason == {
        "score_out_of_scale": 3,
        "bad_scale": 2,
        "missing_reference": 2,
    }
    # the edges of a scale are on it; an empty scale_min with a score of 0 (or 0.5) is valid,
    # settled by the analysis (0 when the question has a score of 0 anywhere, else 1)
    stored = (
        ws.duckdb()
        .execute(
            "SELECT response_id, score, scale_min, scale_max FROM survey_responses "
            "ORDER BY CAST(substr(response_id, 2) AS INT)"
        )
        .fetchall()
    )
    assert stored == [
        ("S1", 4.0, 1.0, 5.0),
        ("S7", 0.0, None, 10.0),
        ("S10", 1.0, 1.0, 5.0),
        ("S11", 1.0, 1.0, 5.0),
        ("S12", 10.0, 0.0, 10.0),
        ("S13", 0.5, None, 5.0),
    ]
    # a second import of the same files changes nothing, the quarantine included
    before = ws.fingerprint()
    again = import_path(ws, tmp_path / "data")
    assert ws.fingerprint() == before
    assert counts(again, f) == (13, 0, 0, 6, 0, 0, 7)
    assert len(quarantine(ws)) == 7


def test_the_first_failing_rule_decides_and_scale_min_may_be_absent(ws, tmp_path):
    header = "response_id,survey,respondent_type,subject_rep_id,question_id,score,scale_max,"
    surveys = f"""\
        {header}submitted_at
        S1,pulse,employee,R1,mgr_1,abc,5,2024-03-01
        S2,pulse,employee,R1,mgr_1,9,five,2024-03-01
        S3,pulse,employee,R9,mgr_1,9,-2,2024-03-01
        S4,pulse,employee,R9,mgr_1,9,5,2024-03-01
        S5,pulse,employee,R1,mgr_1,0,5,2024-03-01
        S6,pulse,employee,R1,mgr_1,-0.5,5,2024-03-01
        S7,pulse,robot,R1,mgr_1,3,5,2024-03-01
        """
    result = import_path(ws, folder(tmp_path / "data", survey_responses__csv=surveys))

    f = "survey_responses.csv"
    assert quarantine(ws) == [
        (f, 2, "score", "bad_value", "score 'abc' is not a number"),
        (f, 3, "scale_max", "bad_value", "scale_max 'five' is not a number"),
        # a broken scale before the score, both before the references
        (f, 4, "scale_max", "bad_scale", "scale_min (empty: 0 or 1) is not below scale_max -2"),
        (f, 5, "score", "score_out_of_scale", "score 9 is outside the scale 0 or 1 to 5"),
        (f, 7, "score", "score_out_of_scale", "score -0.5 is outside the scale 0 or 1 to 5"),
        (
            f,
            8,
            "respondent_type",
            "bad_enum",
            "respondent_type 'robot' is not one of customer, employee",
        ),
    ]
    assert counts(result, f) == (7, 1, 0, 0, 0, 0, 6)


def test_a_broken_survey_file_stops_the_import_and_changes_nothing(ws, tmp_path):
    import_path(ws, folder(tmp_path / "first"))
    before = ws.fingerprint()
    surveys = "response_id,survey,respondent_type,question_id,score,submitted_at\n"
    data = folder(tmp_path / "second", survey_responses__csv=surveys)
    (data / "reps.csv").write_text(REPS + "R3,Cleo,R1\n", encoding="utf-8")
    with pytest.raises(IngestError, match="survey_responses.csv: no scale_max column"):
        import_path(ws, data)
    assert ws.fingerprint() == before
    assert ws.row_count("reps") == 2


def test_story_status_is_optional_and_checked(ws, tmp_path):
    stories = """\
        story_id,rep_id,account_id,title,body,created_at,status
        ST1,R1,A1,Kept in touch,We called a month after go-live.,2024-03-01,approved
        ST2,R1,A1,Two threads,Met the CFO and the IT lead.,2024-03-02,Declined
        ST3,R2,A2,Fast,Answered within the hour.,2024-03-03,
        ST4,R2,A2,Pending,Waiting for the manager.,2024-03-04,submitted
        ST5,R2,A2,Odd,Published on the site.,2024-03-05,published
        """
    result = import_path(ws, folder(tmp_path / "data", stories__csv=stories))

    assert quarantine(ws) == [
        (
            "stories.csv",
            6,
            "status",
            "bad_enum",
            "status 'published' is not one of submitted, approved, declined",
        )
    ]
    assert counts(result, "stories.csv") == (5, 4, 0, 0, 0, 0, 1)
    status = dict(ws.duckdb().execute("SELECT story_id, status FROM stories").fetchall())
    assert status == {"ST1": "approved", "ST2": "declined", "ST3": None, "ST4": "submitted"}


EXPORT_SURVEYS = (
    "Response ID,Survey ID,Respondent,Kind,Subject,Account,Item,Dimension,Score,Scale min,"
    "Scale max,Answered at\n"
    "9001,onboarding,C1,Customer,R1,A1,care_1,care,4,1,5,2024-03-01 10:00\n"
    "9002,onboarding,C1,Customer,R1,A1,care_2,care,7,1,5,2024-03-01 10:00\n"
    "9003,pulse,,Employee,R2,,mgr_1,care,3,3,3,2024-03-02 09:00\n"
)
EXPORT_STORIES = (
    "Story ID,Rep,Account,Title,Text,Tags,Submitted at,Status\n"
    "77,R1,A1,Kept in touch,We called a month after go-live.,care;persistence,"
    "2024-03-05 12:00,Approved\n"
)


def test_an_export_with_other_column_names_is_mapped_and_checked_alike(tmp_path):
    data = folder(
        tmp_path / "export",
        survey_export__csv=EXPORT_SURVEYS,
        customer_stories__csv=EXPORT_STORIES,
    )
    text, summary = propose(data)
    assert "survey_export.csv -> survey_responses (12 of 12 columns matched)" in summary
    assert "customer_stories.csv -> stories (8 of 9 columns matched)" in summary
    for line in (
        'survey = "Survey ID"',
        'respondent_type = "Kind"',
        'subject_rep_id = "Subject"',
        'question_id = "Item"',
        'submitted_at = "Answered at"',
        'body = "Text"',
        'created_at = "Submitted at"',
        'status = "Status"',
    ):
        assert line in text
    path = tmp_path / "mapping.toml"
    path.write_text(text, encoding="utf-8")
    with init_workspace(tmp_path / "ws") as ws:
        result = import_path(ws, data, mapping=load_mapping(path))
        f = "survey_export.csv"
        assert quarantine(ws) == [
            (
                f,
                3,
                "score",  # the same name but for case
                "score_out_of_scale",
                "score 7 is outside the scale 1 to 5",
            ),
            (
                f,
                4,
                "scale_max (file column 'Scale max')",
                "bad_scale",
                "scale_min 3 is not below scale_max 3",
            ),
        ]
        assert counts(result, f) == (3, 1, 0, 0, 0, 0, 2)
        story = ws.read("stories").iloc[0]
        assert (story.story_id, story.body, story.status) == (
            "77",
            "We called a month after go-live.",
            "approved",
        )
