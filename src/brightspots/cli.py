"""The ``brightspots`` command: each command parses its options and calls one library function."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from brightspots import __version__
from brightspots.errors import BrightspotsError
from brightspots.experiments.cli import experiment_app

app = typer.Typer(
    name="brightspots",
    help=(
        "Find the reps and teams whose results beat what their resources predict "
        "(positive deviance), honestly, and see what they do differently."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# piped output (make demo in a log) gets a readable width instead of 80 columns
out = Console(width=None if sys.stdout.isatty() else 120)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 120)

WorkspaceOpt = Annotated[
    Path, typer.Option("--workspace", "-w", help="The workspace folder (made by `init`).")
]
EngineOpt = Annotated[
    str | None,
    typer.Option(
        "--engine",
        help="Run on this engine instead of the workspace's: duckdb, spark or warehouse.",
    ),
]
WaitOpt = Annotated[
    bool,
    typer.Option(
        "--wait", help="If another command is writing the workspace, wait for it to finish."
    ),
]


def _version(value: bool) -> None:
    if value:
        out.print(f"brightspots {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """Positive deviance for B2B sales organisations."""


@contextmanager
def progress_bar(title: str) -> Iterator[Callable[[str, float], None]]:
    """A Rich progress bar fed by ``progress(step, fraction)`` callbacks."""
    with Progress(
        TextColumn("[bold]{task.fields[title]}[/] {task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        console=err,
        transient=False,
        disable=not err.is_terminal and not os.environ.get("BRIGHTSPOTS_PROGRESS"),
    ) as bar:
        task = bar.add_task("", total=1.0, title=title)

        def update(step: str, fraction: float) -> None:
            bar.update(task, description=step, completed=max(0.0, min(1.0, fraction)))

        yield update
        bar.update(task, completed=1.0, description="done")


# ---------------------------------------------------------------------------- synth
@app.command()
def synth(
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Folder to write the files into.")],
    reps: Annotated[int, typer.Option(help="Number of sales reps.")] = 200,
    months: Annotated[int, typer.Option(help="Months of history.")] = 18,
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same files.")] = 7,
    null: Annotated[
        bool, typer.Option("--null", help="Plant no bright spots (a null organisation).")
    ] = False,
    dirty: Annotated[
        float, typer.Option(help="Share of rows to corrupt with every kind of bad row (0-0.5).")
    ] = 0.0,
    activities: Annotated[
        int | None, typer.Option(help="Scale volume to about this many activity rows.")
    ] = None,
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            help="csv or parquet (the contract's tables), salesforce (a Salesforce Data "
            "Export: one <Object>.csv per object) or hubspot (HubSpot CRM exports).",
        ),
    ] = "csv",
    misallocation: Annotated[
        float | None,
        typer.Option(
            help="Plant misallocated account effort: this share of reps (0-0.5, at least one) "
            "neglect up to three of their largest, well-fitting accounts and over-serve their "
            "smallest; every rep then covers their accounts by value with account-level touches "
            "(about 40% of touches without an opportunity). Listed in truth.json. Off by default."
        ),
    ] = None,
    care_effect: Annotated[
        float | None,
        typer.Option(
            "--care-effect",
            help="Planted effect of customer care on repeat business: log-odds of buying again "
            "within 12 months per unit (0-1) of the account's observed care score (default 2.5, "
            "an odds ratio of 1.28 per 10 points of 100; 0 with --null). Listed in truth.json.",
        ),
    ] = None,
    reverse_coded_item: Annotated[
        bool,
        typer.Option(
            "--reverse-coded-item",
            help="Add a reverse-coded care item (cs_care_rushed, high = less care) to the "
            'customer survey; read it with [care] reverse_items = ["cs_care_rushed"].',
        ),
    ] = False,
    experiment: Annotated[
        str | None,
        typer.Option(
            "--experiment",
            help='Plant a practice experiment, e.g. "practice=multi_threading,teams=6,'
            "start=2026-03-02,waves=2,every=4w,adoption=0.5,effect=default,shape=constant,"
            'spill=14d": '
            "the teams (a count to draw, or ids TM-002;TM-005) take the practice up from their "
            "wave's start on that share of their new deals without it, with that win log-odds "
            "(default: the practice's own; 0: a null experiment; shape constant, grow or fade); "
            "spill (14d or 2w, default 0: none) has the deals they open in those days before "
            "their start take it up too, as teams do on deals just opened. "
            "Listed in truth.json. Off by default.",
        ),
    ] = None,
) -> None:
    """Make a synthetic sales organisation with planted truth (truth.json) to test the method."""
    import shutil
    import tempfile

    from brightspots import synth as synth_mod
    from brightspots.synth.hubspot import write_hubspot
    from brightspots.synth.salesforce import write_salesforce

    if not 0 <= dirty <= 0.5:
        raise BrightspotsError("--dirty must be between 0 and 0.5")
    writers = {"salesforce": write_salesforce, "hubspot": write_hubspot}
    if fmt not in ("csv", "parquet", *writers):
        raise BrightspotsError("--format must be csv, parquet, salesforce or hubspot")
    if fmt in writers and dirty:
        raise BrightspotsError("--dirty is for csv and parquet files")
    config = synth_mod.SynthConfig(
        reps=reps,
        months=months,
        seed=seed,
        null=null,
        dirty=dirty,
        activities=activities,
        misallocation=misallocation,
        care_effect=care_effect,
        reverse_coded_item=reverse_coded_item,
        experiment=synth_mod.parse_spec(experiment) if experiment else None,
    )
    with progress_bar("synth") as progress:
        if fmt in writers:
            with tempfile.TemporaryDirectory(prefix="brightspots-synth-") as tmp:
                truth = synth_mod.synthesize(config, Path(tmp), fmt="parquet", progress=progress)
                writers[fmt](Path(tmp), out_dir)
                shutil.copy(Path(tmp) / "truth.json", out_dir / "truth.json")
        else:
            truth = synth_mod.synthesize(config, out_dir, fmt=fmt, progress=progress)
    planted = len(truth.get("bright_spots", []))
    misallocating = len(truth["misallocation"]["reps"])
    also = f", {misallocating} misallocating account effort" if misallocating else ""
    high_care = len(truth.get("care", {}).get("high_care_reps", []))
    also += f", {high_care} high-care" if high_care else ""
    shape = {"salesforce": " as a Salesforce export", "hubspot": " as HubSpot exports"}.get(fmt, "")
    out.print(
        f"Wrote a synthetic organisation of {reps} reps to {out_dir}{shape} "
        f"({planted} planted{also})."
    )


# ---------------------------------------------------------------------------- init
@app.command()
def init(
    path: Annotated[Path, typer.Argument(help="Folder to create the workspace in.")],
    engine: Annotated[
        str, typer.Option(help="Analysis engine: duckdb, spark or warehouse.")
    ] = "duckdb",
) -> None:
    """Create a workspace: a folder with a config file and a DuckDB database."""
    from brightspots.workspace import CONFIG_FILE, init_workspace

    ws = init_workspace(path, engine=engine)
    ws.close()
    out.print(f"Created workspace {path} (edit {path / CONFIG_FILE} to change settings).")


# ---------------------------------------------------------------------------- import
@app.command("map")
def map_(
    path: Annotated[Path, typer.Argument(help="A folder of exported CSV, Parquet or Excel files.")],
    out_: Annotated[Path, typer.Option("--out", "-o", help="The mapping file to write.")],
) -> None:
    """Propose a mapping file for an export: which file feeds which table, guesses marked."""
    from brightspots.ingest.propose import propose

    text, summary = propose(path)
    out_.write_text(text, encoding="utf-8")
    for line in summary:
        out.print(line)
    review = text.count("guess: review") + text.count("STATE THIS") + text.count("REQUIRED")
    out.print(
        f"Wrote {out_} ({review} line(s) to review). Then: brightspots import {path} "
        f"--workspace WS --mapping {out_}"
    )


@app.command("import")
def import_(
    path: Annotated[
        str,
        typer.Argument(
            help="A folder (or ZIP) of CSV, Parquet or Excel files, or a database URL such as "
            "postgresql://user@host/db."
        ),
    ],
    workspace: WorkspaceOpt,
    mapping: Annotated[
        Path | None,
        typer.Option(
            help="A mapping file (TOML): which file feeds which table and how its columns map."
        ),
    ] = None,
    encoding: Annotated[
        str | None,
        typer.Option(help="The CSV files' encoding: utf-8, cp1252 or latin-1 (default: detected)."),
    ] = None,
    preset: Annotated[
        str | None,
        typer.Option(
            help="The export's format: generic, salesforce or hubspot (default: detected)."
        ),
    ] = None,
    source: Annotated[
        str | None,
        typer.Option(help="The system the files come from (default: the format's name)."),
    ] = None,
    snapshot: Annotated[
        bool,
        typer.Option(
            "--snapshot",
            help="The files are a full export of the source: its records they no longer hold "
            "are flagged deleted (kept, left out of analysis).",
        ),
    ] = False,
    wait: WaitOpt = False,
) -> None:
    """Import data files into the workspace; bad rows are quarantined with their reason."""
    from brightspots.ingest import import_path
    from brightspots.workspace import Workspace

    with (
        Workspace.open(workspace) as ws,
        ws.writing(wait=wait),
        progress_bar("import") as progress,
    ):
        result = import_path(
            ws,
            path,
            progress=progress,
            mapping=mapping,
            encoding=encoding,
            preset=preset,
            source=source,
            snapshot=snapshot,
        )
    t = Table(title=f"Import {result.import_id}")
    for col in ("file", "read", "inserted", "updated", "unchanged", "repeats", "skipped"):
        t.add_column(col, justify="left" if col == "file" else "right")
    t.add_column("quarantined", justify="right", style="red")
    for f in result.files:
        t.add_row(
            f.file,
            *(
                f"{v:,}"
                for v in (
                    f.read,
                    f.inserted,
                    f.updated,
                    f.unchanged,
                    f.repeats,
                    f.skipped,
                    f.quarantined,
                )
            ),
        )
    out.print(t)
    for w in result.warnings:
        out.print(f"[yellow]warning:[/] {w}")
    if result.quarantine_by_reason:
        reasons = ", ".join(f"{k} {v:,}" for k, v in sorted(result.quarantine_by_reason.items()))
        out.print(
            f"Quarantined rows by reason: {reasons}. See them with "
            f"`brightspots export --workspace {workspace} --table quarantine --out quarantine.csv`."
        )


# ---------------------------------------------------------------------------- analyze
@app.command()
def analyze(
    workspace: WorkspaceOpt,
    engine: EngineOpt = None,
    window: Annotated[
        str | None,
        typer.Option(
            help="Closed deals analysed for reps, back from the last close: '12m', '90d' or "
            "'all' (default: [analysis] window, 12m)."
        ),
    ] = None,
    min_volume: Annotated[
        int | None,
        typer.Option(help="Closed deals a unit needs before it can be labelled (default 20)."),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            help="Recompute effort and buyer impact from this local day (YYYY-MM-DD) on, as if "
            "every row since then had changed (changes are found anyway; this only widens them)."
        ),
    ] = None,
    full: Annotated[
        bool,
        typer.Option(
            "--full", help="Recompute everything, not only what the data's changes reach."
        ),
    ] = False,
    wait: WaitOpt = False,
) -> None:
    """Find the bright spots: case-mix adjusted results per rep, team and region, as a new run.

    Effort and buyer impact are refreshed where the data changed since the last run (with the
    look-back the metrics need); ``--full`` recomputes everything."""
    from brightspots import refresh
    from brightspots.analysis import analyze as run_analysis
    from brightspots.workspace import Workspace

    since_day = None
    if since is not None:
        try:
            since_day = date.fromisoformat(since)
        except ValueError:
            raise typer.BadParameter(
                f"{since!r} is not a day like 2026-10-31", param_hint="--since"
            ) from None

    with (
        Workspace.open(workspace, engine=engine) as ws,
        ws.writing(wait=wait),
        progress_bar("analyze") as progress,
    ):
        run = run_analysis(
            ws,
            progress=progress,
            window=window,
            min_volume=min_volume,
            since=since_day,
            full=full,
        )
        table = ws.run_results("bright_spots", run.run_id)
        per_outcome = ws.run_results("deviance", run.run_id)
        has = ws.has_table("practice_effects")
        effects = ws.run_results("practice_effects", run.run_id) if has else None
        currency = ws.config["workspace"]["currency"]
    d = run.diagnostics
    out.print(
        f"Run {run.run_id} on {run.engine} over {d['window_words']}: {d['n_cases']:,} closed "
        f"deals, model AUC {d['auc']:.2f}, {d['n_bright_spots']} bright spots and "
        f"{d['n_candidates']} candidates among {d['n_units']} reps."
    )
    out.print(refresh.describe(d.get("refresh", {})))
    prac = d.get("practices") or {}
    if prac.get("reused_from"):
        out.print(
            f"Practices measured again on {prac['n_measured']:,} of {prac['n_deals']:,} deals "
            f"(the others keep run {prac['reused_from']}'s measures)."
        )
    print_bright_spots(table, per_outcome, currency)
    print_practices(effects)


def print_bright_spots(table, per_outcome, currency: str = "USD") -> None:
    """Labelled units, with the figures of the outcome each label rests on (its first)."""
    from brightspots.deviance.reasons import money_pair

    order = {"rep": 0, "team": 1, "region": 2}
    shown = table[table["label"] != ""].assign(_level=table["level"].map(order))
    shown = shown.sort_values(["_level", "label", "oe"], ascending=[True, True, False])
    if shown.empty:
        out.print("No rep or team is beyond what chance and case mix explain.")
        return
    stats = per_outcome.set_index(["level", "unit_id", "outcome"])
    t = Table(title="Bright spots and candidates")
    cols = ("unit", "level", "label", "on", "volume", "observed", "expected", "O/E", "99.8% limit")
    for col in cols:
        t.add_column(col, justify="left" if col in cols[:4] else "right")
    for r in shown.itertuples():
        outcome = r.outcome.split("+")[0]
        behind = stats.loc[(r.level, r.unit_id, outcome)]
        n, o, e = float(behind["n"]), float(behind["observed"]), float(behind["expected"])
        if outcome == "buyer_impact":
            volume, observed, expected = f"{n:,.0f} touches", f"{o:,.0f}", f"{e:,.1f}"
        elif outcome == "won_revenue":
            volume = f"{n:,.0f} deals"
            observed, expected = money_pair(o, e, currency)
        else:
            volume, observed, expected = f"{n:,.0f} deals", f"{o:,.0f} won", f"{e:,.1f}"
        t.add_row(
            f"{r.name} ({r.unit_id})",
            r.level,
            r.label.replace("_", " "),
            r.outcome.replace("_", " ").replace("+", " + "),
            volume,
            observed,
            expected,
            f"{behind['oe']:.2f}",
            f"{behind['adj_upper_998']:.2f}",
        )
    out.print(t)
    out.print("Figures are those of the outcome the label rests on (its first, if several).")


def print_practices(effects) -> None:
    """The practices that go with winning after case mix, in plain sentences."""
    if effects is None or effects.empty:
        return
    proven = effects[(effects["q"] < 0.05) & ~effects["suspect"].astype(bool)]
    if proven.empty:
        out.print("No practice goes with winning beyond chance once the case mix is accounted for.")
        return
    out.print("[bold]Practices that go with winning[/] (adjusted for case mix):")
    for sentence in proven["sentence"].head(5):
        out.print(f"  • {sentence}")
    suspect = effects[effects["suspect"].astype(bool)]
    if len(suspect):
        out.print(
            f"  ({len(suspect)} more look linked only when counted over the whole deal, which "
            "longer deals inflate: " + ", ".join(suspect["practice"]) + ".)"
        )


def _pct(v: float) -> str:
    return "–" if v != v else f"{100 * v:.0f}%"


def print_personal(view) -> None:
    """One rep's personal view in the terminal."""
    r, e = view.results, view.effort
    out.print(f"[bold]{view.name}[/] ({view.rep_id}), team {view.team_id or '–'}, {view.window}")
    out.print(
        f"Results: {r.wins} won of {r.closed} closed against {r.expected:.1f} expected for "
        f"deals like yours: O/E {r.oe:.2f}; allowing for luck, likely between "
        f"{r.shrunk_low:.2f} and {r.shrunk_high:.2f}. Peers like you: median O/E "
        f"{r.peers_oe_median:.2f}."
    )
    if r.label:
        out.print(f"  {r.label.replace('_', ' ')}: {r.reason}")
    out.print(
        f"Effort: {e.touches:,} touches, {_pct(e.impact_rate)} with buyer impact (peers like "
        f"you: {_pct(e.peers_impact_rate)}), {_pct(e.dark_share)} in the dark."
    )
    if e.weeks:
        t = Table(title="Last weeks")
        for col in ("week", "touches", "with impact", "in the dark", "no response yet", "rate"):
            t.add_column(col, justify="left" if col == "week" else "right")
        for w in e.weeks:
            t.add_row(
                w.week, f"{w.touches}", f"{w.with_impact}", f"{w.in_dark}", f"{w.pending}",
                _pct(w.impact_rate),
            )  # fmt: skip
        out.print(t)
    out.print(
        f"Peers: the {view.peers} reps most like you in {view.peer_basis} (never in results)."
    )
    t = Table(title="Your practices against peers like you")
    for col in ("practice", "you", "peers", "in deals like yours"):
        t.add_column(col, justify="left" if col == "practice" else "right")
    for p in view.practices:
        fmt = _pct if p.kind in ("binary", "share") else (lambda v: "–" if v != v else f"{v:.1f}")
        t.add_row(
            p.practice.replace("_", " "),
            fmt(p.mine),
            fmt(p.peers),
            "–" if p.evidence_pp != p.evidence_pp else f"{p.evidence_pp:+.0f} points",
        )
    out.print(t)
    if view.suggestions:
        out.print("[bold]Worth trying[/] (evidence in deals like yours, and you do it less):")
        for p in view.suggestions:
            out.print(f"  • {p.description.rstrip('.')}: {p.sentence}")
    else:
        out.print("No practice with evidence that you use less than your peers.")


