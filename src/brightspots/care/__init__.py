"""Care: how customers and employees rate a rep's or leader's care, as pure statistics.

``stats`` (cluster-robust means, Cronbach's alpha, shrinkage toward a group) and ``disclosure``
(the one anonymity choke point). The funnel on means is ``brightspots.deviance.assess_means``.

The names below are imported when first used, so that reading ``care.config`` (the ``[care]``
defaults the workspace config repeats) does not load the statistics.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

#: each name and the module that defines it
_HOME = {
    "DisclosureError": "disclosure",
    "disclose": "disclosure",
    "GroupShrinkage": "stats",
    "MeanEstimate": "stats",
    "Reliability": "stats",
    "cluster_mean": "stats",
    "cluster_means": "stats",
    "cronbach_alpha": "stats",
    "item_rest": "stats",
    "reliability": "stats",
    "shrink_to_groups": "stats",
    "t_interval": "stats",
}

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


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)
