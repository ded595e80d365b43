"""Which practices go with winning, once the case mix is accounted for (method.md section 6).

``estimate_effects`` takes one row per closed opportunity (``opportunity_id``, ``rep_id``, ``y``,
the coded case-mix covariates ``x_<name>`` of ``casemix.case_table``, an optional segment column,
and per practice ``primary__<id>`` and ``whole__<id>``, NaN where the practice is not defined or
the deal is not in that analysis) and returns the ``practice_effects`` table and the per-segment
table. Decisions, in order:

1. **Screen** (``screen``): each rep's value is the mean of the primary value over their deals.
   SMD = (m1 - m0) / sqrt((s1^2 + s0^2) / 2), bright spots (1) against peers (0), signed so that
   > 0 means bright spots lean to the better side; 95% percentile bootstrap resampling reps within
   each group (``n_boot`` resamples, seeded per practice from ``seed`` and the practice id). NaN
   with fewer than two reps in a group, with a note. ``bright_share`` / ``peer_share``: binary,
   the share of the group doing the (better) practice on most deals (rep mean >= ``most_deals``);
   non-binary, the share whose rep mean is strictly on the better side of the peers' median.
2. **Test on all deals** (``model``): logit(win) = case mix + practice, statsmodels GLM Binomial,
   covariance clustered by rep (default small-sample correction). The case-mix terms are those of
   ``casemix`` (its pooling of sparse levels with ``pool_min_cases``, its centring, its missing
   indicators, set on the analysed deals); covariate terms that are linear combinations of others
   are dropped. Contrast: binary 1 against 0; non-binary, values winsorised at their 1st/99th
   percentiles, then the 25th against the 75th percentile (10th/90th, then the extremes, when
   those coincide). The contrast is oriented from the worse to the better value (for
   lower-is-better practices, from the 75th down to the 25th percentile), so an odds ratio > 1
   always means "more of the better thing". The practice enters scaled to that contrast, so its
   coefficient is the contrast's log odds ratio; Wald 95% interval and two-sided p. ``pp_diff`` is
   the average marginal effect over the analysed deals, in percentage points (predicted win
   probability at the better value minus at the worse value), with a delta-method interval under
   the clustered covariance. Fewer than ``min_deals`` deals or ``min_reps`` reps, one outcome
   only, no variation, separation (a binary arm with one outcome, |log OR| > 10) or a fit that
   does not converge give NaN and a note, never an exception.
3. The same model on the primary analysis (``p``, ``q``) and on the whole-deal one
   (``whole_deal_*``, its contrast from the quartiles of its own values), and, for contrast
   only, the whole-deal model without the case mix (``raw_*``: what a plain dashboard shows);
   Benjamini-Hochberg q-values across practices, separately for each. ``suspect`` =
   whole_deal_q < 0.05 and q >= 0.05 or not estimable (significant only over the whole deal).
4. **By segment** (``segments``): the primary model with a practice x segment interaction; joint
   Wald test of the interaction terms, BH across practices, ``differs_by_segment`` = q < 0.05.
5. **Sentence** (``sentence``): one plain sentence per practice.

Rows are sorted by the primary evidence: q, then the size of the effect (|log OR|), then id.

**Grouped cells** (``estimate_grouped_effects``; an analysis of more closed deals than
``[analysis] max_driver_rows`` uses it, no deal row leaving the engine, see ``practices.cells``).
The same method on cells of deals with the same rep, coded case mix, outcome and practice
value, each cell a row weighted by its deals (``WEIGHT``); every step counts deals, not rows.
The screen's rep means are deal-weighted means of the cells (exact). The winsorising bounds and
contrast percentiles are weighted quantiles, numpy's linear method over the deals
(``weights.quantile``). The fit is a frequency-weighted logit: its log-likelihood, information
and each rep's summed score depend only on the cells' totals, every cell belongs to one rep, so
the clustered sandwich is the per-deal one, with N = the deals (not the cells) in its
(N-1)/(N-K) correction. The marginal effect is the deal-weighted mean over the cells. Binary
practices and count practices with whole-number values group on their exact value: the results
are the per-deal results to rounding (1e-13 in the tests).

The one approximation: other practices (rates, shares, hours) group on quantile bins of their
values (64 equal-count bins from exact quantiles, one column per query, cut to 1/1024 of the deals
around the 1st, 10th, 25th, 75th, 90th and 99th percentiles, each edge a bin of its own so that a
value many deals share keeps its cells), and each cell enters the model at the mean value of its
deals. The contrast ends and the fit then move within a bin: in the tests the log odds ratio
moved by at most 1e-4 at 5,000 deals (0.003 standard errors) and 0.0011 at 240,000 deals (the
error does not shrink with the deals while the standard error does: 0.2 standard errors there).

Memory: with fine numeric covariates most deals are a cell of their own, so the cells can be as
many as the deals. Each analysis's design is built once (``Designs``, one kept at a time) and,
above ``designs.DENSE_VALUES`` numbers, made a block of rows at a time from the covariates'
codes for each pass of a fit (``designs.BuiltRows``, ``logit.Rows``), never held as a matrix.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypedDict, Unpack

import numpy as np
import pandas as pd

from brightspots.blas import one_blas_thread
from brightspots.errors import BrightspotsError
from brightspots.practices.effects.designs import Designs
from brightspots.practices.effects.logit import FitFailed, bh
from brightspots.practices.effects.model import (
    REP_CODE,
    Estimate,
    Limits,
    analysed,
    estimate,
    n_reps,
)
from brightspots.practices.effects.screen import Screen, screen
from brightspots.practices.effects.segments import SegmentResult, by_segment
from brightspots.practices.effects.sentence import ALPHA, Facts, sentence
from brightspots.practices.effects.weights import WEIGHT, n_deals
from brightspots.practices.registry import Practice

#: a practice's grouped cells: (primary, whole-deal), see ``estimate_grouped_effects``
CellSource = Callable[[Practice], tuple[pd.DataFrame, pd.DataFrame]]

__all__ = [
    "COLUMNS",
    "EXTRA_COLUMNS",
    "SEGMENT_COLUMNS",
    "WEIGHT",
    "CellSource",
    "PracticeEffectsError",
    "estimate_effects",
    "estimate_grouped_effects",
]

#: the exported ``practice_effects`` columns, in order
COLUMNS = [
    "practice",
    "description",
    "level",
    "n",
    "odds_ratio",
    "or_low",
    "or_high",
    "pp_diff",
    "pp_low",
    "pp_high",
    "p",
    "q",
    "smd",
    "smd_low",
    "smd_high",
    "bright_share",
    "peer_share",
    "whole_deal_odds_ratio",
    "whole_deal_q",
    "suspect",
    "sentence",
]
#: further columns of the effects frame (after ``COLUMNS``)
EXTRA_COLUMNS = [
    "kind",  # binary, count, rate, share or hours
    "higher_is_better",
    "unit",
    "analysis",  # primary analysis: landmark, stage or prior_period
    "contrast_from",  # practice value compared from (the worse end)
    "contrast_to",  # and to (the better end)
    "n_reps",
    "n_bright",  # bright spots with the practice measured
    "whole_deal_n",
    "whole_deal_or_low",
    "whole_deal_or_high",
    "whole_deal_p",
    "differs_by_segment",
    "segment_p",
    "raw_odds_ratio",  # whole deal, no case-mix adjustment: what a plain dashboard would show
    "raw_or_low",
    "raw_or_high",
    "raw_q",
    "note",
]
SEGMENT_COLUMNS = [
    "practice",
    "segment",
    "n",
    "odds_ratio",
    "or_low",
    "or_high",
    "pp_diff",
    "pp_low",
    "pp_high",
    "differs",
]
NAN = float("nan")


class PracticeEffectsError(BrightspotsError):
    """The practice frame or the practice list cannot be analysed as given."""


class Options(TypedDict, total=False):
    """The settings ``estimate_effects`` and ``estimate_grouped_effects`` share (defaults in
    ``_DEFAULTS``): the segment column, the screen's ``most_deals``, the bootstrap's ``seed``
    and ``n_boot``, and the ``Limits``."""

    segment: str
    most_deals: float
    seed: int
    n_boot: int
    min_deals: int
    min_reps: int
    min_segment_deals: int
    pool_min_cases: int


_DEFAULTS: Options = {
    "segment": "x_segment",
    "most_deals": 0.5,
    "seed": 0,
    "n_boot": 2000,
    "min_deals": 30,
    "min_reps": 10,
    "min_segment_deals": 40,
    "pool_min_cases": 30,
}


@dataclass(frozen=True)
class _Setup:
    covariates: list[str]
    bright: set[str]
    peers: set[str]
    segment: str
    most_deals: float
    seed: int
    n_boot: int
    limits: Limits

    @classmethod
    def of(
        cls, covariates: list[str], bright: Iterable[str], peers: Iterable[str], options: Options
    ) -> _Setup:
        unknown = set(options) - set(_DEFAULTS)
        if unknown:
            raise TypeError(f"unknown option(s): {sorted(unknown)}")
        o = {**_DEFAULTS, **options}
        return cls(
            covariates=[c.removeprefix("x_") for c in covariates],
            bright={str(r) for r in bright},
            peers={str(r) for r in peers},
            segment=o["segment"],
            most_deals=o["most_deals"],
            seed=o["seed"],
            n_boot=o["n_boot"],
            limits=Limits(
                o["min_deals"], o["min_reps"], o["min_segment_deals"], o["pool_min_cases"]
            ),
        )


def estimate_effects(
    frame: pd.DataFrame,
    practices: list[Practice],
    *,
    covariates: list[str],
    bright: Iterable[str],
    peers: Iterable[str],
    **options: Unpack[Options],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ``practice_effects`` table (``COLUMNS`` + ``EXTRA_COLUMNS``) and the per-segment
    table (``SEGMENT_COLUMNS``); see the module docstring for the method. ``options``:
    ``Options``."""
    s = _Setup.of(covariates, bright, peers, options)
    frame = _validated(frame, practices, s.covariates, s.bright, s.peers)
    with one_blas_thread():
        return _estimated(
            frame, practices, s.covariates, s.bright, s.peers, s.segment, s.most_deals, s.seed,
            s.n_boot, s.limits,
        )  # fmt: skip