@app.command()
def me(
    workspace: WorkspaceOpt,
    rep: Annotated[str, typer.Option("--rep", help="The rep's id (reps.rep_id).")],
    run: Annotated[str | None, typer.Option(help="Run id (default: latest).")] = None,
) -> None:
    """One rep's own view: results and effort against peers just like them, and which
    practices could move their meter."""
    from brightspots.personal import personal_view
    from brightspots.workspace import Workspace

    with Workspace.open(workspace) as ws:
        view = personal_view(ws, rep, run)
    print_personal(view)


# ---------------------------------------------------------------------------- runs
@app.command()
def runs(workspace: WorkspaceOpt) -> None:
    """List the analysis runs kept in the workspace, oldest first."""
    from brightspots.workspace import Workspace

    with Workspace.open(workspace) as ws:
        history = ws.runs()
    if not history:
        out.print(f"No runs yet: `brightspots analyze --workspace {workspace}`.")
        return
    t = Table(title=f"Runs in {workspace}")
    numeric = ("deals", "AUC", "bright spots", "candidates")
    for col in ("run", "created (UTC)", "engine", "window", "data", *numeric):
        t.add_column(col, justify="right" if col in numeric else "left", no_wrap=True)
    for r in history:
        d = r.diagnostics
        t.add_row(
            r.run_id,
            f"{r.created_at:%Y-%m-%d %H:%M}",
            r.engine,
            str(d.get("window", "all")),
            r.fingerprint[:8],
            f"{d.get('n_cases', 0):,}",
            f"{d.get('auc', float('nan')):.2f}",
            str(d.get("n_bright_spots", "")),
            str(d.get("n_candidates", "")),
        )
    out.print(t)


