"""The planted team effect (coaching): which teams are coached, and the win log-odds it adds to
every rep of a coached team."""

from __future__ import annotations

import math

import numpy as np

from brightspots.synth.config import SynthConfig, SynthError
from brightspots.synth.model import TEAM_EFFECT


def coach_teams(
    rng: np.random.Generator,
    cfg: SynthConfig,
    log_potential: np.ndarray,
    team: np.ndarray,
    rich: np.ndarray,
) -> np.ndarray:
    """Per-team win log-odds of the coaching effect (0 for a team that is not coached).

    Coached teams are drawn among the teams that are neither the richest nor the poorest
    territory and hold no rich-territory rep, so the effect is not confounded with territory
    (and the poorest team keeps its planted bright spot). The effect is uniform in
    ``TEAM_EFFECT``, or exactly ``log(cfg.team_odds_ratio)``. The draws are made whatever the
    config, so changing an effect size changes nothing else.
    """
    n_teams = len(log_potential)
    effect = np.zeros(n_teams)
    size = rng.uniform(*TEAM_EFFECT, n_teams)
    order = rng.permutation(n_teams)
    k = cfg.n_coached(n_teams)
    if k == 0:
        return effect
    has_rich = np.bincount(team[rich], minlength=n_teams) > 0
    eligible = ~has_rich & (log_potential < log_potential.max())
    eligible &= log_potential > log_potential.min()
    chosen = order[eligible[order]][:k]
    if len(chosen) < k:
        raise SynthError(
            f"{k} coached teams asked for, but only {int(eligible.sum())} of {n_teams} teams "
            "can be coached (not the richest or poorest territory, no rich-territory reps)"
        )
    if cfg.team_odds_ratio is None:
        effect[chosen] = size[chosen]
    else:
        effect[chosen] = math.log(cfg.team_odds_ratio)
    return effect
