"""What an experiment's result is, for every surface (CLI ``show``, report, brief, web) and for
the run tables ``experiment_status``, ``experiment_effects`` and ``experiment_panel``.

* ``Measure``: one measure's figures (the outcome, or adoption of the practice): the overall
  difference-in-differences with its interval, the levels before and after in the treated and
  comparison teams, the event study, the cells, the pre-trend check and the weekly panel.
* ``PersonalResult``: a rep's own experiment (design section 8): before/after on their own
  deals, never a verdict.
* ``ExperimentResult``: the definition, the verdict and warnings, the measures (or the personal
  result) and the plan; ``rows()`` gives its rows of the three run tables and ``tables`` stacks
  those of many.

Plain dataclasses of numbers, dates, strings and small frames; no engine here.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import pandas as pd

from brightspots.experiments.config import EFFECT_COLUMNS, PANEL_COLUMNS, STATUS_COLUMNS
from brightspots.experiments.store import Experiment, Plan

#: columns of ``Measure.effects`` (those of ``experiment_effects`` but the two keys)
EFFECT_FIELDS = [c for c in EFFECT_COLUMNS if c not in ("experiment_id", "measure")]
#: columns of ``Measure.panel`` and ``PersonalResult.panel``
PANEL_FIELDS = [c for c in PANEL_COLUMNS if c not in ("experiment_id", "measure")]


def _num(x: Any) -> float | None:
    """A JSON-able float (None for a missing or non-finite value)."""
    if x is None:
        return None
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def empty_effects() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=_EFFECT_DTYPES[c]) for c in EFFECT_FIELDS})


def empty_panel() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=_PANEL_DTYPES[c]) for c in PANEL_FIELDS})


_EFFECT_DTYPES = {
    "aggregation": "object",
    "g": "object",  # the wave's first treated week (a date), None for overall / event rows
    "t": "object",  # the week (a date), None for overall / event rows
    "e": "float64",  # weeks since the start (event rows and cells), NaN for overall
    "estimate": "float64",
    "se": "float64",
    "ci_low": "float64",
    "ci_high": "float64",
    "n_treated": "float64",
    "n_control": "float64",
    "weight": "float64",
}
_PANEL_DTYPES = {
    "unit_id": "object",
    "role": "object",
    "week": "object",
    "value": "float64",
    "volume": "float64",
    "mature": "bool",
}


@dataclass(frozen=True)
class Measure:
    """One measure of an experiment (``name``: the outcome, e.g. ``win_rate``, or
    ``adoption``).

    ``estimate``/``se``/``ci_low``/``ci_high`` are the overall difference-in-differences (the
    treated teams' change minus the comparison teams', in shares for rates and in hours for
    response time) at ``level`` (0.95); None when it cannot be estimated. ``strict_low`` /
    ``strict_high`` are its 99.9% interval, which decides while ``early`` (before the plan's
    weeks: Haybittle-Peto), and ``repeated_low`` / ``repeated_high`` its 98% interval, which
    decides from then on (the same bound at every weekly look); ``decisive()`` gives the one
    that decides. ``before``/``after`` are volume-weighted levels of the mature
    weeks: ``treated_*`` over the treated teams (before: the ``baseline_weeks`` before each
    start; after: from each start), ``comparison_*`` over the comparison teams in the same
    weeks. ``weeks_mature`` counts the weeks since the first start with a mature figure;
    ``first_figures`` is when the first week after a start becomes mature (None: already).
    ``effects`` has ``EFFECT_FIELDS`` (aggregation overall, event, cell, pretrend);
    ``panel`` has ``PANEL_FIELDS``. ``pretrend``: slope (a week), se, drift, p, flagged.
    ``source``: "as of run X" when read from a run, else ""."""

    name: str
    higher_is_better: bool
    estimate: float | None = None
    se: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    level: float = 0.95
    strict_low: float | None = None
    strict_high: float | None = None
    early: bool = False
    treated_before: float | None = None
    treated_after: float | None = None
    comparison_before: float | None = None
    comparison_after: float | None = None
    weeks_mature: int = 0
    first_figures: date | None = None
    pretrend: dict[str, Any] | None = None
    effects: pd.DataFrame = field(default_factory=empty_effects)
    panel: pd.DataFrame = field(default_factory=empty_panel)
    source: str = ""
    notes: tuple[str, ...] = ()
    repeated_low: float | None = None
    repeated_high: float | None = None

    @property
    def estimated(self) -> bool:
        return self.estimate is not None and math.isfinite(self.estimate)

    def decisive(self) -> tuple[float, float | None, float | None]:
        """(level, low, high) of the interval that decides "worked" or "worse" at this look, as
        the verdict reads it (``verdict.decisive``): 99.9% while ``early``, else 98%."""
        from brightspots.experiments.did import REPEATED_LEVEL, STRICT_LEVEL

        if self.early:
            return STRICT_LEVEL, self.strict_low, self.strict_high
        return REPEATED_LEVEL, self.repeated_low, self.repeated_high

    def event(self) -> pd.DataFrame:
        """The event study: e, estimate, se, ci_low, ci_high, n_treated, n_control, by e."""
        ev = self.effects[self.effects["aggregation"] == "event"]
        return ev.sort_values("e").reset_index(drop=True)

    def figures(self) -> dict[str, Any]:
        """The measure's headline figures as JSON-able values."""
        return {
            "estimate": _num(self.estimate),
            "se": _num(self.se),
            "ci_low": _num(self.ci_low),
            "ci_high": _num(self.ci_high),
            "level": self.level,
            "strict_low": _num(self.strict_low),
            "strict_high": _num(self.strict_high),
            "repeated_low": _num(self.repeated_low),
            "repeated_high": _num(self.repeated_high),
            "early": bool(self.early),
            "treated_before": _num(self.treated_before),
            "treated_after": _num(self.treated_after),
            "comparison_before": _num(self.comparison_before),
            "comparison_after": _num(self.comparison_after),
            "weeks_mature": int(self.weeks_mature),
            "first_figures": self.first_figures.isoformat() if self.first_figures else None,
            "pretrend": _jsonable(self.pretrend),
            "source": self.source,
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class PersonalResult:
    """A rep's own experiment: before (``history_weeks`` before the start) and after (the
    mature weeks since ``since``, the first fully treated week).

    * the practice rate on their own new deals (``practice_*``, shares, with deal counts): that
      is theirs;
    * the outcome (``outcome_*`` with ``n_*``, deals or touches or buyer events) and the
      difference after - before with a Newcombe 95% interval (``diff_low``/``diff_high``; None
      for response hours);
    * their resource peers' outcome over the same weeks (``peers_*``), as a group only;
    * ``swing``: how far luck alone can move their after figure (half the 95% interval);
      ``more_needed``: how many more deals (touches) until a 10-point change would be
      detectable 4 times out of 5 (``personal.more_needed``: after against before, 5% two-sided,
      80% power); None for response hours, without a figure before the start, or when the
      deals before the start are too few for any number after to do (the words say so).

    ``text`` says it in words; ``panel`` has ``PANEL_FIELDS`` (roles rep and peers: peers as
    one pooled group, ``unit_id`` "peers")."""

    rep_id: str
    practice_id: str
    outcome: str
    horizon_days: int
    start: date
    since: date
    before_from: date
    practice_before: float | None
    deals_before: int
    practice_after: float | None
    deals_after: int
    outcome_before: float | None
    n_before: int
    outcome_after: float | None
    n_after: int
    difference: float | None
    diff_low: float | None
    diff_high: float | None
    peers: tuple[str, ...]
    peers_before: float | None
    peers_after: float | None
    swing: float | None
    more_needed: int | None
    text: str
    panel: pd.DataFrame = field(default_factory=empty_panel)
    unit: str = "deals"

    def figures(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k in (
            "practice_before",
            "practice_after",
            "outcome_before",
            "outcome_after",
            "difference",
            "diff_low",
            "diff_high",
            "peers_before",
            "peers_after",
            "swing",
        ):
            out[k] = _num(getattr(self, k))
        for k in ("deals_before", "deals_after", "n_before", "n_after"):
            out[k] = int(getattr(self, k))
        out["more_needed"] = self.more_needed
        out["peers"] = len(self.peers)
        out["since"] = self.since.isoformat()
        out["before_from"] = self.before_from.isoformat()
        out["unit"] = self.unit
        return out


@dataclass(frozen=True)
class ExperimentResult:
    """An experiment's result on some data.

    ``verdict`` is the code (``verdict.Verdict.code``: not_started, no_comparison,
    too_few_teams, too_early, not_adopted, unfair_comparison, worked, worse, no_effect_yet;
    ``personal`` for a personal experiment; ``failed`` when it could not be computed),
    ``headline`` its sentence, ``lines`` the sentences after it and ``warnings`` the warnings.
    ``outcome`` and ``adoption`` are the measures (None when not computed: a personal
    experiment, a failure); ``personal`` is a personal experiment's result. ``treated`` and
    ``comparison`` are team ids; ``starts`` each treated team's start; ``plans`` the plans
    frozen at create/extend; ``power`` the power words with the latest data (or "").
    ``data_as_of`` is the data's as-of time (naive UTC), ``run_id`` the analysis run read for
    impact and deal mix (None: none)."""

    experiment: Experiment
    verdict: str
    headline: str
    lines: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    outcome: Measure | None = None
    adoption: Measure | None = None
    personal: PersonalResult | None = None
    treated: tuple[str, ...] = ()
    comparison: tuple[str, ...] = ()
    starts: dict[str, date] = field(default_factory=dict)
    plans: tuple[Plan, ...] = ()
    power: str = ""
    weeks_needed: int | None = None
    data_as_of: datetime | None = None
    run_id: str | None = None

    @property
    def experiment_id(self) -> str:
        return self.experiment.experiment_id

    def figures(self) -> dict[str, Any]:
        """The JSON of ``experiment_status.figures``: the definition the run used (with its
        plans), the lines, the power words, each measure's figures and the personal result."""
        e = self.experiment
        return {
            "definition": {
                **e.as_dict(),
                "plans": [p.as_dict() for p in self.plans],
            },
            "kind": e.kind,
            "practice_id": e.practice_id,
            "outcome": e.outcome,
            "lines": list(self.lines),
            "treated": list(self.treated),
            "comparison": list(self.comparison),
            "starts": {k: v.isoformat() for k, v in self.starts.items()},
            "power": self.power,
            "weeks_needed": self.weeks_needed,
            "run_id": self.run_id,
            "measures": {
                m.name if m.name == "adoption" else "outcome": m.figures()
                for m in (self.outcome, self.adoption)
                if m is not None
            },
            "personal": self.personal.figures() if self.personal else None,
        }

    def rows(self) -> dict[str, pd.DataFrame]:
        """This result's rows of ``experiment_status``, ``experiment_effects`` and
        ``experiment_panel`` (columns of ``config.RUN_TABLES``)."""
        eid = self.experiment_id
        status = pd.DataFrame(
            [
                {
                    "experiment_id": eid,
                    "name": self.experiment.name,
                    "verdict": self.verdict,
                    "headline": self.headline,
                    "figures": json.dumps(self.figures(), default=str, sort_keys=True),
                    "warnings": json.dumps(list(self.warnings)),
                    "definition_digest": self.experiment.digest(),
                    "data_as_of": self.data_as_of,
                }
            ],
            columns=list(STATUS_COLUMNS),
        )
        effects, panels = [], []
        for role, m in (("outcome", self.outcome), ("adoption", self.adoption)):
            if m is None:
                continue
            if len(m.effects):
                effects.append(m.effects.assign(experiment_id=eid, measure=role))
            if len(m.panel):
                panels.append(m.panel.assign(experiment_id=eid, measure=role))
        if self.personal is not None and len(self.personal.panel):
            panels.append(self.personal.panel.assign(experiment_id=eid))
        return {
            "experiment_status": status,
            "experiment_effects": _stack(effects, EFFECT_COLUMNS, _EFFECT_DTYPES),
            "experiment_panel": _stack(panels, PANEL_COLUMNS, _PANEL_DTYPES),
        }


def _stack(parts: list[pd.DataFrame], columns, dtypes: dict[str, str]) -> pd.DataFrame:
    if parts:
        out = pd.concat([p[list(columns)] for p in parts], ignore_index=True)
    else:
        out = pd.DataFrame(columns=list(columns))
    types = {c: dtypes.get(c, "object") for c in columns}
    return out.astype(types)


def tables(results: list[ExperimentResult]) -> dict[str, pd.DataFrame]:
    """The three run tables of ``results`` (one status row per experiment), typed even when
    empty."""
    rows = [r.rows() for r in results]
    out = {}
    for name, columns, dtypes in (
        ("experiment_status", STATUS_COLUMNS, {"data_as_of": "datetime64[us]"}),
        ("experiment_effects", EFFECT_COLUMNS, _EFFECT_DTYPES),
        ("experiment_panel", PANEL_COLUMNS, _PANEL_DTYPES),
    ):
        out[name] = _stack([r[name] for r in rows if len(r[name])], columns, dtypes)
    return out


def _jsonable(x: Any) -> Any:
    if hasattr(x, "item") and not isinstance(x, bool | int | float | str):
        try:
            x = x.item()  # a numpy scalar
        except (TypeError, ValueError):
            return None
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_jsonable(v) for v in x]
    if isinstance(x, bool | int | str) or x is None:
        return x
    if isinstance(x, date):
        return x.isoformat()
    return _num(x)