# ---------------------------------------------------------------------------- report
@app.command()
def report(
    workspace: WorkspaceOpt,
    out_file: Annotated[Path, typer.Option("--out", "-o", help="HTML file to write.")] = Path(
        "report.html"
    ),
    run: Annotated[str | None, typer.Option(help="Run id (default: the latest run).")] = None,
) -> None:
    """Write the self-contained HTML report of a run (no internet needed to open it)."""
    from brightspots.report import write_report
    from brightspots.workspace import Workspace

    with Workspace.open(workspace) as ws:
        path = write_report(ws, out_file, run_id=run)
    out.print(f"Report written to {path.resolve()}")


# ---------------------------------------------------------------------------- brief
brief_app = typer.Typer(
    help="The team meeting brief: what went well in a period, and what to try next.",
    invoke_without_command=True,
)
app.add_typer(brief_app, name="brief")

TeamOpt = Annotated[
    str | None,
    typer.Option("--team", help="A team id or name, or all (the whole company)."),
]
PeriodOpt = Annotated[
    str | None,
    typer.Option(
        "--period", help="An ISO week (2026-W47), a month (2026-11) or a quarter (2026-Q4)."
    ),
]


@brief_app.callback()
def brief(
    ctx: typer.Context,
    workspace: Annotated[
        Path | None,
        typer.Option("--workspace", "-w", help="The workspace folder (made by `init`)."),
    ] = None,
    team: TeamOpt = None,
    period: PeriodOpt = None,
    fmt: Annotated[str, typer.Option("--format", help="html, md or pdf.")] = "html",
    out_file: Annotated[Path | None, typer.Option("--out", "-o", help="File to write.")] = None,
    paper: Annotated[str, typer.Option(help="Paper for html print and pdf: A4 or Letter.")] = "A4",
) -> None:
    """Write the "best of what happened" brief of a team (or all) for a period, and keep it in
    the workspace. `brightspots brief record` stores what the meeting agreed."""
    if ctx.invoked_subcommand is not None:
        return
    from brightspots.brief import BriefError, make_brief
    from brightspots.workspace import Workspace

    missing = [
        n
        for n, v in (("--workspace", workspace), ("--team", team), ("--period", period))
        if v is None
    ]
    if missing:
        raise BriefError(f"brightspots brief needs {', '.join(missing)}")
    target = out_file or Path(f"brief-{team}-{period}.{fmt}".replace("/", "-").replace(" ", "-"))
    with Workspace.open(workspace) as ws:
        b, path = make_brief(ws, team, period, out=target, fmt=fmt, paper=paper)
    wins = f"{b.n_wins} win{'s' if b.n_wins != 1 else ''}"
    out.print(
        f"Brief for {b.team}, {b.period.words}: {wins}, {len(b.deviations)} positive "
        f"deviation{'s' if len(b.deviations) != 1 else ''}, {len(b.questions)} questions."
    )
    out.print(f"Brief written to {path.resolve()}")


