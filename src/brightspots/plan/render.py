"""A plan as CSV (one row per rep, account and month) or as a self-contained HTML page."""

from __future__ import annotations

import math
from pathlib import Path

from brightspots.files import write_atomic
from brightspots.plan.make import Plan
from brightspots.plan.optimize import PlanError
from brightspots.plan.proportion import money
from brightspots.templating import environment

FORMATS = ("csv", "html")


def _rules(config: dict) -> str:
    plan = config.get("plan") or {}
    parts = [f"at least {v} touches a month for {k} accounts"
             for k, v in (plan.get("min_touches") or {}).items() if v]  # fmt: skip
    parts += [f"at most {v} for {k} accounts" for k, v in (plan.get("max_touches") or {}).items()]
    return "; ".join(parts) or "no tier rules"


def html(plan: Plan, title: str, config: dict, currency: str) -> str:
    reps = []
    first = plan.months[0]
    for rp in plan.reps:
        r = rp.rows.sort_values(["tier", "value"], key=_tier_key, ascending=[True, False])
        rows = [
            {
                "name": a["name"],
                "tier": a["tier"],
                "value": money(a["value"], currency),
                "fit": "-" if not math.isfinite(a["fit"]) else f"{a['fit']:.0f}",
                "now": f"{a['touches_now']:.1f}",
                "target": f"{a['target']:.1f}",
                "months": [int(a[m]) for m in plan.months],
                "hours": f"{a[first] * a['minutes'] / 60:.1f}",
            }
            for _, a in r.iterrows()
        ]
        reps.append(
            {
                "name": rp.rep_name,
                "rep_id": rp.rep_id,
                "accounts": len(rows),
                "capacity": f"{rp.capacity_hours:.1f}",
                "source": rp.capacity_source,
                "unused": f"{rp.unused_hours:.1f}" if rp.unused_hours > 0.05 else "",
                "rows": rows,
                "totals": [int(rp.rows[m].sum()) for m in plan.months],
                "hours": f"{float((rp.rows[first] * rp.rows['minutes']).sum()) / 60:.1f}",
            }
        )
    v = {
        "title": title,
        "months": plan.months,
        "rules": _rules(config),
        "plan_id": plan.plan_id,
        "created": plan.created_at.strftime("%Y-%m-%d %H:%M UTC"),
        "run_id": plan.run_id,
        "window": str((config.get("plan") or {}).get("effort_window", "6m")),
        "reps": reps,
    }
    return environment("brightspots.plan").get_template("plan.html.j2").render(v=v)


def _tier_key(col):
    order = {"strategic": 0, "key": 1, "core": 2, "maintain": 3}
    return col.map(order) if col.name == "tier" else col


def write(plan: Plan, out: Path, fmt: str, title: str, config: dict, currency: str) -> Path:
    if fmt not in FORMATS:
        raise PlanError(f"--format {fmt!r}: use {' or '.join(FORMATS)}")
    if fmt == "csv":
        text = plan.long().to_csv(index=False)
    else:
        text = html(plan, title, config, currency)
    write_atomic(out, text.encode())
    return out
