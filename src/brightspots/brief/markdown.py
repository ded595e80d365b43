"""The brief as Markdown for chat tools: headings, bullets and bold; no HTML, no images (trends
as unicode blocks)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from brightspots.brief import charts
from brightspots.brief.model import Brief
from brightspots.brief.view import BriefView, _one_line, brief_view
from brightspots.report import fmt as numfmt

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~])")


def _md(text: str) -> str:
    """User text made literal in Markdown: emphasis, links, tags and tables are escaped."""
    return _MD_SPECIAL.sub(r"\\\1", _one_line(text))


def _md_lines(v: BriefView) -> Iterable[str]:
    yield f"# {_md(v.heading)}"
    yield ""
    yield f"_{_md(v.kicker)}_"
    yield ""
    for term, value in v.coverage:
        yield f"- **{term}:** {_md(value)}"
    yield f"- {_md(v.freshness)}"
    for w in v.warnings:
        yield f"- ⚠ **{_md(w)}**"
    for n in v.notes:
        yield f"- {_md(n)}"
    yield ""
    if v.empty:
        yield "## No data for this period"
        yield ""
        for t in v.empty_text:
            yield _md(t)
            yield ""
    else:
        yield from _md_full(v)
    yield from _md_actions(v)


def _md_full(v: BriefView) -> Iterable[str]:
    h = v.headings
    yield f"## {h['wins']}"
    yield ""
    yield f"**{_md(v.wins_summary)}**"
    yield ""
    for w in v.wins:
        amount = f", {_md(w.amount)}" if w.amount != numfmt.MISSING else ""
        done = _md(w.line) if w.line else _md(w.facts)
        yield (
            f"- **{_md(w.deal)}** ({_md(w.account)}): {_md(w.rep)}{amount}, closed {w.closed}. "
            f"{done}"
        )
        if w.odds:
            yield f"  - 🎯 {_md(w.odds)}"
    yield ""
    yield f"## {h['deviations']}"
    yield ""
    if v.deviations:
        yield f"_Over {_md(v.window_words)}._"
        yield ""
    else:
        yield f"Nobody stood out clearly over {_md(v.window_words)}."
        yield ""
    for d in v.deviations:
        trend = f" `{d.spark_text}`" if d.spark_text else ""
        held = "; a sustained bright spot" if d.sustained else ""
        yield f"- **{_md(d.name)}**, {_md(d.metric.lower())}:{trend}"
        yield f"  - {_md(d.sentence)}"
        yield f"  - **{d.chance}** ({d.chance_meaning}){held}"
    for n in v.deviation_notes:
        yield f"_{_md(n)}_"
    yield ""
    yield f"## {h['practices']}"
    yield ""
    if not v.practices:
        yield "No practice has clear evidence yet."
    for p in v.practices:
        yield f"- **{_md(p.phrase)}**: {_md(p.sentence)}"
        yield f"  - {_md(p.evidence)}"
    yield ""
    yield f"## {h['stories']}"
    yield ""
    if not v.stories:
        yield "No customer story was written this period. Add one after the meeting."
    for s in v.stories:
        tags = f" _{_md(', '.join(s.tags))}_" if s.tags else ""
        care = " · **Care**" if s.caregiver else ""
        yield f"- **{_md(s.title)}**{care} ({_md(s.byline)}){tags}"
        if s.tied:
            yield f"  - {_md(s.tied)}."
        if s.practices:
            yield f"  - Illustrates: {'; '.join(_md(p) for p in s.practices)}"
        for i, para in enumerate(s.paragraphs):
            if i:
                yield "  >"
            yield f"  > {_md(para)}"
    yield ""
    yield f"## {h['questions']}"
    yield ""
    if not v.questions:
        yield "No questions this time: what surprised you this period?"
    for i, q in enumerate(v.questions, start=1):
        yield f"{i}. {_md(q.text)} (see {_md(q.see)})"
    yield ""


def _md_actions(v: BriefView) -> Iterable[str]:
    yield f"## {v.headings['actions']}"
    yield ""
    if v.experiments:
        yield "**Experiments under way**"
        yield ""
        for x in v.experiments:
            yield f"- {_md(x.text)}"
        yield ""
    if not v.empty or v.actions:
        yield "**To try next period**"
        yield ""
        if not v.actions:
            yield "- No new practice to suggest this time."
        before, command, after = v.experiment_hint
        for a in v.actions:
            hint = f"; {_md(before)}`{command}` {_md(after)}." if a.hint else ""
            yield f"- {_md(a.text)}{hint}"
        yield ""
    yield f"**Since last period ({_md(v.previous_period)})**"
    yield ""
    if not v.previous_actions:
        yield "- No actions were agreed last period."
    for a in v.previous_actions:
        extra = " ".join(x for x in (a.change, a.since) if x)
        yield f"- **{_md(a.text)}**" + (f" {_md(extra)}" if extra else "")
    yield ""
    yield "**Meeting pulse**"
    yield ""
    yield _md(v.pulse_text)
    if len(v.pulse) > 1:
        energy = charts.text_blocks([float(p.energy) for p in v.pulse])
        ideas = charts.text_blocks([float(p.ideas) for p in v.pulse])
        yield ""
        yield f"- Energy `{energy}` " + " → ".join(p.energy for p in v.pulse)
        yield f"- Ideas `{ideas}` " + " → ".join(p.ideas for p in v.pulse)
    yield ""


def render_markdown(brief: Brief) -> str:
    """The brief as Markdown for chat tools: headings, bullets and bold; no HTML, no images."""
    return "\n".join(_md_lines(brief_view(brief, draw=False))).rstrip() + "\n"