@brief_app.command("record")
def brief_record(
    workspace: WorkspaceOpt,
    team: Annotated[str, typer.Option("--team", help="A team id or name, or all.")],
    period: Annotated[str, typer.Option("--period", help="The meeting's period (2026-W47, ...).")],
    action: Annotated[
        list[str] | None,
        typer.Option("--action", help="An action the meeting agreed, in words (repeatable)."),
    ] = None,
    try_: Annotated[
        list[str] | None,
        typer.Option(
            "--try",
            help="A practice id the team agreed to try (repeatable); its use is followed up in "
            "the next brief.",
        ),
    ] = None,
    energy: Annotated[
        list[int] | None,
        typer.Option("--energy", help="Did you leave with more energy? 1-5, one per person."),
    ] = None,
    ideas: Annotated[
        list[int] | None,
        typer.Option("--ideas", help="Did you leave with more ideas? 1-5, one per person."),
    ] = None,
) -> None:
    """Store the actions a meeting agreed and its two-question pulse."""
    from brightspots.brief import parse, source, store
    from brightspots.brief.source import BriefError
    from brightspots.practices.registry import registry
    from brightspots.workspace import Workspace

    label = parse(period).label
    with Workspace.open(workspace) as ws:
        sc = source.scope(ws, team)
        known = {p.id: p for p in registry(ws.config)}
        chosen: list[tuple[str, str | None]] = []
        for pid in try_ or []:
            if pid not in known:
                raise BriefError(
                    f"--try {pid!r} is not a practice; the practices are: "
                    f"{', '.join(sorted(known))}"
                )
            chosen.append((known[pid].description.rstrip("."), pid))
        chosen += [(text.strip(), None) for text in action or [] if text.strip()]
        if not chosen and not energy and not ideas:
            raise BriefError("nothing to record: give --action, --try, or --energy and --ideas")
        n_actions, n_pulse = store.record(
            ws, sc.team_id, label, actions=chosen, energy=energy or [], ideas=ideas or []
        )
    out.print(
        f"Recorded for {sc.name}, {label}: {n_actions} action{'s' if n_actions != 1 else ''}, "
        f"{n_pulse} pulse answer{'s' if n_pulse != 1 else ''}."
    )


