"""The bright-spot statistics: funnel limits, overdispersion, shrinkage, ranks, power and labels.

Implements ``shared/method.md`` sections 2-5 as pure functions over numpy arrays and small
DataFrames (no I/O, no engine), for several outcomes. The per-unit aggregates (O, E, V, the third
cumulant and the split halves) and, for win rates, the binned case-mix probabilities come from the
caller; :func:`assess_outcome` turns them into one row per unit with limits, scores, posterior
summaries, detection power, a label and a plain-sentence reason, and :func:`combine_labels` makes
one label per unit out of several outcomes.

Conventions, in one place:

* Ratio scale: ``Y = O / E`` with target 1, ``s = sqrt(V) / E``, ``z = (Y - 1) / s``.
* Tests and adjusted limits are skew-corrected (:mod:`.skew`); exact limits are limits on the
  count ``O`` (see :func:`exact_count_limits`); a unit is above the upper limit when
  ``O > upper`` and below the lower one when ``O < lower``.
* A unit is *measurable* when ``E > 0`` and ``V > 0``; other units get NaN scores and never a
  label. A unit is *eligible* when it is measurable and has at least ``min_volume`` closed deals;
  overdispersion, BH q-values, ranks and rankability use eligible units only.

Modules: ``constants`` (thresholds), ``inputs`` (checks), ``poisson_binomial`` (exact win-count
distribution), ``skew`` (Cornish-Fisher), ``dispersion`` (phi, tau2, shrinkage, BH, ranks),
``funnel`` (limits and the drawn funnel), ``power`` (detectability), ``labels`` (the rule and the
combination over outcomes), ``reasons`` (sentences), ``assessment`` (the whole assessment),
``means`` (the same funnel on mean answers, such as the care index: :func:`assess_means`).
"""

from brightspots.deviance.assessment import OUTCOMES, OUTPUT_COLUMNS, assess, assess_outcome
from brightspots.deviance.constants import (
    DEFAULT_EFFECT,
    LIMIT_COLUMNS,
    NORMAL_APPROX_MIN_VARIANCE,
    P_ABOVE_1_THRESHOLD,
    POWER_TARGET,
    Q_THRESHOLD,
    Z90,
    Z95,
    Z998,
)
from brightspots.deviance.dispersion import bh, expected_ranks, overdispersion, shrink
from brightspots.deviance.funnel import funnel_curve, ratio_limits
from brightspots.deviance.inputs import PROB_COLUMNS, UNIT_COLUMNS, DevianceInputError
from brightspots.deviance.labels import combine_labels, label_units, outcome_thresholds
from brightspots.deviance.means import assess_means
from brightspots.deviance.poisson_binomial import (
    exact_count_limits,
    poisson_binomial_pmf,
    third_cumulant,
)
from brightspots.deviance.power import alternative_moments, detection_power
from brightspots.deviance.skew import cf_quantile, count_limits, skew_z

__all__ = [
    "DEFAULT_EFFECT",
    "LIMIT_COLUMNS",
    "NORMAL_APPROX_MIN_VARIANCE",
    "OUTCOMES",
    "OUTPUT_COLUMNS",
    "POWER_TARGET",
    "PROB_COLUMNS",
    "P_ABOVE_1_THRESHOLD",
    "Q_THRESHOLD",
    "UNIT_COLUMNS",
    "Z90",
    "Z95",
    "Z998",
    "DevianceInputError",
    "alternative_moments",
    "assess",
    "assess_means",
    "assess_outcome",
    "bh",
    "cf_quantile",
    "combine_labels",
    "count_limits",
    "detection_power",
    "exact_count_limits",
    "expected_ranks",
    "funnel_curve",
    "label_units",
    "outcome_thresholds",
    "overdispersion",
    "poisson_binomial_pmf",
    "ratio_limits",
    "shrink",
    "skew_z",
    "third_cumulant",
]