def estimate_grouped_effects(
    cells: CellSource,
    practices: list[Practice],
    *,
    covariates: list[str],
    bright: Iterable[str],
    peers: Iterable[str],
    **options: Unpack[Options],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``estimate_effects`` on grouped covariate cells instead of one row per deal (see the
    module docstring, "Grouped cells"). ``cells(practice)`` gives the practice's primary and
    whole-deal cells, each a frame with ``rep_id``, ``y``, the ``x_<name>`` covariates, the
    segment column when there is one, the practice value (``primary__<id>`` or ``whole__<id>``,
    never empty: a cell holds deals where the practice is defined) and ``WEIGHT``, the number of
    deals in the cell (a positive whole number). The practices' cells are asked for one
    practice at a time, so only one practice's cells are held at once."""
    s = _Setup.of(covariates, bright, peers, options)
    _check_lists(practices, s.bright, s.peers)
    done = []
    with one_blas_thread():
        for practice in practices:
            subs = [
                _validated_cells(frame, practice, f"{variant}__{practice.id}", s.covariates)
                for frame, variant in zip(cells(practice), ("primary", "whole"), strict=True)
            ]  # the cells as given are dropped once validated (copied)
            # each analysis's design built in place once (its cells are its own) and used by
            # all its models; one kept at a time, as the practice's cells are
            primary_designs, whole_designs = (
                Designs(sub, s.limits.pool_min_cases, keep=1) for sub in subs
            )
            found = _one(
                *subs, practice, covariates=s.covariates, bright=s.bright, peers=s.peers,
                segment=s.segment if s.segment in subs[0].columns else None,
                most_deals=s.most_deals, n_boot=s.n_boot, rng=_rng(s.seed, practice),
                limits=s.limits, designs=primary_designs, whole_designs=whole_designs,
            )  # fmt: skip
            del subs, primary_designs, whole_designs
            done.append(found)
    return _assembled(done, practices, s.bright)


def _rng(seed: int, practice: Practice) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(practice.id.encode())])


