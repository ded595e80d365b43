"""The canonical tables of the data contract, as data.

Every importer maps onto these tables, the synthetic organisation writes them, and the workspace
stores them. Rules (types, keys, enums, references, required columns) live here and nowhere else:
validation code reads them from this module instead of repeating them.

See ``shared/data-contract.md`` for the prose version of the contract.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class ColumnType(StrEnum):
    """Logical column types. ``money`` is a float in the workspace's one currency."""

    STRING = "string"
    INT = "int"
    FLOAT = "float"
    MONEY = "money"
    BOOL = "bool"
    DATE = "date"
    TIMESTAMP = "timestamp"


#: Ibis / DuckDB type names for each logical type (timestamps are stored in UTC, naive).
IBIS_TYPES: dict[ColumnType, str] = {
    ColumnType.STRING: "string",
    ColumnType.INT: "int64",
    ColumnType.FLOAT: "float64",
    ColumnType.MONEY: "float64",
    ColumnType.BOOL: "boolean",
    ColumnType.DATE: "date",
    ColumnType.TIMESTAMP: "timestamp",
}


class Reason(StrEnum):
    """Why a row was quarantined. Stable codes: stored, exported and used in ``truth.json``."""

    MISSING_KEY = "missing_key"  # the key column is empty
    MISSING_REQUIRED = "missing_required"  # a non-nullable column is empty
    BAD_VALUE = "bad_value"  # a value that does not parse as the column's type
    BAD_ENUM = "bad_enum"  # a value outside the column's allowed set
    MISSING_REFERENCE = "missing_reference"  # points at a rep/account/... that does not exist
    CONFLICT = "conflict"  # same key as an earlier row of the file, different content
    CLOSED_AT_REQUIRED = "closed_at_required"  # won/lost without closed_at
    CLOSED_BEFORE_CREATED = "closed_before_created"  # closed_at < created_at
    SCORE_OUT_OF_SCALE = "score_out_of_scale"  # a survey score above scale_max or below the scale
    BAD_SCALE = "bad_scale"  # scale_min not below scale_max


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType = ColumnType.STRING
    nullable: bool = True
    enum: tuple[str, ...] | None = None  # allowed values (lower case); None = free text
    open_enum: bool = False  # enum values are suggestions: other text is allowed
    references: str | None = None  # "table.column" this column points at
    description: str = ""

    @property
    def ibis_type(self) -> str:
        return IBIS_TYPES[self.type]


@dataclass(frozen=True)
class Table:
    name: str
    key: str
    columns: tuple[Column, ...]
    required: bool = False  # must be present in an import
    description: str = ""
    #: table-level rules beyond single columns, by Reason code
    row_rules: tuple[Reason, ...] = field(default=())

    @property
    def file_name(self) -> str:
        return f"{self.name}.csv"

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.name} has no column {name!r}")

    def ibis_schema(self):  # -> ibis.Schema (import kept local: schema.py stays dependency-free)
        import ibis

        return ibis.schema({c.name: c.ibis_type for c in self.columns})


ACTIVITY_TYPES = ("call", "email", "meeting", "demo", "proposal", "other")
BUYER_EVENT_TYPES = (
    "reply",
    "meeting_accepted",
    "meeting_held",
    "content_viewed",
    "proposal_viewed",
    "inbound_request",
    "other",
)
STAGES = ("open", "won", "lost")
SOURCES = ("inbound", "outbound", "partner", "referral", "expansion")
SENIORITIES = ("executive", "manager", "staff")
RESPONDENT_TYPES = ("customer", "employee")
STORY_STATUSES = ("submitted", "approved", "declined")