# ---------------------------------------------------------------------------- serve
@app.command()
def serve(
    workspace: WorkspaceOpt,
    host: Annotated[
        str, typer.Option(help="Address to listen on (0.0.0.0: every interface).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[
        int, typer.Option(help="Worker processes (each reads the workspace on its own).")
    ] = 1,
    https: Annotated[
        bool,
        typer.Option("--https", help="Reached over HTTPS: session cookies marked Secure."),
    ] = False,
    proxy: Annotated[
        str | None,
        typer.Option(
            "--proxy",
            help="Address of a reverse proxy whose X-Forwarded-For to trust (sign-in throttling "
            "then counts each real client, not the proxy).",
        ),
    ] = None,
) -> None:
    """Serve the web app: each rep's meter, managers' coaching pages and briefs, admin."""
    import os

    import uvicorn

    from brightspots.web.appstate import AppState
    from brightspots.web.users import users
    from brightspots.workspace import Workspace

    with Workspace.open(workspace) as ws:
        ws.duckdb()  # a clear error now (no database, a foreign writer), not at the first page
    accounts = users(AppState(workspace))
    out.print(
        f"Serving {Path(workspace).resolve()} on http://{host}:{port}/ "
        f"({len(accounts)} account{'s' if len(accounts) != 1 else ''}). Ctrl-C stops."
    )
    if not accounts:
        out.print(
            "[yellow]No account yet:[/] make one with "
            f"`brightspots user add -w {workspace} --role admin you@example.com`."
        )
    os.environ["BRIGHTSPOTS_WORKSPACE"] = str(Path(workspace).resolve())
    os.environ["BRIGHTSPOTS_HTTPS"] = "1" if https else ""
    uvicorn.run(
        "brightspots.web.app:from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        proxy_headers=proxy is not None,
        forwarded_allow_ips=proxy,
    )


# ---------------------------------------------------------------------------- users
user_app = typer.Typer(help="Accounts for the web app: reps, managers and admins.")
app.add_typer(user_app, name="user")


def _new_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        return line.rstrip("\r\n")
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)


