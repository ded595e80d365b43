"""What to generate: ``SynthConfig`` and its checks, ``SynthError``, the progress callback."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from brightspots.errors import BrightspotsError

if TYPE_CHECKING:
    from brightspots.synth.experiment import Plant

Progress = Callable[[str, float], None]
DEFAULT_CARE_EFFECT = 2.5  # repeat-business log-odds per unit of observed care (0-1)


def scaled_progress(progress: Progress | None, lo: float, hi: float) -> Progress | None:
    """``progress`` with fractions 0-1 mapped to ``lo``-``hi``."""
    if progress is None:
        return None
    return lambda step, fraction: progress(step, lo + (hi - lo) * fraction)


class SynthError(BrightspotsError):
    """An impossible synthetic-organisation configuration."""


@dataclass(frozen=True)
class SynthConfig:
    reps: int = 200
    months: int = 18
    seed: int = 7
    end: date = date(2026, 10, 31)  # last day of data; start = end - months
    null: bool = False  # no planted deviants at all
    dirty: float = 0.0  # fraction of rows made bad, across every kind of bad row
    opportunities_per_rep_month: float = 8.0
    activities: int | None = None  # if given, scale opportunity volume to hit ~this many
    # None: skill 0.8-1.2 log-odds and raised practice propensities (the default plant); a
    # number: every planted bright spot has exactly this odds ratio on each of its deals, all of
    # it skill (log of the ratio), with an average rep's practice propensities.
    bright_spot_odds_ratio: float | None = None
    # None: the coached team's log-odds effect is drawn in 0.30-0.40 and its reps keep their
    # own spread of skill and propensities; a number: every rep of a coached team has exactly
    # this odds ratio on each of its deals (individual skill 0, average propensities).
    team_odds_ratio: float | None = None
    # coached teams (a planted team effect); None: about 1 in 20 teams, at least one from 4
    # teams up (or whenever team_odds_ratio is set), none below 4 teams
    coached_teams: int | None = None
    # share of reps who misallocate their account effort: they neglect some of their large,
    # well-fitting accounts and over-serve small ones (``allocation``), at least one rep; above
    # 0 it also turns on the account-effort model (every rep covers their book by value,
    # ``effort``). None or 0: off, the account-level touches of the plain generator, no
    # misallocating and no proportional rep
    misallocation: float | None = None
    # the planted effect of customer care on repeat business (``care``): log-odds of a repeat
    # win within 12 months per unit (0-1) of the account's observed care score; None: 2.5
    # (odds ratio 1.28 per 10 points of 100), 0 with null=True
    care_effect: float | None = None
    # add a reverse-coded care item (``cs_care_rushed``, high = less care) to the customer survey
    reverse_coded_item: bool = False
    # a planted practice experiment (``experiment.Plant``, ``experiment.parse_spec`` reads the
    # CLI's text): teams take a practice up from a date, in waves, with a known effect on the
    # deals that take it up because of it; None: off, and the tables are the same bytes as
    # before the option existed
    experiment: Plant | None = None

    def check(self) -> None:
        if self.reps < 10:
            raise SynthError(f"reps must be at least 10 (two teams of five), got {self.reps}")
        if not 3 <= self.months <= 120:
            raise SynthError(f"months must be between 3 and 120, got {self.months}")
        if not 0.0 <= self.dirty <= 0.5:
            raise SynthError(f"dirty must be between 0 and 0.5, got {self.dirty}")
        if not self.opportunities_per_rep_month > 0:
            raise SynthError("opportunities_per_rep_month must be positive")
        if self.activities is not None and self.activities < 1000:
            raise SynthError(f"activities must be at least 1000, got {self.activities}")
        for name in ("bright_spot_odds_ratio", "team_odds_ratio"):
            value = getattr(self, name)
            if value is None:
                continue
            if self.null:
                raise SynthError(f"{name} plants an effect: leave it unset with null=True")
            if not (math.isfinite(value) and 1.0 < value <= 50.0):
                raise SynthError(f"{name} must be above 1 and at most 50, got {value}")
        if self.coached_teams is not None:
            if self.coached_teams < 0:
                raise SynthError(f"coached_teams must be 0 or more, got {self.coached_teams}")
            if self.null and self.coached_teams > 0:
                raise SynthError("coached_teams plants a team effect: use 0 with null=True")
            if self.team_odds_ratio is not None and self.coached_teams == 0:
                raise SynthError("team_odds_ratio needs at least one coached team")
        if self.misallocation is not None:
            share = self.misallocation
            if not (math.isfinite(share) and 0.0 <= share <= 0.5):
                raise SynthError(f"misallocation must be between 0 and 0.5, got {share}")
            if self.null and share > 0:
                raise SynthError("misallocation plants misallocating reps: use 0 with null=True")
        if self.care_effect is not None:
            beta = self.care_effect
            if not (math.isfinite(beta) and abs(beta) <= 10.0):
                raise SynthError(f"care_effect must be between -10 and 10, got {beta}")
            if self.null and beta != 0:
                raise SynthError("care_effect plants an effect: leave it unset with null=True")
        if self.experiment is not None:
            plant = self.experiment
            plant.check()
            if self.null and plant.log_odds != 0:
                raise SynthError(
                    "experiment plants an effect: use effect=0 (a null experiment) with null=True"
                )
            plant.check_window(self.window_start(), self.end)

    def window_start(self) -> date:
        """The first day of data (``end`` minus ``months``, as the calendar's)."""
        from brightspots.synth.calendar import Calendar

        return Calendar.build(self.end, self.months).start

    def misallocation_share(self) -> float:
        """The share of reps who misallocate their account effort (0: none planted)."""
        return self.misallocation or 0.0

    @property
    def account_effort(self) -> bool:
        """Whether the account-effort model is on (``misallocation`` above 0)."""
        return self.misallocation_share() > 0

    def n_misallocating(self, n_reps: int) -> int:
        """How many reps misallocate their account effort (at least one when the share is above
        0)."""
        share = self.misallocation_share()
        return 0 if share <= 0 else max(1, round(share * n_reps))

    def repeat_effect(self) -> float:
        """The planted log-odds of repeat business per unit of observed care (0 with null)."""
        if self.null:
            return 0.0
        return DEFAULT_CARE_EFFECT if self.care_effect is None else float(self.care_effect)

    def n_coached(self, n_teams: int) -> int:
        """How many teams get the planted coaching effect."""
        if self.null:
            return 0
        if self.coached_teams is not None:
            return self.coached_teams
        if n_teams >= 4 or self.team_odds_ratio is not None:
            return max(1, round(n_teams / 20))
        return 0
