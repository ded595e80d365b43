"""A synthetic B2B sales organisation with planted ground truth: the product's test bed.

``generate`` builds the canonical tables of ``shared/data-contract.md`` (teams, reps, accounts,
contacts, opportunities, activities, buyer events, surveys, stories) for an organisation whose
truth is known, ``apply_dirt`` corrupts a share of the rows with every kind of bad row the importer
must quarantine, and ``write`` puts the files and ``truth.json`` in a folder. ``synthesize`` does
all three.

What is planted (all of it visible in the rows, not only in ``truth.json``):

* Territories of unequal potential: each team covers one (lognormal multiplier, the richest
  several times the poorest). Richer territories have bigger accounts, more enterprise accounts,
  more leads, bigger deals and better win odds. Segment, account potential, deal size at creation,
  lead source, the rep's tenure and the quarter also move win odds: that is the case mix.
* Three true practices raise the win odds of a deal (multi-threading early, fast response to buyer
  replies, a meeting before the proposal). Each rep has a hidden propensity for each; a deal's
  practice indicators are drawn from it and leave exact traces in the activity rows.
* Two decoy practices do not change win odds: demos per deal (more in rich territories) and the raw
  number of calls and e-mails on a deal (grows with deal length; won deals last longer).
* Bright spots (about 5% of reps, at most one per team while teams last, some in poor
  territories) have a real skill boost (0.8-1.2 win log-odds) and higher practice propensities,
  and book their updated won deals 5-12% larger. ``bright_spot_odds_ratio`` replaces the boost
  by an exact odds ratio on each of their deals (all skill, average propensities).
* A coached team (about 1 team in 20, at least one from 4 teams up; never the richest or poorest
  territory, no rich-territory rep, no planted bright spot): every rep of it, manager included,
  gets 0.30-0.40 win log-odds (or exactly ``log(team_odds_ratio)``) on top of their own skill and
  propensities, which are clipped to half an SD so that no one of them stands out alone: the
  team does, with a true ratio around 1.25.
* Rich-territory reps (about 5%) have average skill but the richest books: they top a raw
  leaderboard of won amount without being bright spots.
* Booked amounts of won deals follow the amount at creation: a quarter are never updated, the
  others move by a lognormal factor (mean +10%, SD about 0.28 on the log scale).
* Account-level touches (no opportunity) come with the deals by default: Poisson 0.35 a deal,
  at random around it, about 2.5% of the touches (5% of the activity rows with the bulk e-mails
  sent before a deal; 13-15 activities per opportunity).
* Misallocated account effort, off by default (``misallocation``: share of reps, at least one;
  None or 0: off, and the tables are the same bytes as before the option existed). On, it
  turns on the account-effort model (``allocation``, ``effort``): every rep covers each account
  of their book, month by month, in proportion to its value (a quarter of its potential, its
  expected revenue, revenue won in the last year, open pipeline), its deal touches counted
  towards its share and the rest made as account-level touches, Poisson around it: about 40-45%
  of the touches without an opportunity, 21-23 activities per opportunity. Misallocating reps
  keep only 10-20% of the effort on up to three of their largest, well-fitting accounts
  (account-level touches and the deal touches that carry no practice, so the practices' traces
  stay exact) and give the freed touches to three of their smallest accounts; one
  *proportional* rep covers every account in proportion to its value. The neglected accounts are
  the generator's own choice, made before any effort.
* Customer care (``surveys``, ``care``): a customer survey after 60% of won deals (three care
  items, expertise, a 0-10 recommendation, answered by the deal's primary contact) and an
  anonymous quarterly employee pulse about the manager (two care items), scored from each rep's
  latent care 0.55 + 0.03 * care trait (0.55 in a null org). About 5% of reps are planted
  high-care reps (+0.30; non-managers hired before the window with at least the median volume
  and 12 customer respondents in the last 330 days) and 1 manager in 10 a high-care leader.
  ``reverse_coded_item`` adds ``cs_care_rushed``, stored the other way round.
* Repeat business planted on the *observed* care score (``care``): each account's index survey
  is its earliest customer submission at least a year before the data end (a survey after which
  a base deal on the account was won within 400 days is dropped, and the next one tried); S_a is
  the mean of its care answers on 0-1, and Y_a ~ Bernoulli(logit^-1(alpha + segment + 0.25 *
  (log potential - median) + beta * S_a)) with beta = ``care_effect`` (2.5 per unit, an odds
  ratio of 1.28 per 10 points; 0 in a null org). Y_a = 1 gives a won follow-on deal (expansion,
  the surveyed rep, within 330 days), Y_a = 0 a lost one with probability 0.4: ids
  ``OP-F0001``..., after the base deals, with their activities and buyer events. High-care reps
  tell caregiver stories (tag ``care``) about their follow-on wins. All of it comes from an
  eighth random stream, so the teams, reps, accounts, contacts and base deals with their
  activities and buyer events are the rows the generator made before it (only the activities'
  and buyer events' time-ordered ids move).
* A practice experiment, off by default (``experiment``: ``experiment.Plant``, read from
  ``brightspots synth --experiment "practice=multi_threading,teams=6,start=2026-03-02,waves=2,
  every=4w,adoption=0.5,effect=default,shape=constant"`` by ``parse_spec``): the teams of each
  wave take the practice up from their start on a share (``adoption``) of their new deals that
  did not do it, and those deals get ``effect`` win log-odds (the practice's own by default, 0
  for a null experiment; constant, growing or fading by week). A ninth random stream draws the
  teams and one adoption uniform per base deal; every other draw keeps its size and the
  outcome reuses its uniform, so untreated deals keep every column and teams, reps, accounts and
  contacts are the same rows. ``truth.json["experiment"]`` holds the waves, the counts and the
  true effect on the share won within 90 days for the default analysis
  (``att_win_rate_90d``); ``truth_opportunities.parquet`` gains ``exp_p0`` and
  ``close_if_won``, from which ``brightspots.evaluate.experiment_truth`` aggregates the truth
  with any analysis' own cells and weights.

Time runs on a business-day axis (weekdays, 08:00-18:00 in the team's time zone, stored in UTC) so
that every ordering planted on that axis survives the conversion to timestamps; buyer replies and
the rep's answers run on the clock. Everything is vectorised numpy (loops only per rep, per
quarter or per chunk of deals) and deterministic by seed: the same config gives byte-identical
files.

``truth.json`` holds the planted reps (``bright_spots``) and teams (``bright_spot_teams`` with
``team_effects``), every rep's true skill, team effect, propensities, amount uplift and true ratios
of wins and of booked revenue (``true_ratio``, ``true_revenue_ratio``, also per team in
``territories``), the regions (``regions``: region id -> team ids), the win and amount models, how
to measure each true practice from the rows, why each decoy is one (each with the
``registry_id`` of the built-in practice that measures it), the planted care (``care``:
``high_care_reps``, ``high_care_leaders``, ``reverse_items``, ``items``, ``rep_shift``,
``repeat_effect`` and each planted account's ``accounts`` row; every rep's ``care_mean`` and
``high_care`` in ``reps``), the planted misallocation
(``misallocation``: ``share``, ``reps``, ``neglected_accounts``, ``over_served_accounts``,
``proportional_rep``, each rep's ``neglect_keep`` and the policies in words; every rep's
``effort_policy`` in ``reps``; off: share 0, empty lists, ``proportional_rep`` and every
``effort_policy`` null), the planted experiment (``experiment``, only when one is planted), and
(``dirty``) every bad row
by file, line, reason and column with the counts an importer must report. Dirty mode breaks
existing rows except in ``teams`` and ``reps``, where it adds broken stale records instead, so
cascades stay in proportion: at ``dirty=0.01`` about 3% of activity rows are quarantined, most of
them as cascades.

Modules, in the order ``generate`` uses them: ``config`` (``SynthConfig``), ``model`` (the true
win model), ``vocabulary`` (names and words), ``calendar`` (the business-day axis), ``draws`` and
``tables`` (random draws, Arrow tables), ``people`` (teams, reps) with ``coaching`` (the coached
teams), ``accounts`` (and contacts), ``experiment`` (the planted practice experiment, when on),
``opportunities``, ``allocation`` (who spreads effort how:
the misallocation, when on), ``activities`` (and buyer events, made in compact numeric ``rows``
and put in time order there), ``effort`` (account-level touches, when on), ``surveys``,
``care`` (the planted repeat business and its follow-on deals), ``stories``, ``expectation``
(true expected wins and revenue) and ``truth`` (``truth.json``), ``sink`` (where each table
goes as it is made), ``org`` (``Org``, ``build``, ``generate``); ``dirt`` (``apply_dirt``) with
``badrows``, ``cascade``, ``variations``, ``layout`` and ``text``; ``files`` (``FileSink``,
``write``) and ``pipeline`` (``synthesize``).

Memory: ``generate`` holds every table; ``synthesize`` of a clean organisation writes each table
as it is made, activities and buyer events slice by slice, so 100M activities take about 7 GB
(the numeric rows, 26 bytes an activity, and the opportunities; with the account-effort model
on, one count of deal touches per account and month too); a dirty organisation is corrupted
whole, in memory. The files are the same bytes either way.
"""

from brightspots.synth.config import Progress, SynthConfig, SynthError
from brightspots.synth.dirt import apply_dirt
from brightspots.synth.experiment import Plant, parse_spec
from brightspots.synth.files import write
from brightspots.synth.model import PRACTICES
from brightspots.synth.org import Org, generate
from brightspots.synth.pipeline import synthesize
from brightspots.synth.tables import ARROW_TYPES

__all__ = [
    "ARROW_TYPES",
    "PRACTICES",
    "Org",
    "Plant",
    "Progress",
    "SynthConfig",
    "SynthError",
    "apply_dirt",
    "generate",
    "parse_spec",
    "synthesize",
    "write",
]
