"""Care and results in plain sentences: what the association is, and that it is one."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from brightspots.care.results import CareEffect

#: what each covariate of the account frame is called in a sentence
COVARIATE_WORDS = {
    "segment": "segment",
    "annual_potential": "size",
    "territory_potential": "territory",
    "quarter": "quarter",
}
CAVEAT = (
    "This is an association: reps who care may differ in other ways, so it does not show that "
    "care causes {what}."
)


def covariate_words(covariates: list[str]) -> str:
    """'segment, size, territory and quarter' for the account frame's covariates."""
    words = [COVARIATE_WORDS.get(c, c.replace("_", " ")) for c in covariates]
    if not words:
        return ""
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + " and " + words[-1]


def _ratio(x: float) -> str:
    return f"{x:.2f}"


def _pp(values: tuple[float, float, float]) -> tuple[str, str, str]:
    """Percentage points at one precision: whole points, or tenths when the estimate is below 1
    point; a true minus sign."""
    decimals = 1 if abs(values[0]) < 1 else 0
    out = []
    for x in values:
        text = f"{x:.{decimals}f}"
        if float(text) == 0:
            text = text.lstrip("-")
        out.append(text.replace("-", "\u2212"))
    return out[0], out[1], out[2]


def _direction(e: CareEffect) -> int:
    """+1 when the whole interval is above 1, -1 when below, 0 when it contains 1."""
    if e.ratio_lower_95 > 1:
        return 1
    if e.ratio_upper_95 < 1:
        return -1
    return 0


def results_sentence(
    e: CareEffect, covariate_words: str, *, within: str = "within 12 months"
) -> str:
    """The sentence of one care-and-results estimate (the note when it was not estimated)."""
    if not math.isfinite(e.estimate) or not math.isfinite(e.ratio_lower_95):
        return e.note
    ci = f"(95% CI {_ratio(e.ratio_lower_95)} to {_ratio(e.ratio_upper_95)})"
    pp = ""
    if math.isfinite(e.pp_per_10) and math.isfinite(e.pp_lower_95):
        est, lo, hi = _pp((e.pp_per_10, e.pp_lower_95, e.pp_upper_95))
        unit = "percentage point" if est == "1" else "percentage points"
        pp = f", about {est} {unit} ({lo} to {hi})"
    higher = "rated care 10 points higher (of 100)"
    d = _direction(e)
    if e.outcome == "account_win_rate":
        verb = {
            1: "won more often",
            0: "did not clearly win more often",
            -1: "won less often",
        }[d]
        return (
            f"Deals created {within} after a survey, on accounts whose customers {higher}, "
            f"{verb} than the case-mix model expected: odds ratio {_ratio(e.ratio_per_10)} {ci}"
            f"{pp}, over {e.n:,} deals of {e.n_reps:,} reps. {CAVEAT.format(what='wins')}"
        )
    if e.outcome == "repeat_deals_12m":
        verb = {
            1: f"won more repeat deals {within}",
            0: f"did not clearly win more repeat deals {within}",
            -1: f"won fewer repeat deals {within}",
        }[d]
        effect = f"rate ratio {_ratio(e.ratio_per_10)} {ci}"
    else:
        verb = {
            1: f"bought again {within} more often",
            0: f"did not clearly buy again more often {within}",
            -1: f"bought again {within} less often",
        }[d]
        effect = f"odds ratio {_ratio(e.ratio_per_10)} {ci}{pp}"
    same = f", compared with accounts of the same {covariate_words}" if covariate_words else ""
    counted = f"({e.n:,} accounts, {e.n_reps:,} reps)"
    caveat = CAVEAT.format(what="repeat business")
    return f"Accounts whose customers {higher} {verb}: {effect}{same} {counted}. {caveat}"