@user_app.command("add")
def user_add(
    workspace: WorkspaceOpt,
    email: Annotated[str, typer.Argument(help="The person's e-mail address (their login).")],
    role: Annotated[str, typer.Option(help="rep, manager or admin.")],
    rep: Annotated[
        str | None, typer.Option(help="rep accounts: the rep's id in the data (reps.rep_id).")
    ] = None,
    team: Annotated[
        list[str] | None,
        typer.Option(help="manager accounts: a team they manage, with its sub-teams (repeat)."),
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option(help="Read the password from the first line of standard input.")
    ] = False,
) -> None:
    """Make an account; the password is asked for twice (or read with --password-stdin)."""
    from brightspots.web.appstate import AppState
    from brightspots.web.users import add_user
    from brightspots.workspace import Workspace

    with Workspace.open(workspace) as ws:
        known_reps = set(ws.read("reps")["rep_id"].astype(str))
        known_teams = set(ws.read("teams")["team_id"].astype(str))
    user = add_user(
        AppState(workspace),
        email,
        role,
        _new_password(password_stdin),
        rep_id=rep,
        teams=team or [],
        known_reps=known_reps,
        known_teams=known_teams,
    )
    over = f", rep {user.rep_id}" if user.rep_id else ""
    over += f", teams {', '.join(user.teams)}" if user.teams else ""
    out.print(f"Account made: {user.email} ({user.role}{over}).")


@user_app.command("list")
def user_list(workspace: WorkspaceOpt) -> None:
    """List the accounts: e-mail, role, rep or teams, and whether they are disabled."""
    from brightspots.web.appstate import AppState
    from brightspots.web.users import users

    table = Table("e-mail", "role", "rep", "teams", "status")
    for u in users(AppState(workspace)):
        table.add_row(
            u.email, u.role, u.rep_id or "", ", ".join(u.teams), "disabled" if u.disabled else ""
        )
    out.print(table)


def _set_disabled(workspace: Path, email: str, disabled: bool) -> None:
    from brightspots.web.appstate import AppState
    from brightspots.web.users import set_disabled

    set_disabled(AppState(workspace), email, disabled)


@user_app.command("disable")
def user_disable(
    workspace: WorkspaceOpt,
    email: Annotated[str, typer.Argument(help="The account's e-mail address.")],
) -> None:
    """Disable an account: it can no longer log in, and its sessions end now."""
    _set_disabled(workspace, email, True)
    out.print(f"Disabled {email}; its sessions have ended.")


