"""The built-in practices: registry entries written like a workspace's own, each an Ibis builder
over the practice views (``views``), so each sees only a deal's rows before its cutoff.

A deal's *touches* are the rows of the ``activities`` view (every non-bulk activity type). Spans
and delays are elapsed time (the same as local wall-clock time except across a daylight-saving
change, where elapsed time is what the buyer waited); calendar months are local.

Choices worth knowing:

* ``response_within_4h`` / ``_24h``: a reply counts when its whole window lies before the cutoff
  (``reply + window < cutoff``), so a reply just before the close or the landmark is neither
  answered nor unanswered; a reply is answered by the deal's first touch at or after it, a touch
  exactly 4 hours later counts as within 4 hours. Binary: at least half of the counted replies
  answered in time; undefined (NaN) without a counted reply. Buyer behaviour is the denominator
  here, never the practice.
* ``first_touch_within_1d``: a touch at most 24 hours after created_at (exactly 24 hours counts,
  as exactly 4 hours does for a response).
* Counts and rates of touches (``cadence``, ``emails_per_opportunity``,
  ``demos_per_opportunity``, ``touches_per_opportunity``) count *outreach*: the rep's next touch
  on the deal after a buyer reply answers the buyer and is left out, however late it comes (the
  touches after it count again). How often a buyer writes depends on how the deal is going, so
  answers carry the outcome into a count (method.md: buyer behaviour is never a practice by
  itself); answering is measured by the response practices. Leaving out every touch in the 24
  hours after a reply instead made early touch counts go with *losing* on the synthetic org
  (odds ratio 0.89 to 0.95 over three seeds, as winners get more replies); leaving out only the
  answers gives 0.97 to 1.07 (touch volume has no effect there).
* ``cadence``: outreach touches per open week, open weeks = (cutoff - created_at) / 7 days with
  at least one day, so a deal closed within hours is measured over one day.
* ``cadence_regularity`` (rep_period): the share of the owner's open deal-weeks with at least one
  touch. A deal's weeks are the 7-day spans from its creation that started before its cutoff;
  each belongs to the local calendar month it starts in. A share is bounded, defined from one
  week on and does not grow with deal length or volume; one minus the coefficient of variation
  of weekly touches would be undefined for a rep without touches, unstable over the four or five
  weeks of a month, and would reward the rep who touches every deal the same number of times
  rather than every deal every week.
* ``impact_share``: the share of a deal's touches with buyer impact, where impact is the credit
  of ``metrics.credit.credited`` (the latest touch on the account at most ``[metrics]
  impact_window`` before a buyer event, matching opportunity then contact), counting only buyer
  events before the deal's cutoff.
* ``keywords``: how a customer story names the practice (``stories.links``): a tag equal to the
  id or a keyword, or a keyword as a whole word in the story's text. ``demo`` and
  ``persistence``, the synthetic stories' tags of the two decoys, are keywords of
  ``demos_per_opportunity`` and ``touches_per_opportunity``.
"""

from __future__ import annotations

from collections.abc import Callable

import ibis
import ibis.expr.types as ir

from brightspots.practices.registry import Practice
from brightspots.practices.views import Views, seconds

DAY = 86_400
WEEK = 7 * DAY
_REPLY, _TOUCH = 0, 1  # sort order at the same instant: the reply first, so a touch then answers


def _f(x: ir.Value) -> ir.FloatingValue:
    if x.type().is_boolean():
        x = x.cast("int32")  # Postgres casts a boolean to a number only through int4
    return x.cast("float64")


def _per_deal(
    v: Views, rows: ir.Table | None = None, **aggs: Callable[[ir.Table], ir.Value]
) -> ir.Table:
    a = v.activities if rows is None else rows
    return a.group_by("opportunity_id").agg(**{k: f(a) for k, f in aggs.items()})


def _spans(v: Views) -> ir.Table:
    d = v.opportunities
    return d.select(
        "opportunity_id",
        rep_id=d.owner_rep_id,
        created_at=d.created_at,
        start_s=seconds(d.created_at),
        cut_s=seconds(d.cutoff),
    )


# ------------------------------------------------------------------ who is reached


def contacts_touched(v: Views) -> ir.Table:
    g = _per_deal(v, n=lambda a: a.contact_id.nunique())
    return g.select("opportunity_id", value=_f(g.n))


def multithreading(v: Views) -> ir.Table:
    g = _per_deal(v, n=lambda a: a.contact_id.nunique())
    return g.select("opportunity_id", value=_f(g.n >= 3))