def _estimated(
    frame: pd.DataFrame,
    practices: list[Practice],
    covariates: list[str],
    bright_set: set[str],
    peer_set: set[str],
    segment: str,
    most_deals: float,
    seed: int,
    n_boot: int,
    limits: Limits,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    designs = Designs(frame, limits.pool_min_cases)
    base = ["rep_id", REP_CODE, "y", *(f"x_{c}" for c in covariates)]
    if segment in frame.columns and segment not in base:
        base.append(segment)

    def one(i: int) -> _Found:
        practice = practices[i]
        primary, whole = f"primary__{practice.id}", f"whole__{practice.id}"
        part = frame[[*base, primary, whole]]
        return _one(
            analysed(part, primary), analysed(part, whole), practice, covariates=covariates,
            bright=bright_set, peers=peer_set,
            segment=segment if segment in part.columns else None, most_deals=most_deals,
            n_boot=n_boot, rng=_rng(seed, practice), limits=limits, designs=designs,
        )  # fmt: skip

    found = {i: one(i) for i in _by_deals(frame, practices)}
    return _assembled([found[i] for i in range(len(practices))], practices, bright_set)


def _assembled(
    done: list[_Found], practices: list[Practice], bright_set: set[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The two tables from each practice's estimates (in the practices' order): q-values,
    flags, sentences, the ranking."""
    rows = [f.row for f in done]
    seg_results = [f.seg for f in done]
    screens = [f.screen for f in done]
    why_not = [f.why_not for f in done]
    raw_p = np.array([r.pop("raw_p") for r in rows], dtype=float)
    effects = pd.DataFrame(rows, columns=COLUMNS + EXTRA_COLUMNS)
    effects["raw_q"] = bh(raw_p)
    effects["q"] = bh(effects["p"].to_numpy(float))
    effects["whole_deal_q"] = bh(effects["whole_deal_p"].to_numpy(float))
    seg_q = bh(effects["segment_p"].to_numpy(float))
    effects["differs_by_segment"] = np.nan_to_num(seg_q, nan=1.0) < ALPHA
    q = effects["q"].to_numpy(float)
    effects["suspect"] = (effects["whole_deal_q"].to_numpy(float) < ALPHA) & ~(q < ALPHA)
    records = effects.to_dict("records")
    effects["sentence"] = [
        sentence(p, _facts(r, scr, bool(bright_set), why))
        for p, r, scr, why in zip(practices, records, screens, why_not, strict=True)
    ]
    by_seg = _segment_frame(practices, seg_results, effects["differs_by_segment"].tolist())
    return _ranked(effects), by_seg


@dataclass(frozen=True)
class _Found:
    """Everything estimated for one practice."""

    row: dict[str, object]
    seg: SegmentResult | None
    screen: Screen
    why_not: str  # why the primary estimate failed, for the sentence


def _one(
    sub: pd.DataFrame,
    whole_sub: pd.DataFrame,
    practice: Practice,
    *,
    covariates: list[str],
    bright: set[str],
    peers: set[str],
    segment: str | None,
    most_deals: float,
    n_boot: int,
    rng: np.random.Generator,
    limits: Limits,
    designs: Designs | None,
    whole_designs: Designs | None = None,
) -> _Found:
    """Everything estimated for one practice, from its analysed deals in the primary analysis
    (``sub``) and over the whole deal (``whole_sub``); ``segment``: the segment column, if any.
    ``designs`` builds the designs of ``sub``'s rows, ``whole_designs`` (when not ``designs``)
    those of ``whole_sub``'s."""
    if whole_designs is None:
        whole_designs = designs
    primary, whole = f"primary__{practice.id}", f"whole__{practice.id}"
    notes: list[str] = []
    scr = screen(
        sub, primary, practice, bright=bright, peers=peers,
        most_deals=most_deals, n_boot=n_boot, rng=rng,
    )  # fmt: skip
    if scr.note:
        notes.append(scr.note)
    est = _try(sub, primary, practice, covariates, limits, notes, "primary", designs)
    why_not = notes[-1].removeprefix("primary: ") if est is None else ""
    seg: SegmentResult | None = None
    if segment is not None and est is not None:
        seg = by_segment(
            sub, primary, practice, est.contrast,
            segment=segment, covariates=covariates, limits=limits, designs=designs,
        )  # fmt: skip
    if designs is not None and whole_designs is not designs:
        designs.clear()  # the primary analysis is done: one design held at a time
    whole_est = _try(
        whole_sub, whole, practice, covariates, limits, notes, "whole deal", whole_designs
    )
    raw_est = _try(whole_sub, whole, practice, [], limits, notes, "raw", whole_designs)
    if seg is not None and seg.note:
        notes.append(seg.note)
    row = _row(practice, sub, est, scr, whole_sub, whole_est, seg)
    raw = raw_est.effect if raw_est else None
    row["raw_odds_ratio"] = raw.odds_ratio if raw else NAN
    row["raw_or_low"], row["raw_or_high"] = raw.or_ci if raw else (NAN, NAN)
    row["raw_p"] = raw.p if raw else NAN
    row["note"] = "; ".join(notes)
    return _Found(row=row, seg=seg, screen=scr, why_not=why_not)


def _by_deals(frame: pd.DataFrame, practices: list[Practice]) -> list[int]:
    """The order the practices are estimated in: those whose analyses have the same deals one
    after the other, so that their case-mix designs are built once (``Designs``)."""
    first: dict[bytes, int] = {}
    keys = []
    for practice in practices:
        pair = []
        for variant in ("primary", "whole"):
            mask = frame[f"{variant}__{practice.id}"].notna().to_numpy()
            pair.append(first.setdefault(mask.tobytes(), len(first)))
        keys.append(tuple(pair))
    return sorted(range(len(practices)), key=lambda i: (keys[i], i))


def _try(
    sub: pd.DataFrame,
    column: str,
    practice: Practice,
    covariates: list[str],
    limits: Limits,
    notes: list[str],
    what: str,
    designs: Designs | None,
) -> Estimate | None:
    try:
        return estimate(
            sub, column, practice, covariates=covariates, limits=limits, designs=designs
        )
    except FitFailed as err:
        notes.append(f"{what}: {err}")
        return None


def _row(
    practice: Practice,
    sub: pd.DataFrame,
    est: Estimate | None,
    scr: Screen,
    whole_sub: pd.DataFrame,
    whole_est: Estimate | None,
    seg: SegmentResult | None,
) -> dict[str, object]:
    e, w = (est.effect if est else None), (whole_est.effect if whole_est else None)
    or_low, or_high = e.or_ci if e else (NAN, NAN)
    pp_low, pp_high = e.pp_ci if e else (NAN, NAN)
    w_low, w_high = w.or_ci if w else (NAN, NAN)
    return {
        "practice": practice.id,
        "description": practice.description,
        "level": practice.level,
        "n": n_deals(sub),
        "odds_ratio": e.odds_ratio if e else NAN,
        "or_low": or_low,
        "or_high": or_high,
        "pp_diff": e.pp if e else NAN,
        "pp_low": pp_low,
        "pp_high": pp_high,
        "p": e.p if e else NAN,
        "q": NAN,
        "smd": scr.smd,
        "smd_low": scr.smd_low,
        "smd_high": scr.smd_high,
        "bright_share": scr.bright_share,
        "peer_share": scr.peer_share,
        "whole_deal_odds_ratio": w.odds_ratio if w else NAN,
        "whole_deal_q": NAN,
        "suspect": False,
        "sentence": "",
        "kind": practice.kind,
        "higher_is_better": practice.higher_is_better,
        "unit": practice.unit,
        "analysis": practice.primary,
        "contrast_from": est.contrast.worse if est else NAN,
        "contrast_to": est.contrast.better if est else NAN,
        "n_reps": n_reps(sub),
        "n_bright": scr.n_bright,
        "whole_deal_n": n_deals(whole_sub),
        "whole_deal_or_low": w_low,
        "whole_deal_or_high": w_high,
        "whole_deal_p": w.p if w else NAN,
        "differs_by_segment": False,
        "segment_p": seg.p if seg else NAN,
    }


def _facts(r: dict[str, object], scr: Screen, has_bright: bool, why_not: str) -> Facts:
    def num(key: str) -> float:
        return float(r[key])  # type: ignore[arg-type]

    return Facts(
        pp=num("pp_diff"),
        pp_low=num("pp_low"),
        pp_high=num("pp_high"),
        q=num("q"),
        whole_or=num("whole_deal_odds_ratio"),
        whole_q=num("whole_deal_q"),
        suspect=bool(r["suspect"]),
        worse=num("contrast_from"),
        better=num("contrast_to"),
        screen=scr,
        has_bright=has_bright,
        note=why_not,
        differs=bool(r["differs_by_segment"]),
    )


def _segment_frame(
    practices: list[Practice], results: list[SegmentResult | None], differs: list[bool]
) -> pd.DataFrame:
    rows = []
    for practice, res, flag in zip(practices, results, differs, strict=True):
        if res is None:
            continue
        for seg, n in res.n.items():
            e = res.effects.get(seg)
            or_low, or_high = e.or_ci if e else (NAN, NAN)
            pp_low, pp_high = e.pp_ci if e else (NAN, NAN)
            rows.append(
                {
                    "practice": practice.id,
                    "segment": seg,
                    "n": n,
                    "odds_ratio": e.odds_ratio if e else NAN,
                    "or_low": or_low,
                    "or_high": or_high,
                    "pp_diff": e.pp if e else NAN,
                    "pp_low": pp_low,
                    "pp_high": pp_high,
                    "differs": bool(flag),
                }
            )
    out = pd.DataFrame(rows, columns=SEGMENT_COLUMNS)
    types = {"practice": "str", "segment": "str", "n": "int64", "differs": "bool"}
    return out.astype({c: types.get(c, "float64") for c in out.columns})


def _ranked(effects: pd.DataFrame) -> pd.DataFrame:
    size = np.abs(np.log(effects["odds_ratio"].to_numpy(float)))
    key = effects.assign(
        _q=effects["q"].fillna(math.inf), _size=-np.nan_to_num(size, nan=-math.inf)
    )
    key = key.sort_values(["_q", "_size", "practice"], kind="mergesort")
    out = key.drop(columns=["_q", "_size"]).reset_index(drop=True)
    return out.astype({c: _dtype(c) for c in out.columns})


def _dtype(column: str) -> str:
    if column in ("n", "n_reps", "n_bright", "whole_deal_n"):
        return "int64"
    if column in ("suspect", "differs_by_segment", "higher_is_better"):
        return "bool"
    if column in (
        "practice",
        "description",
        "level",
        "sentence",
        "kind",
        "unit",
        "analysis",
        "note",
    ):
        return "str"
    return "float64"


def _check_lists(practices: list[Practice], bright: set[str], peers: set[str]) -> None:
    ids = [p.id for p in practices]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise PracticeEffectsError(f"practice ids listed more than once: {', '.join(dupes)}")
    both = sorted(bright & peers)
    if both:
        raise PracticeEffectsError(
            f"reps listed both as bright spots and as peers: {', '.join(both[:5])}"
        )


def _validated(
    frame: pd.DataFrame,
    practices: list[Practice],
    covariates: list[str],
    bright: set[str],
    peers: set[str],
) -> pd.DataFrame:
    """The frame with ``rep_id`` as text and practice columns as floats; bad input raises
    ``PracticeEffectsError`` naming the column and the row (by opportunity_id)."""
    where = "practice frame"
    _check_lists(practices, bright, peers)
    needed = ["opportunity_id", "rep_id", "y", *(f"x_{c}" for c in covariates)]
    for p in practices:
        needed += [f"primary__{p.id}", f"whole__{p.id}"]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise PracticeEffectsError(f"{where}: missing column(s) {', '.join(missing)}")
    out = frame.reset_index(drop=True)  # a copy: designs name the analysed rows by position

    def fail(mask: np.ndarray, column: str, expected: str) -> None:
        i = int(np.flatnonzero(mask)[0])
        raise PracticeEffectsError(
            f"{where}: row {i} (opportunity_id={frame['opportunity_id'].iloc[i]!r}), column "
            f"{column!r} has {frame[column].iloc[i]!r}; expected {expected}"
        )

    if frame["rep_id"].isna().any():
        fail(frame["rep_id"].isna().to_numpy(), "rep_id", "a rep id")
    out["rep_id"] = frame["rep_id"].astype(str).to_numpy()
    out[REP_CODE] = pd.factorize(out["rep_id"])[0]
    y = pd.to_numeric(frame["y"], errors="coerce").to_numpy(float)
    bad = ~np.isin(y, (0.0, 1.0))
    if bad.any():
        fail(bad, "y", "0 (lost) or 1 (won)")
    out["y"] = y.astype("int64")
    for name in covariates:
        column = f"x_{name}"
        if frame[column].isna().any():
            fail(
                frame[column].isna().to_numpy(),
                column,
                "a coded value (casemix.case_table codes a missing value, it is never empty)",
            )
    for p in practices:
        for column in (f"primary__{p.id}", f"whole__{p.id}"):
            raw = frame[column]
            v = pd.to_numeric(raw, errors="coerce").to_numpy(float)
            bad = np.isnan(v) & raw.notna().to_numpy() | np.isinf(v)
            if bad.any():
                fail(bad, column, "a number or empty")
            if p.kind == "binary":
                bad = ~np.isnan(v) & ~np.isin(v, (0.0, 1.0))
                if bad.any():
                    fail(bad, column, f"0 or 1 (practice {p.id!r} is binary) or empty")
            out[column] = v
    return out


def _validated_cells(
    frame: pd.DataFrame, practice: Practice, column: str, covariates: list[str]
) -> pd.DataFrame:
    """One analysis's cells (``estimate_grouped_effects``) with ``rep_id`` as text, rep codes,
    outcomes and deal counts as integers and the practice value as floats; bad input raises
    ``PracticeEffectsError`` naming the column and the cell (its row and rep)."""
    where = f"grouped cells of practice {practice.id!r}"
    needed = ["rep_id", "y", WEIGHT, column, *(f"x_{c}" for c in covariates)]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise PracticeEffectsError(f"{where}: missing column(s) {', '.join(missing)}")
    out = frame.reset_index(drop=True)

    def fail(mask: np.ndarray, name: str, expected: str) -> None:
        i = int(np.flatnonzero(mask)[0])
        raise PracticeEffectsError(
            f"{where}: row {i} (rep_id={frame['rep_id'].iloc[i]!r}), column {name!r} has "
            f"{frame[name].iloc[i]!r}; expected {expected}"
        )

    if frame["rep_id"].isna().any():
        fail(frame["rep_id"].isna().to_numpy(), "rep_id", "a rep id")
    out["rep_id"] = frame["rep_id"].astype(str).to_numpy()
    out[REP_CODE] = pd.factorize(out["rep_id"])[0]
    y = pd.to_numeric(frame["y"], errors="coerce").to_numpy(float)
    if (bad := ~np.isin(y, (0.0, 1.0))).any():
        fail(bad, "y", "0 (lost) or 1 (won)")
    out["y"] = y.astype("int64")
    n = pd.to_numeric(frame[WEIGHT], errors="coerce").to_numpy(float)
    if (bad := ~(n >= 1) | (n != np.round(n))).any():
        fail(bad, WEIGHT, "a whole number of deals, at least 1")
    out[WEIGHT] = n.astype("int64")
    for name in covariates:
        if frame[f"x_{name}"].isna().any():
            fail(frame[f"x_{name}"].isna().to_numpy(), f"x_{name}", "a coded value")
    v = pd.to_numeric(frame[column], errors="coerce").to_numpy(float)
    if (bad := ~np.isfinite(v)).any():
        fail(bad, column, "a number (a cell holds deals where the practice is defined)")
    if practice.kind == "binary" and (bad := ~np.isin(v, (0.0, 1.0))).any():
        fail(bad, column, f"0 or 1 (practice {practice.id!r} is binary)")
    out[column] = v
    return out