TABLES: tuple[Table, ...] = (
    Table(
        "teams",
        key="team_id",
        columns=(
            Column("team_id", nullable=False),
            Column("name", nullable=False),
            Column("parent_team_id", references="teams.team_id"),
        ),
        description="Teams, optionally nested (a region is a team with sub-teams).",
    ),
    Table(
        "reps",
        key="rep_id",
        required=True,
        columns=(
            Column("rep_id", nullable=False),
            Column("name", nullable=False),
            Column("team_id", references="teams.team_id"),
            Column("manager_rep_id", references="reps.rep_id"),
            Column("region"),
            Column("role"),
            Column("hire_date", ColumnType.DATE),
            Column("email"),
        ),
        description="Sales reps and their managers.",
    ),
    Table(
        "accounts",
        key="account_id",
        required=True,
        columns=(
            Column("account_id", nullable=False),
            Column("name", nullable=False),
            Column("owner_rep_id", references="reps.rep_id"),
            Column("segment"),
            Column("industry"),
            Column("region"),
            Column("employees", ColumnType.INT),
            Column("annual_potential", ColumnType.MONEY, description="estimated yearly wallet"),
            Column("created_at", ColumnType.TIMESTAMP),
        ),
        description="Customer and prospect accounts.",
    ),
    Table(
        "contacts",
        key="contact_id",
        columns=(
            Column("contact_id", nullable=False),
            Column("account_id", nullable=False, references="accounts.account_id"),
            Column("title"),
            Column("seniority", enum=SENIORITIES),
        ),
        description="People at accounts.",
    ),
    Table(
        "opportunities",
        key="opportunity_id",
        required=True,
        columns=(
            Column("opportunity_id", nullable=False),
            Column("account_id", nullable=False, references="accounts.account_id"),
            Column("owner_rep_id", nullable=False, references="reps.rep_id"),
            Column("created_at", ColumnType.TIMESTAMP, nullable=False),
            Column("closed_at", ColumnType.TIMESTAMP),
            Column("stage", nullable=False, enum=STAGES),
            Column(
                "amount", ColumnType.MONEY, description="current value; the booked value once won"
            ),
            Column(
                "initial_amount",
                ColumnType.MONEY,
                description="value when the opportunity was created",
            ),
            Column("source", enum=SOURCES, open_enum=True),
            Column("product"),
        ),
        row_rules=(Reason.CLOSED_AT_REQUIRED, Reason.CLOSED_BEFORE_CREATED),
        description="Deals: open, won or lost.",
    ),
    Table(
        "activities",
        key="activity_id",
        columns=(
            Column("activity_id", nullable=False),
            Column("rep_id", nullable=False, references="reps.rep_id"),
            Column("account_id", nullable=False, references="accounts.account_id"),
            Column("opportunity_id", references="opportunities.opportunity_id"),
            Column("contact_id", references="contacts.contact_id"),
            Column("type", nullable=False, enum=ACTIVITY_TYPES),
            Column("occurred_at", ColumnType.TIMESTAMP, nullable=False),
            Column("duration_minutes", ColumnType.FLOAT),
            Column(
                "is_bulk", ColumnType.BOOL, description="list or mass e-mail: kept, never a touch"
            ),
        ),
        description="What reps do: calls, e-mails, meetings, demos, proposals.",
    ),
    Table(
        "buyer_events",
        key="event_id",
        columns=(
            Column("event_id", nullable=False),
            Column("account_id", nullable=False, references="accounts.account_id"),
            Column("opportunity_id", references="opportunities.opportunity_id"),
            Column("contact_id", references="contacts.contact_id"),
            Column("type", nullable=False, enum=BUYER_EVENT_TYPES),
            Column("occurred_at", ColumnType.TIMESTAMP, nullable=False),
        ),
        description="What buyers do: replies, meetings accepted, proposal views.",
    ),
    Table(
        "survey_responses",
        key="response_id",
        columns=(
            Column("response_id", nullable=False),
            Column("survey", nullable=False),
            Column("respondent_id"),
            Column("respondent_type", nullable=False, enum=RESPONDENT_TYPES),
            Column("subject_rep_id", references="reps.rep_id"),
            Column("account_id", references="accounts.account_id"),
            Column("question_id", nullable=False),
            Column("dimension"),
            Column("score", ColumnType.FLOAT, nullable=False),
            Column("scale_min", ColumnType.FLOAT),
            Column("scale_max", ColumnType.FLOAT, nullable=False),
            Column("submitted_at", ColumnType.TIMESTAMP, nullable=False),
        ),
        # a broken scale first: it makes every score look out of range
        row_rules=(Reason.BAD_SCALE, Reason.SCORE_OUT_OF_SCALE),
        description="Customer and employee survey answers.",
    ),
    Table(
        "stories",
        key="story_id",
        columns=(
            Column("story_id", nullable=False),
            Column("rep_id", nullable=False, references="reps.rep_id"),
            Column("account_id", references="accounts.account_id"),
            Column("opportunity_id", references="opportunities.opportunity_id"),
            Column("title", nullable=False),
            Column("body", nullable=False),
            Column("tags", description="';'-separated"),
            Column("created_at", ColumnType.TIMESTAMP, nullable=False),
            Column(
                "status",
                enum=STORY_STATUSES,
                description="approval in the source system; empty = submitted",
            ),
        ),
        description="Customer stories told by reps.",
    ),
)

BY_NAME: dict[str, Table] = {t.name: t for t in TABLES}

#: Import order: every table comes after the tables it references.
IMPORT_ORDER: tuple[str, ...] = tuple(t.name for t in TABLES)

REQUIRED_TABLES: tuple[str, ...] = tuple(t.name for t in TABLES if t.required)


def table(name: str) -> Table:
    try:
        return BY_NAME[name]
    except KeyError:
        known = ", ".join(BY_NAME)
        raise KeyError(f"unknown table {name!r}; the canonical tables are: {known}") from None


def _check_order() -> None:
    seen: set[str] = set()
    for t in TABLES:
        for c in t.columns:
            if c.references:
                ref = c.references.split(".")[0]
                assert ref in seen or ref == t.name, f"{t.name}.{c.name} -> {ref} out of order"
        seen.add(t.name)


_check_order()
