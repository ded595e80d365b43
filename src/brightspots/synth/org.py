"""A generated organisation (``Org``) and ``generate``, which builds it from a config."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from brightspots import schema
from brightspots.synth.accounts import account_tables, make_accounts
from brightspots.synth.activities import Rows, activity_chunk, activity_table, event_table
from brightspots.synth.calendar import Calendar
from brightspots.synth.config import Progress, SynthConfig
from brightspots.synth.model import PRACTICES
from brightspots.synth.opportunities import make_opportunities, opportunity_table
from brightspots.synth.people import make_reps, make_teams, people_tables
from brightspots.synth.stories import make_stories, story_table
from brightspots.synth.surveys import make_surveys, survey_table
from brightspots.synth.tables import Keys, serial_ids
from brightspots.synth.truth import build_truth


@dataclass
class Org:
    """A generated organisation: canonical tables (typed, clean; text after ``apply_dirt``),
    the planted truth, and per-opportunity hidden arrays (aligned with the opportunities table)
    for tests."""

    config: SynthConfig
    tables: dict[str, pa.Table]
    truth: dict[str, Any]
    hidden: dict[str, np.ndarray] = field(default_factory=dict)


ACTIVITIES_PER_OPP = 13.3  # average activity rows per opportunity (used to scale to a target)
OPP_PER_ACCOUNT = 1.7  # opportunities per account over the window
CHUNK_OPPS = 100_000


def generate(config: SynthConfig, progress: Progress | None = None) -> Org:
    """Generate a clean organisation with planted truth (deterministic by ``config.seed``)."""
    config.check()
    report = progress or (lambda step, fraction: None)
    cal = Calendar.build(config.end, config.months)
    # one stream per stage; the sixth (planted team effect, amount uplift) came later and is
    # kept apart so that the others draw as before
    streams = np.random.default_rng(config.seed).spawn(6)
    r_struct, r_acc, r_opp, r_act, r_misc, r_plant = streams
    report("teams and reps", 0.0)
    teams = make_teams(r_struct, config.reps)
    reps = make_reps(r_struct, config, cal, teams, r_plant)
    if config.activities:
        reps.volume = reps.volume * config.activities / (ACTIVITIES_PER_OPP * reps.volume.sum())
    acc = make_accounts(r_acc, teams, reps, OPP_PER_ACCOUNT)
    report("opportunities", 0.05)
    o = make_opportunities(r_opp, cal, teams, reps, acc)
    acts, evs = Rows(), Rows()
    for start in range(0, o.n, CHUNK_OPPS):
        sl = slice(start, min(o.n, start + CHUNK_OPPS))
        activity_chunk(r_act, cal, teams, reps, acc, o, sl, acts, evs)
        report("activities", 0.1 + 0.55 * sl.stop / max(1, o.n))

    report("tables", 0.7)
    keys = Keys(
        region=serial_ids("RG-", teams.n_regions, 2),
        team=serial_ids("TM-", teams.n, 3),
        rep=serial_ids("R-", reps.n),
        account=serial_ids("AC-", acc.n),
        contact=serial_ids("CT-", int(acc.c_count.sum())),
        opportunity=serial_ids("OP-", o.n),
    )
    tables = people_tables(teams, reps, keys)
    tables |= account_tables(r_misc, cal, teams, reps, acc, o, keys)
    tables["opportunities"] = opportunity_table(r_misc, o, keys)
    report("activities table", 0.75)
    tables["activities"] = activity_table(acts.arrays(), cal, keys)
    del acts
    report("buyer events table", 0.85)
    tables["buyer_events"] = event_table(r_misc, evs.arrays(), cal, keys)
    del evs
    report("surveys and stories", 0.9)
    tables["survey_responses"] = survey_table(make_surveys(r_misc, cal, teams, reps, o), keys)
    names, titles = tables["accounts"].column("name"), tables["contacts"].column("title")
    tables["stories"] = story_table(make_stories(r_misc, cal, reps, o, acc, names, titles), keys)
    tables = {name: tables[name] for name in schema.IMPORT_ORDER}

    truth = build_truth(config, cal, teams, reps, acc, o, tables)
    hidden = {
        "won": o.won,
        "p_win": o.p_win,
        "eta0": o.eta0,
        **{p: o.practice[:, k] for k, p in enumerate(PRACTICES)},
        "has_proposal": o.has_proposal,
    }
    report("generated", 1.0)
    return Org(config=config, tables=tables, truth=truth, hidden=hidden)