def executive_engaged(v: Views) -> ir.Table:
    a = v.activities
    c = v.contacts.select(c_id="contact_id", seniority="seniority")
    j = a.join(c, a.contact_id == c.c_id)
    j = j.filter(j.seniority.lower() == "executive")
    g = j.group_by("opportunity_id").agg(n=j.count())
    return g.select("opportunity_id", value=_f(g.n > 0))


# ------------------------------------------------------------------ responsiveness


def _answered_within(hours: int) -> Callable[[Views], ir.Table]:
    window = hours * 3600

    def build(v: Views) -> ir.Table:
        a, e = v.activities, v.buyer_events
        replies = e.filter(e.type == "reply")
        rows = ibis.union(
            a.select(
                "opportunity_id", s=seconds(a.occurred_at), kind=ibis.literal(_TOUCH, type="int64")
            ),
            replies.select(
                "opportunity_id",
                s=seconds(replies.occurred_at),
                kind=ibis.literal(_REPLY, type="int64"),
            ),
            distinct=False,
        )
        w = ibis.window(group_by=rows.opportunity_id, order_by=[rows.s, rows.kind], rows=(0, None))
        touch_s = ibis.ifelse(rows.kind == _TOUCH, rows.s, ibis.null("int64"))
        found = rows.mutate(next_s=touch_s.min().over(w))
        found = found.filter(found.kind == _REPLY)
        spans = _spans(v).select(d_id="opportunity_id", cut_s="cut_s")
        found = found.join(spans, found.opportunity_id == spans.d_id)
        found = found.filter(found.s + window < found.cut_s)
        answered = found.next_s.notnull() & (found.next_s - found.s <= window)
        g = found.group_by("opportunity_id").agg(share=_f(answered).mean())
        return g.select("opportunity_id", value=_f(g.share >= 0.5))

    return build


def first_touch_within_1d(v: Views) -> ir.Table:
    g = _per_deal(v, first=lambda a: seconds(a.occurred_at).min())
    spans = _spans(v)
    j = g.join(spans, "opportunity_id")
    return j.select("opportunity_id", value=_f(j.first - j.start_s <= DAY))


# ------------------------------------------------------------------ sequence


def meeting_before_proposal(v: Views) -> ir.Table:
    def first(kinds: tuple[str, ...]) -> Callable[[ir.Table], ir.Value]:
        return lambda a: seconds(a.occurred_at).min(where=a.type.isin(kinds))

    g = _per_deal(v, proposal=first(("proposal",)), meeting=first(("meeting", "demo")))
    reached = g.proposal.notnull()
    before = reached & g.meeting.notnull() & (g.meeting < g.proposal)
    return g.select("opportunity_id", value=_f(before), reached=reached)


# ------------------------------------------------------------------ volume and mix


def outreach(v: Views) -> ir.Table:
    """The deal's touches that do not answer a buyer reply. The answer to a reply is the rep's
    next touch on the deal after it (the reply first at the same instant), however long it took:
    answers come with the buyer's replies, which go with winning, so counting them would carry
    the outcome into a count of effort. Only the answer is left out: leaving out every touch in
    a period after a reply would make the count fall with the replies instead. One window over
    the deal's touches and replies."""
    a, e = v.activities, v.buyer_events
    replies = e.filter(e.type == "reply")
    none = ibis.null("string")
    rows = ibis.union(
        a.select(
            "opportunity_id",
            "activity_id",
            "type",
            s=seconds(a.occurred_at),
            kind=ibis.literal(_TOUCH, type="int64"),
        ),
        replies.select(
            "opportunity_id",
            activity_id=none,
            type=none,
            s=seconds(replies.occurred_at),
            kind=ibis.literal(_REPLY, type="int64"),
        ),
        distinct=False,
    )
    w = ibis.window(group_by=rows.opportunity_id, order_by=[rows.s, rows.kind, rows.activity_id])
    t = rows.mutate(prev_kind=rows.kind.lag().over(w))
    t = t.filter(t.kind == _TOUCH)
    t = t.filter((t.prev_kind != _REPLY).fill_null(True))
    return t.select("opportunity_id", "activity_id", "type", "s")


def cadence(v: Views) -> ir.Table:
    g = _per_deal(v, outreach(v), n=lambda a: a.count())
    spans = _spans(v)
    j = spans.left_join(g, spans.opportunity_id == g.opportunity_id)
    weeks = _f(ibis.greatest(j.cut_s - j.start_s, DAY)) / WEEK
    return j.select(opportunity_id=spans.opportunity_id, value=_f(j.n.fill_null(0)) / weeks)


