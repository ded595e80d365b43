"""Accounts in each rep's book (segment, size, potential) and their contacts; the accounts and
contacts tables."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from brightspots.synth.calendar import Calendar, epoch_day
from brightspots.synth.draws import categorical
from brightspots.synth.model import SEG_EMPLOYEES, SEG_POTENTIAL, SEGMENTS
from brightspots.synth.people import Reps, Teams
from brightspots.synth.tables import Keys, canonical_table, take_ids, take_strings
from brightspots.synth.vocabulary import (
    ACCOUNT_NOUNS,
    ACCOUNT_SUFFIXES,
    ACCOUNT_WORDS,
    INDUSTRIES,
    REGIONS,
    SENIORITY,
    TITLES,
)

if TYPE_CHECKING:
    from brightspots.synth.opportunities import Opps


@dataclass
class Accounts:
    n: int
    owner: np.ndarray
    segment: np.ndarray
    industry: np.ndarray
    employees: np.ndarray
    potential: np.ndarray
    log_rel: np.ndarray  # log potential relative to its territory and segment norm
    customer: np.ndarray
    c_start: np.ndarray  # first contact index
    c_count: np.ndarray
    rep_start: np.ndarray  # per rep: first account index
    rep_count: np.ndarray
    weight_cum: np.ndarray  # cumulative opportunity weights, accounts in rep order


def make_accounts(rng: np.random.Generator, teams: Teams, reps: Reps, opp_per_account: float):
    per_rep = np.maximum(12, np.ceil(reps.volume / opp_per_account)).astype(np.int64)
    owner = np.repeat(np.arange(reps.n), per_rep)
    n = len(owner)
    team = reps.team[owner]
    mix = teams.seg_mix[team]
    mix[reps.rich[owner]] = [0.05, 0.30, 0.65]
    segment = categorical(rng, mix)
    industry = rng.integers(0, len(INDUSTRIES), n)
    emp_sd = np.array([0.7, 0.6, 1.0])[segment]
    employees = SEG_EMPLOYEES[segment] * np.exp(rng.normal(0, 1, n) * emp_sd)
    lo = np.array([5, 200, 2000])[segment]
    hi = np.array([250, 3000, 300_000])[segment]
    employees = np.clip(np.round(employees), lo, hi).astype(np.int64)
    log_rel = 0.4 * np.log(employees / SEG_EMPLOYEES[segment]) + rng.normal(0, 0.35, n)
    log_rel = log_rel + np.where(reps.rich[owner], np.log(3.0), 0.0)
    potential = SEG_POTENTIAL[segment] * np.exp(teams.log_potential[team] + log_rel)
    potential = np.maximum(1000.0, np.round(potential / 1000) * 1000)
    customer = rng.random(n) < np.array([0.25, 0.30, 0.40])[segment]
    c_count = 3 + rng.poisson(np.array([0.5, 2.0, 5.0])[segment])
    c_start = np.concatenate([[0], np.cumsum(c_count)[:-1]])
    weight = np.sqrt(potential)
    rep_count = per_rep
    rep_start = np.concatenate([[0], np.cumsum(per_rep)[:-1]])
    return Accounts(
        n=n,
        owner=owner,
        segment=segment,
        industry=industry,
        employees=employees,
        potential=potential,
        log_rel=log_rel,
        customer=customer,
        c_start=c_start,
        c_count=c_count,
        rep_start=rep_start,
        rep_count=rep_count,
        weight_cum=np.cumsum(weight),
    )


def account_tables(
    rng, cal: Calendar, teams: Teams, reps: Reps, acc: Accounts, o: Opps, keys: Keys
) -> dict[str, pa.Table]:
    # accounts are created before their first deal (customers long before the window)
    never = np.iinfo(np.int64).max
    first_opp = np.full(acc.n, never)
    np.minimum.at(first_opp, o.account, o.created)
    start = epoch_day(cal.start) * 86400
    u = rng.random(acc.n)
    created = np.where(
        acc.customer,
        start - ((180 + u * 2800) * 86400).astype(np.int64),
        np.where(
            first_opp < never,
            first_opp - ((1 / 24 + u * 400) * 86400).astype(np.int64),
            start + ((u - 0.4) * (cal.cut - start)).astype(np.int64),
        ),
    )
    created = np.minimum(created, first_opp - 3600)
    n_w, n_n = len(ACCOUNT_WORDS), len(ACCOUNT_NOUNS)
    word = rng.integers(0, n_w * n_n * len(ACCOUNT_SUFFIXES), acc.n)
    names = pc.binary_join_element_wise(
        take_strings(ACCOUNT_WORDS, word % n_w),
        take_strings(ACCOUNT_NOUNS, (word // n_w) % n_n),
        take_strings(ACCOUNT_SUFFIXES, word // (n_w * n_n)),
        " ",
    )
    owner = np.where(rng.random(acc.n) < 0.01, -1, acc.owner)  # a few unassigned accounts
    region_names = [REGIONS[i][0] for i in range(teams.n_regions)]
    accounts = canonical_table(
        "accounts",
        {
            "account_id": keys.account,
            "name": pc.replace_substring(names, " ,", ","),
            "owner_rep_id": take_ids(keys.rep, owner),
            "segment": take_strings(SEGMENTS, acc.segment),
            "industry": take_strings(INDUSTRIES, acc.industry),
            "region": take_strings(region_names, teams.region[reps.team[acc.owner]]),
            "employees": acc.employees,
            "annual_potential": acc.potential,
            "created_at": created,
        },
    )
    # contacts: an executive, a manager and a staff member first, then anyone
    n = len(keys.contact)
    c_account = np.repeat(np.arange(acc.n), acc.c_count)
    pos = np.arange(n) - acc.c_start[c_account]
    later = categorical(rng, np.tile([0.15, 0.4, 0.45], (n, 1)))
    seniority = np.where(pos < 3, np.minimum(pos, 2), later)
    sizes = np.array([len(TITLES[s]) for s in range(3)])
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    title = offsets[seniority] + rng.integers(0, 1000, n) % sizes[seniority]
    title = np.where(rng.random(n) < 0.05, -1, title)
    contacts = canonical_table(
        "contacts",
        {
            "contact_id": keys.contact,
            "account_id": take_ids(keys.account, c_account),
            "title": take_ids(pa.array([t for s in range(3) for t in TITLES[s]]), title),
            "seniority": take_strings(SENIORITY, seniority),
        },
    )
    return {"accounts": accounts, "contacts": contacts}
