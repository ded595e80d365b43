"""The thresholds of the label rule (method.md section 5) and of detectability, in one place."""

from __future__ import annotations

#: two-sided 95% and 99.8% normal quantiles (one-sided 2.5% and 0.1%)
Z95 = 1.959964
Z998 = 3.090232
#: standard normal 90th percentile, for P(theta > 90th percentile of N(mu, tau^2))
Z90 = 1.2815516
#: one-sided 95% quantile: P(theta > 1) >= 0.95 means (theta - 1) / sd >= Z_ONE_SIDED_95
Z_ONE_SIDED_95 = 1.6448536
#: V at or above which exact count limits use the (skew-corrected) normal approximation
NORMAL_APPROX_MIN_VARIANCE = 30.0
#: the one-sided BH threshold of the label rule
Q_THRESHOLD = 0.05
#: posterior probability of beating expectation required when tau^2 > 0
P_ABOVE_1_THRESHOLD = 0.95
#: the true ratio (O/E) that detectability asks about, and the power that makes it detectable
DEFAULT_EFFECT = 1.5
POWER_TARGET = 0.8

#: the funnel-limit columns of every assessment, in their public order (exact, then adjusted)
LIMIT_COLUMNS: tuple[str, ...] = (
    "lower_95",
    "upper_95",
    "lower_998",
    "upper_998",
    "adj_lower_95",
    "adj_upper_95",
    "adj_lower_998",
    "adj_upper_998",
)
