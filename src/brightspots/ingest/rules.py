"""Rules that span several columns of a row, keyed by the Reason code ``schema.Table.row_rules``
names. Each is SQL over placeholders: ``{col}`` is the typed value, ``{col_text}`` the text as
written (NULL when the file has no such column)."""

from __future__ import annotations

from dataclasses import dataclass

from brightspots.schema import Reason


@dataclass(frozen=True)
class RowRule:
    column: str  # the column a user should look at
    when: str  # SQL: true when the row breaks the rule
    detail: str  # SQL text expression: the message


ROW_RULES: dict[Reason, RowRule] = {
    Reason.CLOSED_AT_REQUIRED: RowRule(
        column="closed_at",
        when="{stage} IN ('won', 'lost') AND {closed_at} IS NULL",
        detail="'closed_at is empty but stage is ''' || {stage} || ''': a won or lost "
        "opportunity needs the date it closed'",
    ),
    Reason.CLOSED_BEFORE_CREATED: RowRule(
        column="closed_at",
        when="{closed_at} < {created_at}",
        detail="'closed_at ''' || {closed_at_text} || ''' is before created_at ''' "
        "|| {created_at_text} || ''''",
    ),
    # An empty scale_min means 0 or 1 (0 when the question has a score of 0 anywhere). That
    # depends on other rows, so the analysis settles it; here only a negative score fails.
    Reason.BAD_SCALE: RowRule(
        column="scale_max",
        when="({scale_min} IS NOT NULL AND {scale_min} >= {scale_max}) "
        "OR ({scale_min} IS NULL AND {scale_max} <= 0)",
        detail="'scale_min ' || coalesce({scale_min_text}, '(empty: 0 or 1)') "
        "|| ' is not below scale_max ' || {scale_max_text}",
    ),
    Reason.SCORE_OUT_OF_SCALE: RowRule(
        column="score",
        when="{score} > {scale_max} OR {score} < coalesce({scale_min}, 0)",
        detail="'score ' || {score_text} || ' is outside the scale ' "
        "|| coalesce({scale_min_text}, '0 or 1') || ' to ' || {scale_max_text}",
    ),
}