@user_app.command("enable")
def user_enable(
    workspace: WorkspaceOpt,
    email: Annotated[str, typer.Argument(help="The account's e-mail address.")],
) -> None:
    """Enable a disabled account again."""
    _set_disabled(workspace, email, False)
    out.print(f"Enabled {email}.")


# ---------------------------------------------------------------------------- experiments
app.add_typer(experiment_app, name="experiment")


# ---------------------------------------------------------------------------- export
@app.command()
def export(
    workspace: WorkspaceOpt,
    table: Annotated[
        str,
        typer.Option(
            help="Table to export: a canonical table (reps, opportunities, ...), quarantine, "
            "imports, runs, extra_columns, or a result table (bright_spots: one row per rep, "
            "team and region; deviance: one row per unit and outcome; raw_leaderboard, "
            "funnel_curve, calibration, case_mix_coefficients; effort_impact: touches, buyer "
            "impact and response times per unit and period; account_plan: fit, value, tier, "
            "effort and impact per account; effort_allocation: how well effort follows value "
            "per rep, team and company; care_index, care_trend, care_reliability and "
            "care_results; scorecard: the balanced scorecard of every rep and team)."
        ),
    ],
    out_file: Annotated[Path, typer.Option("--out", "-o", help="File to write.")],
    fmt: Annotated[str, typer.Option("--format", help="csv or parquet.")] = "csv",
    run: Annotated[
        str | None, typer.Option(help="Run id for result tables (default: latest).")
    ] = None,
    grain: Annotated[
        str | None,
        typer.Option(
            help="effort_impact only: rows of one grain, rep, team, account or opportunity "
            "(default: all)."
        ),
    ] = None,
    every: Annotated[
        str | None,
        typer.Option(help="effort_impact only: rows by day or by (ISO) week (default: both)."),
    ] = None,
    raw: Annotated[
        bool,
        typer.Option(
            "--raw",
            help="Export raw survey answers on purpose: needed for the table of survey "
            "answers itself; without it the quarantine and extra_columns leave survey rows out. "
            "They say who said what about whom: share them with care.",
        ),
    ] = False,
) -> None:
    """Export a table as CSV or Parquet."""
    from brightspots.export import export_table
    from brightspots.workspace import Workspace

    with Workspace.open(workspace) as ws:
        n = export_table(
            ws, table, out_file, fmt=fmt, run_id=run, grain=grain, every=every, raw=raw
        )
    out.print(f"Wrote {n:,} rows of {table} to {out_file}")


# ---------------------------------------------------------------------------- scorecard
@app.command()
def scorecard(
    workspace: WorkspaceOpt,
    team: Annotated[
        str,
        typer.Option(
            "--team", help="A team id or name (its sub-teams included), or all (every team)."
        ),
    ],
    fmt: Annotated[str, typer.Option("--format", help="html or csv.")] = "html",
    out_file: Annotated[Path | None, typer.Option("--out", "-o", help="File to write.")] = None,
    run: Annotated[str | None, typer.Option(help="Run id (default: the latest run).")] = None,
) -> None:
    """Write the balanced scorecard of a team's reps and teams: results against expected,
    effort to buyer impact, customer and employee care and practices adopted, each against
    its target in the scorecard settings of brightspots.toml (the performance plan's
    objectives), and a weighted score.
    Never a ranking; care is shown only where enough people answered."""
    from brightspots.scorecard import make_scorecard, summary
    from brightspots.scorecard.render import write
    from brightspots.workspace import Workspace

    target = out_file or Path(f"scorecard-{team}.{fmt}".replace("/", "-").replace(" ", "-"))
    with Workspace.open(workspace) as ws:
        card = make_scorecard(ws, run, team=team)
        path = write(card, target, fmt)
    out.print(summary(card))
    out.print(f"Scorecard written to {path.resolve()}")


# ---------------------------------------------------------------------------- plan
@app.command()
def plan(
    workspace: WorkspaceOpt,
    rep: Annotated[str | None, typer.Option(help="A rep id or name.")] = None,
    team: Annotated[str | None, typer.Option(help="A team id or name (every rep in it).")] = None,
    months: Annotated[
        int | None, typer.Option(help="Months to plan (default: [plan] months, 3).")
    ] = None,
    capacity: Annotated[
        float | None,
        typer.Option(help="Hours a month each rep has for their accounts (default: measured)."),
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="csv or html.")] = "html",
    out_file: Annotated[Path | None, typer.Option("--out", "-o", help="File to write.")] = None,
) -> None:
    """Propose a key-account plan: touches and hours per account and month, in proportion to
    each account's value and fit, within each rep's capacity and the [plan] tier rules. The
    plan is kept in the workspace so later runs show adherence."""
    from brightspots.plan.make import make_plan, store, summary
    from brightspots.plan.render import write
    from brightspots.workspace import Workspace

    with Workspace.open(workspace) as ws:
        made = make_plan(ws, rep=rep, team=team, months=months, capacity_hours=capacity)
        who = rep if rep is not None else f"team {team}"
        target = out_file or Path(f"plan-{who}.{fmt}".replace("/", "-").replace(" ", "-"))
        path = write(made, target, fmt, who, ws.config, ws.config["workspace"]["currency"])
        store(ws, made, created_by="cli")
    for line in summary(made):
        out.print(line)
    out.print(f"Plan {made.plan_id} written to {path.resolve()}")


