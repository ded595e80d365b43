"""The consecutive-period view shown beside a label: was the unit above expectation in each of
the last four quarters? Parsed from the run's ``quarters_oe`` text, written in words, and drawn
as four small marks (an inline SVG, hidden from screen readers: the words say the same)."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup

from brightspots.report import fmt

QUARTERS_SHOWN = 4
_ITEM = re.compile(r"^(\S+)\s+(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|inf|nan)$")
ABOVE = "#1f2933"
BELOW = "#9aa5b1"


def parse(text: str) -> list[tuple[str, float]]:
    """'2026-Q1 1.86; 2026-Q2 2.25' -> [('2026-Q1', 1.86), ('2026-Q2', 2.25)]; '' -> [].

    Raises ``ValueError`` for anything else."""
    if not text.strip():
        return []
    out = []
    for part in text.split(";"):
        m = _ITEM.match(part.strip())
        if not m:
            raise ValueError(f"{part.strip()!r} is not a quarter and its O/E")
        out.append((m.group(1), float(m.group(2))))
    return out


@dataclass(frozen=True)
class QuartersView:
    text: str  # 'Above expectation in 3 of the last 4 quarters'
    detail: str  # '2025-Q1 1.21 · 2025-Q2 0.94 · ...'
    marks: Markup  # four small bars around the line of 1 (decorative)


def view(
    above: int | None, assessed: int | None, oe_text: str, shown: Sequence[str]
) -> QuartersView | None:
    """The quarters view of one unit, or None when the run did not store one (an older run)."""
    if above is None or assessed is None or fmt.is_missing(above) or fmt.is_missing(assessed):
        return None
    values = dict(parse(oe_text))
    labels = list(shown) or sorted(values)
    n = max(len(labels), QUARTERS_SHOWN if not shown else 0, int(assessed))
    return QuartersView(
        text=sentence(int(above), int(assessed), n),
        detail=" · ".join(f"{q} {fmt.ratio(values.get(q))}" for q in labels),
        marks=marks([values.get(q) for q in labels]),
    )


def sentence(above: int, assessed: int, shown: int) -> str:
    """(3, 4, 4) -> 'Above expectation in 3 of the last 4 quarters'."""
    if assessed == 0:
        return f"No closed deals in the last {fmt.plural(shown, 'quarter')}"
    text = f"Above expectation in {above} of the last {fmt.plural(shown, 'quarter')}"
    if assessed < shown:
        text += f" ({shown - assessed} without closed deals)"
    return text


#: the O/E whose bar fills the mark's box above the line (its inverse fills it below)
FULL = 1.5


def bar(oe: float | None, half: float = 9.0) -> tuple[float, float]:
    """(top, height) in pixels of a quarter's bar around the midline (y = half), on a log scale
    where O/E 1.5 fills the box above the line and 1/1.5 below; beyond, the bar is clamped."""
    if oe is None or not math.isfinite(oe) or oe <= 0:
        length = -half if oe is not None and oe <= 0 else 0.0
    else:
        length = max(-half, min(half, half * math.log(oe) / math.log(FULL)))
    if length >= 0:
        return half - length, length
    return half, -length


def marks(values: Sequence[float | None]) -> Markup:
    width, slot, half = 8 + 12 * len(values), 12, 9.0
    body = [
        f'<line x1="1" y1="{half:g}" x2="{width - 1}" y2="{half:g}" stroke="#cbd2d9" '
        'stroke-width="1"/>'
    ]
    for i, v in enumerate(values):
        x = 4 + i * slot
        if v is None:
            body.append(f'<circle cx="{x + 4}" cy="{half:g}" r="1.6" fill="{BELOW}"/>')
            continue
        top, height = bar(v, half)
        colour = ABOVE if v > 1 else BELOW
        body.append(
            f'<rect x="{x}" y="{top:.1f}" width="8" height="{max(height, 1.0):.1f}" '
            f'fill="{colour}"/>'
        )
    return Markup(
        f'<svg class="marks" width="{width}" height="{2 * half:g}" '
        f'viewBox="0 0 {width} {2 * half:g}" aria-hidden="true">{"".join(body)}</svg>'
    )
