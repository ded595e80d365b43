"""Care: how customers and employees rate a rep's or leader's care, as pure statistics.

``stats`` (cluster-robust means, Cronbach's alpha, shrinkage toward a group) and ``disclosure``
(the one anonymity choke point). The funnel on means is ``brightspots.deviance.assess_means``.
"""

from brightspots.care.disclosure import DisclosureError, disclose
from brightspots.care.stats import (
    GroupShrinkage,
    MeanEstimate,
    Reliability,
    cluster_mean,
    cluster_means,
    cronbach_alpha,
    item_rest,
    reliability,
    shrink_to_groups,
    t_interval,
)

__all__ = [
    "DisclosureError",
    "GroupShrinkage",
    "MeanEstimate",
    "Reliability",
    "cluster_mean",
    "cluster_means",
    "cronbach_alpha",
    "disclose",
    "item_rest",
    "reliability",
    "shrink_to_groups",
    "t_interval",
]
