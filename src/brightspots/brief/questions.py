"""Section 5, questions for the meeting: at most five, each about a row shown above.

Every question is built from one row of another section and points back to it (``Question``'s
``section`` and ``ref``), so the meeting can look at the facts behind it. They start from what
went well, in the order of the brief: a surprising win, the clearest positive deviation, the
practice that worked, a customer story, last period's action, then further deviations.
"""

from __future__ import annotations

from brightspots.brief.deviations import possessive
from brightspots.brief.model import Action, Deviation, Practice, Question, Story, Win
from brightspots.report import fmt

MAX_QUESTIONS = 5


def about_win(w: Win) -> Question:
    where = f"{w.deal} ({w.account})" if w.deal != w.account else w.account
    if w.fast_replies >= 2:
        text = (
            f"{w.rep} won {where} after answering {w.fast_replies} buyer replies within an "
            "hour: what made that possible?"
        )
    elif w.unlikely and w.p_hat is not None:
        text = (
            f"{w.rep} won {where} although deals like it are won {fmt.percent(w.p_hat)} of the "
            "time: what made the difference?"
        )
    else:
        text = f"{w.rep} won {where}: what would it take to find more deals like it?"
    return Question(text, "wins", w.opportunity_id)


def about_deviation(d: Deviation) -> Question:
    if d.metric == "win_rate":
        text = (
            f"{d.name} won {fmt.integer(d.observed or 0)} deals where "
            f"{fmt.decimal(d.expected or 0)} were expected: what do they do that others could "
            "try?"
        )
    elif d.metric == "buyer_impact":
        text = (
            f"{possessive(d.name)} touches drew a buyer response {fmt.percent(d.value)} of the "
            f"time, up from {fmt.percent(d.previous or 0)}: what changed?"
        )
    else:
        text = (
            f"{d.name} answered buyers in a median {fmt.hours(d.value)}, down from "
            f"{fmt.hours(d.previous or 0)}: how was that made possible?"
        )
    return Question(text, "deviations", d.key)


def about_practice(p: Practice) -> Question:
    if p.wins_with is not None:
        of = "the one win" if p.wins == 1 else f"{p.wins_with} of {fmt.plural(p.wins, 'win')}"
        text = f"In {of}, {p.phrase}: what would make it the habit on every deal?"
    else:
        more = "more" if p.higher_is_better else "less"
        text = (
            f"{p.phrase[0].upper()}{p.phrase[1:]}: this period's wins had {more} of it than "
            "its losses. What would help every deal get there?"
        )
    return Question(text, "practices", p.practice_id)


def about_story(s: Story) -> Question:
    return Question(
        f'{possessive(s.rep)} story "{s.title}": what can the rest of us borrow from it?',
        "stories",
        s.story_id,
    )


def about_action(a: Action) -> Question:
    return Question(
        f"Last period's action was: {a.text.rstrip('.')}. Keep it, change it or drop it?",
        "actions",
        a.key,
    )


def questions(
    wins: list[Win],
    deviations: list[Deviation],
    practices: list[Practice],
    stories: list[Story],
    previous: list[Action],
) -> list[Question]:
    picks: list[Question] = []
    if wins:
        scored = [w for w in wins if w.p_hat is not None]
        fast = [w for w in wins if w.fast_replies >= 2]
        surprising = min(scored, key=lambda w: (w.p_hat, w.opportunity_id)) if scored else None
        pick = surprising if surprising is not None and surprising.unlikely else None
        pick = pick or (fast[0] if fast else wins[0])
        picks.append(about_win(pick))
    ordered = sorted(deviations, key=lambda d: (d.unit != "rep", -d.z, d.key))
    seen_units = set()
    firsts, rest = [], []
    for d in ordered:
        (rest if d.unit_id in seen_units else firsts).append(d)
        seen_units.add(d.unit_id)
    if firsts:
        picks.append(about_deviation(firsts[0]))
    if practices:
        picks.append(about_practice(practices[0]))
    if stories:
        picks.append(about_story(stories[0]))
    if previous:
        picks.append(about_action(previous[0]))
    for d in firsts[1:] + rest:
        picks.append(about_deviation(d))
    return picks[:MAX_QUESTIONS]
