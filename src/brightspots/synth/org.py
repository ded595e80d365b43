"""A generated organisation (``Org``); ``build``, which makes its tables from a config and
puts each into a sink as it comes, and ``generate``, which keeps them all in memory."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pyarrow as pa

from brightspots import schema
from brightspots.synth.accounts import account_tables, make_accounts
from brightspots.synth.activities import activity_chunk, activity_slices, event_slices
from brightspots.synth.allocation import Thinning, allocate
from brightspots.synth.calendar import Calendar
from brightspots.synth.care import care_truth, index_survey, observed_scores, plant_repeat
from brightspots.synth.config import Progress, SynthConfig, SynthError, scaled_progress
from brightspots.synth.effort import DealTouches, account_touches
from brightspots.synth.experiment import HORIZON_DAYS, assign, experiment_hidden, truth_block
from brightspots.synth.model import PRACTICES
from brightspots.synth.opportunities import (
    concat,
    head,
    make_opportunities,
    opportunity_table,
    won_within,
)
from brightspots.synth.people import make_reps, make_teams, people_tables
from brightspots.synth.rows import INDEX_LIMIT, Rows
from brightspots.synth.sink import MemorySink, Sink
from brightspots.synth.stories import care_stories, make_stories, story_table
from brightspots.synth.surveys import (
    care_mean,
    choose_high_care,
    customer_submissions,
    items,
    make_surveys,
    survey_table,
)
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


# average activity rows per opportunity (used to scale to a target), with the account-effort
# model off and on (``SynthConfig.misallocation`` above 0); measured at seeds 1-3 from 20 reps
# and 6 months to 200 reps and 18 months: 12.4-14.6 off, 20.6-23.4 on
ACTIVITIES_PER_OPP = 13.3
ACTIVITIES_PER_OPP_EFFORT = 22.0
OPP_PER_ACCOUNT = 1.7  # opportunities per account over the window
CHUNK_OPPS = 100_000


def activities_per_opp(config: SynthConfig) -> float:
    """Average activity rows per opportunity for this config (to size an org from a target)."""
    return ACTIVITIES_PER_OPP_EFFORT if config.account_effort else ACTIVITIES_PER_OPP


@dataclass(frozen=True)
class Built:
    """What ``build`` gives besides the tables it put: truth (counts for CSV files, no dirt),
    the hidden per-opportunity arrays and the opportunity ids (aligned with them)."""

    truth: dict[str, Any]
    hidden: dict[str, np.ndarray]
    opportunity_ids: pa.Array


def generate(config: SynthConfig, progress: Progress | None = None) -> Org:
    """Generate a clean organisation with planted truth (deterministic by ``config.seed``),
    every table in memory."""
    sink = MemorySink()
    built = build(config, sink, progress)
    tables = {name: sink.tables[name] for name in schema.IMPORT_ORDER}
    return Org(config=config, tables=tables, truth=built.truth, hidden=built.hidden)


def build(config: SynthConfig, sink: Sink, progress: Progress | None = None) -> Built:
    """Generate a clean organisation, putting each table into ``sink`` as soon as it is made:
    the small ones first, then activities and buyer events (``Slices``) from compact numeric
    rows, then surveys and stories. The random streams are drawn in the same order whatever
    the sink, so the tables are the same.

    The base deals (``make_opportunities``) are followed by the follow-on deals of the planted
    repeat business (``care``): ids ``OP-F0001``..., their activities made after every base
    deal's, so the base tables keep every draw."""
    config.check()
    report = progress or (lambda step, fraction: None)
    cal = Calendar.build(config.end, config.months)
    # one stream per stage; the sixth (planted team effect, amount uplift), the seventh (the
    # account-effort model, when on: who misallocates, neglected deals' touches, account-level
    # touches) and the eighth (surveys, the planted care and repeat business, its follow-on
    # deals and their rows, caregiver stories) came later and are kept apart so that the others
    # draw as before (``spawn(8)`` gives the same first seven children as ``spawn(7)``); the
    # ninth is the planted experiment's (its teams, one adoption uniform per base deal)
    streams = np.random.default_rng(config.seed).spawn(9)
    r_struct, r_acc, r_opp, r_act, r_misc, r_plant, r_effort, r_care, r_exp = streams
    r_alloc, r_thin, r_touch = r_effort.spawn(3)
    r_subs, r_high, r_scores, r_repeat, r_ftable, r_facts, r_fthin, r_story = r_care.spawn(8)
    report("teams and reps", 0.0)
    teams = make_teams(r_struct, config.reps)
    reps = make_reps(r_struct, config, cal, teams, r_plant)
    if config.activities:
        per_opp = activities_per_opp(config)
        reps.volume = reps.volume * config.activities / (per_opp * reps.volume.sum())
    acc = make_accounts(r_acc, teams, reps, OPP_PER_ACCOUNT)
    report("opportunities", 0.02)
    team_ids = serial_ids("TM-", teams.n, 3).to_pylist()
    plant = None if config.experiment is None else assign(config.experiment, r_exp, team_ids)
    o, planted = make_opportunities(r_opp, cal, teams, reps, acc, plant)
    report("surveys and repeat business", 0.03)
    subs = customer_submissions(r_subs, cal, o)
    kept, index = index_survey(cal, o, subs)
    subs = subs.take(np.flatnonzero(kept))
    high, leader = choose_high_care(r_high, config, cal, reps, subs)
    m, m_leader = care_mean(config, reps, high), care_mean(config, reps, leader)
    surveys = make_surveys(r_scores, config, cal, teams, reps, subs, m, m_leader)
    scores = observed_scores(surveys, subs.n)
    repeat = plant_repeat(r_repeat, config, cal, teams, reps, acc, subs, index, scores)
    follow = repeat.follow
    o_all = concat(o, follow)
    o = head(o_all, o.n)  # the base deals, as views: not held twice
    n_contacts = int(acc.c_count.sum())
    if max(o_all.n, acc.n, n_contacts) >= INDEX_LIMIT:
        raise SynthError(
            f"too large an organisation: {o_all.n} opportunities, {n_contacts} contacts"
        )

    report("tables", 0.05)
    keys = Keys(
        region=serial_ids("RG-", teams.n_regions, 2),
        team=serial_ids("TM-", teams.n, 3),
        rep=serial_ids("R-", reps.n),
        account=serial_ids("AC-", acc.n),
        contact=serial_ids("CT-", n_contacts),
        opportunity=pa.concat_arrays([serial_ids("OP-", o.n), serial_ids("OP-F", follow.n)]),
    )
    base_keys = replace(keys, opportunity=keys.opportunity.slice(0, o.n))
    follow_keys = replace(keys, opportunity=keys.opportunity.slice(o.n))
    sink.put("survey_responses", survey_table(surveys, keys))  # the rows are not needed again
    del surveys
    people = people_tables(teams, reps, keys)
    sink.put("teams", people.pop("teams"))
    sink.put("reps", people.pop("reps"))
    small = account_tables(r_misc, cal, teams, reps, acc, o, keys)
    alloc = None
    if config.account_effort:
        unassigned = np.asarray(small["accounts"].column("owner_rep_id").is_null())
        alloc = allocate(r_alloc, config, cal, teams, reps, acc, o, unassigned)
    names = small["accounts"].column("name")  # for the stories
    exec_titles = small["contacts"].column("title").take(acc.c_start)
    sink.put("accounts", small.pop("accounts"))
    sink.put("contacts", small.pop("contacts"))  # written and gone with a file sink
    opportunities = [opportunity_table(r_misc, o, base_keys)]
    opportunities.append(opportunity_table(r_ftable, follow, follow_keys))
    sink.put("opportunities", pa.concat_tables(opportunities).combine_chunks())
    del opportunities

    acts, evs = Rows(base=cal.cut, until=cal.cut), Rows(base=cal.cut, extra=False)
    # with the model off the deals bring their own account-level touches (``activity_chunk``)
    thin = None if alloc is None else Thinning(r_thin, alloc.deal_keep)
    deal_touches = None if alloc is None else DealTouches(cal, acc.n)
    span = 0.4 if alloc is None else 0.35
    for start in range(0, o.n, CHUNK_OPPS):
        sl = slice(start, min(o.n, start + CHUNK_OPPS))
        activity_chunk(r_act, cal, teams, reps, acc, o, sl, acts, evs, thin)
        if deal_touches is not None:
            deal_touches.count(acts)
        report("activities", 0.1 + span * (sl.stop / max(1, o.n)))
    if alloc is not None and deal_touches is not None:
        report("account-level touches", 0.45)
        account_touches(r_touch, cal, teams, reps, acc, o, alloc, deal_touches, acts, evs)
    del deal_touches
    # the follow-on deals' rows come after every base deal's, from the care stream
    thin_follow = None if alloc is None else Thinning(r_fthin, alloc.deal_keep)
    for start in range(o.n, o_all.n, CHUNK_OPPS):
        sl = slice(start, min(o_all.n, start + CHUNK_OPPS))
        activity_chunk(r_facts, cal, teams, reps, acc, o_all, sl, acts, evs, thin_follow)
    report("activities in time order", 0.5)
    sink.put("activities", activity_slices(acts, keys), scaled_progress(report, 0.55, 0.8))
    report("buyer events in time order", 0.8)
    events = event_slices(r_misc, evs, cal.cut, keys)
    sink.put("buyer_events", events, scaled_progress(report, 0.82, 0.88))
    del acts, evs, events
    report("surveys and stories", 0.9)
    stories = make_stories(r_misc, cal, reps, o, names, exec_titles)
    stories += care_stories(r_story, cal, high, follow, o.n, names)
    stories.sort(key=lambda x: x[-1])
    sink.put("stories", story_table(stories, keys))

    # rows per table in the files' order, whatever the order they were put in (truth.json's
    # counts come from the sink's)
    rows = {name: sink.rows[name] for name in schema.IMPORT_ORDER}
    sink.rows.clear()
    sink.rows.update(rows)
    care = care_truth(config, high, leader, items(config), repeat, keys)
    experiment = None
    hidden = {
        "won": o_all.won,
        "p_win": o_all.p_win,
        "eta0": o_all.eta0,
        **{p: o_all.practice[:, k] for k, p in enumerate(PRACTICES)},
        "has_proposal": o_all.has_proposal,
    }
    if plant is not None and planted is not None:
        experiment = truth_block(
            plant,
            planted,
            cal,
            team_ids,
            reps.team[o_all.rep],
            o_all.created,
            won_within(o_all, HORIZON_DAYS),
            o_all.p_win,
        )
        hidden.update(experiment_hidden(planted, o_all.n - o.n))
    truth = build_truth(
        config,
        cal,
        teams,
        reps,
        acc,
        o,
        keys,
        rows,
        alloc,
        follow=follow,
        care=care,
        care_mean=m,
        experiment=experiment,
    )
    report("generated", 1.0)
    return Built(truth=truth, hidden=hidden, opportunity_ids=keys.opportunity)