def _share(kind: str) -> Callable[[Views], ir.Table]:
    def build(v: Views) -> ir.Table:
        g = _per_deal(v, share=lambda a: _f(a.type == kind).mean())
        return g.select("opportunity_id", value=g.share)

    return build


def _count(*kinds: str) -> Callable[[Views], ir.Table]:
    def build(v: Views) -> ir.Table:
        g = _per_deal(
            v, outreach(v), n=lambda a: a.type.isin(kinds).cast("int32").cast("int64").sum()
        )
        return g.select("opportunity_id", value=_f(g.n))

    return build


# ------------------------------------------------------------------ regularity (rep-period)


def period_label(month: ir.IntegerValue) -> ir.StringValue:
    """``"YYYY-MM"`` of a month index ``year * 12 + month - 1``."""
    year, number = month // 12, month % 12 + 1
    return year.cast("string") + "-" + number.cast("string").lpad(2, "0")


def period_of(ts: ir.TimestampValue) -> ir.StringValue:
    """``"YYYY-MM"`` of a (local) timestamp."""
    return period_label(ts.year().cast("int64") * 12 + ts.month().cast("int64") - 1)


def cadence_regularity(v: Views) -> ir.Table:
    spans = _spans(v)
    n_weeks = ibis.greatest((spans.cut_s - spans.start_s + (WEEK - 1)) // WEEK, 1)
    weeks = spans.mutate(k=ibis.range(0, n_weeks.cast("int64")).unnest())
    a = v.activities
    starts = spans.select(d_id="opportunity_id", d_start="start_s")
    j = a.join(starts, a.opportunity_id == starts.d_id)
    touched = j.select(t_id=j.opportunity_id, t_k=(seconds(j.occurred_at) - j.d_start) // WEEK)
    touched = touched.distinct()
    w = weeks.left_join(touched, [weeks.opportunity_id == touched.t_id, weeks.k == touched.t_k])
    start = w.created_at + (w.k * 7).as_interval("D")
    w = w.select("rep_id", period=period_of(v.local(start)), hit=_f(w.t_id.notnull()))
    return w.group_by("rep_id", "period").agg(value=w.hit.mean())


# ------------------------------------------------------------------ buyer impact


def impact_share(v: Views) -> ir.Table:
    from brightspots.metrics.credit import credited, touches

    raw = v.tables
    credit = raw.credited
    if credit is None:
        credit = credited(touches(raw.activities), raw.buyer_events, impact_window=v.impact_window)
    credit = credit.filter(credit.activity_id.notnull())
    first = credit.group_by(c_id=credit.activity_id).agg(first_s=seconds(credit.occurred_at).min())
    a = v.activities
    spans = _spans(v).select(d_id="opportunity_id", cut_s="cut_s")
    j = a.join(spans, a.opportunity_id == spans.d_id)
    j = j.left_join(first, j.activity_id == first.c_id)
    hit = j.first_s.notnull() & (j.first_s < j.cut_s)
    g = j.group_by("opportunity_id").agg(value=_f(hit).mean())
    return g.select("opportunity_id", "value")


# ------------------------------------------------------------------ the registry entries


def _p(id: str, description: str, kind, phrase: str, build, **kw) -> Practice:
    return Practice(
        id=id,
        description=description,
        level=kw.pop("level", "opportunity"),
        higher_is_better=kw.pop("higher_is_better", True),
        kind=kind,
        primary=kw.pop("primary", "landmark"),
        phrase=phrase,
        build=build,
        **kw,
    )


BUILTINS: tuple[Practice, ...] = (
    _p(
        "multithreading",
        "Three or more distinct people at the buyer touched.",
        "binary",
        "3+ people at the buyer were contacted",
        multithreading,
        keywords=(
            "multi-threading",
            "multi-threaded",
            "several people",
            "several stakeholders",
            "buying group",
            "executive",
        ),
    ),
    _p(
        "contacts_touched",
        "Distinct people at the buyer touched.",
        "count",
        "people at the buyer contacted",
        contacts_touched,
        unit="people",
        keywords=("stakeholders", "people at the buyer", "contacts at the buyer"),
    ),
    _p(
        "executive_engaged",
        "At least one touch with an executive at the buyer.",
        "binary",
        "an executive at the buyer was contacted",
        executive_engaged,
        keywords=("executive", "c-level", "cfo", "ceo", "cio", "cto", "vp"),
    ),
    _p(
        "response_within_4h",
        "At least half of the buyer's replies answered by a touch within 4 hours.",
        "binary",
        "at least half of the buyer's replies were answered within 4 hours",
        _answered_within(4),
        absent="undefined",
        keywords=(
            "fast response",
            "fast reply",
            "quick reply",
            "same morning",
            "within the hour",
            "within an hour",
            "within minutes",
        ),
    ),
    _p(
        "response_within_24h",
        "At least half of the buyer's replies answered by a touch within 24 hours.",
        "binary",
        "at least half of the buyer's replies were answered within 24 hours",
        _answered_within(24),
        absent="undefined",
        keywords=("same day", "next day", "within a day", "within 24 hours"),
    ),
    _p(
        "meeting_before_proposal",
        "A meeting or demo held before the first proposal.",
        "binary",
        "a meeting or demo came before the proposal",
        meeting_before_proposal,
        primary="stage",
        stage="deals that reached a proposal",
        keywords=(
            "meeting before the proposal",
            "before writing the proposal",
            "before the proposal",
            "working session",
            "discovery meeting",
        ),
    ),
    _p(
        "first_touch_within_1d",
        "A first touch within 24 hours of the opportunity's creation.",
        "binary",
        "the first touch came within a day of the deal's creation",
        first_touch_within_1d,
        keywords=("first touch", "first call the same day", "speed to lead"),
    ),
    _p(
        "cadence",
        "Outreach touches (calls, e-mails, meetings, demos, proposals; not the answer to a buyer's "
        "reply) per open week.",
        "rate",
        "touches per open week",
        cadence,
        unit="touches per open week",
        keywords=("cadence", "stayed in touch", "kept in touch"),
    ),
    _p(
        "cadence_regularity",
        "Share of the owner's open deal-weeks with at least one touch, in the calendar month "
        "before the deal was created.",
        "share",
        "the share of the owner's open deal-weeks touched in the month before",
        cadence_regularity,
        level="rep_period",
        primary="prior_period",
        unit="share of open deal-weeks",
        absent="undefined",
        keywords=("every week", "weekly", "regularly", "steady rhythm"),
    ),
    _p(
        "call_share",
        "Share of the deal's touches that are calls.",
        "share",
        "the share of touches that are calls",
        _share("call"),
        unit="share of touches",
        absent="undefined",
        keywords=("phone call", "phone calls", "on the phone", "picked up the phone"),
    ),
    _p(
        "meeting_share",
        "Share of the deal's touches that are meetings.",
        "share",
        "the share of touches that are meetings",
        _share("meeting"),
        unit="share of touches",
        absent="undefined",
        keywords=("in person", "face to face", "face-to-face", "on site"),
    ),
    _p(
        "email_share",
        "Share of the deal's touches that are e-mails (bulk e-mails never count).",
        "share",
        "the share of touches that are e-mails",
        _share("email"),
        unit="share of touches",
        absent="undefined",
        keywords=("by e-mail", "by email", "over e-mail", "over email"),
    ),
    _p(
        "emails_per_opportunity",
        "Outreach e-mails on the deal (not bulk, not the answer to a buyer's reply).",
        "count",
        "e-mails",
        _count("email"),
        unit="e-mails",
        keywords=("follow-up e-mail", "follow-up e-mails", "follow-up email", "follow-up emails"),
    ),
    _p(
        "demos_per_opportunity",
        "Demos held on the deal (not the answer to a buyer's reply).",
        "count",
        "demos",
        _count("demo"),
        unit="demos",
        keywords=("demo", "demos", "demonstration", "tailored demo"),
    ),
    _p(
        "touches_per_opportunity",
        "Outreach calls and e-mails on the deal (not bulk, not the answer to a buyer's reply).",
        "count",
        "calls and e-mails",
        _count("call", "email"),
        unit="calls and e-mails",
        keywords=(
            "persistence",
            "persistent",
            "stayed on it",
            "calls and e-mails",
            "calls and emails",
        ),
    ),
    _p(
        "impact_share",
        "Share of the deal's touches with buyer impact (a buyer event credited to the touch); "
        "partly the buyer's doing, so read it as where effort lands rather than a practice alone.",
        "share",
        "the share of touches drawing a buyer response",
        impact_share,
        unit="share of touches",
        absent="undefined",
        keywords=("buyer response", "they replied", "they wrote back"),
    ),
)