# ---------------------------------------------------------------------------- demo
#: the demo's planted experiment: six teams take multi-threading up in two waves
DEMO_EXPERIMENT = (
    "practice=multi_threading,teams=6,start=2026-03-02,waves=2,every=4w,adoption=0.5,effect=default"
)
DEMO_EXPERIMENT_NAME = "Multithreading trial"


def _demo_experiment(ws_dir: Path, truth_file: Path) -> None:
    """Make the planted experiment with the teams and starts truth.json lists, as a manager
    would: ``experiment create`` for the first wave and ``experiment extend`` for the rest."""
    import json

    from brightspots.experiments.cli import create, extend

    planted = json.loads(truth_file.read_text(encoding="utf-8"))["experiment"]
    first, *later = planted["waves"]
    create(
        workspace=ws_dir,
        name=DEMO_EXPERIMENT_NAME,
        practice=planted["registry_id"],
        start=first["start"],
        teams=[",".join(first["teams"])],
        by="demo",
    )
    for wave in later:
        extend(
            workspace=ws_dir,
            name=DEMO_EXPERIMENT_NAME,
            teams=[",".join(wave["teams"])],
            start=wave["start"],
            by="demo",
        )


@app.command()
def demo(
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Folder for the demo.")] = Path(
        "demo"
    ),
    reps: Annotated[int, typer.Option(help="Number of sales reps.")] = 200,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 7,
) -> None:
    """Make a synthetic organisation, import it, make a practice experiment (planted in six of
    its teams), analyse it, write the report and the last month's team brief."""
    data, ws_dir, html = out_dir / "data", out_dir / "workspace", out_dir / "report.html"
    if ws_dir.exists():
        shutil.rmtree(ws_dir)
    out.rule("1/7 synthetic organisation")
    synth(
        out_dir=data,
        reps=reps,
        months=18,
        seed=seed,
        null=False,
        dirty=0.0,
        activities=None,
        fmt="csv",
        misallocation=0.15,
        experiment=DEMO_EXPERIMENT,
    )
    out.rule("2/7 workspace")
    init(path=ws_dir, engine="duckdb")
    out.rule("3/7 import")
    import_(path=data, workspace=ws_dir)
    out.rule("4/7 practice experiment")
    _demo_experiment(ws_dir, data / "truth.json")
    out.rule("5/7 analyse")
    analyze(workspace=ws_dir, engine=None, window=None, min_volume=None)
    out.rule("6/7 report")
    report(workspace=ws_dir, out_file=html, run=None)
    out.rule("7/7 team brief")
    from brightspots.brief import last_full_period, make_brief
    from brightspots.workspace import Workspace

    with Workspace.open(ws_dir) as ws:
        period = last_full_period(ws, "month")
        _, brief_path = make_brief(ws, "all", period.label, out=out_dir / "brief.html")
    out.print(f"Brief for the whole company, {period.words}: {brief_path.resolve()}")
    from brightspots.web.users import DEMO_PASSWORD, demo_accounts

    with Workspace.open(ws_dir) as ws:
        accounts = demo_accounts(ws)
    out.print(f"\n[bold]Open the report:[/] {html.resolve()}")
    out.print(f"[bold]And the meeting brief:[/] {brief_path.resolve()}")
    out.print(
        f'[bold]The experiment:[/] brightspots experiment show "{DEMO_EXPERIMENT_NAME}" '
        f"--workspace {ws_dir}"
    )
    out.print(f"[bold]Or serve the web app:[/] brightspots serve --workspace {ws_dir}")
    out.print(f"  then open http://127.0.0.1:8000/ and sign in (password {DEMO_PASSWORD}) as:")
    for email, what in accounts:
        out.print(f"  {email:<28} {what}")


def main() -> None:
    """Entry point: user errors are one clear line on stderr and exit code 1, never a traceback."""
    try:
        app()
    except BrightspotsError as e:
        err.print(f"[red]error:[/] {escape(str(e))}", highlight=False, soft_wrap=True)
        sys.exit(1)
    except KeyboardInterrupt:
        err.print("[red]interrupted[/]")
        sys.exit(130)
    except Exception as e:  # noqa: BLE001 - the last line of defence for a one-line error
        if os.environ.get("BRIGHTSPOTS_DEBUG"):
            raise
        err.print(
            f"[red]error:[/] unexpected {type(e).__name__}: {e} "
            "(set BRIGHTSPOTS_DEBUG=1 for the traceback)",
            highlight=False,
            soft_wrap=True,
        )
        sys.exit(2)


if __name__ == "__main__":
    main()
